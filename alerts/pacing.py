"""Pacing (pure): flood grouping per recipient and rate limits per channel.

Flood grouping: a recipient gets at most `burst` messages within `window_s`. Once that is
reached — or while the last message was itself held back and is younger than `interval_s` —
the recipient is in a flood: what comes waits and leaves as one digest `interval_s` after
the last message. So a flood of hundreds of alarms becomes one message per recipient per
interval, and the flood ends once an interval passes without one.

Rate limits: the robots' limits are "N messages per minute" (WeCom, DingTalk: 20; Feishu:
100 per minute and 5 per second), i.e. sliding windows, which a token bucket would exceed
(a full bucket plus its refill within one minute). `WindowLimiter` counts sends in each
window; the service seeds it with the attempts of the last minutes at start, so a restart
does not reset it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bldgwatch.alerts.config import FloodSettings


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message a recipient got: when, and whether the flood rule had held it back."""

    at: datetime
    held: bool


def flood_release(now: datetime, recent: Sequence[SentMessage], flood: FloodSettings) -> datetime:
    """When the recipient may get the next message: `now`, or the end of the flood interval.

    `recent` holds the recipient's messages of the last `max(window_s, interval_s)` seconds,
    oldest first.
    """
    if not recent:
        return now
    last = recent[-1]
    interval = timedelta(seconds=flood.interval_s)
    in_window = [m for m in recent if m.at > now - timedelta(seconds=flood.window_s)]
    flooding = len(in_window) >= flood.burst or (last.held and now - last.at < interval)
    return max(now, last.at + interval) if flooding else now


class WindowLimiter:
    """Sliding-window rate limits of one channel, e.g. [(20, 60)]: 20 messages a minute."""

    def __init__(self, limits: Sequence[tuple[int, float]]) -> None:
        self._limits = [(count, timedelta(seconds=span)) for count, span in limits]
        longest = max((span for _, span in self._limits), default=timedelta(0))
        self._keep = longest
        self._sent: deque[datetime] = deque()
        self._lock = threading.Lock()

    def _forget(self, now: datetime) -> None:
        while self._sent and self._sent[0] <= now - self._keep:
            self._sent.popleft()

    def _wait(self, now: datetime) -> float:
        self._forget(now)
        longest = 0.0
        for count, span in self._limits:
            inside = [t for t in self._sent if t > now - span]
            if len(inside) >= count:
                free_at = inside[len(inside) - count] + span
                longest = max(longest, (free_at - now).total_seconds())
        return longest

    def wait(self, now: datetime) -> float:
        """Seconds until one more message is allowed (0: now)."""
        with self._lock:
            return self._wait(now)

    def take(self, now: datetime) -> float:
        """Count a message sent now if allowed and return 0; else the seconds to wait."""
        with self._lock:
            wait = self._wait(now)
            if wait <= 0:
                self._sent.append(now)
            return wait

    def note(self, at: datetime) -> None:
        """Count a message sent at `at` (the service seeds the limiter from the store)."""
        with self._lock:
            self._sent.append(at)
            self._sent = deque(sorted(self._sent))
