"""The console's side of the broker: what it publishes (changes made in the console) and what
it listens to (alarm, work-order and gateway-status topics, fed into the live hub)."""

from __future__ import annotations

import logging
import os
import secrets
from typing import Protocol

import paho.mqtt.client as paho
from pydantic import BaseModel

from bldgwatch.console.live import LiveHub
from bldgwatch.core import topics
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.models import AlarmEvent, WorkOrderEvent
from bldgwatch.core.mqtt import MqttClient

logger = logging.getLogger(__name__)

GATEWAY_STATUS = f"{topics.PREFIX}/+/+/status"
LIVE_FILTERS = (topics.ALL_ALARMS, topics.ALL_WORK_ORDERS, GATEWAY_STATUS)


class EventSink(Protocol):
    """Where the console's own changes go."""

    def emit(self, topic: str, payload: bytes) -> None:
        """Publish one message."""


def _payload(event: BaseModel) -> bytes:
    return event.model_dump_json(by_alias=True).encode()


def publish_alarm(sink: EventSink, event: AlarmEvent) -> None:
    """Publish an alarm transition on its equipment's alarm topic."""
    sink.emit(topics.alarms(event.site, event.equipment), _payload(event))


def publish_work_order(sink: EventSink, event: WorkOrderEvent) -> None:
    """Publish a work-order change on its equipment's work-order topic."""
    sink.emit(topics.work_orders(event.site, event.equipment), _payload(event))


class LocalSink:
    """No broker: changes go straight to this console's live hub."""

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub

    def emit(self, topic: str, payload: bytes) -> None:
        self._hub.ingest_threadsafe(topic, payload)


class MqttBridge:
    """Publishes the console's changes (QoS 1) and feeds subscribed topics into the hub."""

    def __init__(self, settings: MqttSettings, hub: LiveHub) -> None:
        self._hub = hub
        suffix = secrets.token_hex(3)
        self._client = MqttClient(settings, client_id=f"console-{os.getpid()}-{suffix}")

    def start(self) -> None:
        """Connect in the background and subscribe the live topics."""
        for topic_filter in LIVE_FILTERS:
            self._client.subscribe(topic_filter, self._on_message, qos=1)
        self._client.start()

    def wait_connected(self, timeout: float) -> bool:
        """Block until the broker connection is up."""
        return self._client.wait_connected(timeout)

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        self._hub.ingest_threadsafe(msg.topic, bytes(msg.payload))

    def emit(self, topic: str, payload: bytes) -> None:
        # This console's own clients see its change at once; the broker's copy (the owner's
        # event, where the ACL lets only the owner publish) is deduplicated on event_id.
        self._hub.ingest_threadsafe(topic, payload)
        if not self._client.connected.is_set():
            logger.warning("broker not connected: %s queued until it is", topic)
        self._client.publish(topic, payload, qos=1)

    def stop(self) -> None:
        """Disconnect."""
        self._client.stop()
