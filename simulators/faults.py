"""Faults: time functions that act on a model's disturbance inputs, and an explicit registry.

A fault episode has a start (`begin`), an evolution (`evolve`, called before every model step
with the simulated seconds since the start) and an end (`clear`). Clearing only removes the
fault's inputs; the model's own physics then recovers (a hot bearing cools first-order).
Adding a fault is one class plus one line in `FAULTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import Field

from core.config import StrictModel
from core.models import Value
from simulators.devices import DeviceModel, ElevatorModel, PumpModel, ShaftPanelModel

M = TypeVar("M", bound=DeviceModel)
P = TypeVar("P", bound="FaultParams")


class FaultParams(StrictModel):
    """Base of a fault's parameters; unknown names are errors."""


class Fault:
    """One fault episode on one model."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]] = frozenset()  # empty: applies to every kind
    params_type: ClassVar[type[FaultParams]] = FaultParams

    def __init__(self, params: FaultParams) -> None:
        self.params = params

    @classmethod
    def applies_to(cls, kind: str) -> bool:
        """Whether this fault can be injected into a model of `kind`."""
        return not cls.kinds or kind in cls.kinds

    @classmethod
    def parse_params(cls, raw: Mapping[str, Any] | None) -> FaultParams:
        """Validated params (pydantic ValidationError names a bad one)."""
        return cls.params_type.model_validate(dict(raw or {}))

    def begin(self, model: DeviceModel) -> None:
        """Called once when the episode starts."""

    def evolve(self, model: DeviceModel, elapsed_s: float) -> None:
        """Called before every model step while active."""

    def clear(self, model: DeviceModel) -> None:
        """Called once when the episode ends; removes what the fault put in."""

    def transform(self, values: dict[str, Value]) -> dict[str, Value]:
        """What the device reports, given what the model computes."""
        return values

    @property
    def answering(self) -> bool:
        """False while the device does not answer requests at all."""
        return True


class ModelFault(Fault, Generic[M, P]):
    """A fault of one model class, with typed hooks `on_begin/on_evolve/on_clear`."""

    model_type: ClassVar[type[DeviceModel]]

    def __init__(self, params: FaultParams) -> None:
        super().__init__(params)
        self.p = cast(P, params)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model_type" in cls.__dict__:
            cls.kinds = frozenset({cls.model_type.kind})

    def _model(self, model: DeviceModel) -> M:
        if not isinstance(model, self.model_type):
            raise TypeError(f"fault {self.name} needs a {self.model_type.kind} model")
        return cast(M, model)

    def begin(self, model: DeviceModel) -> None:
        self.on_begin(self._model(model))

    def evolve(self, model: DeviceModel, elapsed_s: float) -> None:
        self.on_evolve(self._model(model), elapsed_s)

    def clear(self, model: DeviceModel) -> None:
        self.on_clear(self._model(model))

    def on_begin(self, model: M) -> None:
        """Typed `begin`."""

    def on_evolve(self, model: M, elapsed_s: float) -> None:
        """Typed `evolve`."""

    def on_clear(self, model: M) -> None:
        """Typed `clear`."""


def ramp(start: float, rate: float, target: float, elapsed_s: float) -> float:
    """From `start` towards `target` at `rate` per second, stopping at the target."""
    if target >= start:
        return min(target, start + rate * elapsed_s)
    return max(target, start - rate * elapsed_s)


# -- pump --------------------------------------------------------------------------------
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


class OverloadParams(FaultParams):
    """Parameters of `overload`."""

    factor: float = Field(1.3, gt=1.0, description="Motor current as a multiple of rated.")


class Overload(ModelFault[PumpModel, OverloadParams]):
    """A jammed impeller or failing motor: current above rated, the winding heats."""

    name = "overload"
    model_type = PumpModel
    params_type = OverloadParams

    def on_begin(self, model: PumpModel) -> None:
        model.disturbance.force_run.add(self.name)
        model.disturbance.current_factor[self.name] = self.p.factor

    def on_clear(self, model: PumpModel) -> None:
        model.disturbance.force_run.discard(self.name)
        model.disturbance.current_factor.pop(self.name, None)


# -- elevator ----------------------------------------------------------------------------
class EntrapmentParams(FaultParams):
    """Parameters of `entrapment`."""

    at_floor: bool = Field(True, description="Car stops level with a floor (else between).")


class Entrapment(ModelFault[ElevatorModel, EntrapmentParams]):
    """Car stopped, occupied, doors closed; ending it is the rescue."""

    name = "entrapment"
    model_type = ElevatorModel
    params_type = EntrapmentParams

    def on_begin(self, model: ElevatorModel) -> None:
        model.trap(at_floor=self.p.at_floor)

    def on_clear(self, model: ElevatorModel) -> None:
        model.release()


# -- shaft panel -------------------------------------------------------------------------
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


# -- any kind ----------------------------------------------------------------------------
class Stuck(Fault):
    """The device keeps answering with the values it had when the fault began."""

    name = "stuck"

    def __init__(self, params: FaultParams) -> None:
        super().__init__(params)
        self._frozen: dict[str, Value] | None = None

    def begin(self, model: DeviceModel) -> None:
        self._frozen = model.values()

    def transform(self, values: dict[str, Value]) -> dict[str, Value]:
        if self._frozen is None:
            self._frozen = dict(values)
        return dict(self._frozen)


class Silent(Fault):
    """The device stops answering (no Modbus response, no MQTT message)."""

    name = "silent"

    @property
    def answering(self) -> bool:
        return False


FAULTS: dict[str, type[Fault]] = {
    cls.name: cls
    for cls in (
        BearingOverheat,
        BearingWear,
        DryRunning,
        Overload,
        Entrapment,
        LeakageRising,
        JointOverheat,
        Stuck,
        Silent,
    )
}
"""Every fault by name."""
