"""Errors of the simulators package."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError


class SimulatorError(BldgwatchError):
    """Base of simulator errors."""


class FaultError(SimulatorError):
    """A fault cannot be started or stopped: unknown, not applicable, or bad parameters.

    `equipment` and `fault` name what the request was about, so a control handler can log it.
    """

    def __init__(self, equipment: str, fault: str, detail: str) -> None:
        super().__init__(f"{equipment} fault {fault!r}: {detail}")
        self.equipment = equipment
        self.fault = fault
        self.detail = detail
