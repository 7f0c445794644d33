"""Evaluator: thresholds with deadband, on-/off-delays in source time, suppression."""

from __future__ import annotations

from typing import Any

import pytest

from bldgwatch.core.models import Quality
from bldgwatch.rules.evaluator import ChangeCause, Evaluator
from tests.rules.helpers import LIFT, PUMP, PUMP_2, T0_MS, at, reading, rule

KEY = ("demo", "P-01", "pump.bearing_temp_high")

# (name, rule overrides, [(t_s, value)], [(t_s, active)] expected condition changes)
CASES: list[tuple[str, dict[str, Any], list[tuple[float, float]], list[tuple[float, bool]]]] = [
    ("on-delay held", {}, [(0, 90), (1, 90), (4, 90), (5, 90), (6, 90)], [(5, True)]),
    ("on-delay not yet", {}, [(0, 90), (2, 90), (4.9, 90)], []),
    (
        "on-delay interrupted restarts",
        {},
        [(0, 90), (3, 80), (4, 90), (8, 90), (9, 90)],
        [(9, True)],
    ),
    (
        "below-limit but inside deadband interrupts on-delay",
        {},
        [(0, 90), (3, 84), (4, 90), (8.9, 90), (9, 90)],
        [(9, True)],
    ),
    ("sparse readings: held as far as we know", {}, [(0, 90), (10, 90)], [(10, True)]),
    ("equal to limit is not above", {"on_delay_s": 0}, [(0, 85)], []),
    (">= fires at the limit", {"on_delay_s": 0, "op": ">="}, [(0, 85)], [(0, True)]),
    (
        "deadband holds the alarm",
        {"on_delay_s": 0, "off_delay_s": 0},
        [(0, 90), (1, 82), (2, 80.5), (3, 80)],
        [(0, True), (3, False)],
    ),
    (
        "off-delay held",
        {},
        [(0, 90), (5, 90), (6, 70), (10, 70), (11, 70)],
        [(5, True), (11, False)],
    ),
    (
        "off-delay interrupted by a value in the deadband",
        {},
        [(0, 90), (5, 90), (6, 70), (8, 83), (12, 70), (16, 70), (17, 70)],
        [(5, True), (17, False)],
    ),
    (
        "re-activation after clear",
        {"on_delay_s": 0, "off_delay_s": 0},
        [(0, 90), (1, 70), (2, 90)],
        [(0, True), (1, False), (2, True)],
    ),
    (
        "low limit with deadband",
        {"op": "<", "limit": 10, "deadband": 2, "on_delay_s": 0, "off_delay_s": 0},
        [(0, 11), (1, 9), (2, 11), (3, 11.9), (4, 12)],
        [(1, True), (4, False)],
    ),
    (
        "zero delays fire at once",
        {"on_delay_s": 0, "off_delay_s": 0, "deadband": 0},
        [(0, 86), (1, 85)],
        [(0, True), (1, False)],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "series", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_threshold_table(
    overrides: dict[str, Any],
    series: list[tuple[float, float]],
    expected: list[tuple[float, bool]],
) -> None:
    ev = Evaluator([rule(**overrides)], [PUMP])
    got = []
    for t, value in series:
        for change in ev.feed("demo", reading("bearing_temp_c", t, value)):
            assert change.cause is ChangeCause.CONDITION
            assert change.key == KEY
            assert change.value == value
            got.append((change.at, change.active))
    assert got == [(at(t), active) for t, active in expected]


def test_limit_comes_from_each_equipments_params() -> None:
    ev = Evaluator([rule(on_delay_s=0)], [PUMP, PUMP_2])
    assert ev.limit(KEY) == 85
    assert ev.limit(("demo", "P-02", "pump.bearing_temp_high")) == 70
    assert ev.feed("demo", reading("bearing_temp_c", 0, 75)) == []
    changes = ev.feed("demo", reading("bearing_temp_c", 0, 75, equipment="P-02"))
    assert [(c.equipment.id, c.limit, c.active) for c in changes] == [("P-02", 70, True)]


def test_rule_without_default_skips_equipment_lacking_the_param() -> None:
    overload = rule(
        id="pump.motor_overload",
        point="motor_current_a",
        on_delay_s=0,
        limit={"param": "rated.current_a", "factor": 1.1},
    )
    ev = Evaluator([overload], [PUMP, PUMP_2])
    assert ev.limit(("demo", "P-01", "pump.motor_overload")) == pytest.approx(22.0)
    assert ev.limit(("demo", "P-02", "pump.motor_overload")) is None
    assert [k for k, _ in ev.skipped] == [("demo", "P-02", "pump.motor_overload")]
    assert ev.feed("demo", reading("motor_current_a", 0, 99, equipment="P-02")) == []


def test_unknown_equipment_and_bad_quality_are_counted_not_evaluated() -> None:
    ev = Evaluator([rule(on_delay_s=0)], [PUMP])
    assert ev.feed("demo", reading("bearing_temp_c", 0, 99, equipment="P-77")) == []
    assert ev.feed("other", reading("bearing_temp_c", 0, 99)) == []
    assert ev.feed("demo", reading("bearing_temp_c", 0, 99, quality=Quality.BAD)) == []
    assert (ev.counters.unknown_equipment, ev.counters.bad_quality) == (2, 1)
    assert ev.counters.evaluated == 0
    changes = ev.feed("demo", reading("bearing_temp_c", 1, 99, quality=Quality.UNCERTAIN))
    assert [c.active for c in changes] == [True]


def test_a_reading_touches_only_the_rules_of_its_point() -> None:
    ev = Evaluator([rule()], [PUMP])
    ev.feed("demo", reading("vibration_mm_s", 0, 50))
    assert ev.counters.evaluated == 0
    ev.feed("demo", reading("bearing_temp_c", 0, 50))
    assert ev.counters.evaluated == 1


def test_older_readings_are_ignored() -> None:
    ev = Evaluator([rule(on_delay_s=0, off_delay_s=0)], [PUMP])
    assert ev.feed("demo", reading("bearing_temp_c", 10, 90))
    assert ev.feed("demo", reading("bearing_temp_c", 5, 20)) == []
    assert ev.counters.out_of_order == 1
    # still active: the late low value did not clear it, and a newer reading of that same low
    # value clears it (the late one once became the "last value", so the live one was skipped
    # as a repeat and the alarm stayed active while the value stayed low)
    assert [c.active for c in ev.feed("demo", reading("bearing_temp_c", 11, 20))] == [False]


SAFETY = {
    "id": "elevator.safety_circuit_open",
    "equipment_type": "elevator",
    "point": "safety_circuit_ok",
    "op": "<",
    "limit": 0.5,
    "deadband": 0,
    "on_delay_s": 2,
    "off_delay_s": 0,
    "suppress_when": "inspection_mode",
}


def test_suppression_point_changes_are_reported_with_the_condition() -> None:
    ev = Evaluator([rule(**SAFETY)], [LIFT])
    got = []
    for point, t, value in [
        ("inspection_mode", 0, True),
        ("safety_circuit_ok", 0, False),
        ("safety_circuit_ok", 3, False),
        ("inspection_mode", 4, True),
        ("inspection_mode", 5, False),
        ("safety_circuit_ok", 6, True),
    ]:
        for c in ev.feed("demo", reading(point, t, value, equipment="E-01")):
            got.append((c.at, c.cause, c.active, c.suppressed))
    assert got == [
        (at(0), ChangeCause.SUPPRESSION, False, True),
        (at(3), ChangeCause.CONDITION, True, True),
        (at(5), ChangeCause.SUPPRESSION, True, False),
        (at(6), ChangeCause.CONDITION, False, False),
    ]


def test_batch_applies_suppression_first_at_equal_times() -> None:
    ev = Evaluator([rule(**SAFETY | {"on_delay_s": 0})], [LIFT])
    batch = [
        reading("safety_circuit_ok", 0, False, equipment="E-01"),
        reading("inspection_mode", 0, True, equipment="E-01"),
    ]
    changes = ev.feed_batch("demo", batch)
    assert [(c.cause, c.active, c.suppressed) for c in changes] == [
        (ChangeCause.SUPPRESSION, False, True),
        (ChangeCause.CONDITION, True, True),
    ]


def test_restored_active_condition_does_not_fire_again_but_clears() -> None:
    ev = Evaluator([rule()], [PUMP])
    assert ev.restore(KEY, active=True, suppressed=False)
    assert not ev.restore(("demo", "P-01", "pump.gone"), active=True, suppressed=False)
    for t in range(0, 10):
        assert ev.feed("demo", reading("bearing_temp_c", t, 95)) == []
    changes = [c for t in range(10, 16) for c in ev.feed("demo", reading("bearing_temp_c", t, 70))]
    assert [(c.at, c.active) for c in changes] == [(at(15), False)]


@pytest.mark.parametrize("on_delay_s", [5.0, 12.0])
def test_a_delay_run_out_on_the_clock_carries_the_value_that_held_it(on_delay_s: float) -> None:
    """Issue 14: the on-delay of a threshold rule expired on a clock tick, not on a reading,
    and the alarm came without its value ("bearing temperature — °C")."""
    ev = Evaluator([rule(on_delay_s=on_delay_s)], [PUMP], horizon_s=30)
    assert ev.feed("demo", reading("bearing_temp_c", 0, 91.5)) == []
    assert ev.feed("demo", reading("bearing_temp_c", 2, 92.25)) == []
    assert ev.tick(T0_MS + 4_000) == []
    (change,) = ev.tick(T0_MS + int(on_delay_s * 1000) + 500)
    assert change.active and change.value == 92.25
    ev.feed("demo", reading("bearing_temp_c", on_delay_s + 1, 70.0))  # below the deadband
    (cleared,) = ev.tick(T0_MS + int((on_delay_s + 7) * 1000))  # off-delay 5 s on the clock
    assert not cleared.active and cleared.value == 70.0
