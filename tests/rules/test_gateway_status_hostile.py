"""Hostile review of issue 12: gateway status messages on the rules service, on a real
Mosquitto. Readings are screened against the register (core.register); the retained status
topic, which feeds the communication watch, is not."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
import yaml

from bldgwatch.core import topics
from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.service import run
from bldgwatch.servers import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.services

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
    """Publishes as any gateway; records alarm events, rules dead letters and its status."""

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

    def speed(self, at_ms: int) -> None:
        self.seq += 1
        batch = ReadingBatch(
            "demo", "gw-1", self.seq, TABLE, [Reading("E-01", "speed_m_s", at_ms, 1.0)]
        )
        self.publish(topics.readings("demo", "gw-1"), encode_batch(batch))

    def reasons(self) -> list[str]:
        return [letter["reason"] for letter in self.letters]


@pytest.fixture
def wire(mqtt_settings: MqttSettings) -> Iterator[Wire]:
    w = Wire(mqtt_settings)
    yield w
    w.client.stop()


@pytest.fixture
def config(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> RulesConfig:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE))
    return RulesConfig(
        instance=f"review12-{uuid.uuid4().hex[:8]}",
        mqtt=mqtt_settings,
        database=sqlite_settings,
        site_files=[site],
        packs=["elevator", "comms"],
        status_interval_s=0.2,
        metrics_port=free_port(),
    )


@pytest.fixture
def rules(config: RulesConfig, wire: Wire) -> Iterator[ManualClock]:
    clock = ManualClock(datetime.fromtimestamp(int(time.time()), tz=UTC))
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), kwargs={"clock": clock})
    thread.start()
    try:
        wait_for(lambda: wire.status.get(config.instance) == "running", timeout=30, what="rules up")
        yield clock
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


def test_a_gateway_status_cannot_declare_another_gateways_equipment_lost(
    rules: ManualClock, wire: Wire
) -> None:
    """FINDING (high): gw-evil publishes, on its own status topic (which its account may
    write), `{"state": "online", "devices": {"E-01": {"available": false}}}`. E-01 belongs
    to gw-1 (site register), which keeps reporting it normally. The rules service hands the
    devices map to CommsWatch.saw_status without any register check: E-01 is rebound to
    gw-evil and marked unavailable, and 30 s later a forged `comms.elevator_lost` alarm is
    raised (with a work order behind it). Rebound to gw-evil, E-01's own loss is also hidden
    whenever gw-evil is lost. It should be refused (`not_owner`) and dead-lettered, as a
    reading of E-01 from gw-evil is."""
    clock = rules
    wire.speed(to_epoch_ms(clock.now()))
    forged = {"state": "online", "devices": {"E-01": {"available": False}}}
    wire.publish(topics.gateway_status("demo", "gw-evil"), orjson.dumps(forged))
    for _ in range(12):  # a minute of the rules' clock, gw-1 reporting every 5 s
        clock.advance(5)
        wire.speed(to_epoch_ms(clock.now()))
        time.sleep(0.2)  # let the worker take the batch and tick (real time, not timing)
    wait_for(
        lambda: wire.events or "not_owner" in wire.reasons(),
        timeout=20,
        what="the forged status refused or acted on",
    )
    assert [e.rule for e in wire.events if e.transition == "activate"] == []
    assert "not_owner" in wire.reasons()


def test_a_malformed_gateway_status_is_dead_lettered(rules: ManualClock, wire: Wire) -> None:
    """FINDING (medium): issue 12 #1 says every consumer acks, dead-letters with a counted
    reason, and goes on, for any payload. The rules service's status path parses with bare
    `orjson.loads` (no DecodeLimits: no size limit) and on anything it cannot use only bumps
    `decode_errors` and logs at DEBUG: nothing reaches bw/v1/demo/deadletter/rules, and
    /metrics has no reason for it. A gateway with a broken status publisher is invisible."""
    for payload in (b"\xff\xfe{", b'{"state": "on fire"}', b"[1, 2]"):
        wire.publish(topics.gateway_status("demo", "gw-1"), payload)
    wait_for(lambda: len(wire.letters) >= 3, timeout=15, what="three dead letters")
    assert len(wire.letters) == 3
