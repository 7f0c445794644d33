"""The maintenance service against a real Mosquitto and SQLite/PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
import yaml
from sqlalchemy import func, select

from bldgwatch.core import topics
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.maintenance.config import (
    MaintenanceConfig,
    NotifySettings,
    RosterSettings,
    Technician,
    WebhookTarget,
)
from bldgwatch.maintenance.models import IncidentAlarmRow, WorkOrderRow
from bldgwatch.maintenance.service import run
from tests.maintenance.conftest import EventFactory, demo_site
from tests.maintenance.servers import http_sink
from tests.waiting import wait_for


class Listener:
    """A test-side MQTT client that records what arrives on its subscriptions."""

    def __init__(self, settings: MqttSettings) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.client = MqttClient(settings, client_id=f"test-{uuid.uuid4().hex[:8]}")

    def _on(self, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, orjson.loads(msg.payload)))

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, self._on)

    def last(self, topic: str) -> dict[str, Any] | None:
        with self._lock:
            found = [body for t, body in self.messages if t == topic]
        return found[-1] if found else None

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)


@pytest.fixture
def listener(mqtt_settings: MqttSettings) -> Iterator[Listener]:
    lis = Listener(mqtt_settings)
    lis.client.start()
    assert lis.client.wait_connected(10)
    yield lis
    lis.client.stop()


def _config(tmp_path: Path, mqtt: MqttSettings, db: DatabaseSettings) -> MaintenanceConfig:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(demo_site().model_dump(mode="json")))
    return MaintenanceConfig(
        instance=f"m-{uuid.uuid4().hex[:8]}",
        mqtt=mqtt,
        database=db,
        site_files=[site_file],
        status_interval_s=0.2,
        session_expiry_s=600,
    )


class Running:
    """The service in a thread, stopped by the context's end."""

    def __init__(self, cfg: MaintenanceConfig, listener: Listener) -> None:
        self.cfg = cfg
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run, args=(cfg, self.stop), daemon=True)
        self.status_topic = topics.service_status("maintenance", cfg.instance)
        self.listener = listener

    def status(self) -> dict[str, Any] | None:
        return self.listener.last(self.status_topic)

    def __enter__(self) -> Running:
        self.listener.subscribe(self.status_topic)
        started = len(self.listener.messages)
        self.thread.start()
        wait_for(
            lambda: any(
                t == self.status_topic and b["state"] == "running"
                for t, b in self.listener.messages[started:]
            ),
            timeout=30,
            what="maintenance running",
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def test_three_deliveries_one_order(
    tmp_path: Path,
    mqtt_settings: MqttSettings,
    db_settings: DatabaseSettings,
    listener: Listener,
    make_event: EventFactory,
) -> None:
    cfg = _config(tmp_path, mqtt_settings, db_settings)
    event = make_event()
    payload = event.model_dump_json(by_alias=True).encode()
    with Running(cfg, listener) as svc:
        for _ in range(3):
            listener.publish("bw/v1/demo/alarms/P-01", payload)
        wait_for(
            lambda: (svc.status() or {}).get("counters", {}).get("received") == 3,
            timeout=30,
            what="three deliveries handled",
        )
        counters = (svc.status() or {})["counters"]
        assert counters["created"] == 1 and counters["duplicates"] == 2
    # The retained "stopped" is published before the thread ends; it reaches the listener
    # through the broker a moment later.
    wait_for(lambda: (svc.status() or {}).get("state") == "stopped", timeout=10, what="stopped")
    engine = make_engine(db_settings)
    try:
        with session_factory(engine)() as s:
            orders = s.scalars(select(WorkOrderRow)).all()
            claims = s.scalar(select(func.count()).select_from(IncidentAlarmRow))
    finally:
        engine.dispose()
    assert claims == 1
    [order] = orders
    assert (order.kind, order.status, order.alarm_count) == ("reactive", "open", 1)
    assert order.priority == 2
    assert order.response_due == event.at + timedelta(hours=2)
    assert order.resolution_due == event.at + timedelta(hours=24)
    assert order.stage == "mid"
    assert "years since install" in order.stage_reason


def test_bad_messages_go_to_dead_letters(
    tmp_path: Path,
    mqtt_settings: MqttSettings,
    sqlite_settings: DatabaseSettings,
    listener: Listener,
    make_event: EventFactory,
) -> None:
    dead = topics.deadletter("demo", "maintenance")
    listener.subscribe(dead)
    cfg = _config(tmp_path, mqtt_settings, sqlite_settings)
    wrong_topic = make_event(equipment="E-01").model_dump_json(by_alias=True).encode()
    with Running(cfg, listener) as svc:
        listener.publish("bw/v1/demo/alarms/P-01", b"{not json")
        listener.publish("bw/v1/demo/alarms/P-01", b'{"schema": 1, "event_id": "x"}')
        listener.publish("bw/v1/demo/alarms/P-01", wrong_topic)
        wait_for(
            lambda: len([m for t, m in listener.messages if t == dead]) == 3,
            timeout=30,
            what="three dead letters",
        )
        wait_for(
            lambda: (svc.status() or {}).get("counters", {}).get("deadlettered") == 3,
            timeout=30,
            what="dead letters counted",
        )
    reasons = [m["reason"] for t, m in listener.messages if t == dead]
    assert reasons == ["invalid_json", "invalid_schema", "topic_mismatch"]
    assert all(m["component"] == "maintenance" for t, m in listener.messages if t == dead)


def test_alarms_while_down_are_handled_after_restart(
    tmp_path: Path,
    mqtt_settings: MqttSettings,
    sqlite_settings: DatabaseSettings,
    listener: Listener,
    make_event: EventFactory,
) -> None:
    cfg = _config(tmp_path, mqtt_settings, sqlite_settings)
    with Running(cfg, listener):
        pass  # the broker now holds a persistent session for this instance
    listener.publish("bw/v1/demo/alarms/P-01", make_event().model_dump_json(by_alias=True).encode())
    with Running(cfg, listener) as svc:
        wait_for(
            lambda: (svc.status() or {}).get("counters", {}).get("created") == 1,
            timeout=30,
            what="queued alarm handled after restart",
        )


def test_work_order_events_assignment_and_escalation_on_the_wire(
    tmp_path: Path,
    mqtt_settings: MqttSettings,
    sqlite_settings: DatabaseSettings,
    listener: Listener,
    make_event: EventFactory,
) -> None:
    wire = topics.work_orders("demo", "P-01")
    listener.subscribe(topics.ALL_WORK_ORDERS)
    with http_sink() as (hook, url):
        cfg = _config(tmp_path, mqtt_settings, sqlite_settings).model_copy(
            update={
                "roster": RosterSettings(
                    auto_assign=True,
                    technicians=[Technician(id="li", sites=["demo"], skills=["mechanical"])],
                ),
                "notify": NotifySettings(webhooks=[WebhookTarget(url=url)]),
                "escalation_check_s": 0.2,
            }
        )
        with Running(cfg, listener):
            # the alarm is from March: by the wall clock its order is long overdue
            listener.publish(
                "bw/v1/demo/alarms/P-01", make_event().model_dump_json(by_alias=True).encode()
            )
            wait_for(
                lambda: len([m for t, m in listener.messages if t == wire]) >= 3,
                timeout=30,
                what="created, assigned and escalated on the wire",
            )
            wait_for(lambda: len(hook.bodies) >= 2, timeout=30, what="two webhook notices")
    events = [WorkOrderEvent.model_validate(m) for t, m in listener.messages if t == wire]
    assert [e.change for e in events] == ["created", "assigned", "escalation"]
    assert events[1].assigned_to == "li" and events[1].status == "assigned"
    assert [orjson.loads(b)["kind"] for b in hook.bodies] == ["assigned", "escalation"]
