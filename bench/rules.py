"""Rules benchmark: truth on a portfolio-like fleet, evaluator throughput, alarm latency.

1. Truth: the simulator's `portfolio` scenario (its random faults; a subset of its buildings,
   simulated in-process) and a fleet with every fault type of the packs drawn at random;
   alarms scored against the simulator's episodes (recall, precision, detection latency
   percentiles from the fault's start and from when the signals first show it). The last
   line's recall and precision are the portfolio's.
2. Throughput: readings evaluated per second on one core with the three packs on >= 10,000
   series, replaying simulated device values; the reference is issue 22's target of
   1,000,000/s (ratio = measured / target), also per CPU second of the evaluating thread (the
   one-core figure on a shared machine); the ceiling of a bare loop that only looks each
   reading up is printed for scale.
3. Latency: the real service (`bldgwatch rules`, its own process) on a real Mosquitto at
   20,000 readings/s;
   p99 from a reading's source time (stamped when published) to its alarm event arriving at
   a subscriber (two broker hops more than "arrival to published": an upper bound).

Last line: readings_per_s=… readings_per_cpu_s=… ceiling_per_s=… target_per_s=1000000 ratio=…
series=… p99_latency_ms=… recall=… precision=…
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as paho
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support.truth import OBSERVABLE, Device, run_truth
from bldgwatch.core import topics
from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.migrations import migrate
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.evaluator import Equipment, Evaluator
from bldgwatch.rules.schema import load_rules
from bldgwatch.servers import start_mosquitto
from bldgwatch.simulators.config import ScheduledFault
from bldgwatch.simulators.devices import MODELS
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.scenario import expand, lives, load_scenario, site_configs
from bldgwatch.simulators.simulation import equipment_rng

PACKS = ["pump", "elevator", "shaft_panel", "temp_sensor"]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TARGET_PER_S = 1_000_000
KINDS = {"elevator": "E", "pump": "P", "shaft_panel": "SP"}
PARAMS = {"elevator": {"top_level_m": 35.2}, "pump": {}, "shaft_panel": {}}
RATED = {
    "elevator": {"speed_m_s": 1.75},
    "pump": {"current_a": 30.0},
    "shaft_panel": {"current_a": 100.0},
}
# Faults drawn at random, with ramps made fast so each shows soon after its start.
RANDOM_FAULTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "elevator": [
        ("entrapment_at_floor", {}),
        ("entrapment_between_floors", {}),
        ("overrun_top", {}),
        ("overrun_bottom", {}),
        ("overspeed", {"level": 1.2}),
        ("overspeed", {"level": 1.4}),
        ("abnormal_speed", {}),
        ("door_open_while_running", {}),
        ("moving_with_door_open", {}),
        ("stop_outside_door_zone", {}),
        ("door_open_failure", {}),
        ("door_close_failure", {}),
        ("safety_circuit_open", {}),
        ("door_lock_open", {}),
        ("power_loss", {}),
        ("floor_position_lost", {}),
    ],
    "pump": [
        ("bearing_overheat", {"rate_c_per_s": 100.0}),
        ("dry_running", {}),
        ("cavitation", {"onset_s": 0}),
        ("overload", {}),
    ],
    "shaft_panel": [
        ("leakage_rising", {"rate_ma_per_s": 1000.0}),
        ("joint_overheat", {"rate_c_per_s": 100.0}),
        ("phase_imbalance", {}),
    ],
}


def fleet(sites: int, per_site: dict[str, int]) -> list[Equipment]:
    """A portfolio-like fleet: every site with the same mix of equipment."""
    out = []
    for s in range(sites):
        for kind, count in per_site.items():
            for i in range(count):
                eq_id = f"{KINDS[kind]}{s:03d}-{i:02d}"
                cls = "II" if kind == "pump" else None
                out.append(
                    Equipment(f"site-{s:03d}", eq_id, kind, "B1", PARAMS[kind], RATED[kind], cls)
                )
    return out


# -- 1. truth ------------------------------------------------------------------------------
def random_schedule(equipment: list[Equipment], duration_s: float, seed: int) -> list[Any]:
    """One or two faults per equipment at random times, 120 s each, never overlapping."""
    rng = random.Random(seed)
    schedule = []
    for eq in equipment:
        at = rng.uniform(120, 600)
        while at + 120 < duration_s - 120:
            fault, params = rng.choice(RANDOM_FAULTS[eq.type])
            schedule.append(
                ScheduledFault(equipment=eq.id, fault=fault, at_s=at, duration_s=120, params=params)
            )
            at += 120 + rng.uniform(600, 1500)
    return schedule


def portfolio_run(quick: bool, db_url: str) -> Any:
    """The `portfolio` scenario in-process: every device a fault hits in the period, plus whole
    buildings (2 or 8 per site) as background for false alarms."""
    scenario = load_scenario(Path("simulators/scenarios/portfolio.yaml"))
    until = START + timedelta(days=scenario.life_days)
    configs = site_configs(scenario, START, lives(scenario, until), None)
    per_site = 2 if quick else 8
    assets = {a.equipment: a for a in expand(scenario)}
    kept_buildings = {
        site: sorted({a.building for a in assets.values() if a.site == site})[:per_site]
        for site in {a.site for a in assets.values()}
    }
    duration = 1800.0 if quick else 3600.0
    targeted = {f.equipment for cfg in configs for f in cfg.faults if f.at_s < duration}
    devices, schedule = [], []
    for cfg in configs:
        for item in cfg.devices:
            a = assets[item.equipment]
            if a.building not in kept_buildings[a.site] and a.equipment not in targeted:
                continue  # a background of whole buildings, plus every device with a fault
            params = {**PARAMS[a.kind], "top_level_m": 17 * 3.2, "no_data_after_s": 60}
            cls = "II" if a.kind == "pump" else None
            eq = Equipment(a.site, a.equipment, a.kind, a.building, params, RATED[a.kind], cls)
            devices.append(Device(eq, dict(item.params)))
        names = {d.equipment.id for d in devices}
        schedule += [f for f in cfg.faults if f.equipment in names]
    schedule = [f for f in schedule if f.at_s < duration]
    db = make_engine(DatabaseSettings(url=db_url))
    migrate(db)
    try:
        return run_truth(
            devices,
            schedule,
            load_rules(PACKS, []),
            db,
            start=START,
            duration_s=duration,
            seed=scenario.seed,
            observable=OBSERVABLE,
        ), len(devices)
    finally:
        db.dispose()


def _report(name: str, result: Any, devices: int, elapsed: float) -> dict[str, float]:
    score = result.score()
    observed = [d.observed_latency_s for d in score.detections if d.observed_latency_s is not None]
    lat = score.latency_percentiles()
    obs = {f"p{q}": float(np.percentile(observed, q)) for q in (50, 95, 99)} if observed else {}
    nan = float("nan")
    print(
        f"{name}: devices={devices} simulated_s={(result.until - START).total_seconds():.0f} "
        f"episodes={len(score.detections)} alarms={len(result.alarms)} "
        f"missed={len(score.missed)} false={len(score.false_alarms)} wall_s={elapsed:.1f}"
    )
    print(
        f"{name}: recall={score.recall:.3f} precision={score.precision:.3f} "
        f"latency_from_start_s p50={lat['p50']:.1f} p95={lat['p95']:.1f} p99={lat['p99']:.1f} "
        f"latency_from_observable_s p50={obs.get('p50', nan):.1f} "
        f"p95={obs.get('p95', nan):.1f} p99={obs.get('p99', nan):.1f}"
    )
    for ep in score.missed:
        print(f"  missed {ep.equipment} {ep.fault} {ep.params} at {ep.start:%H:%M:%S}")
    for alarm in score.false_alarms:
        print(f"  false {alarm.equipment} {alarm.fault_code} at {alarm.at:%H:%M:%S}")
    return {"recall": score.recall, "precision": score.precision}


def bench_truth(quick: bool) -> dict[str, float]:
    """The portfolio scenario, then a fleet with every fault type of the packs."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result, devices = portfolio_run(quick, f"sqlite:///{tmp}/portfolio.db")
        portfolio = _report("portfolio", result, devices, time.perf_counter() - t0)
        equipment = fleet(4 if quick else 10, {"elevator": 2, "pump": 2, "shaft_panel": 2})
        duration = 1800.0 if quick else 5400.0
        db = make_engine(DatabaseSettings(url=f"sqlite:///{tmp}/truth.db"))
        migrate(db)
        t0 = time.perf_counter()
        result = run_truth(
            [Device(eq) for eq in equipment],
            random_schedule(equipment, duration, seed=7),
            load_rules(PACKS, []),
            db,
            start=START,
            duration_s=duration,
            observable=OBSERVABLE,
        )
        db.dispose()
        _report("all_faults", result, len(equipment), time.perf_counter() - t0)
    return portfolio


# -- 2. throughput -------------------------------------------------------------------------
def recorded_values(kind: str, templates: int, seconds: int) -> list[list[dict[str, Any]]]:
    """Per second, the values of `templates` simulated devices of a kind."""
    sims = [
        SimulatedEquipment(f"t{i}", MODELS[kind].build(start=START, rng=equipment_rng(i, "t")))
        for i in range(templates)
    ]
    rows = []
    for s in range(1, seconds + 1):
        now = START + timedelta(seconds=s)
        row = []
        for sim in sims:
            sim.step(now)
            row.append(sim.values())
        rows.append(row)
    return rows


def replay(equipment: list[Equipment], seconds: int) -> tuple[list[list[Any]], int]:
    """Per second, per site, the readings the fleet reports; and the number of series."""
    values = {kind: recorded_values(kind, 7, seconds) for kind in KINDS}
    batches: list[list[Any]] = []
    series = 0
    for s in range(seconds):
        ts = to_epoch_ms(START) + (s + 1) * 1000
        by_site: dict[str, list[Reading]] = {}
        for j, eq in enumerate(equipment):
            row = values[eq.type][s][j % 7]
            by_site.setdefault(eq.site, []).extend(
                Reading(eq.id, p, ts, float(v), Quality.GOOD) for p, v in row.items()
            )
            series += len(row) if s == 0 else 0
        batches.append(list(by_site.items()))
    return batches, series


def bench_throughput(quick: bool) -> dict[str, float]:
    equipment = fleet(40, {"elevator": 10, "pump": 8, "shaft_panel": 8})
    batches, series = replay(equipment, 20 if quick else 60)
    total = sum(len(r) for second in batches for _, r in second)
    evaluator = Evaluator(load_rules(PACKS, []), equipment)
    t0, cpu0 = time.perf_counter(), time.thread_time()
    for second in batches:
        for site, readings in second:
            evaluator.feed_batch(site, readings)
        evaluator.tick(second[0][1][0].ts_ms)
    ours = total / (time.perf_counter() - t0)
    # Readings per CPU second of this thread: the one-core figure, whatever else the
    # machine's cores are doing meanwhile (wall time counts the waits for a core too).
    per_cpu_s = total / (time.thread_time() - cpu0)
    index = {(eq.site, eq.id): eq for eq in equipment}
    t0 = time.perf_counter()
    hits = 0
    for second in batches:
        for site, readings in second:
            for r in readings:
                hits += (site, r.equipment) in index and r.quality is Quality.GOOD
    ceiling = total / (time.perf_counter() - t0)
    print(
        f"throughput: equipment={len(equipment)} series={series} slots={evaluator.slot_count} "
        f"readings={total} changes={evaluator.counters.changes}"
    )
    print(
        f"throughput: readings_per_s={ours:.0f} readings_per_cpu_s={per_cpu_s:.0f} "
        f"ceiling_per_s={ceiling:.0f} hits={hits}"
    )
    return {
        "readings_per_s": ours,
        "readings_per_cpu_s": per_cpu_s,
        "ceiling_per_s": ceiling,
        "series": series,
    }


# -- 3. latency ----------------------------------------------------------------------------
BENCH_RULE = {
    "id": "bench.trip",
    "kind": "threshold",
    "equipment_type": "pump",
    "point": "tripped",
    "op": ">",
    "limit": 0.5,
    "severity": "major",
    "priority": 2,
    "fault_code": "BENCH_TRIP",
    "family": "bench",
}


class Collector:
    """Receives alarm events and notes their delay after the reading's source time."""

    def __init__(self, settings: MqttSettings) -> None:
        self.delays_ms: list[float] = []
        self.state: str | None = None
        self.client = MqttClient(settings, client_id="bench-collector")
        self.client.subscribe(topics.ALL_ALARMS, self._on_event, qos=1)
        self.client.subscribe(topics.service_status("rules", "bench"), self._on_status, qos=1)
        self.client.start()
        assert self.client.wait_connected(10)

    def _on_status(self, msg: paho.MQTTMessage) -> None:
        self.state = str(orjson.loads(msg.payload).get("state"))

    def _on_event(self, msg: paho.MQTTMessage) -> None:
        event = AlarmEvent.model_validate_json(msg.payload)
        if event.rule == BENCH_RULE["id"] and event.transition in ("activate", "clear"):
            self.delays_ms.append(time.time() * 1000 - event.at.timestamp() * 1000)


def _write_config(tmp: Path, settings: MqttSettings, equipment: list[Equipment]) -> RulesConfig:
    sites: dict[str, list[dict[str, Any]]] = {}
    for eq in equipment:
        sites.setdefault(eq.site, []).append(
            {
                "id": eq.id,
                "type": eq.type,
                "building": "B1",
                "gateway": "gw-1",
                "rated": dict(eq.rated),
                "params": dict(eq.params),
            }
        )
    files = []
    for site, items in sites.items():
        path = tmp / f"{site}.yaml"
        path.write_text(
            yaml.safe_dump({"site": site, "buildings": [{"id": "B1"}], "equipment": items})
        )
        files.append(path)
    rule_file = tmp / "bench.yaml"
    rule_file.write_text(yaml.safe_dump({"pack": "bench", "rules": [BENCH_RULE]}))
    return RulesConfig(
        instance="bench",
        mqtt=settings,
        database=DatabaseSettings(url=f"sqlite:///{tmp}/alarms.db"),
        site_files=files,
        packs=PACKS,
        rule_files=[rule_file],
        escalate_after_s=0,
        status_interval_s=1.0,
    )


def _publish_load(client: MqttClient, equipment: list[Equipment], rate: int, seconds: float) -> int:
    """Batches of 200 readings at `rate` readings/s; ten times a second a pump trips or recovers."""
    infos: dict[str, dict[str, EquipmentInfo]] = {}
    for eq in equipment:
        infos.setdefault(eq.site, {})[eq.id] = EquipmentInfo(eq.type, "B1")
    pumps = [eq for eq in equipment if eq.type == "pump"]
    tripped = {eq.id: 0.0 for eq in pumps}
    per_batch, sent, seq = 200, 0, 0
    toggle_every = max(1, rate // per_batch // 10)
    rng = random.Random(3)
    t_start = time.perf_counter()
    while (elapsed := time.perf_counter() - t_start) < seconds:
        while sent < int(elapsed * rate):
            seq += 1
            now_ms = int(time.time() * 1000)
            eq = pumps[seq % len(pumps)]
            readings = [
                Reading(eq.id, "bearing_temp_c", now_ms, 60 + rng.random())
                for _ in range(per_batch - 1)
            ]
            if seq % toggle_every == 0:
                tripped[eq.id] = 1.0 - tripped[eq.id]
            readings.append(Reading(eq.id, "tripped", now_ms, tripped[eq.id]))
            batch = ReadingBatch(eq.site, "gw-1", seq, infos[eq.site], readings)
            client.publish(topics.readings(eq.site, "gw-1"), encode_batch(batch), qos=1)
            sent += per_batch
        time.sleep(0.002)
    return sent


def bench_latency(quick: bool, rate: int = 20_000) -> dict[str, float]:
    equipment = fleet(4, {"elevator": 2, "pump": 3, "shaft_panel": 2})
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = start_mosquitto(tmp / "mosquitto")
        settings = MqttSettings(host="127.0.0.1", port=broker.port)
        cfg = _write_config(tmp, settings, equipment)
        cfg_path = tmp / "rules.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        collector = Collector(settings)
        # The service in its own process (its own core and GIL), as deployed.
        with (tmp / "rules.log").open("wb") as log:
            service = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "bldgwatch"),
                    "rules",
                    "--config",
                    str(cfg_path),
                ],
                stdout=log,
                stderr=log,
            )
        publisher = MqttClient(settings, client_id="bench-publisher")
        publisher.start()
        assert publisher.wait_connected(10)
        deadline = time.monotonic() + 60
        while collector.state != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            sent = _publish_load(publisher, equipment, rate, 10.0 if quick else 30.0)
            time.sleep(2.0)
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(60)
            publisher.stop()
            collector.client.stop()
            broker.stop()
    delays = collector.delays_ms
    p50, p95, p99 = (float(np.percentile(delays or [0.0], q)) for q in (50, 95, 99))
    print(
        f"latency: rate={rate}/s sent={sent} events={len(delays)} p50_ms={p50:.1f} "
        f"p95_ms={p95:.1f} p99_ms={p99:.1f} max_ms={max(delays or [0.0]):.1f}"
    )
    return {"p99_ms": p99, "events": float(len(delays))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    truth = bench_truth(args.quick)
    thru = bench_throughput(args.quick)
    lat = bench_latency(args.quick)
    print(
        f"readings_per_s={thru['readings_per_s']:.0f} "
        f"readings_per_cpu_s={thru['readings_per_cpu_s']:.0f} "
        f"ceiling_per_s={thru['ceiling_per_s']:.0f} "
        f"target_per_s={TARGET_PER_S} ratio={thru['readings_per_s'] / TARGET_PER_S:.2f} "
        f"series={thru['series']:.0f} p99_latency_ms={lat['p99_ms']:.1f} "
        f"recall={truth['recall']:.3f} precision={truth['precision']:.3f}"
    )


if __name__ == "__main__":
    main()
