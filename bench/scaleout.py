"""Scale-out on one machine (issue 21, point 5): N ingest processes on a shared subscription,
2 rules shards (`shard: i/2`), two consoles behind nginx, under a scaled-up portfolio-like
load of pump sites, with one of each SIGKILLed mid-run.

1. Ingest throughput per process count (1, 2, 3): the same backlog (QoS 1, queued in the
   group's persistent shared-subscription sessions) drained into InfluxDB by N `bldgwatch
   ingest` processes; the clock runs from the first message received (status documents,
   0.5 s apart) to the last reading counted back in InfluxDB. Reference: N = 1, same run.
2. The whole stack live: a gateway-like publisher at --rate messages/s (every pump of a site,
   5 points, per message); bearings are made hot on chosen pumps (one alarm each expected);
   mid-run one ingest, one rules shard and one console are SIGKILLed, more pumps go hot, and
   ingest and rules are restarted as a supervisor would (same instance id: same session).
   Checks: every reading stored once (count == sent), each site in exactly one shard and the
   surviving shard evaluated each of its readings once, every alarm once in the database,
   WebSocket clients through nginx got every activation whichever console served them.

Last line: readings_per_s=… ingest_1_per_s=… ingest_2_ratio=… ingest_3_ratio=… lost=…
duplicate_alarms=… missed_alarms=… live_missed=…
"""

# ruff: noqa: E402 - the path fix below must run before the project imports
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import contextlib
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import paho.mqtt.client as paho
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.support.scaleout import (
    POINTS,
    Child,
    Fleet,
    LiveReader,
    Publisher,
    StatusWatch,
    console_ready,
    login,
    nginx,
    owner,
    wait_until,
)
from bldgwatch.core import topics
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.migrations import migrate
from bldgwatch.servers import Server, free_port, start_influxd, start_mosquitto

logger = logging.getLogger("bench.scaleout")
RULE = "pump.bearing_temp_high"


@dataclass
class Figures:
    """What a run measured and checked."""

    ingest_per_s: dict[int, float] = field(default_factory=dict)
    live_readings_per_s: float = 0.0
    sent: int = 0
    stored: int = 0
    alarms_expected: int = 0
    alarm_rows: dict[str, int] = field(default_factory=dict)  # equipment -> rows of RULE
    shard_sites: dict[str, list[str]] = field(default_factory=dict)
    survivor_shard_readings: int = 0
    survivor_shard_expected: int = 0
    killed_shard_readings: int = 0
    killed_shard_expected: int = 0
    killed_shard_last_life: int = 0  # readings its restarted process evaluated
    killed_shard_after_kill: int = 0  # readings of its sites published from the kill on
    killed_shard_down_alarms: int = 0  # its sites' alarms raised while it was down (takeover)
    survivor_ingest_written_while_down: int = 0
    live_missed: dict[str, list[str]] = field(default_factory=dict)
    live_upstreams: list[str] = field(default_factory=list)  # two first clients, then the new
    survivor_console: str = ""
    sites: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def duplicate_alarms(self) -> int:
        return sum(n - 1 for n in self.alarm_rows.values() if n > 1)

    @property
    def missed_alarms(self) -> int:
        return self.alarms_expected - len(self.alarm_rows)


def count_stored(url: str, database: str) -> int:
    """Readings stored in `database` (sum of count() over every pump field)."""
    resp = httpx.get(
        f"{url}/query", params={"db": database, "q": "SELECT count(*) FROM pump"}, timeout=120
    )
    resp.raise_for_status()
    series = resp.json()["results"][0].get("series", [])
    return sum(int(v) for s in series for row in s["values"] for v in row[1:])


def ingest_config(mqtt: MqttSettings, url: str, db: str, instance: str, group: str) -> Any:
    return {
        "instance": instance,
        "group": group,
        "shared_subscription": True,
        "mqtt": {"host": mqtt.host, "port": mqtt.port},
        "influx": {"url": url, "database": db},
        "status_interval_s": 0.5,
        "register_required": False,  # delivery, not ownership, is measured here
        "retention": {"enabled": False},
    }


def make_sessions(mqtt: MqttSettings, group: str, instances: list[str]) -> None:
    """The group's persistent sessions and shared subscription, before any message."""
    for instance in instances:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bldgwatch-ingest-{instance}",
            protocol=paho.MQTTv5,
        )
        c.connect("127.0.0.1", mqtt.port, clean_start=False, properties=props)
        c.loop_start()
        c.subscribe(topics.shared(group, topics.ALL_READINGS), qos=1)[1]
        time.sleep(0.3)  # SUBACK; paho offers no wait on it here
        c.disconnect()
        c.loop_stop()


def ingest_scaling(
    tmp: Path, mqtt: MqttSettings, url: str, fleet: Fleet, *, rounds: int, counts: list[int]
) -> dict[int, float]:
    """readings/s draining the same backlog with 1, 2, 3 … ingest processes."""
    out: dict[int, float] = {}
    for n in counts:
        group = f"scale{n}"
        instances = [f"{group}-{i}" for i in range(n)]
        make_sessions(mqtt, group, instances)
        pub = Publisher(mqtt, fleet, rate_msgs=1e9)
        pub.start_client()
        expected = pub.publish_rounds(rounds)
        pub.stop()
        watch = StatusWatch(mqtt)
        watch.start()
        procs = [
            Child(tmp, "ingest", i, ingest_config(mqtt, url, group, i, group)) for i in instances
        ]
        try:
            for p in procs:
                p.start()
            # the clock starts when every process has taken its first message (they start
            # one after the other); what was stored before that is left out of the figure
            wait_until(
                lambda w=watch, names=instances: all(
                    w.get("ingest", i).get("received", 0) > 0 for i in names
                ),
                120,
                "every process receiving",
                interval=0.05,
            )
            t0, already = time.monotonic(), count_stored(url, group)
            wait_until(lambda db=group, n=expected: count_stored(url, db) >= n, 900, "stored", 0.25)
            out[n] = (expected - already) / (time.monotonic() - t0)
            stored = count_stored(url, group)
            if stored != expected:
                raise RuntimeError(f"{n} ingest: stored {stored} of {expected}")
        finally:
            for p in procs:
                p.stop()
            watch.stop()
        logger.warning("ingest x%d: %d readings, %.0f/s", n, expected, out[n])
    return out


def alarm_rows(db_url: str) -> dict[str, int]:
    engine = make_engine(DatabaseSettings(url=db_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT equipment, count(*) FROM alarms WHERE rule = :r GROUP BY 1"),
                {"r": RULE},
            ).all()
        return {str(eq): int(n) for eq, n in rows}
    finally:
        engine.dispose()


def children(
    tmp: Path, mqtt: MqttSettings, url: str, db_url: str, site_files: list[str]
) -> tuple[list[Child], list[Child], list[Child], list[int]]:
    """3 ingest, 2 rules shards, 2 consoles (and the consoles' ports)."""
    ingests = [
        Child(tmp, "ingest", f"live-{i}", ingest_config(mqtt, url, "live", f"live-{i}", "live"))
        for i in range(3)
    ]
    rules = [
        Child(
            tmp,
            "rules",
            f"rules-{i}",
            {
                "instance": f"rules-{i}",
                "shard": f"{i}/2",
                "mqtt": {"host": mqtt.host, "port": mqtt.port},
                "database": {"url": db_url},
                "site_files": site_files,
                "packs": ["pump"],
                "status_interval_s": 0.5,
            },
        )
        for i in range(2)
    ]
    ports = [free_port(), free_port()]
    consoles = [
        Child(
            tmp,
            "console",
            f"console-{k}",
            {
                "http": {"host": "127.0.0.1", "port": port},
                "database": {"url": db_url},
                "influx": {"url": url, "database": "live"},
                "mqtt": {"host": mqtt.host, "port": mqtt.port},
                "dev": True,
            },
        )
        for k, port in zip("ab", ports, strict=True)
    ]
    return ingests, rules, consoles, ports


def shard_readings(watch: StatusWatch, instance: str) -> int:
    """Readings a rules instance evaluated over all its lives (counters restart with it)."""
    lives: list[int] = []
    last = 0
    for doc in watch.docs("rules", instance):
        n = doc.get("counters", {}).get("readings")
        if n is None:
            continue
        if n < last:
            lives.append(last)
        last = n
    return sum(lives) + last


def stack_run(  # noqa: PLR0915 - one scenario, read top to bottom
    tmp: Path, mqtt: MqttSettings, url: str, fleet: Fleet, *, rate: float, run_s: float
) -> Figures:
    """The whole stack live, with one ingest, one rules shard and one console killed."""
    fig = Figures(sites=fleet.site_ids())
    db_url = f"sqlite:///{tmp / 'scaleout.db'}"
    engine = make_engine(DatabaseSettings(url=db_url))
    migrate(engine)
    engine.dispose()
    site_files = [str(p) for p in fleet.write_site_files(tmp / "sites")]
    sites = fleet.site_ids()
    ingests, rules, consoles, ports = children(tmp, mqtt, url, db_url, site_files)
    watch = StatusWatch(mqtt)
    watch.start()
    make_sessions(mqtt, "live", [c.name for c in ingests])
    pub = Publisher(mqtt, fleet, rate_msgs=rate)
    readers: list[LiveReader] = []
    everyone = [*ingests, *rules, *consoles]
    try:
        for c in [*ingests, *rules]:
            c.start()
        for c, port in zip(consoles, ports, strict=True):
            c.start()  # one after the other: the first creates the dev admin
            wait_until(lambda port=port: console_ready(port), 120, f"console on {port}")
        wait_until(
            lambda: all(watch.get("rules", r.name).get("state") == "running" for r in rules),
            120,
            "both rules shards running",
        )
        with nginx(tmp / "nginx", ports) as front:
            base = f"http://127.0.0.1:{front}"
            token = login(base)
            readers = [LiveReader(front, token) for _ in range(2)]  # round robin: one each
            fig.live_upstreams = [r.upstream for r in readers]
            wait_until(lambda: all(r.hello for r in readers), 30, "hello on both streams")
            hot1 = {fleet.pump_ids(s)[0] for s in sites}
            pub.hot |= hot1
            pub.start()
            t_start = time.monotonic()
            wait_until(lambda: set(alarm_rows(db_url)) >= hot1, run_s + 120, "first alarms", 0.5)
            time.sleep(max(0.0, run_s / 3 - (time.monotonic() - t_start)))  # the load runs
            # -- SIGKILL one of each ----------------------------------------------------
            victim_ingest, victim_rules = ingests[2], rules[1]
            at_kill = dict(pub.sent_per_site)
            victim_console = consoles[0]
            before = {i.name: watch.get("ingest", i.name).get("written", 0) for i in ingests[:2]}
            for victim in (victim_ingest, victim_rules, victim_console):
                victim.kill()
            fresh = LiveReader(front, token)  # a new client: nginx must send it to the survivor
            wait_until(lambda: fresh.hello, 30, "hello from the surviving console")
            fig.live_upstreams.append(fresh.upstream)
            hot2 = {fleet.pump_ids(s)[1] for s in sites}
            pub.hot |= hot2
            down_for = max(5.0, run_s / 3)
            time.sleep(down_for)  # the survivors carry the load while the victims are down
            after = {i.name: watch.get("ingest", i.name).get("written", 0) for i in ingests[:2]}
            fig.survivor_ingest_written_while_down = sum(after[k] - before[k] for k in before)
            killed_sites = {s for s in sites if owner(s, 2) == 1}
            rows = alarm_rows(db_url)
            fig.killed_shard_down_alarms = sum(
                1 for s in killed_sites if fleet.pump_ids(s)[1] in rows
            )
            # -- restart as a supervisor would (same instance id, same session) ------------
            victim_ingest.start()
            victim_rules.start()
            # the load runs on; at least long enough for the new hot bearings' on-delay
            time.sleep(max(run_s / 3, 8.0, run_s - (time.monotonic() - t_start)))
            pub.stop()
            elapsed = time.monotonic() - t_start
            fig.sent = pub.sent_readings
            fig.live_readings_per_s = fig.sent / elapsed
            fig.alarms_expected = len(hot1 | hot2)
            wait_until(
                lambda: count_stored(url, "live") >= fig.sent, 300, "every reading stored", 0.5
            )
            fig.stored = count_stored(url, "live")
            wait_until(
                lambda: len(alarm_rows(db_url)) >= fig.alarms_expected, 120, "every alarm", 0.5
            )
            fig.alarm_rows = alarm_rows(db_url)
            survivor_expected = sum(
                fleet.pumps * len(POINTS) * pub.sent_per_site[s] for s in sites if owner(s, 2) == 0
            )
            fig.survivor_shard_expected = survivor_expected
            fig.killed_shard_expected = sum(
                fleet.pumps * len(POINTS) * pub.sent_per_site[s] for s in killed_sites
            )

            def settled() -> bool:
                doc = watch.get("rules", "rules-0").get("counters", {})
                return bool(doc.get("readings", 0) >= survivor_expected)

            with_timeout(settled, 120)
            fig.survivor_shard_readings = watch.get("rules", "rules-0")["counters"]["readings"]
            fig.killed_shard_readings = shard_readings(watch, "rules-1")
            fig.killed_shard_after_kill = sum(
                fleet.pumps * len(POINTS) * (pub.sent_per_site[s] - at_kill.get(s, 0))
                for s in killed_sites
            )

            def caught_up() -> bool:
                docs = watch.docs("rules", "rules-1")
                fig.killed_shard_last_life = int(docs[-1]["counters"]["readings"]) if docs else 0
                return fig.killed_shard_last_life >= fig.killed_shard_after_kill

            # the restarted shard has worked through what queued in its session
            with_timeout(caught_up, 120)
            fig.killed_shard_readings = shard_readings(watch, "rules-1")
            fig.shard_sites = {
                r.name: list(watch.get("rules", r.name).get("sites", [])) for r in rules
            }
            alive = fig.survivor_console = f"127.0.0.1:{ports[1]}"  # consoles[1] survived
            survivor = next(r for r in readers if r.upstream == alive)
            with_timeout(
                lambda: survivor.activations() >= hot1 | hot2 and fresh.activations() >= hot2, 60
            )
            fig.notes += [
                f"{r.upstream}: closed={r.closed.is_set()} {r.close_frame!r} "
                f"activations={len(r.activations())}"
                for r in (*readers, fresh)
            ]
            fig.live_missed = {
                "survivor_stream": sorted((hot1 | hot2) - survivor.activations()),
                "new_stream": sorted(hot2 - fresh.activations()),
            }
            readers.append(fresh)
    finally:
        pub.stop()
        for r in readers:
            r.close()
        for c in everyone:
            c.stop()
        watch.stop()
    return fig


def with_timeout(check: Any, timeout: float) -> None:
    """Wait for `check` but go on without it (the figure then shows the shortfall)."""
    try:
        wait_until(check, timeout, "settled", 0.5)
    except RuntimeError:
        logger.warning("not settled after %.0f s", timeout)


def run(
    tmp: Path,
    *,
    sites: int,
    pumps: int,
    rate: float,
    run_s: float,
    backlog_rounds: int,
    counts: list[int],
) -> Figures:
    servers: list[Server] = []
    try:
        servers.append(start_mosquitto(tmp / "mosquitto"))
        servers.append(start_influxd(tmp / "influxd"))
        mqtt = MqttSettings(port=servers[0].port)
        url = servers[1].extra["url"]
        fleet = Fleet(sites, pumps)
        per_s = ingest_scaling(
            tmp / "scaling", mqtt, url, fleet, rounds=backlog_rounds, counts=counts
        )
        (tmp / "stack").mkdir()
        fig = stack_run(tmp / "stack", mqtt, url, fleet, rate=rate, run_s=run_s)
        fig.ingest_per_s = per_s
        return fig
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # 60 sites x 40 pumps x 5 points, two messages per site per second: 24,000 readings/s,
    # 1.6 x the portfolio scenario polled every second (1,080 devices, ~14 points each)
    parser.add_argument("--sites", type=int, default=60)
    parser.add_argument("--pumps", type=int, default=40, help="pumps per site")
    parser.add_argument("--rate", type=float, default=120.0, help="messages/s (one per site)")
    parser.add_argument("--run-s", type=float, default=60.0)
    parser.add_argument("--backlog-rounds", type=int, default=50)
    parser.add_argument("--max-ingest", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs, configs)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counts = list(range(1, args.max_ingest + 1))
    prefix = f"bench-scaleout-{uuid.uuid4().hex[:6]}-"
    folder: Any = (
        contextlib.nullcontext(tempfile.mkdtemp(prefix=prefix))
        if args.keep
        else tempfile.TemporaryDirectory(prefix=prefix)
    )
    with folder as tmp:
        fig = run(
            Path(tmp),
            sites=args.sites,
            pumps=args.pumps,
            rate=args.rate,
            run_s=args.run_s,
            backlog_rounds=args.backlog_rounds,
            counts=counts,
        )
    base = fig.ingest_per_s[1] or float("nan")  # a tiny backlog may be gone before t0
    print(f"load: sites={args.sites} pumps_per_site={args.pumps} points={len(POINTS)}")
    for n, v in fig.ingest_per_s.items():
        print(f"ingest_x{n}_per_s={v:.0f} ratio_to_x1={v / base:.2f}")
    print(
        f"live_readings_per_s={fig.live_readings_per_s:.0f} sent={fig.sent} stored={fig.stored} "
        f"survivor_ingest_written_while_down={fig.survivor_ingest_written_while_down}"
    )
    print(
        f"shard_sites={ {k: len(v) for k, v in fig.shard_sites.items()} } "
        f"survivor_shard_readings={fig.survivor_shard_readings} "
        f"expected={fig.survivor_shard_expected} "
        f"killed_shard_readings={fig.killed_shard_readings} "
        f"expected={fig.killed_shard_expected} "
        f"killed_shard_last_life={fig.killed_shard_last_life} "
        f"after_kill={fig.killed_shard_after_kill} "
        f"killed_shard_alarms_while_down={fig.killed_shard_down_alarms}"
    )
    print(
        f"alarms_expected={fig.alarms_expected} alarms={len(fig.alarm_rows)} "
        f"upstreams={fig.live_upstreams} live_missed={fig.live_missed} notes={fig.notes}"
    )
    print(
        f"readings_per_s={fig.live_readings_per_s:.0f} ingest_1_per_s={base:.0f} "
        + " ".join(f"ingest_{n}_ratio={v / base:.2f}" for n, v in fig.ingest_per_s.items() if n > 1)
        + f" lost={fig.sent - fig.stored} duplicate_alarms={fig.duplicate_alarms} "
        f"missed_alarms={fig.missed_alarms} "
        f"live_missed={sum(len(v) for v in fig.live_missed.values())}"
    )


if __name__ == "__main__":
    main()
