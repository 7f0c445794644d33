"""Leak detection measured against the truth (issue 20, point 4): 12 simulated water meters
over 12 simulated days, leaks injected at known times by the simulator's `leak` fault, judged
by the `meters` pack's night-flow rule through the rules engine and its alarm store.

Thresholds: recall >= 0.9 and precision >= 0.9 (bench/leaks.py prints the figures on a
bigger fleet). The run is deterministic (seeded); time is the simulation's, never slept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.support.leaks import GRACE, leak_scenario, run_leaks
from bench.support.truth import TruthRun
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from bldgwatch.migrations import migrate
from bldgwatch.rules.alarms import Transition


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> TruthRun:
    path: Path = tmp_path_factory.mktemp("leaks") / "alarms.db"
    db = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(db)
    try:
        return run_leaks(leak_scenario(12, 12, seed=7), db)
    finally:
        db.dispose()


def test_the_scenario_injects_leaks(run: TruthRun) -> None:
    leaks = [e for e in run.episodes if e.fault == "leak"]
    assert len(leaks) >= 4
    assert len({e.equipment for e in leaks}) == len(leaks)


def test_leaks_are_found_with_recall_and_precision_over_90_percent(run: TruthRun) -> None:
    score = run.score(GRACE)
    assert score.recall >= 0.9, score.missed
    assert score.precision >= 0.9, score.false_alarms
    assert all(a.fault_code == "WATER_NIGHT_FLOW" for a in run.alarms)


def test_each_leak_is_found_at_the_end_of_a_local_night(run: TruthRun) -> None:
    # The night window is 02:00-04:00 Asia/Shanghai: judged at 04:00 local = 20:00 UTC.
    assert run.alarms
    assert all((a.at.hour, a.at.minute) == (20, 0) for a in run.alarms)
    for detection in run.score(GRACE).detections:
        assert detection.latency_s is not None
        assert detection.latency_s < 28 * 3600  # by the end of the first night it spans


def test_an_alarm_clears_after_its_leak_is_fixed(run: TruthRun) -> None:
    cleared = {e.equipment for e in run.events if e.transition == Transition.CLEAR}
    ended = {
        e.equipment
        for e in run.episodes
        if e.end is not None and e.end < run.until - GRACE and e.fault == "leak"
    }
    assert ended
    assert ended <= cleared
