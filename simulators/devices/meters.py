"""Meters: a three-phase electricity meter and a water meter, with their counters.

Both follow the local hour of a building's day (electricity: a night base load and a day peak;
water: morning and evening peaks and a night minimum near zero) and keep a counter that the
meter faults act on: it can stop (stuck), wrap at the largest value its register or format holds
(rollover) or restart near zero on a new meter (replaced).
"""

from __future__ import annotations

import math
import random
from abc import abstractmethod
from datetime import datetime

from pydantic import Field

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices.base import (
    DeviceModel,
    ModelParams,
    daily_profile,
    hour_of_day,
    ou_step,
)

# Share of the day's peak load by local hour of an office/residential building: a base load at
# night (lifts, pumps, lighting of common areas, IT), a day peak and an evening shoulder.
BUILDING_LOAD_BY_HOUR = (
    0.1,
    0.08,
    0.08,
    0.08,
    0.08,
    0.1,
    0.2,
    0.45,
    0.75,
    0.95,
    1.0,
    1.0,
    0.85,
    0.9,
    1.0,
    1.0,
    0.95,
    0.85,
    0.8,
    0.75,
    0.6,
    0.4,
    0.25,
    0.15,
)
# Water demand relative to the day's mean by local hour: peaks for morning showers and evening
# cooking and washing, and almost nothing between 1 and 5 at night.
WATER_BY_HOUR = (
    0.15,
    0.05,
    0.03,
    0.03,
    0.04,
    0.2,
    1.3,
    2.2,
    1.9,
    1.2,
    0.9,
    1.0,
    1.3,
    1.1,
    0.8,
    0.8,
    0.9,
    1.3,
    2.0,
    2.3,
    1.9,
    1.4,
    0.8,
    0.4,
)
LARGEST_METER_NUMBER = 999_999_999_999  # 12 BCD digits: the DL/T 645 address


class MeterParams(ModelParams):
    """What every meter model takes."""

    meter_number: int | None = Field(
        None,
        ge=1,
        le=LARGEST_METER_NUMBER,
        description="Meter number (its DL/T 645 address, 12 digits); unset: drawn from the seed.",
    )
    utc_offset_h: float = Field(8.0, description="Local time offset of the daily profile, h.")


class MeterModel(DeviceModel):
    """A counter of what flows through, with the meter faults' inputs."""

    params_type = MeterParams

    def __init__(self, *, start: datetime, rng: random.Random, p: MeterParams) -> None:
        super().__init__(start=start, rng=rng)
        self.meter_number = p.meter_number or rng.randint(10**11, LARGEST_METER_NUMBER)
        self.counter = 0.0
        self.counter_frozen = False  # a stuck meter counts nothing
        self.replacements = 0

    @property
    @abstractmethod
    def rollover_at(self) -> float:
        """The counter wraps to zero on reaching this (its register's or format's capacity)."""

    def count(self, amount: float) -> None:
        """Add what flowed through, unless the counter is stuck; wrap at `rollover_at`."""
        if not self.counter_frozen:
            self.counter = math.fmod(self.counter + amount, self.rollover_at)

    def replace(self, reading: float, meter_number: int | None) -> None:
        """A new meter in its place: the counter restarts at `reading`, the number changes."""
        self.counter = reading
        self.counter_frozen = False
        self.replacements += 1
        self.meter_number = meter_number or (self.meter_number % LARGEST_METER_NUMBER) + 1


class ElectricityMeterParams(MeterParams):
    """Three-phase electricity meter parameters."""

    base_kw: float = Field(12.0, ge=0, description="Load at night, kW.")
    peak_kw: float = Field(60.0, ge=0, description="Extra load at the day's peak, kW.")
    voltage_v: float = Field(230.0, gt=0, description="Phase-to-neutral voltage, V.")
    imbalance: float = Field(0.06, ge=0, le=0.5, description="Spread of load between phases.")
    power_factor: float = Field(0.93, gt=0, le=1, description="Mean power factor of the load.")
    frequency_hz: float = Field(50.0, gt=0, description="Grid frequency.")
    start_kwh: float | None = Field(
        None, ge=0, description="Energy register at start, kWh; unset: drawn from the seed."
    )
    rollover_kwh: float = Field(
        1_000_000.0,
        gt=0,
        description="The energy register wraps to zero here (DL/T 645 XXXXXX.XX: after "
        "999999.99 kWh).",
    )


class ElectricityMeterModel(MeterModel):
    """Phase voltages, currents, powers, power factor, frequency and the energy register."""

    kind = "electricity_meter"
    params_type = ElectricityMeterParams
    max_substep_s = 5.0

    def __init__(
        self,
        *,
        start: datetime,
        rng: random.Random,
        params: ElectricityMeterParams | None = None,
    ) -> None:
        p = params or ElectricityMeterParams()
        super().__init__(start=start, rng=rng, p=p)
        self.p = p
        self.counter = p.start_kwh if p.start_kwh is not None else rng.uniform(2_000, 80_000)
        self.phase_bias = [1.0 + rng.uniform(-p.imbalance, p.imbalance) for _ in range(3)]
        self._load_noise = 0.0
        self._volt_noise = [0.0, 0.0, 0.0]
        self._pf_noise = 0.0
        self._freq_noise = 0.0
        self.voltages_v = [p.voltage_v] * 3
        self.currents_a = [0.0, 0.0, 0.0]
        self.powers_kw = [0.0, 0.0, 0.0]
        self.power_factor = p.power_factor
        self.frequency_hz = p.frequency_hz
        self._advance(0.0)

    @property
    def rollover_at(self) -> float:
        return self.p.rollover_kwh

    def daily_kw(self) -> float:
        """The building's mean load at this local hour."""
        share = daily_profile(hour_of_day(self.now, self.p.utc_offset_h), BUILDING_LOAD_BY_HOUR)
        return self.p.base_kw + self.p.peak_kw * share

    def _advance(self, dt: float) -> None:
        p = self.p
        self._load_noise = ou_step(self._load_noise, dt, 120.0, 0.05, self.rng)
        self._pf_noise = ou_step(self._pf_noise, dt, 600.0, 0.015, self.rng)
        self._freq_noise = ou_step(self._freq_noise, dt, 30.0, 0.02, self.rng)
        total_kw = max(0.0, self.daily_kw() * (1.0 + self._load_noise))
        self.power_factor = min(1.0, max(0.5, p.power_factor + self._pf_noise))
        self.frequency_hz = p.frequency_hz + self._freq_noise
        mean_bias = sum(self.phase_bias) / 3
        for i in range(3):
            self._volt_noise[i] = ou_step(self._volt_noise[i], dt, 300.0, 0.01, self.rng)
            self.voltages_v[i] = p.voltage_v * (1.0 + self._volt_noise[i])
            self.powers_kw[i] = total_kw / 3 * self.phase_bias[i] / mean_bias
            volt_amps = self.voltages_v[i] * self.power_factor
            self.currents_a[i] = self.powers_kw[i] * 1000.0 / volt_amps
        self.count(total_kw * dt / 3600.0)

    def values(self) -> dict[str, Value]:
        return {
            "energy_kwh": self.counter,
            "power_kw": sum(self.powers_kw),
            "power_l1_kw": self.powers_kw[0],
            "power_l2_kw": self.powers_kw[1],
            "power_l3_kw": self.powers_kw[2],
            "voltage_l1_v": self.voltages_v[0],
            "voltage_l2_v": self.voltages_v[1],
            "voltage_l3_v": self.voltages_v[2],
            "current_l1_a": self.currents_a[0],
            "current_l2_a": self.currents_a[1],
            "current_l3_a": self.currents_a[2],
            "power_factor": self.power_factor,
            "frequency_hz": self.frequency_hz,
            "meter_number": self.meter_number,
        }


class WaterMeterParams(MeterParams):
    """Water meter parameters."""

    mean_m3h: float = Field(1.5, ge=0, description="Mean flow over the day, m³/h.")
    start_m3: float | None = Field(
        None, ge=0, description="Volume register at start, m³; unset: drawn from the seed."
    )
    rollover_m3: float = Field(
        4_294_967.296,
        gt=0,
        description="The volume register wraps to zero here (a uint32 of litres, as in the "
        "water-meter-modbus profile).",
    )


class WaterMeterModel(MeterModel):
    """Flow by the local hour, the volume register, and leak water that never stops."""

    kind = "water_meter"
    params_type = WaterMeterParams
    max_substep_s = 5.0

    def __init__(
        self, *, start: datetime, rng: random.Random, params: WaterMeterParams | None = None
    ) -> None:
        p = params or WaterMeterParams()
        super().__init__(start=start, rng=rng, p=p)
        self.p = p
        self.counter = p.start_m3 if p.start_m3 is not None else rng.uniform(100, 20_000)
        self.leak_m3h = 0.0  # set by the leak fault: flow that goes on day and night
        self._noise = 0.0
        self.flow_m3h = 0.0
        self._advance(0.0)

    @property
    def rollover_at(self) -> float:
        return self.p.rollover_m3

    def daily_m3h(self) -> float:
        """The building's mean use at this local hour."""
        share = daily_profile(hour_of_day(self.now, self.p.utc_offset_h), WATER_BY_HOUR)
        return self.p.mean_m3h * share

    def _advance(self, dt: float) -> None:
        self._noise = ou_step(self._noise, dt, 60.0, 0.2, self.rng)
        use = max(0.0, self.daily_m3h() * (1.0 + self._noise))
        self.flow_m3h = use + self.leak_m3h
        self.count(self.flow_m3h * dt / 3600.0)

    def values(self) -> dict[str, Value]:
        return {
            "volume_m3": self.counter,
            # The meter measures flow by what it counts: a stuck meter shows none.
            "flow_m3h": 0.0 if self.counter_frozen else self.flow_m3h,
            "meter_number": self.meter_number,
        }
