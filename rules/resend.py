"""Alarm events the broker acknowledged a moment ago, kept to be published again after a
reconnect.

Mosquitto saves its state every `autosave_interval` (30 s in deploy/mosquitto/demo.conf) and
at a clean stop. A broker killed between two saves loses the QoS 1 messages it acknowledged
since the last one, including an alarm event queued for an alerts or maintenance session that
was away; the outbox row of that event is gone at the PUBACK. So the service keeps each
confirmed event for `resend_window_s` (above the autosave interval) and publishes it again
after every reconnect, as the gateway does with its batches (`queue.resend_window_s`).
Consumers dedupe on `event_id`, so a copy is harmless.
"""

from __future__ import annotations

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
    """Confirmed alarm events of the last `window_s` seconds, by event id (worker thread)."""

    def __init__(self, window_s: float, now: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._now = now
        self._events: OrderedDict[str, Confirmed] = OrderedDict()

    def confirmed(self, event_id: str, topic: str, payload: bytes) -> None:
        """The broker acknowledged `event_id` now."""
        if self.window_s <= 0:
            return
        self._events.pop(event_id, None)
        self._events[event_id] = Confirmed(topic, payload, self._now())
        self._prune()

    def recent(self) -> list[tuple[str, Confirmed]]:
        """(event id, event) of those acknowledged within the window, oldest first."""
        self._prune()
        return list(self._events.items())

    def _prune(self) -> None:
        cutoff = self._now() - self.window_s
        while self._events and next(iter(self._events.values())).at < cutoff:
            self._events.popitem(last=False)
