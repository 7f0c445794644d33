"""The time-series store interface and its errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol


class TsdbError(Exception):
    """A write or query failed. `retryable` says whether trying again can help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status  # the HTTP status, when the server answered


class PartialWriteError(TsdbError):
    """The server refused some lines of a write (and, for InfluxDB, kept the rest).

    `bad_lines` holds 0-based indexes of the refused lines in the body, when the server
    names them (InfluxDB 2.x does, 1-based, and the adapters convert); InfluxDB 1.x names
    none, and `bad_lines` is empty: the caller has to find the bad lines itself.
    """

    def __init__(self, message: str, *, bad_lines: list[int], status: int = 400) -> None:
        super().__init__(message, retryable=False, status=status)
        self.bad_lines = bad_lines


Row = dict[str, Any]


class TimeSeriesStore(Protocol):
    """What every component needs of InfluxDB."""

    raw_keep: timedelta | None
    """How long the raw readings are kept (`InfluxSettings.raw_retention`); None: for ever."""

    def ensure_database(self) -> None:
        """Create the database / check the bucket exists."""
        ...

    def write(self, body: bytes, *, precision: str = "ms") -> None:
        """Write line protocol; raise TsdbError (retryable or not) or PartialWriteError."""
        ...

    def query(self, influxql: str) -> list[Row]:
        """Run an InfluxQL query; rows of all series, each with `time`, tags and columns."""
        ...

    def ping(self) -> bool:
        """True when the server answers."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
