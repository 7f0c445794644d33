"""Restart safety: `bldgwatch rules` killed (SIGKILL) mid-fault and started again.

No duplicate alarm (the open alarm and the condition state come back from the store) and no
missed clear (readings sent while it is down wait in its persistent session), and events
committed but never published (a crash between commit and publish) come out of the outbox.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
import yaml

from bldgwatch.core import topics
from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.models import AlarmEvent, AlarmState, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.migrations import migrate
from bldgwatch.rules.models import AlarmOutboxRow
from bldgwatch.rules.store import AlarmStore
from tests.waiting import wait_for

pytestmark = pytest.mark.services

SITE = {
    "site": "demo",
    "buildings": [{"id": "B1"}],
    "equipment": [
        {
            "id": "P-01",
            "type": "pump",
            "building": "B1",
            "gateway": "gw-1",
            "rated": {"current_a": 30},
        }
    ],
}
EQUIPMENT = {"P-01": EquipmentInfo("pump", "B1")}
BIN = Path(sys.executable).parent / "bldgwatch"


class Feed:
    """Publishes bearing readings and records alarm events (deduplicated like consumers do)."""

    def __init__(self, settings: MqttSettings) -> None:
        self.t0 = datetime.now(UTC).replace(microsecond=0)
        self.seq = 0
        self.events: dict[str, AlarmEvent] = {}
        self.client = MqttClient(settings, client_id=f"feed-{uuid.uuid4().hex[:8]}")
        self.client.subscribe(topics.ALL_ALARMS, self._on_alarm, qos=1)
        self.client.start()
        assert self.client.wait_connected(10)

    def _on_alarm(self, msg: paho.MQTTMessage) -> None:
        event = AlarmEvent.model_validate_json(msg.payload)
        self.events[event.event_id] = event

    def send(self, seconds: range, value: float) -> None:
        for t in seconds:
            self.seq += 1
            ts = to_epoch_ms(self.t0 + timedelta(seconds=t))
            reading = Reading("P-01", "bearing_temp_c", ts, value)
            batch = ReadingBatch("demo", "gw-1", self.seq, EQUIPMENT, [reading])
            info = self.client.publish(topics.readings("demo", "gw-1"), encode_batch(batch))
            info.wait_for_publish(10)

    def transitions(self) -> list[str]:
        ordered = sorted(self.events.values(), key=lambda e: (e.at, e.transition != "activate"))
        return [e.transition for e in ordered]


@pytest.fixture
def config(tmp_path: Path, mqtt_settings: MqttSettings) -> tuple[Path, DatabaseSettings]:
    db = DatabaseSettings(url=f"sqlite:///{tmp_path / 'alarms.db'}")
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE))
    cfg = {
        "instance": f"restart-{uuid.uuid4().hex[:6]}",
        "mqtt": {"host": mqtt_settings.host, "port": mqtt_settings.port},
        "database": {"url": db.url},
        "site_files": [str(site)],
        "packs": ["pump"],
        "status_interval_s": 0.5,
        "tick_interval_s": 0.2,
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, db


@pytest.fixture
def feed(mqtt_settings: MqttSettings) -> Iterator[Feed]:
    f = Feed(mqtt_settings)
    yield f
    f.client.stop()


class Proc:
    """`bldgwatch rules` as a child process."""

    def __init__(self, config: Path, mqtt: MqttSettings) -> None:
        self.config = config
        self.mqtt = mqtt
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.config.parent / "rules.log").open("ab")
        self.proc = subprocess.Popen(
            [str(BIN), "rules", "--config", str(self.config)], stdout=log, stderr=log
        )
        instance = yaml.safe_load(self.config.read_text())["instance"]
        wait_for(lambda: self._state(instance) == "running", timeout=30, what="rules running")

    def _state(self, instance: str) -> str | None:
        got: list[bytes] = []
        client = MqttClient(self.mqtt, client_id=f"probe-{uuid.uuid4().hex[:8]}")
        client.subscribe(
            topics.service_status("rules", instance), lambda m: got.append(m.payload), qos=1
        )
        client.start()
        try:
            wait_for(lambda: bool(got), timeout=5, what="status")
        except AssertionError:
            return None
        finally:
            client.stop()
        return str(orjson.loads(got[-1]).get("state"))

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def proc(config: tuple[Path, DatabaseSettings], mqtt_settings: MqttSettings) -> Iterator[Proc]:
    p = Proc(config[0], mqtt_settings)
    yield p
    p.stop()


def open_alarms(db: DatabaseSettings) -> list[AlarmState]:
    engine = make_engine(db)
    try:
        return [a.state for a in AlarmStore(engine).load_open(["demo"])]
    finally:
        engine.dispose()


def test_killed_mid_fault_no_duplicate_and_no_missed_clear(
    proc: Proc, feed: Feed, config: tuple[Path, DatabaseSettings]
) -> None:
    db = config[1]
    proc.start()
    feed.send(range(0, 10), 95.0)  # bearing hot: on-delay 5 s of source time
    wait_for(lambda: feed.transitions() == ["activate"], timeout=20, what="activate")

    proc.kill()  # mid-fault
    feed.send(range(10, 20), 96.0)  # still hot while it is down
    proc.start()
    feed.send(range(20, 25), 97.0)
    wait_for(lambda: len(open_alarms(db)) == 1, timeout=10, what="one open alarm")
    assert open_alarms(db) == [AlarmState.ACTIVE_UNACK]

    proc.kill()  # and once more, with the clear arriving while it is down
    feed.send(range(25, 40), 60.0)
    proc.start()
    wait_for(lambda: "clear" in feed.transitions(), timeout=20, what="the clear")
    assert feed.transitions() == ["activate", "clear"]
    assert open_alarms(db) == [AlarmState.RTN_UNACK]


def test_events_committed_but_not_published_come_from_the_outbox(
    proc: Proc, feed: Feed, config: tuple[Path, DatabaseSettings]
) -> None:
    db = config[1]
    engine = make_engine(db)
    migrate(engine)
    event = AlarmEvent.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "alarm_id": "a-1",
            "site": "demo",
            "building": "B1",
            "equipment": "P-01",
            "equipment_type": "pump",
            "rule": "pump.bearing_temp_high",
            "fault_code": "PUMP_BEARING_TEMP",
            "family": "bearing",
            "severity": "major",
            "priority": 2,
            "transition": "activate",
            "state": "active_unack",
            "previous_state": "normal",
            "at": feed.t0,
        }
    )
    with session_factory(engine).begin() as session:  # as a crash after commit leaves it
        session.add(
            AlarmOutboxRow(
                event_id=event.event_id,
                topic=topics.alarms("demo", "P-01"),
                payload=event.model_dump_json(by_alias=True),
                created_at=event.at,
            )
        )
    proc.start()
    wait_for(lambda: event.event_id in feed.events, timeout=20, what="outbox published")
    wait_for(lambda: AlarmStore(engine).outbox() == [], timeout=20, what="outbox emptied")
    engine.dispose()
