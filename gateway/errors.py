"""Errors of the gateway."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError


class GatewayError(BldgwatchError):
    """Base of the gateway's errors."""


class PlanError(GatewayError, ValueError):
    """A profile cannot be planned into Modbus requests (e.g. a point wider than a request)."""


class DeviceError(GatewayError):
    """A read from a device failed.

    `retryable` is False when asking again cannot help (an exception response such as
    illegal data address); True for timeouts and lost connections, after which the
    transport is closed and reconnected.
    """

    def __init__(self, message: str, *, retryable: bool, exception_code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.exception_code = exception_code


class ShortResponseError(GatewayError):
    """A device returned fewer registers or bits than the block asked for."""


class PayloadError(GatewayError):
    """An MQTT sensor payload could not be used; `reason` is the counted reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
