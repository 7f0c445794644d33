"""MQTT-native sensors: publish their points as JSON on their own topic every interval."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.wire import sensor_payload

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    """What a sensor needs of an MQTT client (core.mqtt.MqttClient fits)."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> Any:
        """Queue one message."""
        ...


class MqttSensor:
    """One sensor: `{"temperature_c": 24.3, "ts": "…Z"}` on `topic` every `interval_s`
    simulated seconds, nothing while a `silent` fault holds it."""

    def __init__(
        self, equipment: SimulatedEquipment, *, topic: str, interval_s: float, start: datetime
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.equipment = equipment
        self.topic = topic
        self.interval = timedelta(seconds=interval_s)
        self._next = start
        self.published = 0

    def due(self, now: datetime) -> bytes | None:
        """The message to send at `now`, or None when it is not time (or the sensor is silent)."""
        if now < self._next:
            return None
        self._next += self.interval
        if self._next <= now:  # after a stall, skip the missed slots instead of bursting them
            self._next = now + self.interval
        if not self.equipment.answering or self.equipment.exception_code is not None:
            return None
        return sensor_payload(self.equipment.values(), now)

    def publish_due(self, client: Publisher, now: datetime) -> bool:
        """Publish when due (QoS 1); whether a message went out."""
        payload = self.due(now)
        if payload is None:
            return False
        client.publish(self.topic, payload, qos=1)
        self.published += 1
        return True
