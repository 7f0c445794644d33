"""Pump faults: bearing overheating and wear, dry running, cavitation, failure to start, a worn
impeller."""

from __future__ import annotations

from pydantic import Field

from bldgwatch.simulators.devices import PumpModel
from bldgwatch.simulators.faults.base import FaultParams, ModelFault, ramp


class BearingOverheatParams(FaultParams):
    """Parameters of `bearing_overheat`."""

    rate_c_per_s: float = Field(2.0, gt=0, description="Rise per simulated second.")
    target_c: float = Field(110.0, description="Temperature the bearing climbs to.")
    vibration_add_mm_s: float = Field(1.5, ge=0, description="Extra vibration at the target.")


class BearingOverheat(ModelFault[PumpModel, BearingOverheatParams]):
    """A bearing running hot (lubrication lost): temperature climbs fast, vibration a bit."""

    name = "bearing_overheat"
    model_type = PumpModel
    params_type = BearingOverheatParams

    def on_begin(self, model: PumpModel) -> None:
        self.start_c = model.bearing_temp_c

    def on_evolve(self, model: PumpModel, elapsed_s: float) -> None:
        floor = ramp(self.start_c, self.p.rate_c_per_s, self.p.target_c, elapsed_s)
        model.disturbance.bearing_floor_c[self.name] = floor
        span = max(1e-9, self.p.target_c - self.start_c)
        share = max(0.0, min(1.0, (floor - self.start_c) / span))
        model.disturbance.vibration_add_mm_s[self.name] = self.p.vibration_add_mm_s * share

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.bearing_floor_c.pop(self.name, None)
        model.disturbance.vibration_add_mm_s.pop(self.name, None)


class BearingWearParams(FaultParams):
    """Parameters of `bearing_wear`."""

    vibration_mm_s_per_day: float = Field(0.25, ge=0, description="Vibration growth per day.")
    temp_c_per_day: float = Field(1.5, ge=0, description="Bearing temperature growth per day.")
    max_vibration_add_mm_s: float = Field(15.0, ge=0, description="Growth stops here.")
    max_temp_add_c: float = Field(60.0, ge=0, description="Growth stops here.")


class BearingWear(ModelFault[PumpModel, BearingWearParams]):
    """A wearing bearing: vibration and running temperature creep up over weeks."""

    name = "bearing_wear"
    model_type = PumpModel
    params_type = BearingWearParams

    def on_evolve(self, model: PumpModel, elapsed_s: float) -> None:
        days = elapsed_s / 86_400.0
        p = self.p
        vib = min(p.max_vibration_add_mm_s, p.vibration_mm_s_per_day * days)
        model.disturbance.vibration_add_mm_s[self.name] = vib
        model.disturbance.bearing_add_c[self.name] = min(p.max_temp_add_c, p.temp_c_per_day * days)

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.vibration_add_mm_s.pop(self.name, None)
        model.disturbance.bearing_add_c.pop(self.name, None)


class DryRunning(ModelFault[PumpModel, FaultParams]):
    """No water at the suction: the motor runs, nothing flows, the current is low."""

    name = "dry_running"
    model_type = PumpModel

    def on_begin(self, model: PumpModel) -> None:
        model.disturbance.dry.add(self.name)
        model.disturbance.force_run.add(self.name)

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.dry.discard(self.name)
        model.disturbance.force_run.discard(self.name)


class CavitationParams(FaultParams):
    """Parameters of `cavitation`."""

    severity: float = Field(0.6, gt=0, le=1, description="Full-developed severity, 0..1.")
    onset_s: float = Field(60.0, ge=0, description="Simulated seconds to reach full severity.")


class Cavitation(ModelFault[PumpModel, CavitationParams]):
    """Suction pressure too low: vapour bubbles collapse on the impeller. Noisy, spiky
    vibration, outlet pressure dips, flow falls and wavers."""

    name = "cavitation"
    model_type = PumpModel
    params_type = CavitationParams

    def on_evolve(self, model: PumpModel, elapsed_s: float) -> None:
        share = 1.0 if self.p.onset_s == 0 else min(1.0, elapsed_s / self.p.onset_s)
        model.disturbance.cavitation[self.name] = self.p.severity * share

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.cavitation.pop(self.name, None)


class FailureToStart(ModelFault[PumpModel, FaultParams]):
    """The contactor or starter is dead: once the pump stops, pressure falls below the start
    setpoint and the motor stays off (no current, no flow)."""

    name = "failure_to_start"
    model_type = PumpModel

    def on_begin(self, model: PumpModel) -> None:
        model.disturbance.no_start.add(self.name)

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.no_start.discard(self.name)


class ImpellerWearParams(FaultParams):
    """Parameters of `impeller_wear`."""

    share_per_day: float = Field(0.02, ge=0, description="Flow and head lost per day, a share.")
    initial_share: float = Field(0.0, ge=0, lt=0.9, description="Share lost at the start.")
    max_share: float = Field(0.3, gt=0, lt=0.9, description="Wear stops here.")


class ImpellerWear(ModelFault[PumpModel, ImpellerWearParams]):
    """A wearing impeller (eroded vanes, opened wear rings): the pump curve sinks over days,
    less flow and head for the same power, so the specific energy (kWh/m³) rises."""

    name = "impeller_wear"
    model_type = PumpModel
    params_type = ImpellerWearParams

    def on_evolve(self, model: PumpModel, elapsed_s: float) -> None:
        p = self.p
        share = min(p.max_share, p.initial_share + p.share_per_day * elapsed_s / 86_400.0)
        model.disturbance.impeller_wear[self.name] = share

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.impeller_wear.pop(self.name, None)
