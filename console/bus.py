"""The console's side of the broker: it listens to the alarm, work-order and gateway-status
topics and feeds them into the live hub. It publishes nothing but its dead letters and the
gateways' pushed configurations (console.fleet): alarm
events come only from the rules service, work-order events only from the maintenance service
(their outboxes carry the changes made in the console too)."""

from __future__ import annotations

import logging
import os
import secrets

import paho.mqtt.client as paho

from bldgwatch.console.live import LiveHub
from bldgwatch.console.liveness import READINGS, Liveness
from bldgwatch.core import topics
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient

logger = logging.getLogger(__name__)

GATEWAY_STATUS = f"{topics.PREFIX}/+/+/status"
LIVE_FILTERS = (topics.ALL_ALARMS, topics.ALL_WORK_ORDERS, GATEWAY_STATUS)


class MqttBridge:
    """Feeds the subscribed topics into the hub."""

    def __init__(
        self, settings: MqttSettings, hub: LiveHub, liveness: Liveness | None = None
    ) -> None:
        self._hub = hub
        self._liveness = liveness
        suffix = secrets.token_hex(3)
        self._client = MqttClient(settings, client_id=f"console-{os.getpid()}-{suffix}")

    def start(self) -> None:
        """Connect in the background and subscribe the live topics."""
        for topic_filter in LIVE_FILTERS:
            self._client.subscribe(topic_filter, self._on_message, qos=1)
        if self._liveness is not None:  # data age: at most once, nothing to acknowledge
            self._client.subscribe(READINGS, self._on_reading, qos=0)
        self._client.start()

    def wait_connected(self, timeout: float) -> bool:
        """Block until the broker connection is up."""
        return self._client.wait_connected(timeout)

    def connected(self) -> bool:
        """Whether the broker connection is up now."""
        return self._client.connected.is_set()

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        if self._liveness is not None and msg.topic.endswith("/status"):
            self._liveness.ingest(msg.topic, bytes(msg.payload))
        self._hub.ingest_threadsafe(msg.topic, bytes(msg.payload))

    def _on_reading(self, msg: paho.MQTTMessage) -> None:
        assert self._liveness is not None
        self._liveness.ingest(msg.topic, bytes(msg.payload))

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish one of the console's own messages: its dead letters, the only topic the
        broker's ACL lets it write."""
        if not self._client.connected.is_set():
            logger.warning("broker not connected: %s queued until it is", topic)
        self._client.publish(topic, payload, qos=1)

    def publish_config(self, topic: str, payload: bytes, timeout_s: float = 5.0) -> bool:
        """Publish a gateway's signed configuration, retained (the one other topic the ACL
        lets the console write); whether the broker acknowledged it within `timeout_s`."""
        if not self._client.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=True)
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def stop(self) -> None:
        """Disconnect."""
        self._client.stop()
