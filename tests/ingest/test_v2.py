"""The InfluxDB 2.x adapter (core.tsdb.v2.InfluxV2) as ingest uses it: against a stand-in
HTTP server at the transport boundary, and against a real InfluxDB 2.x through
testcontainers where a Docker engine exists (this extra path is the one allowed skip:
the v1 path, which the demo and CI run, is tested on the real server)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
import pytest

from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import TsdbError
from bldgwatch.core.tsdb.v1 import InfluxV1
from bldgwatch.core.tsdb.v2 import InfluxV2
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.service import IngestService
from bldgwatch.ingest.writer import BatchWriter, Delivery, WriterSettings
from tests.waiting import wait_for


@dataclass
class StandIn:
    """Scripted answers of /api/v2/write; records what the adapter sent."""

    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    writes: list[tuple[dict[str, list[str]], dict[str, str], bytes]] = field(default_factory=list)


def _like(body: bytes) -> tuple[int, dict[str, str], bytes]:
    """What InfluxDB 1.x answers a body where lines containing BAD do not parse."""
    lines = body.split(b"\n")
    bad = sum(b"BAD" in line for line in lines)
    if not bad:
        return 204, {}, b""
    if bad == len(lines):
        return 400, {}, b'{"error":"unable to parse \'BAD\': invalid field format"}'
    return 400, {}, b'{"error":"partial write: unable to parse \'BAD\' dropped=%d"}' % bad


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            assert url.path in {"/api/v2/write", "/write"}
            state.writes.append((parse_qs(url.query), dict(self.headers), body))
            status, headers, text = state.answers.pop(0) if state.answers else _like(body)
            self._send(status, headers, text)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            assert url.path == "/api/v2/buckets"
            name = parse_qs(url.query)["name"][0]
            found = [{"id": "b1", "name": name, "retentionRules": []}] if name == "bw" else []
            self._send(200, {"Content-Type": "application/json"}, orjson.dumps({"buckets": found}))

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, InfluxSettings]]:
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    settings = InfluxSettings(
        api="v2", url=f"http://127.0.0.1:{port}", token="tok", org="acme", bucket="bw"
    )
    yield state, settings
    server.shutdown()
    server.server_close()


def test_v2_write_sends_line_protocol_to_the_bucket(
    stand_in: tuple[StandIn, InfluxSettings],
) -> None:
    state, settings = stand_in
    store = InfluxV2(settings)
    store.ensure_database()
    store.write(b"pump,equipment=P-01 amps=3.0 1767225600000", precision="ms")
    params, headers, body = state.writes[0]
    assert (params["org"], params["bucket"], params["precision"]) == (["acme"], ["bw"], ["ms"])
    assert headers["Authorization"] == "Token tok"
    assert body == b"pump,equipment=P-01 amps=3.0 1767225600000"
    store.close()
    with pytest.raises(TsdbError, match="does not exist"):
        InfluxV2(settings.model_copy(update={"bucket": "nope"})).ensure_database()


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (429, {"Retry-After": "7"}, True, 7.0),
        (503, {}, True, None),
        (500, {}, True, None),
        (400, {}, False, None),
        (401, {}, False, None),
    ],
)
def test_v2_errors_say_whether_to_retry(
    stand_in: tuple[StandIn, InfluxSettings],
    status: int,
    headers: dict[str, str],
    retryable: bool,
    retry_after: float | None,
) -> None:
    state, settings = stand_in
    state.answers.append((status, headers, b'{"code":"x","message":"no"}'))
    store = InfluxV2(settings)
    with pytest.raises(TsdbError) as err:
        store.write(b"m f=1 1", precision="ms")
    assert (err.value.retryable, err.value.retry_after) == (retryable, retry_after)
    assert str(err.value).startswith(f"InfluxDB {status}")
    store.close()


def test_writer_over_v2_honours_retry_after_then_acks(
    stand_in: tuple[StandIn, InfluxSettings],
) -> None:
    state, settings = stand_in
    state.answers += [(429, {"Retry-After": "3"}, b""), (503, {}, b""), (204, {}, b"")]
    slept: list[float] = []
    acked: list[int] = []
    counters = Counters()
    writer = BatchWriter(
        InfluxV2(settings),
        settings=WriterSettings(backoff_initial_s=0.5),
        ack=lambda d: acked.append(d.mid),
        reject_line=lambda *_: None,
        counters=counters,
        sleep=slept.append,
        jitter=lambda: 0.0,
    )
    writer.submit(Delivery(mid=4, qos=1, topic="bw/v1/s/g/readings"), ["m f=1 1", "m f=2 2"])
    assert writer.flush_batch() == 2
    assert slept == [3.0, 0.5]  # the server's Retry-After, then backoff (lower half, no jitter)
    assert (acked, counters.get("retries"), counters.get("written")) == ([4], 2, 2)
    assert [w[2] for w in state.writes] == [b"m f=1 1\nm f=2 2"] * 3


def test_writer_over_v1_retries_5xx_and_429_then_keeps_the_rest_of_a_partial_write(
    stand_in: tuple[StandIn, InfluxSettings],
) -> None:
    """The v1 adapter at the HTTP boundary, driven by the writer: 503, 429 + Retry-After,
    then a 1.x-style partial write (no line numbers) for the line marked BAD."""
    state, v2 = stand_in
    settings = InfluxSettings(url=v2.url, database="bw")
    partial = b'{"error":"partial write: unable to parse \'BAD\': invalid field format dropped=1"}'
    state.answers += [(503, {}, b"busy"), (429, {"Retry-After": "2"}, b""), (400, {}, partial)]
    slept: list[float] = []
    rejected: list[str] = []
    counters = Counters()
    writer = BatchWriter(
        InfluxV1(settings),
        settings=WriterSettings(backoff_initial_s=0.5),
        ack=lambda _d: None,
        reject_line=lambda _d, line, _why: rejected.append(line),
        counters=counters,
        sleep=slept.append,
        jitter=lambda: 0.0,
    )
    writer.submit(Delivery(mid=1, qos=1, topic="bw/v1/s/g/readings"), ["a f=1 1", "BAD", "c f=3 3"])
    writer.flush_batch()
    assert slept == [0.25, 2.0]
    assert rejected == ["BAD"]
    assert counters.get("written") == 2
    assert counters.reasons("rejected") == {"write_rejected": 1}
    # 503, 429, the partial write, then bisection's halves (rewriting is idempotent).
    assert state.writes[2][0]["db"] == ["bw"]
    assert state.writes[2][2] == b"a f=1 1\nBAD\nc f=3 3"
    assert len(state.writes) > 3


def _docker_engine() -> str | None:
    """None when a Docker engine answers, else why not."""
    import docker  # type: ignore[import-untyped]
    from docker.errors import DockerException  # type: ignore[import-untyped]

    try:
        docker.from_env().ping()
    except DockerException as err:
        return f"{type(err).__name__}: {err}"
    return None


@pytest.mark.services
def test_ingest_into_real_influxdb_2(mqtt_settings: MqttSettings) -> None:
    why = _docker_engine()
    if why is not None:
        pytest.skip(f"no Docker engine for the InfluxDB 2.x testcontainer ({why[:120]})")
    from testcontainers.community.influxdb.version2 import InfluxDb2Container

    token = uuid.uuid4().hex
    with InfluxDb2Container(
        image="influxdb:2.7",
        init_mode="setup",
        username="bldgwatch",
        password="bldgwatch-secret",
        org_name="acme",
        bucket="bw",
        admin_token=token,
    ) as container:
        settings = InfluxSettings(
            api="v2", url=container.get_url(), token=token, org="acme", bucket="bw"
        )
        tag = uuid.uuid4().hex[:6]
        cfg = IngestConfig(
            instance=f"v2-{tag}",
            group=f"v2{tag}",
            mqtt=mqtt_settings,
            influx=settings,
            flush_interval_s=0.1,
            register_required=False,
        )
        service = IngestService(cfg)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,))
        thread.start()
        publisher = MqttClient(mqtt_settings, client_id=f"t-v2-{tag}")
        publisher.start()
        ts = to_epoch_ms(SystemClock().now()) - 5_000
        payload = encode_batch(
            ReadingBatch(
                "demo",
                "gw-1",
                1,
                {"P-01": EquipmentInfo("pump", "B1")},
                [Reading("P-01", "amps", ts, 3.5, Quality.GOOD)],
            )
        )
        client, _org = container.get_client(token=token, org_name="acme")
        flux = 'from(bucket:"bw") |> range(start: -1h) |> filter(fn: (r) => r._field == "amps")'
        try:

            def stored() -> list[Any] | None:
                publisher.publish("bw/v1/demo/gw-1/readings", payload, qos=1)
                tables = client.query_api().query(flux, org="acme")
                values = [rec.get_value() for t in tables for rec in t.records]  # type: ignore[no-untyped-call]
                return values or None

            assert wait_for(stored, timeout=60, what="the reading in InfluxDB 2.x") == [3.5]
        finally:
            stop.set()
            thread.join(60)
            publisher.stop()
            client.close()  # type: ignore[no-untyped-call]
