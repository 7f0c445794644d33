"""Events the broker acknowledged a moment ago, kept to be published again after a reconnect.

Mosquitto saves its state every `autosave_interval` (5 s in deploy/mosquitto/*.conf) and at a
clean stop. A broker killed between two saves loses the QoS 1 messages it acknowledged since
the last one, including an event queued for a consumer session that was away; the publisher's
outbox row of that event is gone at the PUBACK. So a publishing service (rules for alarm
events, maintenance for work-order events) keeps each confirmed event for `resend_window_s`
(well above the autosave interval) and publishes it again after every reconnect, as the
gateway does with its batches (`queue.resend_window_s`). Consumers dedupe on `event_id`, so a
copy is harmless.

The window is counted back from the moment the connection dropped, not from the reconnect:
however long the broker stays down, what it acknowledged just before its kill goes out again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Confirmed:
    """One event the broker acknowledged, and when (monotonic seconds)."""

    topic: str
    payload: bytes
    at: float


class ResendWindow:
    """Confirmed events of the last `window_s` seconds before now or before the connection
    dropped, by event id.

    `confirmed`, `recent` and `resent` belong to the publishing thread; `connection_lost` may
    come from the network thread.
    """

    def __init__(self, window_s: float, now: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._now = now
        self._events: OrderedDict[str, Confirmed] = OrderedDict()
        self._lock = threading.Lock()
        self._dropped_at: float | None = None

    def confirmed(self, event_id: str, topic: str, payload: bytes) -> None:
        """The broker acknowledged `event_id` now."""
        if self.window_s <= 0:
            return
        with self._lock:
            self._events.pop(event_id, None)
            self._events[event_id] = Confirmed(topic, payload, self._now())
            self._prune()

    def connection_lost(self) -> None:
        """The connection dropped now: until `resent`, the window ends here."""
        with self._lock:
            if self._dropped_at is None:
                self._dropped_at = self._now()

    def recent(self) -> list[tuple[str, Confirmed]]:
        """(event id, event) of those acknowledged within the window, oldest first."""
        with self._lock:
            self._prune()
            return list(self._events.items())

    def resent(self) -> None:
        """What `recent` gave went out again after a reconnect: the window follows now again."""
        with self._lock:
            self._dropped_at = None

    def _prune(self) -> None:
        end = self._now() if self._dropped_at is None else self._dropped_at
        cutoff = end - self.window_s
        while self._events and next(iter(self._events.values())).at < cutoff:
            self._events.popitem(last=False)
