"""A pressure-boosting centrifugal pump with a pressure tank, motor and bearings."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices.base import (
    DeviceModel,
    ModelParams,
    daily_profile,
    hour_of_day,
    lag,
    ou_step,
)

# Domestic water demand over the day relative to the mean (morning and evening peaks).
DEMAND_BY_HOUR = (
    0.45,
    0.4,
    0.4,
    0.4,
    0.45,
    0.7,
    1.2,
    1.6,
    1.5,
    1.2,
    1.0,
    1.05,
    1.2,
    1.1,
    0.95,
    0.9,
    0.95,
    1.1,
    1.45,
    1.6,
    1.4,
    1.1,
    0.8,
    0.6,
)


class PumpParams(ModelParams):
    """Pump model parameters."""

    rated_current_a: float = Field(30.0, gt=0, description="Motor rated current, A.")
    rated_flow_m3h: float = Field(40.0, gt=0, description="Flow at mid control pressure.")
    start_pressure_bar: float = Field(3.0, gt=0, description="Pump starts below this.")
    stop_pressure_bar: float = Field(4.5, gt=0, description="Pump stops above this.")
    shutoff_pressure_bar: float = Field(6.0, gt=0, description="Head at zero flow.")
    demand_m3h: float = Field(26.0, ge=0, description="Mean water demand.")
    tank_s: float = Field(900.0, gt=0, description="Tank size: s x m3/h per bar.")
    ambient_c: float = Field(25.0, description="Plant-room temperature.")
    bearing_rise_c: float = Field(32.0, ge=0, description="Bearing rise over ambient running.")
    bearing_tau_s: float = Field(900.0, gt=0, description="Bearing thermal time constant.")
    winding_rise_c: float = Field(45.0, ge=0, description="Winding rise at rated current.")
    winding_tau_s: float = Field(600.0, gt=0, description="Winding thermal time constant.")
    vibration_mm_s: float = Field(1.4, ge=0, description="Healthy vibration velocity RMS.")
    trip_winding_c: float = Field(150.0, description="Thermal protection trips above this.")
    utc_offset_h: float = Field(0.0, description="Local time offset for the demand profile.")

    @model_validator(mode="after")
    def _check_pressures(self) -> Self:
        if not self.start_pressure_bar < self.stop_pressure_bar < self.shutoff_pressure_bar:
            raise ValueError("need start_pressure_bar < stop_pressure_bar < shutoff_pressure_bar")
        return self


@dataclass
class PumpDisturbance:
    """Inputs faults set, each keyed by the fault that set it (so two faults never clobber
    each other); empty means a healthy pump."""

    bearing_add_c: dict[str, float] = field(default_factory=dict)  # on the running temp (wear)
    bearing_floor_c: dict[str, float] = field(default_factory=dict)  # held at least this hot
    vibration_add_mm_s: dict[str, float] = field(default_factory=dict)
    dry: set[str] = field(default_factory=set)  # no water at the suction: no flow
    force_run: set[str] = field(default_factory=set)  # motor kept on whatever the pressure
    current_factor: dict[str, float] = field(default_factory=dict)  # x rated (overload)
    cavitation: dict[str, float] = field(default_factory=dict)  # severity 0..1
    no_start: set[str] = field(default_factory=set)  # the motor does not start when called
    impeller_wear: dict[str, float] = field(default_factory=dict)  # share of flow lost, 0..1

    def wear(self) -> float:
        """The share of flow and head a worn impeller loses (the worst fault's)."""
        return min(0.9, max(self.impeller_wear.values(), default=0.0))


class PumpModel(DeviceModel):
    """Pressure-controlled duty cycle with thermal lags for bearing and winding."""

    kind = "pump"
    params_type = PumpParams
    max_substep_s = 2.0

    def __init__(
        self, *, start: datetime, rng: random.Random, params: PumpParams | None = None
    ) -> None:
        super().__init__(start=start, rng=rng)
        self.p = params or PumpParams()
        self.disturbance = PumpDisturbance()
        p = self.p
        self.pressure_bar = rng.uniform(p.start_pressure_bar, p.stop_pressure_bar)
        self.running = rng.random() < 0.7
        self.tripped = False
        self.flow_m3h = 0.0
        self.current_a = 0.0
        self.vibration_mm_s = 0.05
        self.bearing_temp_c = p.ambient_c + 0.7 * p.bearing_rise_c
        self.winding_temp_c = p.ambient_c + 0.6 * p.winding_rise_c
        self.run_hours = rng.uniform(500.0, 5000.0)
        self.start_count = int(self.run_hours * 8)
        self._demand_noise = 0.0
        self.pressure_dip_bar = 0.0  # cavitation: momentary dips of the outlet pressure
        self._q_max = p.rated_flow_m3h / math.sqrt(
            1.0 - self._mid_pressure / p.shutoff_pressure_bar
        )
        self._advance(0.0)

    @property
    def _mid_pressure(self) -> float:
        return (self.p.start_pressure_bar + self.p.stop_pressure_bar) / 2

    def demand_m3h(self) -> float:
        """Water drawn by the building now."""
        factor = daily_profile(hour_of_day(self.now, self.p.utc_offset_h), DEMAND_BY_HOUR)
        return max(0.0, self.p.demand_m3h * factor * (1.0 + self._demand_noise))

    def _control(self) -> None:
        """Pressure switch with hysteresis, overridden by faults and the protection relay."""
        was = self.running
        if self.tripped:
            self.running = False
        elif self.disturbance.force_run:
            self.running = True
        elif self.pressure_bar < self.p.start_pressure_bar:
            self.running = was or not self.disturbance.no_start  # a dead contactor stays open
        elif self.pressure_bar > self.p.stop_pressure_bar:
            self.running = False
        if self.running and not was:
            self.start_count += 1

    def _pump_flow(self) -> float:
        if not self.running or self.disturbance.dry:
            return 0.0
        # A worn impeller (wear rings, eroded vanes) lowers the curve: less head at no flow
        # and less flow at a head.
        wear = self.disturbance.wear()
        head = max(0.0, 1.0 - self.pressure_bar / (self.p.shutoff_pressure_bar * (1.0 - wear)))
        flow = self._q_max * (1.0 - wear) * math.sqrt(head)
        if self.disturbance.cavitation:  # vapour bubbles choke the impeller unevenly
            severity = max(self.disturbance.cavitation.values())
            flow *= 1.0 - severity * (0.2 + 0.3 * self.rng.random())
        return flow

    def _pressure_dip(self) -> float:
        severity = max(self.disturbance.cavitation.values(), default=0.0)
        if not self.running or severity == 0.0:
            return 0.0
        return severity * 0.8 * abs(self.rng.gauss(0.0, 1.0))

    def _motor_current(self) -> float:
        if not self.running:
            return 0.0
        p = self.p
        if self.disturbance.current_factor:
            load = max(self.disturbance.current_factor.values())
        else:
            # A worn impeller churns water back through its gaps: the motor works as hard as
            # for the flow of a sound one, so power stays while flow falls.
            sound_flow = self.flow_m3h / (1.0 - self.disturbance.wear())
            hydraulic = sound_flow * self.pressure_bar / (p.rated_flow_m3h * self._mid_pressure)
            load = 0.3 + 0.55 * min(hydraulic, 1.5)
        return p.rated_current_a * load * (1.0 + 0.01 * self.rng.gauss(0.0, 1.0))

    def _advance(self, dt: float) -> None:
        p = self.p
        self._demand_noise = ou_step(self._demand_noise, dt, 120.0, 0.15, self.rng)
        self._control()
        self.flow_m3h = self._pump_flow()
        net = self.flow_m3h - self.demand_m3h()
        self.pressure_bar = max(0.0, self.pressure_bar + net / p.tank_s * dt)
        self.pressure_dip_bar = self._pressure_dip()
        self.current_a = self._motor_current()
        self._thermal(dt)
        self._vibration()
        if self.running:
            self.run_hours += dt / 3600.0
        if self.winding_temp_c > p.trip_winding_c:
            self.tripped = True
        elif self.tripped and self.winding_temp_c < p.trip_winding_c - 60.0:
            self.tripped = False  # the thermal relay resets once the motor has cooled

    def _thermal(self, dt: float) -> None:
        p, d = self.p, self.disturbance
        rise = p.bearing_rise_c + sum(d.bearing_add_c.values()) if self.running else 0.0
        self.bearing_temp_c = lag(self.bearing_temp_c, p.ambient_c + rise, dt, p.bearing_tau_s)
        if d.bearing_floor_c:
            self.bearing_temp_c = max(self.bearing_temp_c, *d.bearing_floor_c.values())
        winding_target = p.ambient_c + p.winding_rise_c * (self.current_a / p.rated_current_a) ** 2
        self.winding_temp_c = lag(self.winding_temp_c, winding_target, dt, p.winding_tau_s)

    def _vibration(self) -> None:
        d = self.disturbance
        if self.running:
            base = self.p.vibration_mm_s * (1.3 if d.dry else 1.0)
            noisy = base * (1.0 + 0.05 * self.rng.gauss(0.0, 1.0))
            crackle = sum(d.cavitation.values()) * 4.0 * abs(self.rng.gauss(0.0, 1.0))
            self.vibration_mm_s = max(0.0, noisy + crackle + sum(d.vibration_add_mm_s.values()))
        else:
            self.vibration_mm_s = abs(0.05 + 0.01 * self.rng.gauss(0.0, 1.0))

    def values(self) -> dict[str, Value]:
        return {
            "running": self.running,
            "tripped": self.tripped,
            "motor_current_a": self.current_a,
            "outlet_pressure_bar": max(0.0, self.pressure_bar - self.pressure_dip_bar),
            "flow_m3h": self.flow_m3h,
            "vibration_mm_s": self.vibration_mm_s,
            "bearing_temp_c": self.bearing_temp_c,
            "winding_temp_c": self.winding_temp_c,
            "run_hours": self.run_hours,
            "start_count": self.start_count,
            "rated_current_a": self.p.rated_current_a,
        }
