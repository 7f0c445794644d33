"""Counters on /metrics (Prometheus text) and in the status document."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from prometheus_client import generate_latest

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.ingest.metrics import ingest_registry
from bldgwatch.ingest.service import IngestService
from bldgwatch.servers import free_port
from tests.exposition import samples, series
from tests.waiting import wait_for


def test_render_counters_reasons_and_gauges() -> None:
    snapshot = {
        "received": 7,
        "written": 40,
        "retries": 2,
        "rejected": {"future_timestamp": 3, "malformed_json": 1},
    }
    gauges = {"lag_s": 1.5, "pending": 12.0}
    registry = ingest_registry(lambda: (snapshot, gauges), instance='in"st')
    text = generate_latest(registry).decode()
    lines = text.splitlines()
    values = samples(text)
    inst = {"instance": 'in"st'}
    assert 'instance="in\\"st"' in text  # the quote is escaped
    assert values[series("bldgwatch_ingest_received_messages_total", **inst)] == 7
    assert values[series("bldgwatch_ingest_written_lines_total", **inst)] == 40
    assert values[series("bldgwatch_ingest_write_retries_total", **inst)] == 2
    assert values[series("bldgwatch_ingest_acked_messages_total", **inst)] == 0
    rejected = series("bldgwatch_ingest_rejected_total", **inst, reason="future_timestamp")
    assert values[rejected] == 3
    assert "# TYPE bldgwatch_ingest_lag_seconds gauge" in lines
    assert values[series("bldgwatch_ingest_lag_seconds", **inst)] == 1.5
    assert values[series("bldgwatch_ingest_pending_lines", **inst)] == 12
    # Every sample line belongs to a declared metric.
    declared = {ln.split()[2] for ln in lines if ln.startswith("# TYPE")}
    assert {ln.split("{")[0] for ln in lines if not ln.startswith("#")} <= declared


@pytest.mark.services
def test_metrics_endpoint_and_status_count_a_live_stream(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings
) -> None:
    tag = uuid.uuid4().hex[:6]
    port = free_port()
    cfg = IngestConfig(
        instance=f"m-{tag}",
        group=f"m{tag}",
        mqtt=mqtt_settings,
        influx=influx_settings,
        flush_interval_s=0.1,
        status_interval_s=0.2,
        register_required=False,
        metrics_port=port,
    )
    service = IngestService(cfg)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,))
    thread.start()
    publisher = MqttClient(mqtt_settings, client_id=f"t-m-{tag}")
    publisher.start()
    assert publisher.wait_connected(10)
    ts = to_epoch_ms(SystemClock().now()) - 2_000
    eq = {"P-01": EquipmentInfo("pump", "B1")}
    good = encode_batch(
        ReadingBatch("demo", "gw-1", 1, eq, [Reading("P-01", "amps", ts, 3.0, Quality.GOOD)])
    )
    future = encode_batch(
        ReadingBatch(
            "demo", "gw-1", 2, eq, [Reading("P-01", "amps", ts + 10**9, 3.0, Quality.GOOD)]
        )
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:

        def scraped() -> str | None:
            publisher.publish(topics.readings("demo", "gw-1"), good, qos=1)
            publisher.publish(topics.readings("demo", "gw-1"), future, qos=1)
            try:
                text = httpx.get(url, timeout=2).text
            except httpx.HTTPError:
                return None
            return text if 'reason="future_timestamp"' in text and "lag_seconds{" in text else None

        text = wait_for(scraped, timeout=30, what="counters on /metrics", interval=0.3)
        values = {
            ln.split(" ")[0]: float(ln.split(" ")[1])
            for ln in text.splitlines()
            if not ln.startswith("#")
        }
        inst = f'instance="m-{tag}"'
        assert values[f"bldgwatch_ingest_received_messages_total{{{inst}}}"] >= 2
        assert values[f"bldgwatch_ingest_written_lines_total{{{inst}}}"] >= 1
        assert 0 < values[f"bldgwatch_ingest_lag_seconds{{{inst}}}"] < 60
        assert httpx.get(f"http://127.0.0.1:{port}/nope", timeout=2).status_code == 404
        snapshot = service.counters.snapshot()
        assert snapshot["rejected"]["future_timestamp"] >= 1
    finally:
        stop.set()
        thread.join(60)
        publisher.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=1)
