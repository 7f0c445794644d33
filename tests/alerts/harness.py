"""Running the alerts service in the tests: its config, the service on a thread with an
injected clock, a test-side MQTT client that publishes alarm events (as the rules service
does) and reads the service's status and dead letters, and readings of an elevator."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import yaml

from bldgwatch.alerts.config import KEY_ENV, AlertsConfig, DeliverySettings, FloodSettings
from bldgwatch.alerts.service import run
from bldgwatch.core import topics
from bldgwatch.core.clock import Clock
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from tests.alerts.seed import KEY
from tests.waiting import wait_for

ENV = {KEY_ENV: KEY.decode()}
SITE_FILE: dict[str, Any] = {
    "site": "demo",
    "name": "Demo Tower",
    "timezone": "Asia/Shanghai",
    "buildings": [{"id": "B1", "name": "Tower A"}],
    "equipment": [
        {
            "id": "E-01",
            "type": "elevator",
            "building": "B1",
            "name": "Passenger lift 1",
            "gateway": "gw-1",
        },
        {
            "id": "E-02",
            "type": "elevator",
            "building": "B1",
            "name": "Passenger lift 2",
            "gateway": "gw-1",
        },
        {
            "id": "P-01",
            "type": "pump",
            "building": "B1",
            "name": "Domestic water pump 1",
            "gateway": "gw-1",
        },
    ],
}


def site_file(folder: Path) -> Path:
    """The demo site's file (Shanghai time)."""
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(SITE_FILE, allow_unicode=True), encoding="utf-8")
    return path


def alerts_config(
    folder: Path, mqtt: MqttSettings, database: DatabaseSettings, **over: Any
) -> AlertsConfig:
    """A fast-ticking service config for tests."""
    values: dict[str, Any] = {
        "instance": f"alerts-{uuid.uuid4().hex[:8]}",
        "mqtt": mqtt,
        "database": database,
        "site_files": [site_file(folder)],
        "tick_s": 0.05,
        "status_interval_s": 0.1,
        "console_url": "https://console.example",
        "delivery": DeliverySettings(poll_s=0.05, http_timeout_s=3),
        "flood": FloodSettings(),
    }
    return AlertsConfig(**{**values, **over})


class Running:
    """The service on a thread; `halt` stops it and re-raises what it raised."""

    def __init__(self, cfg: AlertsConfig, clock: Clock) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(cfg, clock), daemon=True)
        self.thread.start()

    def _run(self, cfg: AlertsConfig, clock: Clock) -> None:
        try:
            run(cfg, self.stop, clock=clock, environ=ENV)
        except BaseException as err:  # noqa: BLE001 - handed to the test by halt()
            self.errors.append(err)

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.errors:
            raise self.errors[0]


class Bus:
    """Publishes alarm events and readings; keeps alarm events, statuses and dead letters."""

    def __init__(self, settings: MqttSettings) -> None:
        self.events: list[AlarmEvent] = []
        self.status: dict[str, dict[str, Any]] = {}
        self.dead: list[dict[str, Any]] = []
        self.seq = 0
        self.client = MqttClient(settings, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.subscribe(topics.ALL_ALARMS, self._on_alarm)
        self.client.subscribe("bw/v1/_svc/alerts/+/status", self._on_status)
        self.client.subscribe("bw/v1/_svc/rules/+/status", self._on_status)  # a rules beside
        self.client.subscribe("bw/v1/+/deadletter/alerts", self._on_dead)
        self.client.start()
        assert self.client.wait_subscribed(10)

    def _on_alarm(self, msg: paho.MQTTMessage) -> None:
        self.events.append(AlarmEvent.model_validate_json(msg.payload))

    def _on_status(self, msg: paho.MQTTMessage) -> None:
        self.status[msg.topic.split("/")[4]] = orjson.loads(msg.payload)

    def _on_dead(self, msg: paho.MQTTMessage) -> None:
        self.dead.append(orjson.loads(msg.payload))

    def counters(self, instance: str) -> dict[str, int]:
        return dict(self.status.get(instance, {}).get("counters", {}))

    def wait_running(self, instance: str) -> None:
        wait_for(
            lambda: self.status.get(instance, {}).get("state") == "running",
            timeout=30,
            what=f"{instance} running",
        )

    def wait_ticks(self, instance: str, more: int = 3) -> None:
        """Until the service has run `more` escalation ticks since now."""
        start = self.counters(instance).get("ticks", 0)
        wait_for(
            lambda: self.counters(instance).get("ticks", 0) >= start + more,
            timeout=20,
            what=f"{more} ticks",
        )

    def publish(self, event: AlarmEvent) -> None:
        body = event.model_dump_json(by_alias=True).encode()
        self.client.publish(topics.alarms(event.site, event.equipment), body).wait_for_publish(10)

    def lift_readings(self, at: datetime, *, trapped: bool, equipment: str = "E-01") -> None:
        """One batch of an elevator's controller signals at source time `at`."""
        self.seq += 1
        ms = int(at.timestamp() * 1000)
        values = {
            "running": 0 if trapped else 1,
            "occupied": 1,
            "door_closed": 1,
            "door_open": 0,
            "door_zone": 1,
            "inspection_mode": 0,
            "safety_circuit_ok": 1,
            "door_lock_ok": 1,
            "mains_power_ok": 1,
            "fire_mode": 0,
            "alarm_button": 0,
            "speed_m_s": 0.0,
        }
        batch = ReadingBatch(
            "demo",
            "gw-1",
            self.seq,
            {equipment: EquipmentInfo("elevator", "B1")},
            [Reading(equipment, p, ms, v) for p, v in values.items()],
        )
        self.client.publish(topics.readings("demo", "gw-1"), encode_batch(batch)).wait_for_publish(
            10
        )

    def close(self) -> None:
        self.client.stop()


def alarm_event(
    alarm_id: str,
    at: datetime,
    *,
    state: str = "active_unack",
    previous: str = "normal",
    transition: str = "activate",
    equipment: str = "E-01",
    priority: int = 1,
    actor: str | None = None,
    event_id: str | None = None,
) -> AlarmEvent:
    """An alarm transition as the rules service publishes it."""
    lift = equipment.startswith("E-")
    return AlarmEvent.model_validate(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "alarm_id": alarm_id,
            "site": "demo",
            "building": "B1",
            "equipment": equipment,
            "equipment_type": "elevator" if lift else "pump",
            "rule": "elevator.entrapment_at_floor" if lift else "pump.bearing_temperature",
            "fault_code": "ELEV_ENTRAPMENT_AT_FLOOR" if lift else "PUMP_BEARING_TEMP",
            "family": "entrapment" if lift else "bearing",
            "severity": "critical" if priority == 1 else "major",
            "priority": priority,
            "transition": transition,
            "state": state,
            "previous_state": previous,
            "at": at.isoformat(),
            "actor": actor,
        }
    )


@contextmanager
def bus_on(settings: MqttSettings) -> Iterator[Bus]:
    """A test-side bus, closed on exit."""
    bus = Bus(settings)
    try:
        yield bus
    finally:
        bus.close()
