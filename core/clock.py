"""Clocks: everything that schedules takes one, so tests drive time instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of timezone-aware UTC time."""

    def now(self) -> datetime:
        """Return the current time (UTC, timezone-aware)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests and accelerated scenarios."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by a timedelta or a number of seconds; return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to a later time."""
        with self._lock:
            if when < self._now:
                raise ValueError("time does not run backwards")
            self._now = when


class ScaledClock:
    """Simulated time running `speed` times faster than the wall clock from a start point."""

    def __init__(self, *, start: datetime, speed: float, base: Clock | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._base = base or SystemClock()
        self._wall0 = self._base.now()
        self._sim0 = start
        self.speed = speed

    def now(self) -> datetime:
        elapsed = self._base.now() - self._wall0
        return self._sim0 + elapsed * self.speed


def to_epoch_ms(when: datetime) -> int:
    """Milliseconds since the Unix epoch for an aware datetime."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: all bldgwatch timestamps are timezone-aware UTC")
    return int(when.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
