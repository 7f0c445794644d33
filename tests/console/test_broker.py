"""The console on a real broker: alarm transitions published by rules reach WebSocket clients,
and an acknowledgement made in the console is published on the alarm's topic (by the rules
service, from its outbox)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import open_store
from bldgwatch.rules.service import RulesConfig
from bldgwatch.rules.service import run as run_rules
from tests.console.conftest import auth_headers, seed_users
from tests.console.seed import add, alarm, assets
from tests.waiting import wait_for

pytestmark = pytest.mark.services


@pytest.fixture
def peer(mqtt_settings: MqttSettings) -> Iterator[tuple[MqttClient, list[tuple[str, Any]]]]:
    """Another broker client (rules' stand-in) recording what it hears on the alarm topics."""
    heard: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def on_message(msg: paho.MQTTMessage) -> None:
        with lock:
            heard.append((msg.topic, orjson.loads(msg.payload)))

    client = MqttClient(mqtt_settings, client_id=f"console-peer-{os.getpid()}")
    client.subscribe("bw/v1/+/alarms/+", on_message, qos=1)
    client.start()
    assert client.wait_connected(10)
    yield client, heard
    client.stop()


@pytest.fixture
def rules_service(
    sqlite_settings: DatabaseSettings, mqtt_settings: MqttSettings
) -> Iterator[threading.Thread]:
    """The rules service (no sites of its own): it publishes the alarm outbox."""
    stop = threading.Event()
    cfg = RulesConfig(
        instance=f"console-test-{os.getpid()}", mqtt=mqtt_settings, database=sqlite_settings
    )
    thread = threading.Thread(target=run_rules, args=(cfg, stop), daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture
def client(
    sqlite_db: Engine,
    mqtt_settings: MqttSettings,
    closed_influx: InfluxSettings,
    rules_service: threading.Thread,
) -> Iterator[TestClient]:
    add(sqlite_db, *assets())
    add(sqlite_db, alarm("a1", 0, condition_active=True))
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    app = create_app(ConsoleConfig(dev=True, mqtt=mqtt_settings), engine=sqlite_db, store=store)
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def _event(event_id: str, site: str = "demo") -> bytes:
    return orjson.dumps(
        {
            "schema": 1,
            "event_id": event_id,
            "alarm_id": "x",
            "site": site,
            "building": "B1",
            "equipment": "P-01",
            "equipment_type": "pump",
            "rule": "r",
            "fault_code": "F",
            "family": "f",
            "severity": "critical",
            "priority": 1,
            "transition": "activate",
            "state": "active_unack",
            "previous_state": "normal",
            "at": "2026-03-01T08:00:00Z",
        }
    )


def test_broker_events_reach_websockets_and_acks_reach_the_broker(
    client: TestClient, peer: tuple[MqttClient, list[tuple[str, Any]]]
) -> None:
    mqtt, heard = peer
    token = auth_headers(client, "engineer")["Authorization"].split()[1]
    with client.websocket_connect(f"/api/live?access_token={token}") as ws:
        assert orjson.loads(ws.receive_text())["kind"] == "hello"

        def published() -> bool:
            # The console subscribes in the background: publish until it hears one.
            mqtt.publish("bw/v1/north/alarms/P-01", _event(f"n-{len(heard)}", "north"), qos=1)
            mqtt.publish("bw/v1/demo/alarms/P-01", _event("d-1"), qos=1)
            hub = client.app.state.hub  # type: ignore[attr-defined]
            return bool(hub.last_id)

        wait_for(published, timeout=15, what="the console hearing the broker")
        got = orjson.loads(ws.receive_text())
        assert (got["kind"], got["site"], got["data"]["event_id"]) == ("alarm", "demo", "d-1")

        resp = client.post(
            "/api/alarms/a1/acknowledge", json={}, headers=auth_headers(client, "engineer")
        )
        assert resp.status_code == 200, resp.text
        ack = wait_for(
            lambda: next((e for t, e in heard if e.get("transition") == "acknowledge"), None),
            timeout=10,
            what="the acknowledgement on the broker",
        )
        assert (ack["alarm_id"], ack["actor"], ack["state"]) == ("a1", "engineer", "active_ack")
        # ... and it comes back to the console's own clients through the broker.
        while True:
            live = orjson.loads(ws.receive_text())
            if live["data"].get("transition") == "acknowledge":
                break
        assert live["data"]["event_id"] == ack["event_id"]
