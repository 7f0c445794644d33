"""An inbox for manually acknowledged MQTT deliveries, handled on a worker thread.

paho calls `put` on its network thread; a worker thread takes deliveries with `get` and,
once it has durably handled one, calls `ack`. A delivery is acknowledged only on the
connection it arrived on: after a reconnect the broker redelivers everything unacknowledged
(reusing packet ids), so deliveries of the old connection still waiting in the inbox are
dropped and their late acks skipped (the redelivered copies are handled instead).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Protocol

import paho.mqtt.client as paho

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received message, with what is needed to acknowledge it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class AckingClient(Protocol):
    """What the inbox needs of core.mqtt.MqttClient."""

    @property
    def generation(self) -> int:
        """Number of the live connection."""
        ...

    def ack(self, mid: int, qos: int, *, generation: int | None = None) -> bool:
        """Acknowledge on the live connection only."""
        ...


class Inbox:
    """A bounded hand-off from paho's thread to a worker thread, with guarded acks."""

    def __init__(self, client: AckingClient, *, maxsize: int = 10_000) -> None:
        self._client = client
        self._queue: queue.Queue[Delivery] = queue.Queue(maxsize)
        self._closed = threading.Event()
        self.stale_acks = 0

    # -- network thread ------------------------------------------------------------------
    def put(self, msg: paho.MQTTMessage) -> None:
        """Queue a delivery; blocks while full (backpressure: the broker holds the rest)."""
        delivery = Delivery(
            msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._client.generation
        )
        while not self._closed.is_set():
            try:
                self._queue.put(delivery, timeout=0.5)
                return
            except queue.Full:
                continue
        # Closing: left unacknowledged, the broker redelivers it in the next session.

    def on_connect(self) -> None:
        """Call on every (re)connect: drop deliveries of earlier connections."""
        live = self._client.generation
        kept: list[Delivery] = []
        dropped = 0
        while True:
            try:
                delivery = self._queue.get_nowait()
            except queue.Empty:
                break
            if delivery.generation == live:
                kept.append(delivery)
            else:
                dropped += 1
        for delivery in kept:
            self._queue.put(delivery)
        if dropped:
            logger.info("reconnected: %d unacknowledged deliveries come again", dropped)

    # -- worker thread -------------------------------------------------------------------
    def get(self, timeout: float) -> Delivery | None:
        """The next delivery, or None after `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge a handled delivery; False (and counted) when its connection is gone."""
        done = self._client.ack(delivery.mid, delivery.qos, generation=delivery.generation)
        if not done:
            self.stale_acks += 1
        return done

    @property
    def pending(self) -> int:
        """Deliveries waiting for the worker."""
        return self._queue.qsize()

    def close(self) -> None:
        """Stop accepting: a blocked `put` gives up (its message is redelivered later)."""
        self._closed.set()
