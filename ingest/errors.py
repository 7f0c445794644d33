"""Errors of the ingest service."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError


class IngestError(BldgwatchError):
    """Base of ingest's own errors."""


class WriterClosedError(IngestError):
    """The line buffer is closed: it takes no more messages (the service is stopping)."""


class WriterAbortedError(IngestError):
    """A flush was abandoned while retrying because the service must stop now.

    Nothing is lost: the messages whose lines were not written stay unacknowledged, so the
    broker redelivers them to the persistent session after the restart.
    """
