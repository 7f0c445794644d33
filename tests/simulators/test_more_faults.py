"""Pump cavitation and failure to start, shaft overload and phase imbalance, exceptions."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

import pytest

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices import PumpModel, ShaftPanelModel, TempSensorModel
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.errors import FaultError
from bldgwatch.simulators.faults import FAULTS
from bldgwatch.simulators.mqtt_sensor import MqttSensor
from tests.simulators.helpers import T0, last, num, run_for

Samples = list[dict[str, Value]]
DOMAIN_FAULTS = {
    "elevator": [
        "entrapment_at_floor",
        "entrapment_between_floors",
        "overrun_top",
        "overrun_bottom",
        "overspeed",
        "abnormal_speed",
        "door_open_while_running",
        "moving_with_door_open",
        "stop_outside_door_zone",
        "door_open_failure",
        "door_close_failure",
        "safety_circuit_open",
        "door_lock_open",
        "power_loss",
        "landing_button_stuck",
        "floor_position_lost",
    ],
    "pump": [
        "bearing_wear",
        "cavitation",
        "dry_running",
        "overload",
        "failure_to_start",
        "impeller_wear",
    ],
    "shaft_panel": ["overload", "phase_imbalance", "leakage_rising", "joint_overheat"],
    "temp_sensor": ["silent", "stuck", "modbus_exception"],
}


@pytest.mark.parametrize("kind", sorted(DOMAIN_FAULTS))
def test_every_domain_fault_is_registered_for_its_kind(kind: str) -> None:
    for name in DOMAIN_FAULTS[kind]:
        assert FAULTS[name].applies_to(kind), name


def pump_run(fault: str | None, seconds: float = 1200) -> Samples:
    pump = SimulatedEquipment("P-01", PumpModel.build(start=T0, rng=random.Random(4)))
    t = last(pump, T0, 60, 1.0)
    if fault is not None:
        pump.start_fault(fault, {"onset_s": 0} if fault == "cavitation" else None, t)
    return [v for _n, v in run_for(pump, t, seconds, 1.0)]


def test_cavitation_makes_vibration_noisy_and_pressure_dip() -> None:
    healthy = [v for v in pump_run(None) if v["running"]]
    sick = [v for v in pump_run("cavitation") if v["running"]]
    vib_h = [num(v["vibration_mm_s"]) for v in healthy]
    vib_s = [num(v["vibration_mm_s"]) for v in sick]
    assert statistics.mean(vib_s) > 2 * statistics.mean(vib_h)
    assert statistics.stdev(vib_s) > 10 * statistics.stdev(vib_h)
    flow_h = statistics.mean(num(v["flow_m3h"]) for v in healthy)
    flow_s = [num(v["flow_m3h"]) for v in sick]
    assert statistics.mean(flow_s) < 0.9 * flow_h and statistics.stdev(flow_s) > 1.0
    dips = [num(v["outlet_pressure_bar"]) for v in sick]
    assert min(dips) < min(num(v["outlet_pressure_bar"]) for v in healthy) - 0.5


def test_failure_to_start_lets_pressure_fall_with_the_motor_off() -> None:
    samples = pump_run("failure_to_start", 1800)
    tail = samples[-600:]
    assert all(not v["running"] and num(v["motor_current_a"]) == 0.0 for v in tail)
    assert all(num(v["outlet_pressure_bar"]) < 3.0 for v in tail)  # below the start setpoint
    assert num(tail[-1]["outlet_pressure_bar"]) < 1.0  # the tank runs empty
    assert not any(v["tripped"] for v in samples)


def panel_run(fault: str | None, params: dict[str, Value] | None = None) -> Samples:
    midnight = T0.replace(hour=2)  # night: the healthy load is far below rated
    panel = SimulatedEquipment("SP-01", ShaftPanelModel.build(start=midnight, rng=random.Random(2)))
    t = last(panel, midnight, 60, 5.0)
    if fault is not None:
        panel.start_fault(fault, params, t)
    return [v for _n, v in run_for(panel, t, 3600, 5.0)]


PHASES = ("current_l1_a", "current_l2_a", "current_l3_a")


def test_shaft_overload_pushes_every_phase_above_rated_and_heats_the_joint() -> None:
    healthy, sick = panel_run(None), panel_run("overload", {"factor": 1.3})
    assert all(num(v[p]) < 50 for v in healthy for p in PHASES)
    assert all(num(v[p]) > 100 for v in sick[-100:] for p in PHASES)
    assert num(sick[-1]["joint_temp_c"]) > num(healthy[-1]["joint_temp_c"]) + 20


def imbalance(v: dict[str, Value]) -> float:
    currents = [num(v[p]) for p in PHASES]
    mean = statistics.mean(currents)
    return max(abs(c - mean) for c in currents) / mean


def test_phase_imbalance_loads_one_phase() -> None:
    healthy = panel_run(None)
    sick = panel_run("phase_imbalance", {"phase": 2, "imbalance": 0.4})
    assert statistics.mean(imbalance(v) for v in healthy) < 0.12
    assert statistics.mean(imbalance(v) for v in sick) > 0.3
    assert all(num(v["current_l2_a"]) > num(v["current_l1_a"]) for v in sick)


def test_modbus_exception_code_is_exposed_and_validated() -> None:
    pump = SimulatedEquipment("P-01", PumpModel.build(start=T0, rng=random.Random(4)))
    assert pump.exception_code is None
    pump.start_fault("modbus_exception", {"code": 6}, T0)
    assert pump.exception_code == 6
    pump.stop_fault("modbus_exception", T0)
    assert pump.exception_code is None
    with pytest.raises(FaultError, match="bad params"):
        pump.start_fault("modbus_exception", {"code": 9}, T0)


def test_a_failed_mqtt_sensor_sends_nothing_until_cleared() -> None:
    sensor = SimulatedEquipment("TS-01", TempSensorModel.build(start=T0, rng=random.Random(1)))
    publisher = MqttSensor(sensor, topic="s/TS-01", interval_s=1.0, start=T0)
    assert publisher.due(T0) is not None
    sensor.start_fault("modbus_exception", None, T0)
    assert publisher.due(T0 + timedelta(seconds=1)) is None
    sensor.stop_fault("modbus_exception", T0 + timedelta(seconds=2))
    assert publisher.due(T0 + timedelta(seconds=2)) is not None
