"""Faults of any device: stuck values, silence, Modbus exception answers."""

from __future__ import annotations

from pydantic import Field, field_validator

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices import DeviceModel
from bldgwatch.simulators.faults.base import Fault, FaultParams

VALID_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 10, 11})


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


class ModbusExceptionParams(FaultParams):
    """Parameters of `modbus_exception`."""

    code: int = Field(4, description="Exception code: 1-8, 10 or 11 (4 device failure, 6 busy).")

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: int) -> int:
        if code not in VALID_CODES:
            raise ValueError(f"{code} is not a Modbus exception code {sorted(VALID_CODES)}")
        return code


class ModbusExceptionFault(Fault):
    """The device answers every request with a Modbus exception (e.g. its sensor board has
    failed); MQTT sensors stay quiet."""

    name = "modbus_exception"
    params_type = ModbusExceptionParams

    @property
    def exception_code(self) -> int | None:
        assert isinstance(self.params, ModbusExceptionParams)
        return self.params.code
