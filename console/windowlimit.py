"""Sliding-window request limits for the public request form, per client address and per
request point, bounded in memory (the least recently touched keys go first: the senders
choose the keys). Time comes from the injectable clock."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import timedelta

from bldgwatch.core.clock import Clock

MAX_KEYS = 50_000


class WindowLimit:
    """At most `limit` counted requests per key in any `window`."""

    def __init__(self, clock: Clock, *, limit: int, window: timedelta) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window.total_seconds()
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._times.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._times[key]
        return times

    def wait_s(self, key: str) -> int | None:
        """Seconds until `key` may send again, or None when it may now."""
        now = self._clock.now().timestamp()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self._limit:
                return None
            return max(1, math.ceil(times[0] + self._window - now))

    def take(self, key: str) -> int | None:
        """Count a request of `key` when allowed (None); else the seconds to wait."""
        now = self._clock.now().timestamp()
        with self._lock:
            times = self._recent(key, now)
            if len(times) >= self._limit:
                return max(1, math.ceil(times[0] + self._window - now))
            self._count(key, times, now)
            return None

    def note(self, key: str) -> None:
        """Count a request of `key` that was let through after `wait_s` said it may send."""
        now = self._clock.now().timestamp()
        with self._lock:
            self._count(key, self._recent(key, now), now)

    def _count(self, key: str, times: deque[float], now: float) -> None:
        times.append(now)
        self._times[key] = times
        self._times.move_to_end(key)
        while len(self._times) > MAX_KEYS:
            self._times.popitem(last=False)
