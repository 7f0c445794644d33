"""Alarm transitions into InfluxDB as events (measurement `alarm_events`) for Grafana annotations.

Best effort and never in the evaluation's way: `submit` only appends to a bounded buffer (the
oldest is dropped, and counted, when InfluxDB is away for long); a thread writes batches and
retries with backoff. The SQL store stays the record of every transition.

Grafana annotation query (InfluxQL):
``SELECT "title", "text" FROM "alarm_events" WHERE $timeFilter AND "site" = '$site'``
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from bldgwatch.core import lineproto
from bldgwatch.core.backoff import Backoff, no_jitter
from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.models import AlarmEvent
from bldgwatch.core.tsdb import TimeSeriesStore, TsdbError, open_store

logger = logging.getLogger(__name__)

MEASUREMENT = "alarm_events"
_BATCH = 500
_RETRY_MIN_S = 0.5
_RETRY_MAX_S = 30.0


def event_line(event: AlarmEvent) -> str:
    """One line of protocol for one transition (ms precision)."""
    tags = {
        "site": event.site,
        "building": event.building,
        "equipment": event.equipment,
        "equipment_type": event.equipment_type,
        "rule": event.rule,
        "fault_code": event.fault_code,
        "severity": event.severity.value,
        "transition": event.transition,
    }
    fields: dict[str, float | int | bool | str] = {
        "title": f"{event.equipment} {event.fault_code} {event.transition}",
        "text": event.message or event.fault_code,
        "state": event.state.value,
        "previous_state": event.previous_state.value,
        "priority": event.priority,
        "alarm_id": event.alarm_id,
        "event_id": event.event_id,
    }
    if event.value is not None:
        fields["value"] = event.value
    if event.actor:
        fields["actor"] = event.actor
    if event.comment:
        fields["comment"] = event.comment
    return lineproto.line(MEASUREMENT, tags, fields, to_epoch_ms(event.at))


class AnnotationWriter:
    """A background writer of alarm events to InfluxDB."""

    def __init__(
        self,
        store: TimeSeriesStore,
        *,
        capacity: int = 10_000,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._store = store
        self._buffer: deque[str] = deque(maxlen=capacity)
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self.errors = 0

    @classmethod
    def open(cls, settings: InfluxSettings) -> AnnotationWriter:
        """A writer to the configured InfluxDB."""
        return cls(open_store(settings))

    def submit(self, event: AlarmEvent) -> None:
        """Queue one event (never blocks)."""
        with self._wake:
            if len(self._buffer) == self._buffer.maxlen:
                self.dropped += 1
            self._buffer.append(event_line(event))
            self._wake.notify()

    @property
    def pending(self) -> int:
        """Lines waiting to be written."""
        return len(self._buffer)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="rules-annotations", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is buffered (within `timeout`), then stop."""
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self._store.close()

    def _take(self) -> list[str]:
        with self._wake:
            while not self._buffer and not self._stop.is_set():
                self._wake.wait(1.0)
            return [self._buffer.popleft() for _ in range(min(_BATCH, len(self._buffer)))]

    def _give_back(self, lines: list[str]) -> None:
        with self._wake:
            room = (self._buffer.maxlen or 0) - len(self._buffer)
            kept = lines[len(lines) - room :] if room < len(lines) else lines
            self.dropped += len(lines) - len(kept)
            self._buffer.extendleft(reversed(kept))

    def _run(self) -> None:
        backoff = Backoff(_RETRY_MIN_S, _RETRY_MAX_S, jitter=no_jitter)
        while True:
            lines = self._take()
            if not lines:
                return  # stopped with nothing left
            try:
                self._store.write(lineproto.join(lines), precision="ms")
            except TsdbError as err:
                self.errors += 1
                if not err.retryable:
                    self.dropped += len(lines)
                    logger.error("alarm events refused by InfluxDB (dropped): %s", err)
                    continue
                logger.warning("alarm events not written to InfluxDB (retrying): %s", err)
                self._give_back(lines)
                if self._stop.is_set() or self._wait(backoff.next_delay()):
                    return
                continue
            backoff.reset()
            self.written += len(lines)
