"""Measured against the truth: the demo building with every fault type injected in turn.

Two runs, in-process (no MQTT) on a ManualClock: the simulator's `demo` scenario
(simulators/scenarios/demo.yaml: its scheduled bearing fault and a random fault every three
minutes, for the first 1.5 simulated hours), and the demo's three devices with a schedule that
injects every fault type of the packs, one at a time per device, with recovery gaps. The
alarms are scored against the simulator's episodes: recall 100 % with the right fault code,
precision 100 % (no alarm outside a fault episode), and each detection within the detecting
rule's delay plus 2 s, counted from when the simulator's own values first show the fault
(`OBSERVABLE`: a fault that waits for the car to run or the tank to drain shows only then);
ramps are made fast (high rates) so that they show at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.support.truth import OBSERVABLE, Device, TruthRun, run_truth
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from bldgwatch.migrations import migrate
from bldgwatch.rules.detection import Score
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.kinds import CounterRule, StaleRule, StatisticalRule
from bldgwatch.rules.rulebase import resolve_limit
from bldgwatch.rules.schema import Rule, load_rules
from bldgwatch.simulators.config import ScheduledFault
from bldgwatch.simulators.scenario import expand, lives, load_scenario, site_configs

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GAP_S = 150.0
FIRST_S = 120.0

DEVICES = [
    Device(Equipment("demo", "E-01", "elevator", "B1", {"top_level_m": 35.2}, {"speed_m_s": 1.75})),
    Device(Equipment("demo", "P-01", "pump", "B1", {}, {"current_a": 30.0}, "II")),
    Device(Equipment("demo", "SP-01", "shaft_panel", "B1", {}, {"current_a": 100.0})),
]

# (fault, params, duration s) per device, in order.
FaultPlan = tuple[str, dict[str, Any], float]
PLAN: dict[str, list[FaultPlan]] = {
    "E-01": [
        ("entrapment_at_floor", {}, 120),
        ("entrapment_between_floors", {}, 120),
        ("overrun_top", {}, 120),
        ("overrun_bottom", {}, 120),
        ("overspeed", {"level": 1.2}, 120),
        ("overspeed", {"level": 1.4}, 120),
        ("abnormal_speed", {}, 120),
        ("door_open_while_running", {}, 120),
        ("moving_with_door_open", {}, 120),
        ("stop_outside_door_zone", {}, 120),
        ("door_open_failure", {}, 120),
        ("door_close_failure", {}, 120),
        ("safety_circuit_open", {}, 120),
        ("door_lock_open", {}, 120),
        ("power_loss", {}, 120),
        ("landing_button_stuck", {}, 720),
        ("floor_position_lost", {}, 120),
        ("entrapment", {"at_floor": False}, 120),
        ("silent", {}, 660),
    ],
    "P-01": [
        ("bearing_overheat", {"rate_c_per_s": 100.0}, 120),
        ("dry_running", {}, 120),
        ("cavitation", {"onset_s": 0}, 120),
        ("failure_to_start", {}, 300),
        ("overload", {}, 120),
        ("silent", {}, 660),
    ],
    "SP-01": [
        ("leakage_rising", {"rate_ma_per_s": 1000.0}, 120),
        ("joint_overheat", {"rate_c_per_s": 100.0}, 120),
        ("phase_imbalance", {}, 120),
        ("overload", {}, 120),
        ("silent", {}, 660),
    ],
}


def schedule() -> list[ScheduledFault]:
    out = []
    for equipment, plan in PLAN.items():
        at = FIRST_S
        for fault, params, duration in plan:
            out.append(
                ScheduledFault(
                    equipment=equipment, fault=fault, at_s=at, duration_s=duration, params=params
                )
            )
            at += duration + GAP_S
    return out


def duration_s() -> float:
    return FIRST_S + max(sum(d + GAP_S for _, _, d in plan) for plan in PLAN.values())


def rule_delay_s(rule: Rule) -> float:
    """How long the rule itself waits before it can raise (delay, window, silence)."""
    delay = rule.on_delay_s
    if isinstance(rule, StatisticalRule | CounterRule):
        delay += rule.window_s
    if isinstance(rule, StaleRule):  # the demo site sets no params: the default applies
        delay += resolve_limit(rule.stale_after_s, {}, {}, rule=rule.id, equipment="")
    return delay


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> TruthRun:
    path = tmp_path_factory.mktemp("truth") / "alarms.db"
    db = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(db)
    try:
        rules = load_rules(["elevator", "pump", "shaft_panel"], [])
        return run_truth(
            DEVICES,
            schedule(),
            rules,
            db,
            start=START,
            duration_s=duration_s(),
            observable=OBSERVABLE,
        )
    finally:
        db.dispose()


def test_every_fault_is_detected_with_its_code(run: TruthRun) -> None:
    score = run.score()
    assert len(score.detections) == sum(len(p) for p in PLAN.values())
    assert [(e.equipment, e.fault, e.params) for e in score.missed] == []
    assert score.recall == 1.0


def test_no_alarm_outside_a_fault_episode(run: TruthRun) -> None:
    score = run.score()
    assert [(a.equipment, a.fault_code, a.at) for a in score.false_alarms] == []
    assert score.precision == 1.0


def test_detection_latency_within_the_rule_delay_plus_2_s(run: TruthRun) -> None:
    rules = {r.id: r for r in load_rules(["elevator", "pump", "shaft_panel"], [])}
    score: Score = run.score()
    late = []
    for detection in score.detections:
        assert detection.alarm is not None and detection.latency_s is not None
        latency = detection.observed_latency_s
        assert latency is not None
        allowed = rule_delay_s(rules[detection.alarm.rule]) + 2.0
        if latency > allowed:
            late.append((detection.episode.fault, latency, allowed))
    assert late == [], late
    percentiles = score.latency_percentiles()
    assert percentiles["p50"] <= 30.0


# -- the simulator's `demo` scenario -------------------------------------------------------
DEMO_HOURS = 1.5
DEMO_PARAMS: dict[str, dict[str, float]] = {
    # The demo building's site entries: an 18-floor car (top landing 17 x 3.2 m up); the
    # demo's devices report every poll, so a minute of silence is already "no data".
    "elevator": {"top_level_m": 17 * 3.2, "no_data_after_s": 60},
    "pump": {"no_data_after_s": 60},
    "shaft_panel": {"no_data_after_s": 60},
    "temp_sensor": {"no_data_after_s": 60},
}
DEMO_RATED: dict[str, dict[str, float]] = {
    "elevator": {"speed_m_s": 1.75},
    "pump": {"current_a": 30.0},
    "shaft_panel": {"current_a": 100.0},
    "temp_sensor": {},
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> TruthRun:
    scenario = load_scenario(Path("simulators/scenarios/demo.yaml"))
    until = START + timedelta(days=scenario.life_days)
    (cfg,) = site_configs(scenario, START, lives(scenario, until), None)
    assets = {a.equipment: a for a in expand(scenario)}
    devices = []
    for item in [*cfg.devices, *cfg.sensors]:
        a = assets[item.equipment]
        machine_class = "II" if a.kind == "pump" else None
        eq = Equipment(
            "demo", a.equipment, a.kind, a.building, DEMO_PARAMS[a.kind], DEMO_RATED[a.kind],
            machine_class,
        )  # fmt: skip
        devices.append(Device(eq, dict(item.params)))
    schedule = [f for f in cfg.faults if f.at_s < DEMO_HOURS * 3600]
    path = tmp_path_factory.mktemp("demo") / "alarms.db"
    db = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(db)
    try:
        rules = load_rules(["elevator", "pump", "shaft_panel", "temp_sensor"], [])
        return run_truth(
            devices,
            schedule,
            rules,
            db,
            start=START,
            duration_s=DEMO_HOURS * 3600,
            seed=scenario.seed,
            observable=OBSERVABLE,
        )
    finally:
        db.dispose()


def test_demo_scenario_recall_precision_and_latency(demo_run: TruthRun) -> None:
    score = demo_run.score()
    assert len(score.detections) >= 25  # the scheduled fault and a random one every 3 min
    assert [(e.equipment, e.fault, e.start) for e in score.missed] == []
    assert [(a.equipment, a.fault_code, a.at) for a in score.false_alarms] == []
    rules = {r.id: r for r in load_rules(["elevator", "pump", "shaft_panel", "temp_sensor"], [])}
    late = []
    for d in score.detections:
        assert d.alarm is not None and d.observed_latency_s is not None
        rule = rules[d.alarm.rule]
        allowed = rule_delay_s(rule) + 2.0
        if isinstance(rule, StaleRule):
            allowed = 60 + 2.0  # the demo site's no_data_after_s
        if d.observed_latency_s > allowed:
            late.append((d.episode.fault, d.observed_latency_s, allowed))
    assert late == [], late
