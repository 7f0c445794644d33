"""Pump energy drift measured against the truth (issue 20, point 3): three simulated pumps
over 20 simulated days, one with the simulator's `impeller_wear` fault from day 8, through
the rules engine's `pump.energy_drift` rule (and its alarm store). The worn pump is flagged
as PUMP_ENERGY_DRIFT once its specific energy has risen past the limit; the sound ones never.
Time is the simulation's, never slept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.support.truth import Device, TruthRun, run_truth
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from bldgwatch.migrations import migrate
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.schema import load_rules
from bldgwatch.simulators.config import ScheduledFault

START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # midnight in Shanghai
WORN_FROM = timedelta(days=8)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> TruthRun:
    path: Path = tmp_path_factory.mktemp("drift") / "alarms.db"
    db = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(db)
    pumps = [
        Device(
            Equipment("s", f"P-{i}", "pump", "B1", {}, {"current_a": 30.0}),
            {"utc_offset_h": 8.0, "demand_m3h": 22.0 + 4 * i},
        )
        for i in range(3)
    ]
    wear = ScheduledFault(
        equipment="P-1",
        fault="impeller_wear",
        at_s=WORN_FROM.total_seconds(),
        params={"share_per_day": 0.03, "max_share": 0.4},
    )
    rules = [r for r in load_rules(["pump"], []) if r.id == "pump.energy_drift"]
    try:
        return run_truth(
            pumps, [wear], rules, db, start=START, duration_s=20 * 86_400.0, step_s=120.0
        )
    finally:
        db.dispose()


@pytest.mark.long(seconds=60)
def test_the_worn_pump_alone_is_flagged_once_its_energy_has_drifted(run: TruthRun) -> None:
    assert [(a.equipment, a.fault_code) for a in run.alarms] == [("P-1", "PUMP_ENERGY_DRIFT")]
    score = run.score()
    assert (score.recall, score.precision) == (1.0, 1.0)
    latency = score.detections[0].latency_s
    # Judged at the end of a local day, once the median of 5 days is 10 % over the baseline.
    assert latency is not None and 3 * 86_400 < latency < 10 * 86_400
    [activate] = [e for e in run.events if e.transition == "activate"]
    assert activate.maintenance == "planned"
