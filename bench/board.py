"""The building board at portfolio scale, in a real browser (Debian's Chromium, playwright).

The portfolio scenario's register (simulators/scenarios/portfolio.yaml: 3 sites, 60 buildings,
1,080 devices) is imported into a fresh SQLite store with one open alarm per 12 devices; a
publisher sends each building's gateway batch every 2 s (so the console knows every device's
data age); Mosquitto, influxd and `bldgwatch console` run as child processes. The page is
opened, signed in, and:

- first render: the board's own measure `board:first-render` (register, alarms, orders and
  liveness loaded, cards drawn) and the time from navigation start to the first card;
- live update: a new alarm written to the store and its event published on the broker, until
  its line is on the card (publish → screen), and the board's `board:live-update` measures
  (the event applied to the loaded lists, and the render).

The references are the targets a duty engineer can live with: first render within 3 s, an
alarm on the screen within 1 s of its event.

Last line: devices=… buildings=… first_render_ms=… nav_to_cards_ms=… live_p50_ms=…
live_p95_ms=… render_update_ms=… target_first_ms=3000 target_live_ms=1000 ratio=…
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy.orm import Session

from bldgwatch.core import topics
from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import (
    AlarmEvent,
    AlarmState,
    EquipmentInfo,
    Reading,
    ReadingBatch,
    Severity,
)
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.site import BuildingSpec, EquipmentSpec, SiteSpec
from bldgwatch.maintenance.assets import import_site
from bldgwatch.migrations import migrate
from bldgwatch.rules.models import AlarmRow
from bldgwatch.servers import free_port, start_influxd, start_mosquitto
from bldgwatch.simulators.scenario import expand, load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "simulators" / "scenarios" / "portfolio.yaml"
TARGET_FIRST_MS = 3000.0
TARGET_LIVE_MS = 1000.0
ALARM_EVERY = 12
"""One open alarm per this many devices: a busy portfolio."""
RULES = {
    "pump": ("pump.bearing_temp_high", "PUMP_BEARING_TEMP", "bearing", "bearing_temp_c", 92.4),
    "elevator": ("elevator.door_close_failure", "ELEV_DOOR_CLOSE_FAIL", "door", None, None),
    "shaft_panel": (
        "shaft_panel.residual_current_high",
        "SHAFT_RESIDUAL_CURRENT",
        "leakage",
        "residual_current_ma",
        352.0,
    ),
}
CHROMIUM = "/usr/bin/chromium"


def portfolio() -> list[SiteSpec]:
    """The scenario's register as site files."""
    by_site: dict[str, list[Any]] = defaultdict(list)
    for asset in expand(load_scenario(SCENARIO)):
        by_site[asset.site].append(asset)
    return [
        SiteSpec(
            site=site,
            name=site.title(),
            buildings=[BuildingSpec(id=b) for b in dict.fromkeys(a.building for a in assets)],
            equipment=[
                EquipmentSpec(id=a.equipment, type=a.kind, building=a.building) for a in assets
            ],
        )
        for site, assets in by_site.items()
    ]


def alarm_row(site: str, eq: EquipmentSpec, now: datetime, state: str = "active_unack") -> AlarmRow:
    rule, code, family, point, value = RULES[eq.type]
    params: dict[str, Any] = {"equipment": eq.id, "value": value, "limit": 85.0}
    if point:
        params["point"] = point
    return AlarmRow(
        id=str(uuid.uuid4()), site=site, building=eq.building, equipment=eq.id,
        equipment_type=eq.type, rule=rule, fault_code=code, family=family, severity="major",
        priority=2, state=state, is_open=True, raised_at=now, value=value,
        message=f"{eq.id}: {rule}", maintenance="none", activations=1, updated_at=now,
        condition_active=True, message_key=f"rule.{rule}", params=params,
    )  # fmt: skip


def seed(db_url: str, sites: list[SiteSpec]) -> None:
    engine = make_engine(DatabaseSettings(url=db_url))
    migrate(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        for spec in sites:
            import_site(session, spec)
            for i, eq in enumerate(spec.equipment):
                if i % ALARM_EVERY == 0:
                    state = ("active_unack", "active_ack", "shelved")[i // ALARM_EVERY % 3]
                    session.add(alarm_row(spec.site, eq, now, state))
        session.commit()
    engine.dispose()


def publish_batches(mqtt: MqttSettings, sites: list[SiteSpec], stop: threading.Event) -> None:
    """Every building's gateway reports all its devices every 2 s."""
    client = MqttClient(mqtt, client_id="bench-board-gateways")
    client.start()
    client.wait_connected(10)
    seq = 0
    while not stop.is_set():
        seq += 1
        now_ms = to_epoch_ms(datetime.now(UTC))
        for spec in sites:
            buildings: dict[str, list[EquipmentSpec]] = defaultdict(list)
            for eq in spec.equipment:
                buildings[eq.building].append(eq)
            for building, eqs in buildings.items():
                readings = [Reading(eq.id, "_available", now_ms, True) for eq in eqs]
                info = {eq.id: EquipmentInfo(eq.type, building) for eq in eqs}
                batch = ReadingBatch(spec.site, f"gw-{building}", seq, info, readings)
                client.publish(topics.readings(spec.site, f"gw-{building}"), encode_batch(batch))
        stop.wait(2.0)
    client.stop()


def start_console(tmp: Path, mqtt_port: int, influx_url: str, db_url: str) -> tuple[Any, str]:
    port = free_port()
    cfg = {
        "http": {"host": "127.0.0.1", "port": port},
        "database": {"url": db_url},
        "influx": {"url": influx_url, "database": "bench"},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "dev": True,
    }
    path = tmp / "console.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = (tmp / "console.log").open("wb")
    cmd = [sys.executable, "-m", "bldgwatch.cli", "console", "--config", str(path)]
    proc = subprocess.Popen([*cmd, "--log-level", "WARNING"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 503):
                return proc, url
        time.sleep(0.2)  # waiting for a child process to listen
    proc.kill()
    raise RuntimeError(f"console did not start; see {tmp / 'console.log'}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def measures(page: Any, name: str) -> list[float]:
    found: list[float] = page.evaluate(
        f"performance.getEntriesByName({name!r}).map((e) => e.duration)"
    )
    return found


def live_event(row: AlarmRow) -> bytes:
    event = AlarmEvent(
        event_id=str(uuid.uuid4()), alarm_id=row.id, site=row.site, building=row.building,
        equipment=row.equipment, equipment_type=row.equipment_type, rule=row.rule,
        fault_code=row.fault_code, family=row.family, severity=Severity.MAJOR, priority=2,
        transition="activate", state=AlarmState.ACTIVE_UNACK, previous_state=AlarmState.NORMAL,
        at=row.raised_at, value=row.value, message=row.message, message_key=row.message_key,
        params=dict(row.params),
    )  # fmt: skip
    return event.model_dump_json(by_alias=True).encode()


def _add_alarm(engine: Any, site: str, eq: EquipmentSpec) -> AlarmRow:
    """A new open alarm in the store, as the rules service would have written it (a rule of
    its own: the equipment may already have the seeded alarm of its type's rule open)."""
    row = alarm_row(site, eq, datetime.now(UTC))
    row.rule = f"{row.rule}.live_{row.id[:8]}"
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return row


def run_browser(
    url: str,
    db_url: str,
    mqtt: MqttSettings,
    events: int,
    index: dict[str, tuple[str, EquipmentSpec]],
) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    engine = make_engine(DatabaseSettings(url=db_url))
    publisher = MqttClient(mqtt, client_id="bench-board-rules")
    publisher.start()
    publisher.wait_connected(10)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "bldgwatch-dev")
        page.locator("#login button[type=submit]").click()
        page.wait_for_selector("#alarms-count", timeout=30_000)
        page.goto(f"{url}/board")
        page.wait_for_selector(".panel", timeout=60_000)
        nav_ms = page.evaluate("performance.now()")
        page.wait_for_function("performance.getEntriesByName('board:first-render').length > 0")
        first = measures(page, "board:first-render")[0]
        buildings = page.locator(".building").count()
        latencies = []
        for i in range(events):
            target = page.locator(".panel").nth(i % 5).get_attribute("data-equipment") or ""
            site, spec = index[target]
            row = _add_alarm(engine, site, spec)
            started = time.perf_counter()
            publisher.publish(topics.alarms(row.site, row.equipment), live_event(row), qos=1)
            page.wait_for_selector(f".panel-alarm[data-alarm='{row.id}']", timeout=15_000)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.3)
        updates = measures(page, "board:live-update")
        browser.close()
    publisher.stop()
    engine.dispose()
    return {
        "buildings": buildings,
        "first": first,
        "nav": nav_ms,
        "live_p50": percentile(latencies, 0.5),
        "live_p95": percentile(latencies, 0.95),
        "render_update": percentile(updates, 0.5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    events = 5 if args.quick else 20
    sites = portfolio()
    devices = sum(len(s.equipment) for s in sites)
    with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp_name:
        tmp = Path(tmp_name)
        db_url = f"sqlite:///{tmp / 'board.db'}"
        seed(db_url, sites)
        mosq = start_mosquitto(tmp / "mosquitto")
        influx = start_influxd(tmp / "influxd")
        mqtt = MqttSettings(host="127.0.0.1", port=mosq.port)
        stop = threading.Event()
        feeder = threading.Thread(target=publish_batches, args=(mqtt, sites, stop), daemon=True)
        feeder.start()
        proc, url = start_console(tmp, mosq.port, influx.extra["url"], db_url)
        index = {eq.id: (spec.site, eq) for spec in sites for eq in spec.equipment}
        try:
            r = run_browser(url, db_url, mqtt, events, index)
        finally:
            stop.set()
            feeder.join(10)
            proc.terminate()
            proc.wait(20)
            influx.stop()
            mosq.stop()
    print(f"building board: {devices} devices in {r['buildings']:.0f} buildings, {events} alarms")
    print(f"  first render {r['first']:.0f} ms (navigation to first card {r['nav']:.0f} ms)")
    print(
        f"  alarm event -> on its card p50 {r['live_p50']:.0f} ms p95 {r['live_p95']:.0f} ms"
        f" (apply + render {r['render_update']:.0f} ms)"
    )
    ratio = max(r["first"] / TARGET_FIRST_MS, r["live_p95"] / TARGET_LIVE_MS)
    print(
        f"devices={devices} buildings={r['buildings']:.0f} first_render_ms={r['first']:.0f} "
        f"nav_to_cards_ms={r['nav']:.0f} live_p50_ms={r['live_p50']:.0f} "
        f"live_p95_ms={r['live_p95']:.0f} render_update_ms={r['render_update']:.0f} "
        f"target_first_ms={TARGET_FIRST_MS:.0f} target_live_ms={TARGET_LIVE_MS:.0f} "
        f"ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    main()
