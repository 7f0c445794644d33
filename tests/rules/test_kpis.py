"""Alarm KPIs: pure figures (table-driven) and the store query per site."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bldgwatch.rules import kpis
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.equipment import Equipment
from bldgwatch.rules.kpis import Activation, daily_counts
from bldgwatch.rules.store import AlarmStore
from tests.rules.helpers import PUMP, PUMP_2, at, reading, rule

HOUR = 3600


def acts(spec: list[tuple[float, str, str]]) -> list[Activation]:
    return [Activation(at(t), eq, r) for t, eq, r in spec]


@pytest.mark.parametrize(
    ("times_s", "mean", "peak"),
    [
        ([], 0.0, 0),
        ([0, 60, 120], 0.5, 3),  # 3 in an hour = 0.5 per 10 min
        ([0, 599, 600, 1199], 4 / 6, 2),
        ([i * 10 for i in range(12)], 2.0, 12),
    ],
)
def test_alarms_per_10_minutes(times_s: list[float], mean: float, peak: int) -> None:
    got = kpis.per_10min([at(t) for t in times_s], at(0), at(HOUR))
    assert got == (pytest.approx(mean), peak)


def test_time_in_flood_share_of_the_period() -> None:
    times = [at(i * 30) for i in range(11)]  # 11 in 5 min: flood from 300 s to 780 s
    seconds, share, floods = kpis.time_in_flood(times, at(0), at(HOUR))
    assert (seconds, floods) == (480.0, 1)
    assert share == pytest.approx(480 / 3600)


def test_top_contributors_ranked_with_shares() -> None:
    activations = acts(
        [(t, "P-01", "pump.a") for t in range(5)]
        + [(t, "P-02", "pump.b") for t in range(3)]
        + [(0, f"P-{i:02d}", "pump.c") for i in range(3, 15)]
    )
    top = kpis.top_contributors(activations)
    assert len(top) == 10
    assert (top[0].equipment, top[0].rule, top[0].count) == ("P-01", "pump.a", 5)
    assert top[0].share == pytest.approx(5 / 20)
    assert (top[1].equipment, top[1].count) == ("P-02", 3)


@pytest.mark.parametrize(
    ("times_s", "chatters"),
    [([0, 20, 40], True), ([0, 40, 80], False), ([0, 100, 110, 120, 500], True), ([0], False)],
)
def test_chattering(times_s: list[float], chatters: bool) -> None:
    found = kpis.chattering(acts([(t, "P-01", "pump.a") for t in times_s]))
    assert bool(found) is chatters


def test_standing_alarms_older_than_a_day() -> None:
    rows = [("a", "P-01", "pump.a", at(0)), ("b", "P-02", "pump.a", at(20 * HOUR))]
    (old,) = kpis.standing(rows, at(30 * HOUR))
    assert (old.alarm_id, old.age_h) == ("a", 30.0)


@pytest.mark.services
def test_site_kpis_from_the_store(sqlite_db: Engine) -> None:
    engine = RulesEngine([rule(on_delay_s=0, off_delay_s=0)], [PUMP, PUMP_2], AlarmStore(sqlite_db))
    for i in range(4):  # P-01 chatters: 4 activations in 2 minutes
        engine.process("demo", [reading("bearing_temp_c", i * 30, 95)])
        engine.process("demo", [reading("bearing_temp_c", i * 30 + 15, 20)])
    engine.process("demo", [reading("bearing_temp_c", 200, 95, equipment="P-02")])  # standing
    result = kpis.site_kpis(sqlite_db, "demo", start=at(0), end=at(HOUR), now=at(30 * HOUR))
    assert result.activations == 5
    assert result.per_10min_peak == 5
    assert [(c.equipment, c.count) for c in result.top] == [("P-01", 4), ("P-02", 1)]
    assert [c.equipment for c in result.chattering] == ["P-01"]
    assert [s.equipment for s in result.standing] == ["P-02"]
    assert result.flood_s == 0.0
    other = kpis.site_kpis(sqlite_db, "elsewhere", start=at(0), end=at(HOUR), now=at(HOUR))
    assert other.activations == 0


def test_period_edges() -> None:
    start = at(0)
    assert kpis.per_10min([], start, start + timedelta(minutes=10)) == (0.0, 0)


@pytest.mark.services
def test_operator_view_adds_up_the_sites_on_one_console(sqlite_db: Engine) -> None:
    north = Equipment("north", "P-01", "pump", "B1", {"bearing_temp_alarm_c": 85.0}, {})
    engine = RulesEngine([rule(on_delay_s=0, off_delay_s=0)], [PUMP, north], AlarmStore(sqlite_db))
    # Six alarms on each site in ten minutes: neither site floods alone (≤ 10 per 10 min),
    # the operator watching both does (12 > 10, EEMUA 191).
    for i in range(6):
        for site in ("demo", "north"):
            engine.process(site, [reading("bearing_temp_c", i * 60, 95)])
            engine.process(site, [reading("bearing_temp_c", i * 60 + 30, 20)])
    alone = kpis.site_kpis(sqlite_db, "demo", start=at(0), end=at(HOUR), now=at(HOUR))
    both = kpis.view_kpis(sqlite_db, ["demo", "north"], start=at(0), end=at(HOUR), now=at(HOUR))
    assert (alone.activations, both.activations) == (6, 12)
    assert alone.flood_s == 0.0
    assert both.flood_s > 0.0
    assert both.view == "operator"


def test_days_are_the_sites_days() -> None:
    """Issue 14: a Shanghai site's days were counted in UTC, 8 h off."""
    times = [
        datetime(2026, 12, 5, 15, 59, tzinfo=UTC),  # 23:59 in Shanghai
        datetime(2026, 12, 5, 16, 0, tzinfo=UTC),  # 00:00 on the 6th in Shanghai
        datetime(2026, 12, 6, 1, 0, tzinfo=UTC),
    ]
    assert daily_counts(times, ZoneInfo("Asia/Shanghai")) == [("2026-12-05", 1), ("2026-12-06", 2)]
    assert daily_counts(times, UTC) == [("2026-12-05", 2), ("2026-12-06", 1)]
