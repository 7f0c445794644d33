"""The rule kinds beyond thresholds, table-driven: series in, debounced condition changes out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bldgwatch.core.errors import ConfigError
from bldgwatch.rules.evaluator import Equipment, Evaluator
from bldgwatch.rules.logic import RollingStats
from bldgwatch.rules.schema import Rule, parse_rule
from tests.rules.helpers import T0_MS, at, reading

PUMP = Equipment("demo", "P-01", "pump", "B1", {"max_starts_per_h": 3.0}, {"current_a": 20.0}, "II")
LIFT = Equipment("demo", "E-01", "elevator", "B1", {}, {"speed_m_s": 1.0})

BASE: dict[str, Any] = {
    "severity": "major",
    "priority": 2,
    "fault_code": "TEST",
    "family": "test",
}

# An event is (t_s, point, value), or (t_s, None, None) for a clock tick at t_s.
Event = tuple[float, str | None, float | None]
Case = tuple[str, dict[str, Any], list[Event], list[tuple[float, bool]]]


def make(raw: dict[str, Any]) -> Rule:
    return parse_rule({**BASE, **raw}, source="test", index=0)


def run(rule: Rule, events: list[Event], eq: Equipment) -> list[tuple[float, bool]]:
    ev = Evaluator([rule], [eq])
    got = []
    for t, point, value in events:
        if point is None:
            changes = ev.tick(T0_MS + int(t * 1000))
        else:
            assert value is not None
            changes = ev.feed("demo", reading(point, t, value, equipment=eq.id))
        got += [((c.at - at(0)).total_seconds(), c.active) for c in changes]
    return got


def ramp(point: str, start: float, step: float, n: int, dt: float = 1.0) -> list[Event]:
    return [(i * dt, point, start + step * i) for i in range(n)]


RATE = {"id": "pump.temp_rise", "kind": "rate_of_change", "equipment_type": "pump"}
RATE_CASES: list[Case] = [
    (
        "steady rise over the limit",
        {**RATE, "point": "bearing_temp_c", "op": ">", "limit": 5, "window_s": 60},
        ramp("bearing_temp_c", 40, 0.2, 40),  # 12 °C/min, measurable once 30 s are spanned
        [(30, True)],
    ),
    (
        "slow rise stays quiet",
        {**RATE, "point": "bearing_temp_c", "op": ">", "limit": 5, "window_s": 60},
        ramp("bearing_temp_c", 40, 0.05, 120),  # 3 °C/min
        [],
    ),
    (
        "a jump then flat: the rate leaves the window",
        {
            **RATE,
            "point": "bearing_temp_c",
            "op": ">",
            "limit": 5,
            "window_s": 10,
            "min_span_s": 2,
        },
        [(0, "bearing_temp_c", 40), (2, "bearing_temp_c", 50)]
        + [(t, "bearing_temp_c", 50) for t in range(3, 16)],
        [(2, True), (11, False)],  # at 11 the window [1, 11] holds only 50s,
    ),
    (
        "falling pressure per second",
        {
            **RATE,
            "point": "outlet_pressure_bar",
            "op": "<",
            "limit": -0.2,
            "per": "s",
            "window_s": 4,
            "on_delay_s": 1,
        },
        ramp("outlet_pressure_bar", 5, -0.5, 8),
        [(3, True)],
    ),
]

STALE = {"id": "pump.no_data", "kind": "stale", "equipment_type": "pump", "point": "running"}
STALE_CASES: list[Case] = [
    (
        "silence from the start",
        {**STALE, "stale_after_s": 30},
        [(0, None, None), (29, None, None), (30, None, None), (31, None, None)],
        [(30, True)],
    ),
    (
        "data keeps it quiet; silence after the last tick that saw data",
        {**STALE, "stale_after_s": 10},
        [(0, None, None), (5, "running", 1), (6, None, None), (15, None, None), (16, None, None)],
        [(16, True)],
    ),
    (
        "a reading clears it (off-delay 0)",
        {**STALE, "stale_after_s": 10},
        [(0, None, None), (10, None, None), (12, "running", 1), (13, None, None)],
        [(10, True), (12, False)],
    ),
]

EXPR = {"kind": "expression", "equipment_type": "elevator"}
EXPR_CASES: list[Case] = [
    (
        "door-lock circuit open with doors closed",
        {**EXPR, "id": "elevator.lock", "expression": "door_closed and not door_lock_ok"},
        [
            (0, "door_closed", 1),
            (0, "door_lock_ok", 1),
            (1, "door_lock_ok", 0),
            (2, "door_closed", 0),
        ],
        [(1, True), (2, False)],
    ),
    (
        "unknown until every point has been seen",
        {**EXPR, "id": "elevator.lock", "expression": "door_closed and not door_lock_ok"},
        [(0, "door_lock_ok", 0), (1, "door_lock_ok", 0)],
        [],
    ),
    (
        "ticks carry a held condition only to the horizon (30 s) past its last reading",
        {
            **EXPR,
            "id": "elevator.trapped",
            "expression": "occupied and door_closed and not running",
            "on_delay_s": 40,
        },
        [(0, "occupied", 1), (0, "door_closed", 1), (0, "running", 0), (20, None, None)]
        + [(t, "running", 0) for t in (1, 2, 3)]
        + [(40, None, None), (60, None, None)],
        [],  # known to have held until 3 + 30 = 33 s only
    ),
    (
        "a gap longer than the horizon restarts the on-delay",
        {
            **EXPR,
            "id": "elevator.trapped",
            "expression": "occupied and door_closed and not running",
            "on_delay_s": 30,
        },
        [
            (0, "occupied", 1),
            (0, "door_closed", 1),
            (0, "running", 0),
            (40, "running", 0),
            (69, "running", 0),
            (70, "running", 0),
        ],
        [(70, True)],
    ),
    (
        "on-delay completed by a tick within the horizon",
        {
            **EXPR,
            "id": "elevator.trapped",
            "expression": "occupied and door_closed and not running",
            "on_delay_s": 3,
        },
        [
            (0, "occupied", 1),
            (0, "door_closed", 1),
            (0, "running", 0),
            (2, "running", 0),
            (2.5, None, None),
            (3.2, None, None),
        ],
        [(3, True)],
    ),
    (
        "overspeed against rated: arithmetic, abs and constants",
        {
            **EXPR,
            "id": "elevator.overspeed",
            "expression": "abs(speed_m_s) > 1.2 * rated.speed_m_s",
        },
        [(0, "speed_m_s", -1.1), (1, "speed_m_s", -1.3), (2, "speed_m_s", 1.0)],
        [(1, True), (2, False)],
    ),
    (
        "params with a default, min/max and a chained comparison",
        {
            **EXPR,
            "id": "elevator.band",
            "expression": "0 < max(a, b) - min(a, b) <= params.gap",
            "defaults": {"gap": 2},
        },
        [(0, "a", 1), (0, "b", 1), (1, "b", 2.5), (2, "b", 4)],
        [(1, True), (2, False)],
    ),
    (
        "division by zero says nothing",
        {**EXPR, "id": "elevator.ratio", "expression": "a / b > 1"},
        [(0, "a", 2), (0, "b", 0), (1, "b", 1)],
        [(1, True)],
    ),
]

STAT = {"kind": "statistical", "equipment_type": "pump"}
STAT_CASES: list[Case] = [
    (
        "rolling mean over the limit",
        {
            **STAT,
            "id": "pump.mean",
            "point": "vibration_mm_s",
            "stat": "mean",
            "op": ">",
            "limit": 3,
            "window_s": 10,
        },
        [(t, "vibration_mm_s", 2.0 if t < 10 else 5.0) for t in range(20)],
        [(13, True)],  # window [3, 13]: 7 × 2.0 and 4 × 5.0, mean 3.09
    ),
    (
        "standard deviation: pressure hunting (cavitation)",
        {
            **STAT,
            "id": "pump.sigma",
            "point": "outlet_pressure_bar",
            "stat": "stddev",
            "op": ">",
            "limit": 0.3,
            "window_s": 10,
        },
        [(t, "outlet_pressure_bar", 4.0) for t in range(10)]
        + [(t, "outlet_pressure_bar", 4.0 + (0.8 if t % 2 else -0.8)) for t in range(10, 20)],
        [(11, True)],
    ),
    (
        "trend slope per hour",
        {
            **STAT,
            "id": "pump.trend",
            "point": "bearing_temp_c",
            "stat": "slope",
            "op": ">",
            "limit": 10,
            "window_s": 600,
            "min_samples": 5,
        },
        ramp("bearing_temp_c", 50, 0.2, 10, dt=60),  # 12 °C/h
        [(240, True)],
    ),
    (
        "slope of a flat series is zero",
        {
            **STAT,
            "id": "pump.trend",
            "point": "bearing_temp_c",
            "stat": "slope",
            "op": ">",
            "limit": 1,
            "window_s": 600,
        },
        [(t * 60.0, "bearing_temp_c", 50.0) for t in range(10)],
        [],
    ),
]

COUNT = {"kind": "counter", "equipment_type": "pump", "op": ">"}
COUNTER_CASES: list[Case] = [
    (
        "starts per hour from a counter, limit from params",
        {
            **COUNT,
            "id": "pump.short_cycling",
            "point": "start_count",
            "limit": {"param": "max_starts_per_h", "default": 6},
        },
        [
            (0, "start_count", 100),
            (600, "start_count", 102),
            (1200, "start_count", 104),
            (4800, "start_count", 104),
            (5000, "start_count", 104),
        ],
        [(1200, True), (4800, False)],
    ),
    (
        "a counter reset is not a burst of starts",
        {**COUNT, "id": "pump.short_cycling", "point": "start_count", "limit": 3},
        [(0, "start_count", 5000), (10, "start_count", 0), (20, "start_count", 2)],
        [],
    ),
    (
        "rising edges of a boolean",
        {
            **COUNT,
            "id": "pump.cycling",
            "point": "running",
            "source": "rising_edge",
            "limit": 2,
            "window_s": 100,
        },
        [(t, "running", float(t % 20 < 10)) for t in range(0, 120, 5)],
        # Rises at 20, 40, 60: the third within 100 s; by 140 only one would remain.
        [(60, True)],
    ),
]


def _cases(cases: list[Case], eq: Equipment) -> Any:
    return pytest.mark.parametrize(
        ("raw", "events", "expected", "eq"),
        [(c[1], c[2], c[3], eq) for c in cases],
        ids=[c[0] for c in cases],
    )


@_cases(RATE_CASES, PUMP)
def test_rate_of_change(raw: Any, events: Any, expected: Any, eq: Equipment) -> None:
    assert run(make(raw), events, eq) == expected


@_cases(STALE_CASES, PUMP)
def test_stale(raw: Any, events: Any, expected: Any, eq: Equipment) -> None:
    assert run(make(raw), events, eq) == expected


@_cases(EXPR_CASES, LIFT)
def test_expression(raw: Any, events: Any, expected: Any, eq: Equipment) -> None:
    assert run(make(raw), events, eq) == expected


@_cases(STAT_CASES, PUMP)
def test_statistical(raw: Any, events: Any, expected: Any, eq: Equipment) -> None:
    assert run(make(raw), events, eq) == expected


@_cases(COUNTER_CASES, PUMP)
def test_counter(raw: Any, events: Any, expected: Any, eq: Equipment) -> None:
    assert run(make(raw), events, eq) == expected


def test_rolling_stats_agree_with_numpy() -> None:
    rng = np.random.default_rng(7)
    stats = RollingStats(window_ms=60_000)
    ts = np.cumsum(rng.integers(200, 2000, size=5000))
    ys = 80 + np.cumsum(rng.normal(0, 0.5, size=5000))
    for t, y in zip(ts, ys, strict=True):
        stats.add(int(t), float(y))
    window = ts >= ts[-1] - 60_000
    x, y = (ts[window] - ts[0]) / 1000.0, ys[window]
    assert stats.n == int(window.sum())
    assert stats.mean() == pytest.approx(float(y.mean()), rel=1e-9)
    assert stats.stddev() == pytest.approx(float(y.std()), rel=1e-6)
    assert stats.slope_per_s() == pytest.approx(float(np.polyfit(x, y, 1)[0]), rel=1e-6)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({**RATE, "point": "x", "op": ">", "limit": 1}, "window_s: Field required"),
        (
            {**EXPR, "id": "elevator.x", "expression": "__import__('os')"},
            "expression: .*may be called",
        ),
        ({**EXPR, "id": "elevator.x", "expression": "a.b"}, "only params.NAME and rated.NAME"),
        ({**EXPR, "id": "elevator.x", "expression": "a[0]"}, "Subscript is not allowed"),
        ({**EXPR, "id": "elevator.x", "expression": "(lambda: 1)()"}, "may be called"),
        ({**EXPR, "id": "elevator.x", "expression": "a ** 2"}, "BinOp is not allowed"),
        ({**EXPR, "id": "elevator.x", "expression": "'text' == a"}, "not a number"),
        ({**EXPR, "id": "elevator.x", "expression": "a and"}, "syntax error"),
        ({**EXPR, "id": "elevator.x", "expression": "a in b"}, "comparisons allowed"),
        (
            {**EXPR, "id": "elevator.x", "expression": "a and b", "suppress_when": "a"},
            "suppress_when cannot",
        ),
        ({**COUNT, "id": "pump.c", "point": "x", "limit": 1, "op": "<"}, "count events"),
        (
            {
                **STAT,
                "id": "pump.s",
                "point": "x",
                "stat": "median",
                "op": ">",
                "limit": 1,
                "window_s": 5,
            },
            "stat: Input should be",
        ),
    ],
)
def test_bad_rules_name_the_field(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make(raw)


def test_expression_constants_without_default_skip_the_equipment() -> None:
    rule = make({**EXPR, "id": "elevator.top", "expression": "position_m > params.top_m"})
    ev = Evaluator([rule], [LIFT])
    assert [k for k, _ in ev.skipped] == [("demo", "E-01", "elevator.top")]


def test_machine_class_table_picks_the_limit() -> None:
    raw = {
        "id": "pump.zone_c",
        "kind": "threshold",
        "equipment_type": "pump",
        "point": "vibration_mm_s",
        "op": ">=",
        "limit": {
            "param": "vibration_zone_c_mm_s",
            "default": 4.5,
            "by_machine_class": {"I": 1.8, "II": 2.8, "III": 4.5, "IV": 7.1},
        },
    }
    classless = Equipment("demo", "P-09", "pump", "B1")
    override = Equipment("demo", "P-08", "pump", "B1", {"vibration_zone_c_mm_s": 3.3}, {}, "I")
    ev = Evaluator([make(raw)], [PUMP, classless, override])
    assert ev.limit(("demo", "P-01", "pump.zone_c")) == 2.8
    assert ev.limit(("demo", "P-09", "pump.zone_c")) == 4.5
    assert ev.limit(("demo", "P-08", "pump.zone_c")) == 3.3


def test_a_restored_counter_alarm_waits_for_its_window_before_clearing() -> None:
    rule = make(
        {**COUNT, "id": "pump.short_cycling", "point": "start_count", "limit": 3, "window_s": 600}
    )
    ev = Evaluator([rule], [PUMP])
    assert ev.restore(("demo", "P-01", "pump.short_cycling"), active=True, suppressed=False)
    changes = []
    for t in range(0, 700, 50):  # after a restart the count starts from zero
        changes += ev.feed("demo", reading("start_count", t, 100, equipment="P-01"))
    assert [((c.at - at(0)).total_seconds(), c.active) for c in changes] == [(600.0, False)]


def test_a_condition_over_several_points_keeps_no_value_in_its_text() -> None:
    """An expression's or a silence's last reading is whichever point changed: its alarm text
    shows no value; a threshold's does."""
    expression = make({**EXPR, "id": "elevator.top", "expression": "position_m > 30"})
    stale = make({**STALE, "stale_after_s": 60})
    threshold = make(
        {"id": "pump.hot", "kind": "threshold", "equipment_type": "pump",
         "point": "bearing_temp_c", "op": ">", "limit": 85.0}
    )  # fmt: skip
    for rule in (expression, stale):
        assert rule.message_params(value=3.0, limit=None, equipment="E-01")["value"] is None
    params = threshold.message_params(value=87.3, limit=85.0, equipment="P-01")
    assert (params["value"], params["point"]) == (87.3, "bearing_temp_c")
