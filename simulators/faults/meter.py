"""Meter faults: a water leak, a stuck counter, a counter rollover, a replaced meter."""

from __future__ import annotations

from typing import cast

from pydantic import Field

from bldgwatch.simulators.devices import DeviceModel
from bldgwatch.simulators.devices.meters import (
    LARGEST_METER_NUMBER,
    MeterModel,
    WaterMeterModel,
)
from bldgwatch.simulators.faults.base import Fault, FaultParams, ModelFault

METER_KINDS = frozenset({"electricity_meter", "water_meter"})


class MeterFault(Fault):
    """A fault of any meter (electricity or water)."""

    kinds = METER_KINDS

    def _meter(self, model: DeviceModel) -> MeterModel:
        if not isinstance(model, MeterModel):
            raise TypeError(f"fault {self.name} needs a meter model")
        return model


class LeakParams(FaultParams):
    """Parameters of `leak`."""

    flow_m3h: float = Field(0.3, gt=0, description="Water lost, m³/h, day and night.")


class Leak(ModelFault[WaterMeterModel, LeakParams]):
    """A leak behind the meter (a running cistern, a burst pipe): flow that does not fall at
    night, so the night minimum stays at the leak's flow."""

    name = "leak"
    model_type = WaterMeterModel
    params_type = LeakParams

    def on_begin(self, model: WaterMeterModel) -> None:
        model.leak_m3h = self.p.flow_m3h

    def on_clear(self, model: WaterMeterModel) -> None:
        model.leak_m3h = 0.0


class CounterStuck(MeterFault):
    """The meter's counter stops (a jammed register or impeller) while use goes on; a water
    meter then shows no flow, an electricity meter still shows its power."""

    name = "counter_stuck"

    def begin(self, model: DeviceModel) -> None:
        self._meter(model).counter_frozen = True

    def clear(self, model: DeviceModel) -> None:
        self._meter(model).counter_frozen = False


class RolloverParams(FaultParams):
    """Parameters of `counter_rollover`."""

    margin: float = Field(
        1.0, gt=0, description="How far below its wrap point the counter is put (kWh or m³)."
    )


class CounterRollover(MeterFault):
    """The counter is taken to just below the largest value its register or format holds, so
    it wraps to zero soon after (what years of use do to a real one)."""

    name = "counter_rollover"
    params_type = RolloverParams

    def begin(self, model: DeviceModel) -> None:
        meter = self._meter(model)
        margin = cast(RolloverParams, self.params).margin
        meter.counter = max(0.0, meter.rollover_at - margin)


class ReplacedParams(FaultParams):
    """Parameters of `meter_replaced`."""

    reading: float = Field(0.0, ge=0, description="The new meter's counter when fitted.")
    meter_number: int | None = Field(
        None,
        ge=1,
        le=LARGEST_METER_NUMBER,
        description="The new meter's number (DL/T 645 address); unset: the old one plus one.",
    )


class MeterReplaced(MeterFault):
    """A new meter in the old one's place: the counter restarts near zero and the meter number
    (the DL/T 645 address) is new. Ending the episode does not bring the old meter back."""

    name = "meter_replaced"
    params_type = ReplacedParams

    def begin(self, model: DeviceModel) -> None:
        p = cast(ReplacedParams, self.params)
        self._meter(model).replace(p.reading, p.meter_number)
