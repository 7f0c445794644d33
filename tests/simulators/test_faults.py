"""The fault registry, generic faults and scheduled faults in a Simulation."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bldgwatch.simulators.config import ScheduledFault
from bldgwatch.simulators.devices import MODELS, PumpModel, TempSensorModel
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.faults import FAULTS, Fault, ramp
from bldgwatch.simulators.simulation import Simulation
from tests.simulators.helpers import T0, last, num, run_for

APPLIES = [
    ("bearing_overheat", "pump", True),
    ("bearing_wear", "pump", True),
    ("dry_running", "pump", True),
    ("overload", "pump", True),
    ("entrapment", "elevator", True),
    ("entrapment", "pump", False),
    ("leakage_rising", "shaft_panel", True),
    ("joint_overheat", "shaft_panel", True),
    ("joint_overheat", "elevator", False),
    ("stuck", "temp_sensor", True),
    ("silent", "elevator", True),
]


@pytest.mark.parametrize(("fault", "kind", "expected"), APPLIES)
def test_applicability(fault: str, kind: str, expected: bool) -> None:
    assert FAULTS[fault].applies_to(kind) is expected


def test_every_fault_has_its_name_as_key_and_applies_somewhere() -> None:
    for name, cls in FAULTS.items():
        assert issubclass(cls, Fault) and cls.name == name
        assert any(cls.applies_to(kind) for kind in MODELS)


@pytest.mark.parametrize(
    ("start", "rate", "target", "elapsed", "expected"),
    [
        (50, 2, 110, 0, 50),
        (50, 2, 110, 10, 70),
        (50, 2, 110, 100, 110),
        (90, 1, 60, 10, 80),
        (90, 1, 60, 100, 60),
    ],
)
def test_ramp(start: float, rate: float, target: float, elapsed: float, expected: float) -> None:
    assert ramp(start, rate, target, elapsed) == expected


def test_stuck_freezes_values_and_clearing_shows_live_values_again() -> None:
    sensor = SimulatedEquipment(
        "TS-01", TempSensorModel.build(start=T0, rng=random.Random(1), params={"tau_s": 60})
    )
    t = last(sensor, T0, 60, 1.0)
    frozen = sensor.values()
    sensor.start_fault("stuck", {}, t)
    assert all(v == frozen for _n, v in run_for(sensor, t, 600, 10.0))
    t += timedelta(seconds=600)
    sensor.stop_fault("stuck", t)
    live = [num(v["temperature_c"]) for _n, v in run_for(sensor, t, 600, 10.0)]
    assert len(set(live)) > 10


def test_silent_stops_answering_until_cleared() -> None:
    pump = SimulatedEquipment("P-01", PumpModel.build(start=T0, rng=random.Random(1)))
    assert pump.answering
    pump.start_fault("silent", None, T0)
    assert not pump.answering
    pump.stop_fault("silent", T0 + timedelta(seconds=5))
    assert pump.answering


def test_stop_of_an_inactive_fault_is_none() -> None:
    pump = SimulatedEquipment("P-01", PumpModel.build(start=T0, rng=random.Random(1)))
    assert pump.stop_fault("overload", T0) is None


def test_scheduled_fault_starts_and_ends_on_simulated_time() -> None:
    pump = SimulatedEquipment("P-01", PumpModel.build(start=T0, rng=random.Random(1)))
    sim = Simulation(
        {"P-01": pump},
        start=T0,
        schedule=[
            ScheduledFault(
                equipment="P-01",
                fault="bearing_overheat",
                at_s=10,
                duration_s=30,
                params={"rate_c_per_s": 3.0},
            )
        ],
    )
    ended = []
    for i in range(1, 101):
        now = T0 + timedelta(seconds=i * 0.5)
        ended += sim.step(now)
        active = [(ep.equipment, ep.fault) for ep in sim.active()]
        assert active == ([("P-01", "bearing_overheat")] if 10 <= i * 0.5 < 40 else [])
    assert len(ended) == 1
    episode = ended[0]
    assert episode.start == T0 + timedelta(seconds=10)
    assert episode.end == T0 + timedelta(seconds=40)
    assert episode.params["rate_c_per_s"] == 3.0 and episode.params["target_c"] == 110.0


def test_close_ends_open_episodes() -> None:
    pump = SimulatedEquipment("P-01", PumpModel.build(start=T0, rng=random.Random(1)))
    sim = Simulation({"P-01": pump}, start=T0)
    sim.start_fault("P-01", "dry_running", None, T0)
    closed = sim.close(T0 + timedelta(seconds=3))
    assert [(ep.fault, ep.end) for ep in closed] == [("dry_running", T0 + timedelta(seconds=3))]
    assert sim.active() == []
