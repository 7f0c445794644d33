"""A 4xx partial write on the real influxd: the offending line goes to the dead letter
(`write_rejected`), the rest of the same write is kept."""

from __future__ import annotations

import queue
import uuid

import orjson
import paho.mqtt.client as paho
import pytest

from bldgwatch.core import topics
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import open_store
from tests.ingest.test_service import TOPIC, _batch, _config, _exactly, _now_ms, publisher, running
from tests.waiting import wait_for

pytestmark = pytest.mark.services
__all__ = ["publisher"]  # the fixture, imported for this module's tests


def test_field_type_conflict_dead_letters_the_line_and_keeps_the_rest(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings, publisher: MqttClient
) -> None:
    letters: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id=f"t-pw-{uuid.uuid4().hex[:8]}")
    watcher.subscribe(topics.deadletter("demo", "ingest"), letters.put)
    watcher.start()
    assert watcher.wait_connected(10)
    t0 = _now_ms() - 30_000
    store = open_store(influx_settings)
    try:
        with running(_config(mqtt_settings, influx_settings), publisher) as service:
            publisher.publish(TOPIC, _batch(1, t0, [("P-01", "running", 0, True)]), qos=1)
            wait_for(lambda: _exactly(store, "SELECT running FROM pump", 1), timeout=30, what="1")
            # `running` is boolean in InfluxDB now; a number for it conflicts (HTTP 400).
            conflicting = [
                ("P-01", "running", 1000, 2.5),
                ("E-01", "floor", 1000, 4),
                ("P-01", "amps", 2000, 7.0),
            ]
            publisher.publish(TOPIC, _batch(2, t0, conflicting), qos=1)
            letter = orjson.loads(letters.get(timeout=30).payload)
            assert (letter["reason"], letter["seq"]) == ("write_rejected", 2)
            assert "conflict" in letter["detail"]
            assert letter["payload"].startswith("pump,") and "running=2.5" in letter["payload"]
            rows = wait_for(
                lambda: _exactly(store, "SELECT floor FROM elevator", 1), timeout=30, what="E-01"
            )
            assert rows[0]["floor"] == 4.0
            amps = store.query("SELECT amps FROM pump WHERE amps > 0")
            assert [(r["time"], r["amps"]) for r in amps] == [(t0 + 2000, 7.0)]
            # The letter may be out before the writer's thread has counted it.
            wait_for(
                lambda: service.counters.reasons("rejected"), timeout=10, what="the rejected count"
            )
            assert service.counters.reasons("rejected") == {"write_rejected": 1}
    finally:
        watcher.stop()
        store.close()
