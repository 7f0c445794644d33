"""A three-phase distribution box in an electrical shaft: load, leakage, joint heating."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices.base import (
    DeviceModel,
    ModelParams,
    daily_profile,
    hour_of_day,
    lag,
    ou_step,
)

# Share of the peak load by local hour of an office/residential mix: low at night, peaks
# late morning and early evening.
LOAD_BY_HOUR = (
    0.12,
    0.1,
    0.1,
    0.1,
    0.1,
    0.12,
    0.2,
    0.4,
    0.7,
    0.9,
    0.95,
    1.0,
    0.85,
    0.9,
    0.95,
    0.95,
    0.9,
    0.85,
    0.95,
    1.0,
    0.85,
    0.6,
    0.35,
    0.2,
)
LEAK_TAU_S = 10.0  # how fast leakage falls back once the insulation fault is cleared


class ShaftPanelParams(ModelParams):
    """Shaft panel model parameters."""

    rated_current_a: float = Field(100.0, gt=0, description="Rated current per phase.")
    base_load_a: float = Field(8.0, ge=0, description="Always-on load per phase.")
    peak_load_a: float = Field(65.0, ge=0, description="Extra load per phase at the daily peak.")
    imbalance: float = Field(0.08, ge=0, le=0.5, description="Spread between phases.")
    voltage_v: float = Field(230.0, gt=0, description="Phase-to-neutral voltage.")
    power_factor: float = Field(0.92, gt=0, le=1, description="Power factor of the load.")
    leakage_ma: float = Field(150.0, ge=0, description="Natural residual current.")
    ambient_c: float = Field(28.0, description="Mean shaft temperature.")
    joint_rise_c: float = Field(30.0, ge=0, description="Joint rise over ambient at rated.")
    busbar_rise_c: float = Field(22.0, ge=0, description="Busbar rise over ambient at rated.")
    joint_tau_s: float = Field(600.0, gt=0, description="Joint thermal time constant.")
    busbar_tau_s: float = Field(1200.0, gt=0, description="Busbar thermal time constant.")
    utc_offset_h: float = Field(0.0, description="Local time offset for the load profile.")


@dataclass
class ShaftDisturbance:
    """Inputs faults set; the neutral values mean a healthy panel."""

    leakage_extra_ma: float | None = None  # insulation fault current on top of natural
    joint_floor_c: float | None = None  # a loose joint held at least this hot
    min_load_a: float | None = None  # load added until each phase carries this (overload)
    phase_bias: tuple[float, float, float] | None = None  # replaces the natural spread


class ShaftPanelModel(DeviceModel):
    """Phase currents follow the local hour; temperatures follow I^2 with lags."""

    kind = "shaft_panel"
    params_type = ShaftPanelParams
    max_substep_s = 5.0

    def __init__(
        self, *, start: datetime, rng: random.Random, params: ShaftPanelParams | None = None
    ) -> None:
        super().__init__(start=start, rng=rng)
        self.p = params or ShaftPanelParams()
        self.disturbance = ShaftDisturbance()
        p = self.p
        self.phase_bias = [1.0 + rng.uniform(-p.imbalance, p.imbalance) for _ in range(3)]
        self._noise = [0.0, 0.0, 0.0]
        self._leak_walk = 0.0
        self.leak_fault_ma = 0.0
        self.currents_a = [0.0, 0.0, 0.0]
        self.energy_kwh = rng.uniform(10_000.0, 90_000.0)
        self.ambient_c = p.ambient_c
        self._advance(0.0)
        load = self._load_ratio()
        self.joint_temp_c = self.ambient_c + p.joint_rise_c * load**2
        self.busbar_temp_c = self.ambient_c + p.busbar_rise_c * load**2

    def daily_load_a(self) -> float:
        """Mean phase current the building draws at this local hour."""
        share = daily_profile(hour_of_day(self.now, self.p.utc_offset_h), LOAD_BY_HOUR)
        return self.p.base_load_a + self.p.peak_load_a * share

    def _load_ratio(self) -> float:
        return max(self.currents_a) / self.p.rated_current_a

    def residual_current_ma(self) -> float:
        """Natural leakage with slow drift, plus any insulation fault."""
        drift = 40.0 * math.tanh(self._leak_walk / 40.0)  # natural leakage stays near its mean
        return max(0.0, self.p.leakage_ma + drift + self.leak_fault_ma)

    def active_power_kw(self) -> float:
        """Three-phase active power from the phase currents."""
        return self.p.voltage_v * sum(self.currents_a) * self.p.power_factor / 1000.0

    def _advance(self, dt: float) -> None:
        p, d = self.p, self.disturbance
        mean = max(self.daily_load_a(), d.min_load_a or 0.0)
        bias = d.phase_bias or self.phase_bias
        for i in range(3):
            self._noise[i] = ou_step(self._noise[i], dt, 60.0, 0.04, self.rng)
            self.currents_a[i] = max(0.0, mean * bias[i] * (1.0 + self._noise[i]))
        self._leak_walk = ou_step(self._leak_walk, dt, 3600.0, 15.0, self.rng)
        if d.leakage_extra_ma is not None:
            self.leak_fault_ma = d.leakage_extra_ma
        else:
            self.leak_fault_ma = lag(self.leak_fault_ma, 0.0, dt, LEAK_TAU_S)
        hour = hour_of_day(self.now, p.utc_offset_h)
        self.ambient_c = p.ambient_c + 1.5 * math.sin((hour - 9.0) / 24.0 * 2 * math.pi)
        if dt > 0:
            self._thermal(dt)
        self.energy_kwh += self.active_power_kw() * dt / 3600.0

    def _thermal(self, dt: float) -> None:
        p, d = self.p, self.disturbance
        heat = self._load_ratio() ** 2
        joint_target = self.ambient_c + p.joint_rise_c * heat
        self.joint_temp_c = lag(self.joint_temp_c, joint_target, dt, p.joint_tau_s)
        if d.joint_floor_c is not None:
            self.joint_temp_c = max(self.joint_temp_c, d.joint_floor_c)
        busbar_target = self.ambient_c + p.busbar_rise_c * heat
        self.busbar_temp_c = lag(self.busbar_temp_c, busbar_target, dt, p.busbar_tau_s)

    def values(self) -> dict[str, Value]:
        return {
            "current_l1_a": self.currents_a[0],
            "current_l2_a": self.currents_a[1],
            "current_l3_a": self.currents_a[2],
            "residual_current_ma": round(self.residual_current_ma()),
            "joint_temp_c": self.joint_temp_c,
            "busbar_temp_c": self.busbar_temp_c,
            "ambient_temp_c": self.ambient_c,
            "energy_kwh": self.energy_kwh,
            "active_power_kw": self.active_power_kw(),
        }
