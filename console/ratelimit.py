"""Login rate limiting per (user name, client address): a sliding window of failures."""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import timedelta

from bldgwatch.core.clock import Clock


class LoginLimiter:
    """At most `attempts` failed logins per key within `window`; success clears the key."""

    def __init__(self, clock: Clock, *, attempts: int = 5, window: timedelta) -> None:
        self._clock = clock
        self._attempts = attempts
        self._window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self._window.total_seconds():
            times.popleft()
        return times

    def retry_after(self, user: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        key = (user.lower(), address)
        now = self._clock.now().timestamp()
        with self._lock:
            times = self._prune(key, now)
            if not times:
                del self._failures[key]  # forget keys without recent failures
                return None
            if len(times) < self._attempts:
                return None
            return max(1, math.ceil(times[0] + self._window.total_seconds() - now))

    def failed(self, user: str, address: str) -> None:
        """Count one failed attempt."""
        key = (user.lower(), address)
        now = self._clock.now().timestamp()
        with self._lock:
            self._prune(key, now).append(now)

    def succeeded(self, user: str, address: str) -> None:
        """Forget the failures of this key."""
        with self._lock:
            self._failures.pop((user.lower(), address), None)
