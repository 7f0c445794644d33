"""Drains the durable queue to the broker: QoS 1 batches, deleted only after their PUBACK.

Threading: everything here runs on the gateway's asyncio thread, the queue included. paho
reports PUBACKs and connects on its network thread; the service forwards them with
`loop.call_soon_threadsafe(publisher.on_puback, mid)` / `(publisher.wake)`. Because the
mid → seq entry is recorded right after `publish()` returns, before the loop runs any
callback, a PUBACK can never arrive for an unknown batch.

While disconnected no new batch is taken (readings stay queued). Batches already handed to
paho stay in its session and paho re-sends them on reconnect, oldest first, unchanged. After
a restart the queue re-serves every unacknowledged batch, with its seq, before new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import paho.mqtt.client as paho

from bldgwatch.core.clock import Clock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.models import EquipmentInfo, ReadingBatch
from bldgwatch.gateway.queue import QueuedBatch, ReadingQueue

logger = logging.getLogger(__name__)

UNKNOWN_EQUIPMENT = EquipmentInfo(type="unknown", building="unknown")


class ShareMixer:
    """Which kind of batch goes next while a backlog drains (pure).

    When both backlog and live readings wait, backlog batches get `backlog_share` of the
    sends and live batches the rest (a credit scheme: exact over any run of sends); when
    only one kind waits it gets everything.
    """

    def __init__(self, backlog_share: float) -> None:
        if not 0.0 <= backlog_share <= 1.0:
            raise ValueError(f"backlog_share must be in [0, 1], got {backlog_share}")
        self.backlog_share = backlog_share
        self._credit = 0.0

    def choose(self, *, backlog: bool, live: bool) -> str | None:
        """ "backlog", "live" or None (nothing waits)."""
        if not (backlog and live):
            self._credit = 0.0
            return "backlog" if backlog else ("live" if live else None)
        self._credit += self.backlog_share
        if self._credit >= 1.0 - 1e-9:
            self._credit -= 1.0
            return "backlog"
        return "live"


class BatchClient(Protocol):
    """What the publisher needs of core.mqtt.MqttClient."""

    connected: threading.Event

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo:
        """Queue a message; the PUBACK comes back as on_publish(mid)."""
        ...


@dataclass(slots=True)
class PublisherStats:
    """Counters for the status message."""

    published: int = 0
    acked: int = 0
    readings_sent: int = 0
    last_seq: int | None = None
    live_batches: int = 0
    backlog_batches: int = 0


class BatchPublisher:
    """Takes batches from the queue and publishes them (see the module doc)."""

    def __init__(
        self,
        *,
        queue: ReadingQueue,
        client: BatchClient,
        topic: str,
        site: str,
        gateway: str,
        equipment: Mapping[str, EquipmentInfo],
        batch_max_readings: int,
        max_inflight: int,
        flush_interval_s: float,
        clock: Clock,
        backlog_share: float = 1.0,
        live_window_s: float = 5.0,
    ) -> None:
        self._queue = queue
        self._client = client
        self._topic = topic
        self._site = site
        self._gateway = gateway
        self._equipment = dict(equipment)
        self._batch_max = batch_max_readings
        self._max_inflight = max_inflight
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._mixer = ShareMixer(backlog_share)
        self._live_window_ms = int(live_window_s * 1000)
        self._inflight: dict[int, int] = {}  # paho mid -> batch seq
        self._waiting = 0  # readings put since the last fill (a hint, not a count)
        self._wake = asyncio.Event()
        self.stats = PublisherStats()

    @property
    def inflight(self) -> int:
        """Batches published and not yet acknowledged."""
        return len(self._inflight)

    # -- hand-offs (asyncio thread) -------------------------------------------------------
    def notify(self, count: int) -> None:
        """Readings were put; wake at once when a full batch waits."""
        self._waiting += count
        if self._waiting >= self._batch_max:
            self._wake.set()

    def wake(self) -> None:
        """Look at the queue now (e.g. after a reconnect)."""
        self._wake.set()

    def on_puback(self, mid: int) -> None:
        """The broker acknowledged message `mid`; delete its batch from the queue."""
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return  # not a batch (e.g. a status message)
        if not self._queue.ack(seq):
            logger.warning("batch %d was acknowledged after the quota dropped it", seq)
        self.stats.acked += 1
        self._wake.set()

    # -- sending ---------------------------------------------------------------------------
    def fill(self) -> int:
        """Publish batches while connected and below the in-flight limit; how many were sent."""
        sent = 0
        self._waiting = 0
        while self._client.connected.is_set() and len(self._inflight) < self._max_inflight:
            batch = self._take()
            if batch is None:
                break
            self._publish(batch)
            sent += 1
        return sent

    def _take(self) -> QueuedBatch | None:
        """The next batch: backlog (oldest first) or live (newest), as the mixer says."""
        now_ms = to_epoch_ms(self._clock.now())
        live_since = now_ms - self._live_window_ms
        backlog, live = self._queue.waiting(live_since)
        kind = self._mixer.choose(backlog=backlog, live=live)
        if kind is None:
            return None
        if kind == "live" and backlog:
            self.stats.live_batches += 1
            return self._queue.next_batch(self._batch_max, now_ms=now_ms, live_since_ms=live_since)
        if backlog:
            self.stats.backlog_batches += 1
        # No backlog: everything waiting is live, and goes oldest first.
        return self._queue.next_batch(self._batch_max, now_ms=now_ms)

    def _publish(self, queued: QueuedBatch) -> None:
        present = {r.equipment for r in queued.readings}
        table = {eq: self._equipment.get(eq, UNKNOWN_EQUIPMENT) for eq in present}
        for eq in present - self._equipment.keys():
            logger.warning("batch %d: equipment %s is not configured any more", queued.seq, eq)
        payload = encode_batch(
            ReadingBatch(
                site=self._site,
                gateway=self._gateway,
                seq=queued.seq,
                equipment=table,
                readings=queued.readings,
                sent_ms=to_epoch_ms(self._clock.now()),
            )
        )
        info = self._client.publish(self._topic, payload, qos=1)
        self._inflight[info.mid] = queued.seq
        self.stats.published += 1
        self.stats.readings_sent += len(queued.readings)
        self.stats.last_seq = queued.seq
        logger.debug(
            "published batch %d (%d readings) as mid %d", queued.seq, len(queued.readings), info.mid
        )

    async def _wait_wake(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        self._wake.clear()

    async def run(self, stop: asyncio.Event) -> None:
        """Send what waits at least every flush interval, and at once when woken; until stop."""
        while not stop.is_set():
            self.fill()
            await self._wait_wake(self._flush_interval_s)

    def drained(self) -> bool:
        """True when nothing is queued or in flight."""
        return not self._inflight and self._queue.stats().depth == 0

    async def drain(self, timeout_s: float) -> bool:
        """Keep sending until everything is acknowledged or the timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self.fill()
            if self.drained():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await self._wait_wake(min(remaining, self._flush_interval_s))
