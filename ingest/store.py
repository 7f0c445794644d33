"""What ingest needs of the time-series store (a subset of core.tsdb.TimeSeriesStore)."""

from __future__ import annotations

from typing import Protocol


class LineStore(Protocol):
    """Writes line protocol and can (re)create its database."""

    def write(self, body: bytes, *, precision: str = "ms") -> None:
        """Write line protocol; raise core.tsdb.TsdbError / PartialWriteError."""
        ...

    def ensure_database(self) -> None:
        """Create the database (v1) or check the bucket (v2)."""
        ...
