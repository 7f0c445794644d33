"""A test client of the rules service on a real Mosquitto: publishes as any gateway of the
one-lift demo site, records alarm events, the rules dead letters and the services' status;
and the rules config for that site. Shared by the hostile tests of rules."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import yaml

from bldgwatch.core import topics
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.rules.config import RulesConfig
from bldgwatch.servers import free_port

SITE = {
    "site": "demo",
    "buildings": [{"id": "B1"}],
    "equipment": [
        {
            "id": "E-01",
            "type": "elevator",
            "building": "B1",
            "gateway": "gw-1",
            "rated": {"speed_m_s": 1.75},
        }
    ],
}
TABLE = {"E-01": EquipmentInfo("elevator", "B1")}


class Wire:
    """Publishes as any gateway; records alarm events, rules dead letters and status."""

    def __init__(self, settings: MqttSettings) -> None:
        self.events: list[AlarmEvent] = []
        self.letters: list[dict[str, Any]] = []
        self.status: dict[str, str] = {}
        self.seq = 0
        self.client = MqttClient(settings, client_id=f"wire-{uuid.uuid4().hex[:8]}")
        self.client.subscribe("bw/v1/demo/alarms/+", self._on_alarm)
        self.client.subscribe(topics.deadletter("demo", "rules"), self._on_letter)
        self.client.subscribe("bw/v1/_svc/rules/+/status", self._on_status)
        self.client.start()
        assert self.client.wait_subscribed(10)

    def _on_alarm(self, msg: paho.MQTTMessage) -> None:
        self.events.append(AlarmEvent.model_validate_json(msg.payload))

    def _on_letter(self, msg: paho.MQTTMessage) -> None:
        self.letters.append(orjson.loads(msg.payload))

    def _on_status(self, msg: paho.MQTTMessage) -> None:
        self.status[msg.topic.split("/")[4]] = orjson.loads(msg.payload).get("state", "")

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload).wait_for_publish(10)

    def raw(self, payload: bytes, gateway: str = "gw-1") -> None:
        self.publish(topics.readings("demo", gateway), payload)

    def speed(
        self, value: float, *, gateway: str = "gw-1", ahead_ms: int = 0, at_ms: int | None = None
    ) -> None:
        """One speed reading of E-01, stamped `at_ms` (default: now + `ahead_ms`)."""
        self.seq += 1
        at = at_ms if at_ms is not None else int(time.time() * 1000) + ahead_ms
        batch = ReadingBatch(
            "demo", gateway, self.seq, TABLE, [Reading("E-01", "speed_m_s", at, value)]
        )
        self.raw(encode_batch(batch), gateway)

    def reasons(self) -> list[str]:
        return [letter["reason"] for letter in self.letters]


def wire_of(settings: MqttSettings) -> Iterator[Wire]:
    """The body of a `wire` fixture."""
    w = Wire(settings)
    yield w
    w.client.stop()


def rules_config(
    tmp_path: Path,
    mqtt: MqttSettings,
    database: DatabaseSettings,
    *,
    name: str,
    packs: list[str],
) -> RulesConfig:
    """A rules config for the one-lift demo site, reporting its status every 0.2 s."""
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE))
    return RulesConfig(
        instance=f"{name}-{uuid.uuid4().hex[:8]}",
        mqtt=mqtt,
        database=database,
        site_files=[site],
        packs=packs,
        status_interval_s=0.2,
        metrics_port=free_port(),
    )
