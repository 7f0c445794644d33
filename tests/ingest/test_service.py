"""ingest end to end on the real Mosquitto and influxd: store, dead-letter, redeliver."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.ingest.service import IngestService
from tests.waiting import wait_for

pytestmark = pytest.mark.services

SITE, GW = "demo", "gw-1"
TOPIC = topics.readings(SITE, GW)
EQUIPMENT = {"P-01": EquipmentInfo("pump", "B1"), "E-01": EquipmentInfo("elevator", "B2")}


def _config(mqtt: MqttSettings, influx: InfluxSettings, **over: Any) -> IngestConfig:
    tag = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {
        "instance": f"t-{tag}",
        "group": f"g-{tag}",  # sessions of earlier tests must not take our share
        "mqtt": mqtt,
        "influx": influx,
        "flush_interval_s": 0.1,
        "status_interval_s": 0.5,
        "register_required": False,  # the register's own test passes site_files
    }
    fields.update(over)
    return IngestConfig(**fields)


@contextmanager
def running(cfg: IngestConfig, publisher: MqttClient) -> Iterator[IngestService]:
    """Run ingest in a thread; return once its shared subscription takes messages."""
    service = IngestService(cfg)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="ingest-under-test")
    thread.start()
    try:
        probe = encode_batch(ReadingBatch("probe", "gw", 0, {}, []))

        def subscribed() -> bool:
            publisher.publish(topics.readings("probe", "gw"), probe, qos=1)
            return service.counters.get("acked") > 0

        wait_for(subscribed, timeout=30, what="ingest to take messages", interval=0.3)
        yield service
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive()


@pytest.fixture
def publisher(mqtt_settings: MqttSettings) -> Iterator[MqttClient]:
    client = MqttClient(mqtt_settings, client_id=f"t-pub-{uuid.uuid4().hex[:8]}")
    client.start()
    assert client.wait_connected(10)
    yield client
    client.stop()


def _batch(seq: int, ts: int, readings: list[tuple[str, str, int, Any]]) -> bytes:
    rs = [Reading(eq, pt, ts + dt, v, Quality.GOOD) for eq, pt, dt, v in readings]
    return encode_batch(ReadingBatch(SITE, GW, seq, EQUIPMENT, rs, sent_ms=ts))


def _exactly(store: TimeSeriesStore, influxql: str, n: int) -> list[dict[str, Any]] | None:
    rows = store.query(influxql)
    return rows if len(rows) == n else None


def _now_ms() -> int:
    # Whole seconds, so InfluxDB's ms timestamps compare exactly.
    return to_epoch_ms(SystemClock().now()) // 1000 * 1000


def test_batches_are_stored_with_their_values_and_timestamps(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings, publisher: MqttClient
) -> None:
    t0 = _now_ms() - 60_000
    cfg = _config(mqtt_settings, influx_settings)
    with running(cfg, publisher) as service:
        publisher.publish(
            TOPIC,
            _batch(
                1,
                t0,
                [
                    ("P-01", "bearing_temp_c", 0, 45.5),
                    ("P-01", "running", 0, True),
                    ("E-01", "floor", 0, 3),
                    ("P-01", "bearing_temp_c", 1000, 46.0),
                ],
            ),
            qos=1,
        )
        publisher.publish(
            TOPIC,
            _batch(
                2,
                t0 + 2000,
                [
                    ("P-01", "bearing_temp_c", 0, 47.25),
                    ("P-01", "running", 0, False),
                ],
            ),
            qos=1,
        )
        store = open_store(influx_settings)

        def rows() -> list[dict[str, Any]] | None:
            got = store.query(
                "SELECT bearing_temp_c, running, site, building, gateway FROM pump "
                "WHERE equipment='P-01'"
            )
            return got if len(got) == 3 else None

        got = wait_for(rows, timeout=30, what="three P-01 rows in InfluxDB")
        assert [(r["time"], r["bearing_temp_c"], r["running"]) for r in got] == [
            (t0, 45.5, True),
            (t0 + 1000, 46.0, None),
            (t0 + 2000, 47.25, False),
        ]
        assert {(r["site"], r["building"], r["gateway"]) for r in got} == {(SITE, "B1", GW)}
        elevator = store.query("SELECT floor FROM elevator WHERE equipment='E-01'")
        assert [(r["time"], r["floor"]) for r in elevator] == [(t0, 3.0)]
        wait_for(lambda: service.counters.get("written") >= 4, timeout=10, what="counters")
        store.close()


def test_malformed_payload_is_dead_lettered_while_good_batches_are_stored(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings, publisher: MqttClient
) -> None:
    letters: queue.Queue[paho.MQTTMessage] = queue.Queue()
    statuses: queue.Queue[paho.MQTTMessage] = queue.Queue()
    cfg = _config(mqtt_settings, influx_settings)
    watcher = MqttClient(mqtt_settings, client_id=f"t-watch-{uuid.uuid4().hex[:8]}")
    watcher.subscribe(topics.deadletter(SITE, "ingest"), letters.put)
    watcher.subscribe(topics.service_status("ingest", cfg.instance), statuses.put)
    watcher.start()
    assert watcher.wait_connected(10)
    t0 = _now_ms() - 10_000
    try:
        with running(cfg, publisher) as service:
            publisher.publish(TOPIC, b'{"schema": 1, "site": "demo", oops', qos=1)
            publisher.publish(TOPIC, _batch(5, t0, [("P-01", "flow_m3h", 0, 12.5)]), qos=1)
            publisher.publish(TOPIC, _batch(6, t0, [("P-01", "flow_m3h", 10**9, 1.0)]), qos=1)
            got = [orjson.loads(letters.get(timeout=30).payload) for _ in range(2)]
            by_reason = {d["reason"]: d for d in got}
            assert set(by_reason) == {"malformed_json", "future_timestamp"}
            bad = by_reason["malformed_json"]
            assert (bad["component"], bad["topic"], bad["seq"]) == ("ingest", TOPIC, None)
            assert bad["payload"] == '{"schema": 1, "site": "demo", oops'
            assert by_reason["future_timestamp"]["seq"] == 6
            store = open_store(influx_settings)
            rows = wait_for(
                lambda: store.query("SELECT flow_m3h FROM pump WHERE equipment='P-01'"),
                timeout=30,
                what="the good batch in InfluxDB",
            )
            assert [(r["time"], r["flow_m3h"]) for r in rows] == [(t0, 12.5)]
            store.close()
            wait_for(lambda: service.counters.get("acked") >= 4, timeout=10, what="all acked")

            def status_counts() -> dict[str, Any] | None:
                doc: dict[str, Any] = orjson.loads(statuses.get(timeout=10).payload)
                ok = doc["rejected"].get("malformed_json") == 1 and doc["written"] >= 1
                return doc if ok else None

            doc = wait_for(status_counts, timeout=30, what="status with the counts")
            assert doc["state"] == "running"
            assert doc["rejected"] == {"malformed_json": 1, "future_timestamp": 1}
            assert doc["pending"] == 0
    finally:
        watcher.stop()


def test_redelivering_a_batch_leaves_one_point_per_timestamp(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings, publisher: MqttClient
) -> None:
    t0 = _now_ms() - 30_000
    payload = _batch(
        8, t0, [("P-01", "vib_mm_s", dt, 1.0 + dt / 1000) for dt in range(0, 5000, 1000)]
    )
    cfg = _config(mqtt_settings, influx_settings)
    with running(cfg, publisher) as service:
        acked_before = service.counters.get("acked")
        publisher.publish(TOPIC, payload, qos=1)
        publisher.publish(TOPIC, payload, qos=1)
        wait_for(
            lambda: service.counters.get("acked") >= acked_before + 2,
            timeout=30,
            what="both copies acked",
        )
        store = open_store(influx_settings)
        rows = store.query("SELECT vib_mm_s FROM pump WHERE equipment='P-01'")
        assert [(r["time"], r["vib_mm_s"]) for r in rows] == [
            (t0 + dt, 1.0 + dt / 1000) for dt in range(0, 5000, 1000)
        ]
        count = store.query("SELECT count(vib_mm_s) FROM pump WHERE equipment='P-01'")
        assert count[0]["count"] == 5
        store.close()


def test_readings_sent_while_ingest_is_down_arrive_after_restart(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings, publisher: MqttClient
) -> None:
    """The persistent session keeps the shared subscription's messages for us, and what
    was acknowledged before a clean stop is not delivered again."""
    t0 = _now_ms() - 20_000
    cfg = _config(mqtt_settings, influx_settings)
    with running(cfg, publisher) as first:
        publisher.publish(TOPIC, _batch(10, t0, [("P-01", "pressure_bar", 0, 3.0)]), qos=1)
        wait_for(
            lambda: first.counters.get("written") == 1 and first.counters.get("acked") >= 2,
            timeout=30,
            what="the first batch written and acked",
        )
    info = publisher.publish(TOPIC, _batch(11, t0, [("P-01", "pressure_bar", 1000, 3.5)]), qos=1)
    info.wait_for_publish(10)
    with running(cfg, publisher) as second:
        store = open_store(influx_settings)
        rows = wait_for(
            lambda: _exactly(store, "SELECT pressure_bar FROM pump", 2),
            timeout=30,
            what="the reading published while ingest was down",
        )
        assert [(r["time"], r["pressure_bar"]) for r in rows] == [(t0, 3.0), (t0 + 1000, 3.5)]
        # Only batch 11 came again: batch 10's ack went out before the clean disconnect.
        assert second.counters.get("readings") == 1
        store.close()


def test_two_instances_in_one_group_split_the_stream(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings, publisher: MqttClient
) -> None:
    t0 = _now_ms() - 40_000
    first = _config(mqtt_settings, influx_settings)
    second = first.model_copy(update={"instance": first.instance + "-b"})
    with running(first, publisher) as a, running(second, publisher) as b:
        base = a.counters.get("readings") + b.counters.get("readings")
        for seq in range(20):
            publisher.publish(
                TOPIC, _batch(seq, t0 + seq * 1000, [("P-01", "amps", 0, seq)]), qos=1
            )
        wait_for(
            lambda: a.counters.get("readings") + b.counters.get("readings") >= base + 20,
            timeout=30,
            what="all 20 batches received",
        )
        assert a.counters.get("readings") > 0 and b.counters.get("readings") > 0
        store = open_store(influx_settings)
        rows = wait_for(
            lambda: _exactly(store, "SELECT amps FROM pump", 20),
            timeout=30,
            what="20 rows",
        )
        assert [r["amps"] for r in rows] == [float(i) for i in range(20)]
        store.close()


def test_with_a_registry_unknown_equipment_is_dead_lettered(
    tmp_path: Path,
    mqtt_settings: MqttSettings,
    influx_settings: InfluxSettings,
    publisher: MqttClient,
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: demo\nbuildings: [{id: B1}]\n"
        "equipment: [{id: P-01, type: pump, building: B1, gateway: gw-1}]\n"
    )
    letters: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id=f"t-watch-{uuid.uuid4().hex[:8]}")
    watcher.subscribe(topics.deadletter(SITE, "ingest"), letters.put)
    watcher.start()
    assert watcher.wait_connected(10)
    t0 = _now_ms() - 5_000
    cfg = _config(mqtt_settings, influx_settings, site_files=[site], register_required=True)
    try:
        with running(cfg, publisher):
            payload = _batch(3, t0, [("P-01", "amps", 0, 4.0), ("E-01", "floor", 0, 2)])
            publisher.publish(TOPIC, payload, qos=1)
            letter = orjson.loads(letters.get(timeout=30).payload)
            assert (letter["reason"], letter["seq"]) == ("unknown_equipment", 3)
            store = open_store(influx_settings)
            rows = wait_for(
                lambda: _exactly(store, "SELECT amps FROM pump", 1), timeout=30, what="P-01 row"
            )
            assert rows[0]["amps"] == 4.0
            assert store.query("SELECT * FROM elevator") == []
            store.close()
    finally:
        watcher.stop()
