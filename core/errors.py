"""Errors shared by every component."""

from __future__ import annotations


class BldgwatchError(Exception):
    """Base of all bldgwatch errors."""


class ConfigError(BldgwatchError):
    """A configuration file is missing, unreadable or invalid; the process must not start."""


class StartError(BldgwatchError):
    """Something the process needs at start (its database, say) cannot be reached now; unlike a
    ConfigError, trying again later may succeed."""


class DecodeError(BldgwatchError):
    """An incoming message could not be decoded; `reason` is the counted dead-letter reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
