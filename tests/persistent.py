"""A consumer with a persistent MQTT session (alerts, maintenance, a CMMS bridge), and a broker
that saves only at a clean stop: what the broker-kill tests of alarm and work-order events
share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Generic, TypeVar

import paho.mqtt.client as paho
from pydantic import BaseModel

from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.servers import Server, start_mosquitto

M = TypeVar("M", bound=BaseModel)


def saving_broker(tmp_path: Path) -> Iterator[list[Server]]:
    """Mosquitto that saves only at a clean stop, so a SIGKILL is certainly before its save
    (a list so a restart can replace it); for a module's `broker` fixture."""
    holder = [start_mosquitto(tmp_path / "broker", autosave_interval_s=3600)]
    yield holder
    holder[0].discard()


class SessionConsumer(Generic[M]):
    """Subscribes to `topic_filter` at QoS 1 with a persistent session and keeps what it
    hears as `model`s; `client.stop()` leaves the session (and what it queues) on the broker,
    `reconnect()` resumes it."""

    def __init__(
        self, settings: MqttSettings, topic_filter: str, model: type[M], *, name: str
    ) -> None:
        self.settings = settings
        self.topic_filter = topic_filter
        self.model = model
        self.client_id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.events: list[M] = []
        self.client = self.reconnect()

    def reconnect(self) -> MqttClient:
        """Connect (again) on the same session; wait until subscribed."""
        client = MqttClient(
            self.settings, client_id=self.client_id, clean_start=False, session_expiry_s=3600
        )
        client.subscribe(self.topic_filter, self._on_message, qos=1)
        client.start()
        assert client.wait_subscribed(10)
        self.client = client
        return client

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        self.events.append(self.model.model_validate_json(msg.payload))
