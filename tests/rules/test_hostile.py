"""The rules service under hostile input on a real Mosquitto (issue 12): a forged gateway, a
batch dated a year ahead, a 400-digit value, a 200,000-deep array and a handler that fails
are each dead-lettered with their reason, and a real overspeed afterwards still raises its
alarm."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as paho
import pytest
import yaml

from bldgwatch.core import topics
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.rules.engine import PendingChange
from bldgwatch.rules.schema import load_rules
from bldgwatch.rules.service import (
    RulesConfig,
    RulesService,
    load_owned_sites,
    make_engine_for,
    run,
)
from bldgwatch.rules.store import AlarmStore
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
YEAR_MS = 365 * 86_400_000


class Wire:
    """Publishes batches as any gateway; records alarm events and the rules dead letters."""

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
        doc = orjson.loads(msg.payload)
        self.status[msg.topic.split("/")[4]] = doc.get("state", "")

    def raw(self, payload: bytes, gateway: str = "gw-1") -> None:
        self.client.publish(topics.readings("demo", gateway), payload).wait_for_publish(10)

    def speed(self, value: float, *, gateway: str = "gw-1", ahead_ms: int = 0) -> None:
        self.seq += 1
        now = int(time.time() * 1000) + ahead_ms
        batch = ReadingBatch(
            "demo", gateway, self.seq, TABLE, [Reading("E-01", "speed_m_s", now, value)]
        )
        self.raw(encode_batch(batch), gateway)

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
        instance=f"hostile-{uuid.uuid4().hex[:8]}",
        mqtt=mqtt_settings,
        database=sqlite_settings,
        site_files=[site],
        packs=["elevator"],
        status_interval_s=0.2,
        metrics_port=free_port(),
    )


def _running(wire: Wire, cfg: RulesConfig) -> bool:
    return wire.status.get(cfg.instance) == "running"


def _metrics(cfg: RulesConfig) -> str:
    return httpx.get(f"http://127.0.0.1:{cfg.metrics_port}/metrics", timeout=5).text


def _hostile_payloads() -> list[bytes]:
    good = orjson.loads(
        encode_batch(
            ReadingBatch("demo", "gw-1", 900, TABLE, [Reading("E-01", "speed_m_s", 1, 1.0)])
        )
    )
    huge = orjson.dumps(good).replace(b'"value":[1.0]', b'"value":[' + b"9" * 400 + b"]")
    return [huge, b"[" * 200_000 + b"]" * 200_000, b"\xff\xfe{", b'{"schema": 1}']


def test_forged_future_and_malformed_input_is_dead_lettered_and_a_real_fault_still_alarms(
    config: RulesConfig, wire: Wire
) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), daemon=True)
    thread.start()
    try:
        # The status goes out on the connection after the SUBSCRIBE, so once it is here the
        # subscription is in place.
        wait_for(lambda: _running(wire, config), timeout=20, what="rules running")
        wire.speed(3.0, gateway="gw-evil")  # a forged overspeed from another gateway
        wire.speed(1.0, ahead_ms=YEAR_MS)  # a batch dated a year ahead
        for payload in _hostile_payloads():
            wire.raw(payload)
        expected = [
            "not_owner",
            "future_timestamp",
            "number_too_large",
            "too_deep",
            "malformed_json",
            "bad_schema",
        ]
        wait_for(lambda: len(wire.letters) >= len(expected), timeout=20, what="dead letters")
        assert wire.reasons() == expected
        assert wire.events == []  # the forged overspeed raised nothing

        wire.speed(3.0)  # a real overspeed, after the year-ahead batch
        wait_for(lambda: wire.events, timeout=20, what="the overspeed alarm")
        assert {e.rule for e in wire.events} >= {"elevator.overspeed_1_2"}
        text = _metrics(config)
        for reason in expected:
            assert f'bldgwatch_rules_dead_letters_total{{reason="{reason}"}} 1.0' in text
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


def test_a_failing_handler_costs_one_message_not_the_process(
    config: RulesConfig, wire: Wire
) -> None:
    sites = load_owned_sites(config)
    db = make_engine(config.database)
    engine = make_engine_for(config, load_rules(config.packs, []), sites, AlarmStore(db))
    evaluate = engine.evaluate

    def evaluate_or_fail(site: str, readings: Any, **seen: Any) -> list[PendingChange]:
        readings = list(readings)
        if any(r.value == 13.0 for r in readings):
            raise RuntimeError("a bug that only value 13 finds")
        return evaluate(site, readings, **seen)

    engine.evaluate = evaluate_or_fail  # type: ignore[method-assign]
    stop = threading.Event()
    service = RulesService(config, engine, sites, stop)
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        wait_for(lambda: service.client.wait_subscribed(0.1), timeout=20, what="subscribed")
        wire.speed(13.0)
        wire.speed(3.0)
        wait_for(lambda: wire.events, timeout=20, what="the alarm after the failure")
        assert wire.reasons() == ["handler_failed"]
        assert "RuntimeError: a bug that only value 13 finds" in wire.letters[0]["detail"]
        assert "bldgwatch_rules_handler_failures_total 1.0" in _metrics(config)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)
        db.dispose()
