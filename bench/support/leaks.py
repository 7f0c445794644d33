"""The leak scenario (issue 20, point 4): N water meters over simulated days, leaks injected
at known times, judged by the `meters` pack's night-flow rule and scored against the
simulator's episodes.

Each meter gets its own mean use (0.5 … 4 m³/h) and a seeded plan: the first
`learn_days` are leak-free (the meters learn their nights), then about half the meters leak
once, from a random hour of a random day, for 2 … 4 days, at 0.08 … 0.6 m³/h (a dripping
tap to a running cistern). A leak counts as detected when a WATER_NIGHT_FLOW alarm of its
meter is raised between its start and its end plus `GRACE` (the end of the next night
window: a leak that ends mid-afternoon was still seen in the night before); an alarm outside
every leak of its meter is a false alarm. Shared by bench/leaks.py and
tests/rules/test_leak_truth.py (bench/ imports nothing from tests/).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bench.support.truth import Device, TruthRun, run_truth
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.schema import load_rules
from bldgwatch.simulators.config import ScheduledFault

START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # midnight in Shanghai
GRACE = timedelta(hours=24)
SITE = "leaks"


@dataclass(frozen=True, slots=True)
class LeakScenario:
    """The meters and the leaks of one seeded run."""

    devices: list[Device]
    schedule: list[ScheduledFault]
    duration_s: float


def leak_scenario(
    meters: int,
    days: int,
    *,
    seed: int = 1,
    learn_days: int = 4,
    sizes: tuple[float, float] = (0.08, 0.6),
) -> LeakScenario:
    """A seeded scenario of `meters` water meters over `days` days, leaks of `sizes` m³/h."""
    rng = random.Random(seed)
    devices = [
        Device(
            Equipment(SITE, f"WM-{i:03d}", "water_meter", "B1", timezone="Asia/Shanghai"),
            {"mean_m3h": round(rng.uniform(0.5, 4.0), 2), "utc_offset_h": 8.0},
        )
        for i in range(meters)
    ]
    schedule = []
    for device in devices:
        if rng.random() >= 0.5:
            continue
        span_days = rng.uniform(2.0, 4.0)
        latest = days - span_days - 0.5
        if latest <= learn_days:
            continue
        at_days = rng.uniform(learn_days, latest)
        schedule.append(
            ScheduledFault(
                equipment=device.equipment.id,
                fault="leak",
                at_s=at_days * 86_400,
                duration_s=span_days * 86_400,
                params={"flow_m3h": round(rng.uniform(*sizes), 3)},
            )
        )
    return LeakScenario(devices, schedule, days * 86_400.0)


def run_leaks(scenario: LeakScenario, db: Engine, *, step_s: float = 60.0) -> TruthRun:
    """Simulate the scenario through the `meters` pack (one reading per meter per step)."""
    return run_truth(
        scenario.devices,
        scenario.schedule,
        load_rules(["meters"], []),
        db,
        start=START,
        duration_s=scenario.duration_s,
        step_s=step_s,
    )
