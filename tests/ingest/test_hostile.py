"""Ingest under hostile input on real Mosquitto and InfluxDB (issue 12): messages that used to
stall it (a 400-digit value, a 200,000-deep array, on an unknown site, more of them than the
broker's in-flight window) and a handler that raises are acknowledged and dead-lettered, and
the good batch after them is stored; a forged gateway and a reused seq change nothing."""

from __future__ import annotations

import queue
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
from prometheus_client import generate_latest

import bldgwatch.ingest.pipeline
from bldgwatch.core import topics
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import open_store
from bldgwatch.ingest.metrics import ingest_registry
from tests.ingest.test_service import (
    EQUIPMENT,
    SITE,
    TOPIC,
    _batch,
    _config,
    _exactly,
    _now_ms,
    publisher,
    running,
)
from tests.waiting import wait_for

__all__ = ["publisher"]  # the fixture, shared with test_service

pytestmark = pytest.mark.services

INFLIGHT = 100  # deploy/mosquitto: max_inflight_messages


@pytest.fixture
def letters(mqtt_settings: MqttSettings) -> Iterator[queue.Queue[paho.MQTTMessage]]:
    box: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id=f"t-letters-{uuid.uuid4().hex[:8]}")
    watcher.subscribe("bw/v1/+/deadletter/ingest", box.put)
    watcher.start()
    assert watcher.wait_subscribed(10)
    yield box
    watcher.stop()


def _reasons(box: queue.Queue[paho.MQTTMessage], n: int) -> Counter[str]:
    return Counter(orjson.loads(box.get(timeout=30).payload)["reason"] for _ in range(n))


def _hostile(seq: int) -> bytes:
    doc = orjson.loads(_batch(seq, _now_ms(), [("P-01", "amps", 0, 1.0)]))
    doc["site"] = "ghost"
    text = orjson.dumps(doc)
    if seq % 2:
        return text.replace(b'"value":[1.0]', b'"value":[' + b"9" * 400 + b"]")
    return b'{"schema":1,"readings":' + b"[" * 200_000 + b"]" * 200_000 + b"}"


def test_more_hostile_messages_than_the_inflight_window_do_not_stall_ingest(
    mqtt_settings: MqttSettings,
    influx_settings: InfluxSettings,
    publisher: MqttClient,
    letters: queue.Queue[paho.MQTTMessage],
) -> None:
    cfg = _config(mqtt_settings, influx_settings)
    ghost = topics.readings("ghost", "gw-1")
    with running(cfg, publisher) as service:
        for seq in range(1, INFLIGHT + 12):  # 111 of them
            publisher.publish(ghost, _hostile(seq), qos=1)
        publisher.publish(TOPIC, _batch(1, _now_ms(), [("P-01", "amps", 0, 7.0)]), qos=1)
        store = open_store(influx_settings)
        rows = wait_for(lambda: _exactly(store, "SELECT amps FROM pump", 1), timeout=30, what="row")
        assert rows[0]["amps"] == 7.0
        store.close()
        reasons = _reasons(letters, INFLIGHT + 11)
        assert reasons == {"number_too_large": 56, "too_deep": 55}
        assert service.counters.reasons("dead_letters") == reasons


def test_a_handler_that_raises_costs_its_message_only(
    mqtt_settings: MqttSettings,
    influx_settings: InfluxSettings,
    publisher: MqttClient,
    letters: queue.Queue[paho.MQTTMessage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = bldgwatch.ingest.pipeline.fast_lines

    def fast_lines_with_a_bug(topic: str, payload: bytes, **kw: object) -> object:
        if b'"amps"' in payload and b"13.0" in payload:
            raise RuntimeError("a bug only value 13 finds")
        return real(topic, payload, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(bldgwatch.ingest.pipeline, "fast_lines", fast_lines_with_a_bug)
    cfg = _config(mqtt_settings, influx_settings)
    t0 = _now_ms()
    with running(cfg, publisher) as service:
        for seq in range(1, INFLIGHT + 12):
            publisher.publish(TOPIC, _batch(seq, t0 + seq, [("P-01", "amps", 0, 13.0)]), qos=1)
        publisher.publish(TOPIC, _batch(500, t0, [("P-01", "amps", 0, 8.0)]), qos=1)
        store = open_store(influx_settings)
        rows = wait_for(lambda: _exactly(store, "SELECT amps FROM pump", 1), timeout=30, what="row")
        assert rows[0]["amps"] == 8.0
        store.close()
        assert _reasons(letters, INFLIGHT + 11) == {"handler_failed": INFLIGHT + 11}
        assert service.counters.get("handler_failures") == INFLIGHT + 11
        registry = ingest_registry(service.figures, instance=cfg.instance)
        assert "bldgwatch_ingest_handler_failures_total" in generate_latest(registry).decode()


def test_a_forged_gateway_and_a_reused_seq_overwrite_nothing(
    tmp_path: Path,
    mqtt_settings: MqttSettings,
    influx_settings: InfluxSettings,
    publisher: MqttClient,
    letters: queue.Queue[paho.MQTTMessage],
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: demo\nbuildings: [{id: B1}, {id: B2}]\nequipment:\n"
        "  - {id: P-01, type: pump, building: B1, gateway: gw-1}\n"
        "  - {id: E-01, type: elevator, building: B2, gateway: gw-1}\n"
    )
    cfg = _config(mqtt_settings, influx_settings, site_files=[site], register_required=True)
    t0 = _now_ms() - 5_000
    with running(cfg, publisher):
        publisher.publish(TOPIC, _batch(7, t0, [("P-01", "amps", 0, 4.0)]), qos=1)
        store = open_store(influx_settings)
        wait_for(lambda: _exactly(store, "SELECT amps FROM pump", 1), timeout=30, what="row")
        # The same seq again with another value at the same timestamp, then a forged gateway.
        publisher.publish(TOPIC, _batch(7, t0, [("P-01", "amps", 0, 99.0)]), qos=1)
        forged = ReadingBatch(SITE, "gw-evil", 1, EQUIPMENT, [Reading("P-01", "amps", t0, 98.0)])
        publisher.publish(topics.readings(SITE, "gw-evil"), encode_batch(forged), qos=1)
        assert _reasons(letters, 2) == {"duplicate_seq": 1, "not_owner": 1}
        assert [r["amps"] for r in store.query("SELECT amps FROM pump")] == [4.0]
        store.close()
