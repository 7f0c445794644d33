"""Every elevator fault of DOMAIN.md: its signature on the values a rule sees, and its end."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices import ElevatorModel
from bldgwatch.simulators.devices.elevator import DOOR_ZONE_M, OVERRUN_M
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.errors import FaultError
from tests.simulators.helpers import T0, last, num, run_for

FLOOR_H, FLOORS, RATED = 3.2, 10, 1.75
TOP_M = (FLOORS - 1) * FLOOR_H
Samples = list[dict[str, Value]]


def make_lift(calls_per_min: float = 3.0, seed: int = 5) -> SimulatedEquipment:
    params = {"calls_per_min": calls_per_min, "floors": FLOORS}
    model = ElevatorModel.build(start=T0, rng=random.Random(seed), params=params)
    return SimulatedEquipment("E-01", model)


def with_fault(
    fault: str, seconds: float, params: dict[str, Value] | None = None, calls: float = 3.0
) -> tuple[SimulatedEquipment, datetime, Samples]:
    lift = make_lift(calls)
    t = last(lift, T0, 90, 0.1)
    lift.start_fault(fault, params, t)
    samples = [v for _n, v in run_for(lift, t, seconds, 0.1)]
    return lift, t + timedelta(seconds=seconds), samples


def stopped_for(samples: Samples, cond: Callable[[dict[str, Value]], bool], seconds: float) -> bool:
    """Whether `cond` held, with the car stopped, for `seconds` in a row (0.1 s samples)."""
    run = 0
    for v in samples:
        run = run + 1 if cond(v) and not v["running"] else 0
        if run * 0.1 >= seconds:
            return True
    return False


def speeds(samples: Samples) -> list[float]:
    return [abs(num(v["speed_m_s"])) for v in samples]


def test_entrapment_at_floor() -> None:
    _l, _t, s = with_fault("entrapment_at_floor", 60)
    assert all(
        not v["running"] and v["occupied"] and v["door_closed"] and v["door_zone"] for v in s
    )
    assert s[-1]["alarm_button"]


def test_entrapment_between_floors() -> None:
    _l, _t, s = with_fault("entrapment_between_floors", 60)
    assert all(
        not v["running"] and v["occupied"] and v["door_closed"] and not v["door_zone"] for v in s
    )


@pytest.mark.parametrize(("fault", "beyond"), [("overrun_top", 1), ("overrun_bottom", -1)])
def test_overrun_stops_past_the_terminal_with_the_chain_open(fault: str, beyond: int) -> None:
    _l, _t, s = with_fault(fault, 90)
    final = s[-1]
    terminal = TOP_M if beyond > 0 else 0.0
    assert num(final["position_m"]) == pytest.approx(terminal + beyond * OVERRUN_M, abs=0.01)
    assert not final["running"] and not final["safety_circuit_ok"] and not final["door_zone"]
    assert final["door_closed"]
    assert stopped_for(s, lambda v: not v["safety_circuit_ok"], 30)
    assert max(num(v["position_m"]) for v in s) <= TOP_M + OVERRUN_M + 1e-6


@pytest.mark.parametrize("level", [1.2, 1.4])
def test_overspeed_levels(level: float) -> None:
    _l, _t, s = with_fault("overspeed", 120, {"level": level})
    top = max(speeds(s))
    assert level * RATED < top <= level * 1.05 * RATED + 1e-6
    assert top < 1.4 * RATED or level == 1.4


def test_abnormal_speed_crawls() -> None:
    _l, _t, s = with_fault("abnormal_speed", 120, {"factor": 0.5})
    running = [x for x in speeds(s) if x > 0.05]
    assert len(running) > 100
    assert max(running) <= 0.5 * RATED + 1e-6
    assert max(running) > 0.45 * RATED  # it does cruise, just slowly


def test_door_open_while_running_then_brake_stop() -> None:
    _l, _t, s = with_fault("door_open_while_running", 90)
    assert any(v["running"] and v["door_open"] and not v["door_lock_ok"] for v in s)
    assert stopped_for(s, lambda v: bool(v["door_open"]), 30)


def test_moving_with_door_open_until_the_ucmp_device_stops_it() -> None:
    _l, _t, s = with_fault("moving_with_door_open", 90)
    creeping = [v for v in s if v["running"] and v["door_open"]]
    assert creeping and all(abs(num(v["speed_m_s"])) <= 0.3 + 1e-9 for v in creeping)
    final = s[-1]
    assert final["door_open"] and not final["door_zone"] and not final["safety_circuit_ok"]
    assert stopped_for(s, lambda v: not v["door_zone"] and bool(v["door_open"]), 30)


def test_stop_outside_door_zone() -> None:
    _l, _t, s = with_fault("stop_outside_door_zone", 90)
    assert stopped_for(s, lambda v: not v["door_zone"] and bool(v["door_closed"]), 45)
    final = num(s[-1]["position_m"])
    assert abs(final - round(final / FLOOR_H) * FLOOR_H) > DOOR_ZONE_M


def test_door_open_failure_doors_never_open() -> None:
    _l, _t, s = with_fault("door_open_failure", 90)
    later = s[150:]  # a door cycle in progress at the start may still finish
    assert not any(v["door_open"] for v in later)
    assert stopped_for(later, lambda v: not v["door_open"] and not v["door_closed"], 30)


def test_door_close_failure_doors_never_close() -> None:
    _l, _t, s = with_fault("door_close_failure", 90)
    later = s[150:]
    assert not any(v["door_closed"] or v["running"] for v in later)
    assert any(v["door_open"] for v in later)  # it keeps reopening


def test_safety_circuit_open_keeps_the_car_still() -> None:
    _l, _t, s = with_fault("safety_circuit_open", 90)
    assert all(not v["safety_circuit_ok"] for v in s)
    assert not any(v["running"] for v in s[50:])  # a brake stop takes < 2 s


def test_door_lock_open_with_doors_closed() -> None:
    _l, _t, s = with_fault("door_lock_open", 90)
    assert stopped_for(s, lambda v: bool(v["door_closed"]) and not v["door_lock_ok"], 30)
    assert not any(v["running"] for v in s[50:])


def test_power_loss_stops_the_car_dead() -> None:
    _l, _t, s = with_fault("power_loss", 60)
    assert all(not v["mains_power_ok"] and num(v["motor_current_a"]) == 0.0 for v in s)
    assert not any(v["running"] for v in s[50:])
    assert len({num(v["position_m"]) for v in s[50:]}) == 1


def test_landing_button_stuck_keeps_cycling_the_doors_at_that_landing() -> None:
    _l, _t, s = with_fault("landing_button_stuck", 240, {"floor": 6}, calls=0.0)
    openings = [
        v["floor"] for a, v in itertools.pairwise(s) if v["door_open"] and not a["door_open"]
    ]
    assert len(openings) >= 8 and set(openings) == {6}
    assert not any(v["occupied"] for v in s)


def test_landing_button_stuck_without_a_floor_picks_one_by_seed() -> None:
    a = with_fault("landing_button_stuck", 120, calls=0.0)[0]
    b = with_fault("landing_button_stuck", 120, calls=0.0)[0]
    assert isinstance(a.model, ElevatorModel) and isinstance(b.model, ElevatorModel)
    assert a.model.disturbance.stuck_call == b.model.disturbance.stuck_call is not None


def test_floor_position_lost_reports_no_floor_and_creeps_to_the_bottom() -> None:
    _l, _t, s = with_fault("floor_position_lost", 240)
    assert all(num(v["floor"]) == 0 for v in s)
    late = s[-300:]
    assert all(num(v["position_m"]) == 0.0 and not v["running"] for v in late)
    running = [x for x in speeds(s[100:]) if x > 0.05]
    assert max(running, default=0.0) <= 0.2 * RATED + 1e-6


ELEVATOR_FAULTS = [
    ("entrapment", {}),
    ("entrapment_at_floor", {}),
    ("entrapment_between_floors", {}),
    ("overrun_top", {}),
    ("overrun_bottom", {}),
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
    ("landing_button_stuck", {"floor": 3}),
    ("floor_position_lost", {}),
]


@pytest.mark.parametrize(("fault", "params"), ELEVATOR_FAULTS)
def test_after_the_fault_ends_the_car_serves_calls_again(
    fault: str, params: dict[str, Value]
) -> None:
    lift, t, _s = with_fault(fault, 60, params)
    episode = lift.stop_fault(fault, t)
    assert episode is not None and episode.end == t
    after = [v for _n, v in run_for(lift, t, 240, 0.1)]
    tail = after[-600:]
    assert all(v["safety_circuit_ok"] and v["mains_power_ok"] for v in tail)
    assert num(after[-1]["trip_count"]) > num(after[0]["trip_count"])
    assert all(1 <= num(v["floor"]) <= FLOORS for v in tail)
    assert max(speeds(tail)) <= RATED + 1e-6
    for v in tail:  # healthy invariants again
        if v["running"]:
            assert v["door_closed"] and v["door_lock_ok"]
        if not v["door_closed"]:
            assert v["door_zone"]


@pytest.mark.parametrize(
    ("fault", "params"),
    [("overspeed", {"level": 1.3}), ("abnormal_speed", {"factor": 1.5}), ("entrapment", {"x": 1})],
)
def test_bad_fault_params_are_refused(fault: str, params: dict[str, Value]) -> None:
    lift = make_lift()
    with pytest.raises(FaultError, match="bad params"):
        lift.start_fault(fault, params, T0)
    assert lift.active() == []
