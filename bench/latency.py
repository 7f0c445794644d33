"""End-to-end alarm latency (issue 22 point 1): a simulated device changes a value at a known
instant; per change, the time to each hop on the way to the duty engineer.

Hops (all clocks are this machine's wall clock):
  device → poll      the gateway's next poll of the device (the reading's source time)
  poll → broker      the gateway's queue and publisher: the batch at a subscriber here
  broker → alarm     `bldgwatch rules`: its activation event at a subscriber here
  alarm → console    `bldgwatch console`: the event on a WebSocket client of `/api/live`
  alarm → notify     `bldgwatch alerts`: the webhook notice at an HTTP sink here
Totals: device → console and device → notify.

The stack is real and each service its own process, as `bldgwatch demo` starts them:
Mosquitto, influxd, SQLite; `bldgwatch gateway`, `ingest`, `rules` (pump, elevator and
shaft-panel packs), `console`, `alerts` (a JSON-webhook channel). The devices are the
simulators' Modbus server (`simulators.modbus_server`) in a process of their own, showing
fixed values this bench changes on command: a pump's `tripped` bit goes on at t0
(`pump.protection_tripped`, on-delay 0), then off again before the pump is used again.

Loads: `demo` — the demo's building (elevator, pump, shaft panel polled every second, one
gateway). `portfolio` — 1,080 devices: one building of 18 devices (6 of each kind) polled
every 2 s by the measured gateway, and the other 59 buildings' readings (1,062 devices,
14 points each every 2 s) published as gateway batches by a publisher in this process, so
broker, ingest, rules and console carry the whole portfolio.

Reference, same run: a plain MQTT QoS 1 publish → subscribe round trip on the same broker.
Target: device → console p99 ≤ 250 ms + poll interval + on-delay (0 s here).

Per load: load=… changes=… then `hop_p50_ms`/`hop_p99_ms` per hop and its share of the
device → console mean. Last line: the portfolio figures and ratio = p99 / target.
"""

# ruff: noqa: E402 - the path fix below must run before the project imports
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import multiprocessing
import random
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import paho.mqtt.client as paho
from cryptography.fernet import Fernet

from bench.support.scaleout import (
    Child,
    Fleet,
    LiveReader,
    Publisher,
    StatusWatch,
    console_ready,
    login,
    wait_until,
)
from bldgwatch.alerts.admin import AlertsAdmin
from bldgwatch.core import topics
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.migrations import migrate
from bldgwatch.servers import Server, free_port, start_influxd, start_mosquitto

SITE, GATEWAY, BUILDING = "lat", "gw-lat", "B1"
RULE = "pump.protection_tripped"
ON_DELAY_S = 0.0  # the rule's
KINDS = {
    "pump": "pump-generic",
    "elevator": "elevator-generic",
    "shaft_panel": "shaft-panel-generic",
}
PREFIX = {"pump": "P", "elevator": "E", "shaft_panel": "SP"}
HOPS = ("device_to_poll", "poll_to_broker", "broker_to_alarm", "alarm_to_console")
PORTFOLIO_DEVICES, PORTFOLIO_POINTS = 1080, 14

DEVICE_SERVER = """
import asyncio, json, sys, threading, time
from bldgwatch.core.profiles import load_profiles
from bldgwatch.simulators.modbus_server import ModbusDeviceServer, UnitBinding

class Shown:  # stands in for a simulated equipment: fixed values, changed on command
    answering, exception_code = True, None
    def __init__(self, values): self.shown = values
    def values(self): return self.shown

port, plan = int(sys.argv[1]), json.loads(sys.argv[2])
profiles = load_profiles()
def normal(profile):
    values = {}
    for spec in profile.points:
        for name in spec.point_names():
            values[name] = False if spec.type.value in ("bool", "bitfield") else 1.5
    for name in ("running", "safety_circuit_ok", "door_lock_ok", "mains_power_ok",
                 "door_closed", "door_zone"):  # a healthy device at rest, no alarm
        if name in values:
            values[name] = True
    return values
units = {eq: UnitBinding(unit, profiles[p], Shown(normal(profiles[p])))
         for eq, (unit, p) in plan.items()}
server = ModbusDeviceServer("127.0.0.1", port, list(units.values()))
def commands(loop):
    for line in sys.stdin:
        eq, point, value = line.split()
        loop.call_soon_threadsafe(change, eq, point, value == "1")
def change(eq, point, value):
    binding = units[eq]
    binding.equipment.shown[point] = value
    binding.refresh()  # the next request answers with it
    print(json.dumps({"eq": eq, "t0": time.time()}), flush=True)
async def main():
    await server.start()
    print(json.dumps({"ready": True}), flush=True)
    threading.Thread(target=commands, args=(asyncio.get_running_loop(),), daemon=True).start()
    await asyncio.Event().wait()
asyncio.run(main())
"""


class Devices:
    """The device process: `change(eq, point, value)` returns the instant it took effect."""

    def __init__(self, port: int, plan: dict[str, tuple[int, str]]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DEVICE_SERVER, str(port), json.dumps(plan)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if not json.loads(self.proc.stdout.readline()).get("ready"):
            raise RuntimeError("the device process did not start")

    def change(self, eq: str, point: str, value: bool) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{eq} {point} {int(value)}\n")
        self.proc.stdin.flush()
        return float(json.loads(self.proc.stdout.readline())["t0"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


class Background:
    """The other buildings' gateways: bench.support.scaleout's Publisher in a process of its
    own (in this one it would hold the GIL while the hops are timed)."""

    def __init__(self, mqtt: MqttSettings, fleet: Fleet, rate: float) -> None:
        self._args = (mqtt, fleet, rate)
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self.per_s = ctx.Value("d", 0.0)  # readings/s it published, when stopped
        self._proc: Any = None

    @staticmethod
    def _run(mqtt: MqttSettings, fleet: Fleet, rate: float, stop: Any, per_s: Any) -> None:
        pub = Publisher(mqtt, fleet, rate_msgs=rate)
        began = time.monotonic()
        pub.start()
        stop.wait()
        pub.stop()
        per_s.value = pub.sent_readings / (time.monotonic() - began)

    def start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        args = (*self._args, self._stop, self.per_s)
        self._proc = ctx.Process(target=self._run, args=args, daemon=True)
        self._proc.start()

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None:
            self._proc.join(60)


class Sink:
    """The webhook's receiver: (arrival, alarm ids) of every notice."""

    def __init__(self) -> None:
        self.notices: list[tuple[float, list[str]]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with sink.lock:
                    sink.notices.append((now, list(body["alarms"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def first(self, alarm_id: str, after: float) -> float | None:
        with self.lock:
            return next((t for t, ids in self.notices if t > after and alarm_id in ids), None)


class StampedEvents(list[dict[str, Any]]):
    """The live reader's event list, each event stamped with its arrival."""

    def append(self, doc: dict[str, Any]) -> None:
        doc["_at"] = time.time()
        super().append(doc)


class Watch:
    """Subscriber to the measured gateway's readings and to the site's alarm events."""

    def __init__(self, mqtt: MqttSettings) -> None:
        self.lock = threading.Lock()
        self.polls: dict[str, list[tuple[int, float, bool]]] = {}  # eq -> (ts_ms, at, tripped)
        self.alarms: list[tuple[float, dict[str, Any]]] = []
        self.client = MqttClient(mqtt, client_id=f"lat-watch-{uuid.uuid4().hex[:6]}")
        self.client.subscribe(topics.readings(SITE, GATEWAY), self._readings, qos=0)
        self.client.subscribe(f"{topics.PREFIX}/{SITE}/alarms/+", self._alarm, qos=0)
        self.client.start()
        assert self.client.wait_subscribed(10)

    def _readings(self, msg: paho.MQTTMessage) -> None:
        now = time.time()
        batch = decode_batch(msg.payload).batch
        with self.lock:
            for r in batch.readings:
                if r.point == "tripped":
                    self.polls.setdefault(r.equipment, []).append((r.ts_ms, now, bool(r.value)))

    def _alarm(self, msg: paho.MQTTMessage) -> None:
        now = time.time()
        with self.lock:
            self.alarms.append((now, orjson.loads(msg.payload)))

    def poll(self, eq: str, after: float, value: bool) -> tuple[int, float] | None:
        """The first reading of eq's `tripped` showing `value` polled after `after`."""
        with self.lock:
            return next(
                ((ts, at) for ts, at, v in self.polls.get(eq, []) if ts >= after * 1000 - 1
                 and v is value),
                None,
            )  # fmt: skip

    def alarm(self, eq: str, after: float, transition: str) -> tuple[float, dict[str, Any]] | None:
        with self.lock:
            return next(
                (
                    (at, doc)
                    for at, doc in self.alarms
                    if at > after
                    and doc.get("equipment") == eq
                    and doc.get("rule") == RULE
                    and doc.get("transition") == transition
                ),
                None,
            )

    def stop(self) -> None:
        self.client.stop()


@dataclass
class Change:
    """One measured change: instants in epoch seconds."""

    eq: str
    t0: float
    polled: float = 0.0
    broker: float = 0.0
    alarm: float = 0.0
    console: float = 0.0
    notify: float = 0.0
    seen: str = ""  # which hops were seen so far

    def hops_ms(self) -> dict[str, float]:
        return {
            "device_to_poll": (self.polled - self.t0) * 1000,
            "poll_to_broker": (self.broker - self.polled) * 1000,
            "broker_to_alarm": (self.alarm - self.broker) * 1000,
            "alarm_to_console": (self.console - self.alarm) * 1000,
            "alarm_to_notify": (self.notify - self.alarm) * 1000,
            "device_to_console": (self.console - self.t0) * 1000,
            "device_to_notify": (self.notify - self.t0) * 1000,
        }


@dataclass
class Result:
    load: str
    poll_interval_s: float
    changes: list[Change] = field(default_factory=list)
    missed: int = 0
    mqtt_rtt_ms: list[float] = field(default_factory=list)
    background_per_s: float = 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def site_file(folder: Path, devices: dict[str, tuple[int, str]]) -> Path:
    import yaml

    doc = {
        "site": SITE,
        "name": SITE,
        "timezone": "Asia/Shanghai",
        "buildings": [{"id": BUILDING, "name": BUILDING}],
        "equipment": [
            {"id": eq, "type": kind, "building": BUILDING, "gateway": GATEWAY}
            for eq, (_unit, kind) in devices.items()
        ],
    }
    path = folder / f"{SITE}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def seed_alerts(database: DatabaseSettings, hook: str) -> None:
    """One person, one webhook channel, one policy: every alarm of the building, at once."""
    engine = make_engine(database)
    admin = AlertsAdmin(engine)
    at = datetime.now(UTC)
    admin.save_channel(
        SITE,
        "hook",
        kind="webhook",
        settings={"url": hook},
        secrets=None,
        enabled=True,
        actor="bench",
        at=at,
    )
    admin.save_contact(SITE, {"id": "duty", "name": "Duty engineer"}, actor="bench", at=at)
    policy = {
        "id": "all",
        "match": {"buildings": [BUILDING]},
        "steps": [{"after_min": 0, "notify": ["contact:duty"]}],
        "channels": ["hook"],
        "stop_on_clear": True,  # the same pump trips again: each activation notifies anew
    }
    admin.save_policy(SITE, policy, actor="bench", at=at)
    engine.dispose()


def mqtt_round_trips(mqtt: MqttSettings, n: int) -> list[float]:
    """The reference: QoS 1 publish → the same process's subscriber, ms."""
    got: dict[int, float] = {}
    done = threading.Event()

    def on(msg: paho.MQTTMessage) -> None:
        got[int(msg.payload)] = time.time()
        if len(got) >= n:
            done.set()

    topic = f"{topics.PREFIX}/_bench/rtt-{uuid.uuid4().hex[:6]}"
    client = MqttClient(mqtt, client_id=f"lat-rtt-{uuid.uuid4().hex[:6]}")
    client.subscribe(topic, on, qos=1)
    client.start()
    assert client.wait_subscribed(10)
    sent: dict[int, float] = {}
    for i in range(n):
        sent[i] = time.time()
        client.publish(topic, str(i).encode(), qos=1)
        time.sleep(0.02)  # paced, as alarms come: not a throughput test
    done.wait(30)
    client.stop()
    return [(got[i] - sent[i]) * 1000 for i in sent if i in got]


def building(per_kind: int) -> dict[str, tuple[int, str]]:
    """equipment -> (unit, kind): `per_kind` of each kind, units from 1."""
    out: dict[str, tuple[int, str]] = {}
    for i in range(per_kind):
        for kind in KINDS:
            out[f"{PREFIX[kind]}-{i + 1:02d}"] = (len(out) + 1, kind)
    return out


def run_load(  # noqa: PLR0912, PLR0915 - one scenario, read top to bottom
    tmp: Path, load: str, *, changes: int, deadline_s: float | None
) -> Result:
    per_kind, interval = (1, 1.0) if load == "demo" else (6, 2.0)
    devices = building(per_kind)
    result = Result(load, interval)
    tmp.mkdir(parents=True)
    servers: list[Server] = []
    children: list[Child] = []
    opened: list[Any] = []
    background: Background | None = None
    try:
        servers.append(start_mosquitto(tmp / "mosquitto"))
        servers.append(start_influxd(tmp / "influxd"))
        mqtt = MqttSettings(port=servers[0].port)
        url = servers[1].extra["url"]
        db_url = f"sqlite:///{tmp / 'bldgwatch.db'}"
        database = DatabaseSettings(url=db_url)
        engine = make_engine(database)
        migrate(engine)
        engine.dispose()
        sink = Sink()
        opened.append(sink.server)
        seed_alerts(database, sink.url)
        site_files = [str(site_file(tmp, devices))]
        if load == "portfolio":
            fleet = Fleet(sites=59, pumps=18)
            site_files += [str(p) for p in fleet.write_site_files(tmp / "sites")]
            # 1,062 devices x 14 points every 2 s in 5-point pump batches of 18 pumps
            rate = (PORTFOLIO_DEVICES - len(devices)) * PORTFOLIO_POINTS / 2.0 / (18 * 5)
            background = Background(mqtt, fleet, rate)
        modbus_port = free_port()
        plan = {eq: (unit, KINDS[kind]) for eq, (unit, kind) in devices.items()}
        dev = Devices(modbus_port, plan)
        opened.append(dev)
        queue: dict[str, Any] = {"path": str(tmp / "gw.sqlite")}
        if deadline_s is not None:
            queue["flush_deadline_s"] = deadline_s
        gateway_cfg = {
            "site": SITE,
            "gateway_id": GATEWAY,
            "mqtt": {"port": mqtt.port},
            "queue": queue,
            "metrics": {"port": free_port()},
            "devices": [
                {
                    "equipment": eq,
                    "building": BUILDING,
                    "profile": KINDS[kind],
                    "host": "127.0.0.1",
                    "port": modbus_port,
                    "unit": unit,
                    "poll_interval_s": interval,
                }
                for eq, (unit, kind) in devices.items()
            ],
        }
        console_port = free_port()
        children += [
            Child(
                tmp,
                "ingest",
                "ingest-1",
                {
                    "instance": "ingest-1",
                    "mqtt": {"host": mqtt.host, "port": mqtt.port},
                    "influx": {"url": url, "database": "bldgwatch"},
                    "status_interval_s": 1.0,
                    "register_required": False,
                },
            ),
            Child(
                tmp,
                "rules",
                "rules-1",
                {
                    "instance": "rules-1",
                    "mqtt": {"host": mqtt.host, "port": mqtt.port},
                    "database": {"url": db_url},
                    "site_files": site_files,
                    "packs": ["pump", "elevator", "shaft_panel"],
                    "status_interval_s": 1.0,
                    # the same pump trips again and again here: not chattering
                    "chatter_window_s": 1.0,
                },
            ),
            Child(
                tmp,
                "console",
                "console-1",
                {
                    "http": {"host": "127.0.0.1", "port": console_port},
                    "database": {"url": db_url},
                    "influx": {"url": url, "database": "bldgwatch"},
                    "mqtt": {"host": mqtt.host, "port": mqtt.port},
                    "dev": True,
                },
            ),
            Child(tmp, "gateway", "gateway", gateway_cfg),
        ]
        alerts_cfg = {
            "instance": "lat",
            "mqtt": {"host": "127.0.0.1", "port": mqtt.port},
            "database": {"url": db_url},
            "status_interval_s": 1.0,
            # one duty engineer gets every change here: not a flood to group into digests
            "flood": {"burst": 1000},
        }
        alerts = Child(tmp, "alerts", "alerts", alerts_cfg)
        children.append(alerts)
        # the children's, never this process's: a test runs this in its pytest worker, where
        # a key left in os.environ was taken by every later console of that worker (channels
        # sealed with their own key answered 500)
        key = {"BLDGWATCH_ALERTS_KEY": Fernet.generate_key().decode()}
        for child in children:
            child.env = key
        watch = Watch(mqtt)
        opened.append(watch)
        status = StatusWatch(mqtt)
        status.start()
        opened.append(status)
        for c in children:
            c.start()
        wait_until(lambda: console_ready(console_port), 120, "console")
        wait_until(
            lambda: status.get("rules", "rules-1").get("state") == "running", 120, "rules running"
        )
        token = login(f"http://127.0.0.1:{console_port}")
        reader = LiveReader(console_port, token)
        reader.events = StampedEvents()
        opened.append(reader)
        wait_until(lambda: reader.hello, 30, "hello on the live stream")
        pumps = [eq for eq, (_u, kind) in devices.items() if kind == "pump"]
        wait_until(lambda: all(watch.poll(eq, 0, False) for eq in pumps), 60, "first polls")
        if background is not None:
            opened.append(background)
            background.start()
            time.sleep(5)  # the background load settles
        result.mqtt_rtt_ms = mqtt_round_trips(mqtt, 50)
        time.sleep(2)  # alerts has started too (its status is not in StatusWatch)
        rng = random.Random(22)
        cleared: dict[str, float] = {}  # eq -> when its `tripped` went off
        for n in range(changes):
            eq = pumps[n % len(pumps)]
            if eq in cleared:  # the alarm of the previous change must have cleared
                off = cleared[eq]
                wait_until(lambda e=eq, o=off: watch.alarm(e, o, "clear"), 60, f"{eq} clear")
            time.sleep(rng.uniform(0.0, interval))  # any phase against the poll
            change = Change(eq, dev.change(eq, "tripped", True))
            try:
                got = wait_until(
                    lambda c=change: complete(c, watch, reader, sink), 30, f"change {n} on {eq}"
                )
                result.changes.append(got)
            except RuntimeError as err:
                print(f"missed: {err} ({change.seen})", flush=True)
                result.missed += 1
            cleared[eq] = dev.change(eq, "tripped", False)
    finally:
        if background is not None:
            background.stop()
            result.background_per_s = background.per_s.value
        for thing in reversed(opened):
            close = getattr(thing, "stop", None) or getattr(thing, "close", None)
            if thing.__class__.__name__ == "ThreadingHTTPServer":
                thing.shutdown()
            elif close is not None:
                close()
        for c in reversed(children):
            c.stop()
        for server in reversed(servers):
            server.stop()
    return result


def complete(change: Change, watch: Watch, reader: LiveReader, sink: Sink) -> Change | None:
    """The change with every hop's instant, once all have happened (else None)."""
    polled = watch.poll(change.eq, change.t0, True)
    alarm = watch.alarm(change.eq, change.t0, "activate")
    change.seen = f"polled={polled is not None} alarm={alarm is not None}"
    if polled is None or alarm is None:
        return None
    live = next(
        (
            e["_at"]
            for e in list(reader.events)
            if e["_at"] > change.t0
            and e["data"].get("equipment") == change.eq
            and e["data"].get("transition") == "activate"
            and e["data"].get("rule") == RULE
        ),
        None,
    )
    notified = sink.first(alarm[1]["alarm_id"], change.t0)
    change.seen += f" console={live is not None} notified={notified is not None}"
    if live is None or notified is None:
        return None
    change.polled, change.broker = polled[0] / 1000, polled[1]
    change.alarm, change.console, change.notify = alarm[0], live, notified
    return change


def report(result: Result) -> dict[str, float]:
    hops = [c.hops_ms() for c in result.changes]
    figures: dict[str, float] = {}
    for key in (*HOPS, "alarm_to_notify", "device_to_console", "device_to_notify"):
        values = [h[key] for h in hops]
        figures[f"{key}_p50_ms"] = pct(values, 0.5)
        figures[f"{key}_p99_ms"] = pct(values, 0.99)
    total = sum(h["device_to_console"] for h in hops) or float("nan")
    for key in HOPS:
        figures[f"{key}_share"] = sum(h[key] for h in hops) / total
    figures["target_ms"] = 250 + 1000 * (result.poll_interval_s + ON_DELAY_S)
    figures["ratio"] = figures["device_to_console_p99_ms"] / figures["target_ms"]
    figures["mqtt_rtt_p50_ms"] = pct(result.mqtt_rtt_ms, 0.5)
    figures["mqtt_rtt_p99_ms"] = pct(result.mqtt_rtt_ms, 0.99)
    after_poll = [h["device_to_console"] - h["device_to_poll"] for h in hops]
    figures["poll_to_console_p50_ms"] = pct(after_poll, 0.5)
    figures["poll_to_console_p99_ms"] = pct(after_poll, 0.99)
    figures["poll_to_console_vs_mqtt"] = figures["poll_to_console_p50_ms"] / max(
        figures["mqtt_rtt_p50_ms"], 0.001
    )
    return figures


def line(fig: dict[str, float]) -> str:
    return " ".join(
        f"{k}={v:.3f}" if k.endswith(("share", "ratio", "mqtt")) else f"{k}={v:.1f}"
        for k, v in fig.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few changes per load")
    parser.add_argument("--changes", type=int, help="changes per load (default 30, quick 6)")
    parser.add_argument("--loads", default="demo,portfolio", help="comma-separated")
    parser.add_argument("--deadline", type=float, help="the gateway's queue.flush_deadline_s")
    parser.add_argument("--per-change", action="store_true", help="print every change's hops")
    args = parser.parse_args()
    changes = args.changes or (6 if args.quick else 30)
    last: dict[str, float] = {}
    head = ""
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        for load in args.loads.split(","):
            t = time.monotonic()
            result = run_load(Path(tmp) / load, load, changes=changes, deadline_s=args.deadline)
            if args.per_change:
                for c in result.changes:
                    print(f"change eq={c.eq} " + line(c.hops_ms()))
            last = report(result)
            head = f"load={load} changes={len(result.changes)} missed={result.missed} "
            print(
                f"load={load} poll_interval_s={result.poll_interval_s} "
                f"changes={len(result.changes)} missed={result.missed} "
                f"background_readings_per_s={result.background_per_s:.0f} "
                f"wall_s={time.monotonic() - t:.0f} " + line(last),
                flush=True,
            )
    print(head + line(last))


if __name__ == "__main__":
    main()
