"""Electrical-shaft panel faults: leakage rising, joint overheating, phase imbalance."""

from __future__ import annotations

from pydantic import Field

from bldgwatch.simulators.devices import ShaftPanelModel
from bldgwatch.simulators.faults.base import FaultParams, ModelFault, ramp


class LeakageRisingParams(FaultParams):
    """Parameters of `leakage_rising`."""

    rate_ma_per_s: float = Field(5.0, gt=0, description="Rise per simulated second.")
    target_ma: float = Field(450.0, ge=0, description="Residual current it climbs to.")


class LeakageRising(ModelFault[ShaftPanelModel, LeakageRisingParams]):
    """Insulation breaking down: residual current ramps past the 300 mA setpoint."""

    name = "leakage_rising"
    model_type = ShaftPanelModel
    params_type = LeakageRisingParams

    def on_evolve(self, model: ShaftPanelModel, elapsed_s: float) -> None:
        room = max(0.0, self.p.target_ma - model.p.leakage_ma)
        model.disturbance.leakage_extra_ma = min(room, self.p.rate_ma_per_s * elapsed_s)

    def on_clear(self, model: ShaftPanelModel) -> None:
        model.disturbance.leakage_extra_ma = None


class JointOverheatParams(FaultParams):
    """Parameters of `joint_overheat`."""

    rate_c_per_s: float = Field(0.5, gt=0, description="Rise per simulated second.")
    target_c: float = Field(95.0, description="Temperature the joint climbs to.")


class JointOverheat(ModelFault[ShaftPanelModel, JointOverheatParams]):
    """A loose cable joint: its temperature climbs well above the busbar's."""

    name = "joint_overheat"
    model_type = ShaftPanelModel
    params_type = JointOverheatParams

    def on_begin(self, model: ShaftPanelModel) -> None:
        self.start_c = model.joint_temp_c

    def on_evolve(self, model: ShaftPanelModel, elapsed_s: float) -> None:
        floor = ramp(self.start_c, self.p.rate_c_per_s, self.p.target_c, elapsed_s)
        model.disturbance.joint_floor_c = floor

    def on_clear(self, model: ShaftPanelModel) -> None:
        model.disturbance.joint_floor_c = None


class PhaseImbalanceParams(FaultParams):
    """Parameters of `phase_imbalance`."""

    phase: int = Field(1, ge=1, le=3, description="The phase that carries the extra load.")
    imbalance: float = Field(0.4, gt=0, le=1, description="Its excess over the mean, 0..1.")


class PhaseImbalance(ModelFault[ShaftPanelModel, PhaseImbalanceParams]):
    """Single-phase loads piled onto one phase: it carries more, the other two less."""

    name = "phase_imbalance"
    model_type = ShaftPanelModel
    params_type = PhaseImbalanceParams

    def on_begin(self, model: ShaftPanelModel) -> None:
        heavy, light = 1.0 + self.p.imbalance, 1.0 - self.p.imbalance / 2
        bias = [light, light, light]
        bias[self.p.phase - 1] = heavy
        model.disturbance.phase_bias = (bias[0], bias[1], bias[2])

    def on_clear(self, model: ShaftPanelModel) -> None:
        model.disturbance.phase_bias = None
