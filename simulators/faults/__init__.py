"""Faults: time functions that act on a model's disturbance inputs, and an explicit registry.

A fault episode has a start (`begin`), an evolution (`evolve`, called before every model step
with the simulated seconds since the start) and an end (`clear`). Clearing only removes the
fault's inputs; the model's own physics then recovers (a hot bearing cools first-order).
Adding a fault is one class plus one line in `FAULTS`.
"""

from __future__ import annotations

from bldgwatch.simulators.faults import elevator, generic, meter, pump, shaft
from bldgwatch.simulators.faults.base import Fault, FaultParams, ModelFault, ramp
from bldgwatch.simulators.faults.overload import Overload

FAULTS: dict[str, type[Fault]] = {
    cls.name: cls
    for cls in (
        pump.BearingOverheat,
        pump.BearingWear,
        pump.DryRunning,
        pump.Cavitation,
        pump.FailureToStart,
        pump.ImpellerWear,
        Overload,
        elevator.Entrapment,
        elevator.EntrapmentAtFloor,
        elevator.EntrapmentBetweenFloors,
        elevator.OverrunTop,
        elevator.OverrunBottom,
        elevator.Overspeed,
        elevator.AbnormalSpeed,
        elevator.DoorOpenWhileRunning,
        elevator.MovingWithDoorOpen,
        elevator.StopOutsideDoorZone,
        elevator.DoorOpenFailure,
        elevator.DoorCloseFailure,
        elevator.SafetyCircuitOpen,
        elevator.DoorLockOpen,
        elevator.PowerLoss,
        elevator.LandingButtonStuck,
        elevator.FloorPositionLost,
        shaft.LeakageRising,
        shaft.JointOverheat,
        shaft.PhaseImbalance,
        meter.Leak,
        meter.CounterStuck,
        meter.CounterRollover,
        meter.MeterReplaced,
        generic.Stuck,
        generic.Silent,
        generic.ModbusExceptionFault,
    )
}
"""Every fault by name."""

__all__ = ["FAULTS", "Fault", "FaultParams", "ModelFault", "ramp"]
