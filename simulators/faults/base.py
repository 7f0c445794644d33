"""What every fault shares: params, the begin/evolve/clear hooks, typed model faults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

from bldgwatch.core.config import StrictModel
from bldgwatch.core.models import Value
from bldgwatch.simulators.devices import DeviceModel

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

    @property
    def exception_code(self) -> int | None:
        """A Modbus exception code the device answers every request with, or None."""
        return None


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
