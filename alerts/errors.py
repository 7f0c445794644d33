"""Errors of the alerts package."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError, ConfigError


class AlertsError(BldgwatchError):
    """Base of the alerts package's errors."""


class InvalidDocumentError(AlertsError):
    """A policy, rota, contact or channel is not acceptable; `field` names what is wrong."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class UnknownItemError(AlertsError):
    """The addressed policy, rota, contact or channel does not exist."""


class KeyMissingError(ConfigError):
    """No alerts key: channel secrets cannot be encrypted nor links signed."""


class SecretError(AlertsError):
    """A channel secret cannot be resolved (a missing variable or file, a bad reference)."""


class LinkError(AlertsError):
    """An acknowledge link is not valid; `reason` is one of malformed, forged, expired, used."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class DeliveryError(AlertsError):
    """A provider did not take a message.

    `retryable` says whether the same channel may succeed later (timeouts, 5xx, throttling);
    `retry_after` is the provider's own wait, seconds, when it gave one; `response` is what
    it answered (already stripped of secrets), recorded with the attempt.
    """

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool,
        response: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.response = response
        self.retry_after = retry_after
