"""Thread-safe counters and gauges behind the status topic and /metrics."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Counters:
    """Plain totals plus per-reason tallies, safe to bump from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: Counter[str] = Counter()
        self._by_reason: dict[str, Counter[str]] = {}
        self._gauges: dict[str, float] = {}

    def inc(self, name: str, n: int = 1) -> None:
        """Add `n` to the total `name`."""
        with self._lock:
            self._totals[name] += n

    def inc_reason(self, group: str, reason: str, n: int = 1) -> None:
        """Add `n` to `reason` within `group` (e.g. rejected/future_timestamp)."""
        with self._lock:
            self._by_reason.setdefault(group, Counter())[reason] += n

    def set_gauge(self, name: str, value: float) -> None:
        """Set a current value (e.g. lag_s)."""
        with self._lock:
            self._gauges[name] = value

    def gauges(self) -> dict[str, float]:
        """A copy of the current values."""
        with self._lock:
            return dict(self._gauges)

    def get(self, name: str) -> int:
        """The total `name` (0 when never bumped)."""
        with self._lock:
            return self._totals[name]

    def reasons(self, group: str) -> dict[str, int]:
        """A copy of the per-reason tallies of `group`."""
        with self._lock:
            return dict(self._by_reason.get(group, Counter()))

    def snapshot(self) -> dict[str, Any]:
        """Every total, and every group as a {reason: count} mapping."""
        with self._lock:
            out: dict[str, Any] = dict(self._totals)
            out.update({g: dict(c) for g, c in self._by_reason.items()})
            return out
