"""Honest liveness: data age per gateway and device from what the console itself receives,
the gateway's last will, the console's own broker connection in /healthz, and the live
stream's heartbeat saying whether data is fresh."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig, LiveSettings
from bldgwatch.console.liveness import Liveness
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import open_store
from bldgwatch.servers import Server, ServerError, start_mosquitto
from tests.console.conftest import auth_headers, seed_users
from tests.console.seed import add, assets
from tests.tools import unavailable
from tests.waiting import wait_for

pytestmark = pytest.mark.services

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def batch(site: str, gateway: str, seq: int, *readings: Reading) -> bytes:
    equipment = {r.equipment: EquipmentInfo("pump", "B1") for r in readings}
    return encode_batch(ReadingBatch(site, gateway, seq, equipment, list(readings)))


def test_ages_staleness_and_the_last_will() -> None:
    clock = ManualClock(T0)
    life = Liveness(clock, stale_after_s=10, device_silent_after_s=30, broker_up=lambda: True)
    assert life.summary(None).fresh is False  # nothing heard yet is not live
    life.ingest(
        "bw/v1/demo/gw-1/readings", batch("demo", "gw-1", 1, Reading("P-01", "flow_m3h", 1, 5.0))
    )
    life.ingest(
        "bw/v1/demo/gw-1/readings",
        batch("demo", "gw-1", 2, Reading("E-01", "_available", 1, False)),
    )
    clock.advance(4)
    summary = life.summary(None)
    assert (summary.fresh, summary.newest_age_s, summary.devices_silent) == (True, 4.0, 1)
    (pump, lift) = sorted(life.devices(None), key=lambda d: d.equipment, reverse=True)
    assert (pump.equipment, pump.data_age_s, pump.live) == ("P-01", 4.0, True)
    assert (lift.equipment, lift.available, lift.live) == ("E-01", False, False)
    clock.advance(7)  # 11 s without data
    assert life.summary(None).fresh is False
    life.ingest(
        "bw/v1/demo/gw-1/readings", batch("demo", "gw-1", 3, Reading("P-01", "flow_m3h", 2, 5.0))
    )
    assert life.summary(None).fresh is True
    life.ingest("bw/v1/demo/gw-1/status", orjson.dumps({"state": "offline"}))  # its last will
    (gw,) = life.gateways(None)
    assert (gw.state, gw.live, life.summary(None).gateways_offline) == ("offline", False, 1)
    assert all(not d.live for d in life.devices(None))
    assert life.summary(["north"]).newest_age_s is None  # another site's data is not yours
    life.broker_up = lambda: False
    assert life.summary(None).fresh is False


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("bw/v1/demo/gw-1/readings", b"not json"),
        ("bw/v1/demo/gw-1/status", b"[]"),
        ("bw/v1/demo/gw-1/status", b'{"state": "sleeping"}'),
        ("bw/v1/_svc/rules/r1/status", b'{"state": "online"}'),
        ("bw/v1/demo/alarms/P-01", b"{}"),
    ],
)
def test_what_is_not_a_batch_or_a_gateway_status_is_ignored(topic: str, payload: bytes) -> None:
    life = Liveness(ManualClock(T0), stale_after_s=10, device_silent_after_s=30)
    assert life.ingest(topic, payload) is False
    assert life.gateways(None) == []


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Server]:
    """A broker of this test's own: the test stops it."""
    try:
        server = start_mosquitto(tmp_path / "mosquitto")
    except ServerError as err:
        unavailable(f"mosquitto unavailable: {err}")
    yield server
    server.stop()


def test_the_console_says_when_its_broker_goes_and_data_stops(
    sqlite_db: Engine, broker: Server, closed_influx: InfluxSettings
) -> None:
    settings = MqttSettings(host="127.0.0.1", port=broker.port, keepalive=5)
    clock = ManualClock(T0)
    cfg = ConsoleConfig(
        dev=True, mqtt=settings, live=LiveSettings(stale_after_s=10, heartbeat_s=0.5)
    )
    add(sqlite_db, *assets())
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    app = create_app(cfg, engine=sqlite_db, store=store, clock=clock)
    gateway = MqttClient(settings, client_id="gw-test")
    gateway.start()
    try:
        with TestClient(app) as client:
            wait_for(lambda: client.get("/healthz").json()["broker"], timeout=15, what="broker")
            assert gateway.wait_connected(10)

            def heard() -> bool:
                reading = Reading("P-01", "flow_m3h", 1, 5.0)
                gateway.publish("bw/v1/demo/gw-1/readings", batch("demo", "gw-1", 1, reading))
                return bool(client.get("/api/liveness", headers=_eng(client)).json()["gateways"])

            wait_for(heard, timeout=15, what="the console hearing a batch")
            life = client.get("/api/liveness", headers=_eng(client)).json()
            assert (life["broker"], life["fresh"], life["stale_after_s"]) == (True, True, 10)
            assert life["devices"][0]["equipment"] == "P-01"
            _heartbeat_says(client, fresh=True)
            clock.advance(11)
            _heartbeat_says(client, fresh=False)  # the stream is open, the data is not live
            broker.stop()
            down = wait_for(lambda: _health_if_down(client), timeout=30, what="broker down")
            assert "not connected" in down["detail"]["broker"]
            assert client.get("/api/liveness", headers=_eng(client)).json()["broker"] is False
    finally:
        gateway.stop()
        store.close()


def _eng(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "engineer")


def _heartbeat_says(client: TestClient, *, fresh: bool) -> None:
    token = _eng(client)["Authorization"].split()[1]
    with client.websocket_connect(f"/api/live?access_token={token}") as ws:
        assert orjson.loads(ws.receive_text())["kind"] == "hello"
        ws.send_text('{"liveness": true}')
        beat: dict[str, Any] = orjson.loads(ws.receive_text())
        assert beat["kind"] == "liveness" and beat["fresh"] is fresh
        assert beat["broker"] is True and beat["stale_after_s"] == 10
        again: dict[str, Any] = orjson.loads(ws.receive_text())  # every heartbeat
        assert again["kind"] == "liveness"


def _health_if_down(client: TestClient) -> dict[str, Any] | None:
    resp = client.get("/healthz")
    return resp.json() if resp.status_code == 503 and not resp.json()["broker"] else None


def test_a_gateway_silent_for_three_status_intervals_is_stale() -> None:
    """Review 21d L4: only a gateway's last will said offline, so one whose loop was wedged
    (no status, no readings) stayed "online" for good. Now one silent for more than three
    of its status intervals (its status gives the interval) is `stale` and not live, with
    the last time it was heard from; its next status makes it online again."""
    clock = ManualClock(T0)
    life = Liveness(clock, stale_after_s=60, device_silent_after_s=60, broker_up=lambda: True)
    status = {"state": "online", "status_interval_s": 2, "devices": {"P-01": {"available": True}}}
    life.ingest("bw/v1/demo/gw-1/status", orjson.dumps(status))
    life.ingest(
        "bw/v1/demo/gw-1/readings", batch("demo", "gw-1", 1, Reading("P-01", "flow_m3h", 1, 5.0))
    )
    clock.advance(6)  # three intervals: not yet
    (gw,) = life.gateways(None)
    assert (gw.state, gw.live) == ("online", True)
    clock.advance(0.5)
    (gw,) = life.gateways(None)
    assert (gw.state, gw.live, gw.last_seen) == ("stale", False, T0)
    assert [d.live for d in life.devices(None)] == [False]
    assert life.summary(None).gateways_offline == 1
    life.ingest("bw/v1/demo/gw-1/status", orjson.dumps(status))
    (gw,) = life.gateways(None)
    assert (gw.state, gw.last_seen) == ("online", clock.now())
    # without an interval in its status: the gateway's default, 10 s
    life.ingest("bw/v1/demo/gw-2/status", orjson.dumps({"state": "online"}))
    clock.advance(29)
    assert [g.state for g in life.gateways(None)] == ["stale", "online"]
    clock.advance(2)
    assert [g.state for g in life.gateways(None)] == ["stale", "stale"]
