"""A fake InfluxDB at the transport boundary (unit tests only).

It behaves like the server where the writer cares: a line containing `BAD` is refused,
the rest of the body is kept (InfluxDB 1.x partial write, no line numbers unless
`number_lines`), and scripted failures are raised before anything is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from bldgwatch.core.tsdb import PartialWriteError, TsdbError


class FakeStore:
    """Records the lines it keeps, in write order; raises what it is told to."""

    def __init__(self, *, number_lines: bool = False) -> None:
        self.kept: list[str] = []
        self.calls: list[list[str]] = []
        self.failures: list[Exception] = []  # raised, one per call, before anything is kept
        self.ensured = 0
        self.raw_keep = None  # InfluxSettings.raw_keep: raw readings kept for ever
        self.number_lines = number_lines
        self.on_write: Callable[[list[str]], None] | None = None

    def write(self, body: bytes, *, precision: str = "ms") -> None:
        assert precision == "ms"
        lines = body.decode().split("\n")
        self.calls.append(lines)
        if self.on_write is not None:
            self.on_write(lines)
        if self.failures:
            raise self.failures.pop(0)
        bad = [i + 1 for i, line in enumerate(lines) if "BAD" in line]
        self.kept.extend(line for line in lines if "BAD" not in line)
        if bad and len(bad) == len(lines):
            raise TsdbError(f"InfluxDB 400: unable to parse {lines[0]!r}", retryable=False)
        if bad:
            numbers = bad if self.number_lines else []
            raise PartialWriteError(
                f"InfluxDB 400: partial write: dropped={len(bad)}", bad_lines=numbers
            )

    def ensure_database(self) -> None:
        self.ensured += 1
