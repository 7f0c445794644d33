"""Drains the durable queue to the broker: QoS 1 batches, deleted only after their PUBACK.

Threading: everything here runs on the gateway's asyncio thread, the queue included. paho
reports PUBACKs and connects on its network thread; the service forwards them with
`loop.call_soon_threadsafe(publisher.on_puback, mid)` / `(publisher.wake)`. Because the
mid → seq entry is recorded right after `publish()` returns, before the loop runs any
callback, a PUBACK can never arrive for an unknown batch.

While disconnected no new batch is taken (readings stay queued). Batches already handed to
paho stay in its session and paho re-sends them on reconnect, oldest first, unchanged. After
a restart the queue re-serves every unacknowledged batch, with its seq, before new ones.

A batch never exceeds what the broker takes: its PUBLISH packet stays within
`batch_max_bytes` and the Maximum Packet Size the broker announced in its CONNACK; a batch
that would not goes back to unsent and leaves in smaller ones. A batch the broker refuses
(a PUBACK reason code of 0x80 or more) is split the same way, or, down to one reading, kept
in the queue's local dead letters; refusals that say "not now" (not authorised, quota
exceeded) pause sending with a growing delay and keep the batch. After a reconnect, batches
the broker acknowledged within `resend_window_s` before the connection dropped go again:
a broker killed before its autosave loses what it had acknowledged and not yet saved.

When batches leave: at once when a full batch waits or the caller says so (`notify(urgent=
True)`: the gateway's intake does after each group commit, see gateway/intake.py), and at
least every `flush_interval_s`.
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
from bldgwatch.core.mqtt import PACKET_OVERHEAD
from bldgwatch.gateway.queue import QueuedBatch, ReadingQueue

logger = logging.getLogger(__name__)

UNKNOWN_EQUIPMENT = EquipmentInfo(type="unknown", building="unknown")
NOT_AUTHORIZED, QUOTA_EXCEEDED = 0x87, 0x97
REFUSED_FOR_NOW = frozenset({NOT_AUTHORIZED, QUOTA_EXCEEDED})  # the batch itself is fine
PAUSE_MAX_S = 300.0


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
    max_packet_size: int | None

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
    refused: int = 0  # batches the broker refused (PUBACK reason >= 0x80)
    rebatched: int = 0  # batches split because they were (or would be) too large
    dead_lettered: int = 0  # readings refused even alone: kept locally, not sent again
    resent: int = 0  # acknowledged batches sent again after a reconnect


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
        batch_max_bytes: int = 256 * 1024,
        resend_window_s: float = 0.0,
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
        self._resending: dict[int, int] = {}  # paho mid -> seq of an acknowledged batch
        self._max_bytes = batch_max_bytes
        self._fit = batch_max_readings  # readings per batch that fit the byte budget
        self._resend_window_ms = int(resend_window_s * 1000)
        self._lost_at_ms: int | None = None  # when the connection dropped, until resent
        self._paused_until_ms = 0
        self._pauses = 0
        self._waiting = 0  # readings put since the last fill (a hint, not a count)
        self._wake = asyncio.Event()
        self.stats = PublisherStats()

    @property
    def inflight(self) -> int:
        """Batches published and not yet acknowledged."""
        return len(self._inflight)

    # -- hand-offs (asyncio thread) -------------------------------------------------------
    def add_equipment(self, table: Mapping[str, EquipmentInfo]) -> None:
        """Know the equipment of a new configuration (the old stays known: its readings
        may still wait in the queue)."""
        self._equipment.update(table)

    def notify(self, count: int, *, urgent: bool = False) -> None:
        """Readings were put; wake at once when a full batch waits or when `urgent`."""
        self._waiting += count
        if urgent or self._waiting >= self._batch_max:
            self._wake.set()

    def wake(self) -> None:
        """Look at the queue now (e.g. after a reconnect)."""
        self._wake.set()

    def on_disconnect(self) -> None:
        """The connection dropped: what was acknowledged just before may go again."""
        if self._lost_at_ms is None and self._resend_window_ms:
            self._lost_at_ms = to_epoch_ms(self._clock.now())

    def on_puback(self, mid: int, reason: int = 0) -> None:
        """The broker answered message `mid`: reason < 0x80 accepted, else refused."""
        if mid in self._resending:
            self._queue.forget_recent(self._resending.pop(mid))
            return
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return  # not a batch (e.g. a status message)
        if reason >= 0x80:
            self._refused(seq, reason)
        else:
            now_ms = to_epoch_ms(self._clock.now())
            if not self._queue.ack(seq, now_ms=now_ms, keep_ms=self._resend_window_ms):
                logger.warning("batch %d was acknowledged after the quota dropped it", seq)
            self.stats.acked += 1
            self._pauses = 0
        self._wake.set()

    def _refused(self, seq: int, reason: int) -> None:
        self.stats.refused += 1
        now_ms = to_epoch_ms(self._clock.now())
        if reason in REFUSED_FOR_NOW:
            self._queue.unserve(seq)
            if now_ms < self._paused_until_ms:
                return  # the refusals of one burst make one pause
            delay = min(PAUSE_MAX_S, 5.0 * 2**self._pauses)
            log = logger.error if self._pauses == 0 else logger.debug
            log("broker refused batch %d (reason 0x%02x); sending again in %.0f s", seq, reason,
                delay)  # fmt: skip
            self._pauses += 1
            self._paused_until_ms = now_ms + int(delay * 1000)
            return
        self._shrink(seq, f"refused by the broker (reason 0x{reason:02x})")

    def _shrink(self, seq: int, why: str) -> None:
        """Split a batch that is too large for the broker, or keep one reading locally."""
        queued = self._queue.batch(seq)
        size = len(queued.readings) if queued is not None else 0
        if size > 1:
            self._queue.rebatch(seq)
            self._fit = max(1, min(self._fit, size // 2))
            self.stats.rebatched += 1
            logger.warning("batch %d of %d readings %s: sent again in smaller ones", seq, size, why)
        elif size == 1:
            self._queue.dead_letter(seq, why, now_ms=to_epoch_ms(self._clock.now()))
            self.stats.dead_lettered += 1
            logger.error("batch %d: one reading %s; kept in the local dead letters", seq, why)

    # -- sending ---------------------------------------------------------------------------
    def fill(self) -> int:
        """Publish batches while connected and below the in-flight limit; how many were sent."""
        sent = 0
        self._waiting = 0
        if not self._client.connected.is_set():
            return 0
        if self._lost_at_ms is not None:
            self._resend_recent(self._lost_at_ms)
            self._lost_at_ms = None
        if to_epoch_ms(self._clock.now()) < self._paused_until_ms:
            return 0
        while self._client.connected.is_set() and len(self._inflight) < self._max_inflight:
            batch = self._take()
            if batch is None:
                break
            sent += self._publish(batch)
        return sent

    def _resend_recent(self, lost_at_ms: int) -> None:
        """Send again what the broker acknowledged within the window before the drop."""
        batches = self._queue.recent_since(lost_at_ms - self._resend_window_ms)
        for queued in batches:
            info = self._client.publish(self._topic, self._encode(queued), qos=1)
            self._resending[info.mid] = queued.seq
            self.stats.resent += 1
        if batches:
            logger.info(
                "reconnected: %d batches acknowledged before the drop sent again (seq %d-%d)",
                len(batches),
                batches[0].seq,
                batches[-1].seq,
            )

    def _take(self) -> QueuedBatch | None:
        """The next batch: backlog (oldest first) or live (newest), as the mixer says."""
        now_ms = to_epoch_ms(self._clock.now())
        live_since = now_ms - self._live_window_ms
        backlog, live = self._queue.waiting(live_since)
        kind = self._mixer.choose(backlog=backlog, live=live)
        if kind is None:
            return None
        size = min(self._batch_max, self._fit)
        if kind == "live" and backlog:
            self.stats.live_batches += 1
            return self._queue.next_batch(size, now_ms=now_ms, live_since_ms=live_since)
        if backlog:
            self.stats.backlog_batches += 1
        # No backlog: everything waiting is live, and goes oldest first.
        return self._queue.next_batch(size, now_ms=now_ms)

    def budget(self) -> int:
        """Largest PUBLISH packet a batch may make: ours and the broker's limit."""
        broker = self._client.max_packet_size
        return self._max_bytes if broker is None else min(self._max_bytes, broker)

    def _publish(self, queued: QueuedBatch) -> int:
        """Publish one batch (1), or split one that would be too large (0)."""
        payload = self._encode(queued)
        packet = len(payload) + len(self._topic) + PACKET_OVERHEAD
        n = len(queued.readings)
        if n:  # readings per batch that fit, from this batch's size (with 10 % to spare)
            self._fit = max(1, min(self._batch_max, int(self.budget() * 0.9 * n / packet)))
        if packet > self.budget():
            self._shrink(queued.seq, f"would make a {packet}-byte packet (limit {self.budget()})")
            return 0
        info = self._client.publish(self._topic, payload, qos=1)
        self._inflight[info.mid] = queued.seq
        self.stats.published += 1
        self.stats.readings_sent += n
        self.stats.last_seq = queued.seq
        logger.debug("published batch %d (%d readings) as mid %d", queued.seq, n, info.mid)
        return 1

    def _encode(self, queued: QueuedBatch) -> bytes:
        present = {r.equipment for r in queued.readings}
        table = {eq: self._equipment.get(eq, UNKNOWN_EQUIPMENT) for eq in present}
        for eq in present - self._equipment.keys():
            logger.warning("batch %d: equipment %s is not configured any more", queued.seq, eq)
        return encode_batch(
            ReadingBatch(
                site=self._site,
                gateway=self._gateway,
                seq=queued.seq,
                equipment=table,
                readings=queued.readings,
                sent_ms=to_epoch_ms(self._clock.now()),
            )
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
        return not self._inflight and not self._resending and self._queue.stats().depth == 0

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
