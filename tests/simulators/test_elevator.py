"""Elevator motion, doors and entrapment, driven by explicit simulated times."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from bldgwatch.simulators.devices import ElevatorModel
from bldgwatch.simulators.equipment import SimulatedEquipment
from tests.simulators.helpers import T0, last, num, run_for

FLOOR_H = 3.2


def make_elevator(seed: int = 3, **params: float) -> SimulatedEquipment:
    params = {"calls_per_min": 3.0, **params}
    model = ElevatorModel.build(start=T0, rng=random.Random(seed), params=params)
    return SimulatedEquipment("E-01", model)


def test_motion_and_doors_keep_the_safety_invariants() -> None:
    lift = make_elevator(floors=10)
    samples = [v for _n, v in run_for(lift, T0, 3600, 0.2)]
    for v in samples:
        if v["running"]:
            assert v["door_closed"] and v["door_lock_ok"] and not v["door_open"]
            assert v["direction_up"] != v["direction_down"]
        if not v["door_closed"]:
            assert v["door_zone"] and not v["running"]
        assert 0.0 <= num(v["position_m"]) <= 9 * FLOOR_H + 1e-9
        assert abs(num(v["speed_m_s"])) <= 1.75 + 1e-9
        assert 1 <= num(v["floor"]) <= 10
        assert bool(v["occupied"]) == (num(v["load_kg"]) > 0)
        assert v["safety_circuit_ok"] and v["mains_power_ok"] and not v["alarm_button"]
    trips = [num(v["trip_count"]) for v in samples]
    assert all(b >= a for a, b in itertools.pairwise(trips))
    assert trips[-1] - trips[0] > 30
    assert max(abs(num(v["speed_m_s"])) for v in samples) > 1.7  # reaches contract speed
    assert any(v["occupied"] for v in samples)
    assert max(num(v["motor_current_a"]) for v in samples) > 10


def test_door_goes_through_its_cycle_at_a_floor_level() -> None:
    lift = make_elevator()
    states: list[str] = []
    for _n, v in run_for(lift, T0, 600, 0.1):
        state = "open" if v["door_open"] else "closed" if v["door_closed"] else "moving"
        if not states or states[-1] != state:
            states.append(state)
        if not v["door_closed"]:
            assert (
                abs(num(v["position_m"]) / FLOOR_H - round(num(v["position_m"]) / FLOOR_H)) < 0.01
            )
    text = ",".join(states)
    assert "closed,moving,open,moving,closed" in text


def test_acceleration_is_limited() -> None:
    lift = make_elevator()
    speeds = [num(v["speed_m_s"]) for _n, v in run_for(lift, T0, 600, 0.1)]
    changes = [abs(b - a) for a, b in itertools.pairwise(speeds)]
    cruising = [c for c, a, b in zip(changes, speeds, speeds[1:], strict=False) if a and b]
    assert max(cruising) <= 0.8 * 0.1 + 1e-6
    assert max(changes) <= 2 * 0.8 * 0.1 + 1e-6  # the brake's final stop at the level


def test_entrapment_at_floor_then_rescue() -> None:
    lift = make_elevator()
    t = last(lift, T0, 120, 0.1)
    lift.start_fault("entrapment", {"at_floor": True}, t)
    samples = [v for _n, v in run_for(lift, t, 60, 0.5)]
    for v in samples:
        assert not v["running"] and v["occupied"] and v["door_closed"] and v["door_zone"]
        assert v["speed_m_s"] == 0.0
    assert not samples[10]["alarm_button"] and samples[-1]["alarm_button"]  # after 20 s
    t += timedelta(seconds=60)
    lift.stop_fault("entrapment", t)
    rescued = [v for _n, v in run_for(lift, t, 30, 0.1)]
    assert any(v["door_open"] for v in rescued)
    assert not rescued[-1]["alarm_button"]


def test_entrapment_between_floors_is_outside_the_door_zone() -> None:
    lift = make_elevator()
    t = last(lift, T0, 200, 0.1)
    lift.start_fault("entrapment", {"at_floor": False}, t)
    samples = [v for _n, v in run_for(lift, t, 60, 0.5)]
    assert all(not v["door_zone"] and v["occupied"] and v["door_closed"] for v in samples)
    position = num(samples[-1]["position_m"])
    t += timedelta(seconds=60)
    lift.stop_fault("entrapment", t)
    after = [v for _n, v in run_for(lift, t, 30, 0.1)]
    opened = next(i for i, v in enumerate(after) if v["door_open"])
    moved = [abs(num(v["position_m"]) - position) for v in after[: opened + 1]]
    assert max(moved) <= FLOOR_H / 2 + 1e-9  # re-levels at the nearest floor and opens there
    assert after[opened]["door_zone"]
