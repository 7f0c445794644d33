"""Jittered exponential backoff (pure): how long to wait before the next attempt.

Attempt n (0-based) waits at most `min(maximum, initial * 2**n)`; the wait is drawn from the
upper half of that, so that clients that failed together do not all come back together, and
none comes back sooner than half its ceiling. A server's Retry-After wins over the formula.
One helper for every retry in the project: the gateway's reconnects, ingest's writes and
start-up, the rules worker's alarm store and annotations. The callers keep their own way of
waiting (a scheduled time on an injected clock, an abortable sleep, a stop event); this module
only says how long.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_DOUBLINGS = 32  # 2**32 times any sensible initial delay is past every maximum


def no_jitter() -> float:
    """A jitter source that always waits the whole ceiling: plain doubling."""
    return 1.0


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    jitter: float,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (0-based).

    Args:
        attempt: Failed attempts so far minus one (0 for the first retry).
        initial: The first ceiling, seconds.
        maximum: The largest ceiling, seconds.
        jitter: Where in the ceiling's upper half to land, 0 (half) to 1 (all of it).
        retry_after: A server's Retry-After, seconds; when given (and not negative) it is
            the answer.

    Returns:
        The delay in seconds.
    """
    if retry_after is not None and retry_after >= 0:
        return retry_after
    ceiling = min(maximum, initial * 2.0 ** min(attempt, _MAX_DOUBLINGS))
    return ceiling * (0.5 + jitter / 2)


class Backoff:
    """Successive delays of one retrying thing: each `next_delay()` doubles the ceiling up to
    `maximum`, `reset()` after a success starts again from `initial`."""

    def __init__(
        self,
        initial: float,
        maximum: float,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._initial = initial
        self._maximum = max(maximum, initial)
        self._jitter = jitter
        self._attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; grows with each call until `reset()`."""
        delay = backoff_delay(
            self._attempt, initial=self._initial, maximum=self._maximum, jitter=self._jitter()
        )
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Back to the shortest delay (after a success)."""
        self._attempt = 0
