"""ingest's side of MQTT acknowledgements: guarded acks, counted when stale."""

from __future__ import annotations

import logging
from typing import Protocol

from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.writer import Delivery

logger = logging.getLogger(__name__)


class AckTarget(Protocol):
    """The part of core.mqtt.MqttClient the acker uses."""

    def ack(self, mid: int, qos: int, *, generation: int | None = None) -> bool:
        """Acknowledge a received message if its connection is still the live one."""
        ...


class Acker:
    """Acknowledges deliveries on the connection they came on, and only there.

    `Delivery.session` is the MqttClient connection generation the message arrived on; an
    ack left over from an earlier connection is skipped by the client (the broker redelivers
    the message, and the redelivered copy is written and acked itself) and counted here.
    """

    def __init__(self, client: AckTarget, counters: Counters) -> None:
        self._client = client
        self._counters = counters

    def ack(self, delivery: Delivery) -> None:
        """PUBACK one delivery (nothing to do for QoS 0)."""
        if not self._client.ack(delivery.mid, delivery.qos, generation=delivery.session):
            self._counters.inc("stale_acks")
