"""Overload: a pump motor or a distribution box carrying more than its rated current."""

from __future__ import annotations

from pydantic import Field

from bldgwatch.simulators.devices import DeviceModel, PumpModel, ShaftPanelModel
from bldgwatch.simulators.faults.base import Fault, FaultParams


class OverloadParams(FaultParams):
    """Parameters of `overload`."""

    factor: float = Field(1.3, gt=1.0, description="Current as a multiple of rated.")


class Overload(Fault):
    """Pump: a jammed impeller or failing motor, current above rated, the winding heats.
    Shaft panel: the load grows until the phase currents exceed rated, the joints heat."""

    name = "overload"
    kinds = frozenset({PumpModel.kind, ShaftPanelModel.kind})
    params_type = OverloadParams

    @property
    def factor(self) -> float:
        assert isinstance(self.params, OverloadParams)
        return self.params.factor

    def begin(self, model: DeviceModel) -> None:
        if isinstance(model, PumpModel):
            model.disturbance.force_run.add(self.name)
            model.disturbance.current_factor[self.name] = self.factor
        elif isinstance(model, ShaftPanelModel):
            model.disturbance.min_load_a = self.factor * model.p.rated_current_a
        else:
            raise TypeError(f"overload does not apply to a {model.kind}")

    def clear(self, model: DeviceModel) -> None:
        if isinstance(model, PumpModel):
            model.disturbance.force_run.discard(self.name)
            model.disturbance.current_factor.pop(self.name, None)
        elif isinstance(model, ShaftPanelModel):
            model.disturbance.min_load_a = None
