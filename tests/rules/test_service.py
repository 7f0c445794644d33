"""The rules service on a real Mosquitto: readings in, one alarm and its clear out."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
import yaml

from bldgwatch.core import topics
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings, load_config, parse_config
from bldgwatch.core.db import make_engine
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.models import AlarmEvent, AlarmState, EquipmentInfo, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.rules.config import RulesConfig, Shard
from bldgwatch.rules.errors import InvalidTransitionError
from bldgwatch.rules.operator import AlarmActions
from bldgwatch.rules.service import run
from bldgwatch.rules.store import AlarmStore
from tests.rules.helpers import reading
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
            "rated": {"current_a": 20},
        },
        {"id": "E-01", "type": "elevator", "building": "B1", "gateway": "gw-1"},
        {"id": "SP-01", "type": "shaft_panel", "building": "B1", "gateway": "gw-1"},
    ],
}
EQUIPMENT = {"P-01": EquipmentInfo("pump", "B1"), "P-99": EquipmentInfo("pump", "B1")}


class Bus:
    """A test-side MQTT client: publishes readings batches, records alarm events and status."""

    def __init__(self, settings: MqttSettings, instance: str) -> None:
        self.events: list[tuple[str, AlarmEvent]] = []
        self.status: dict[str, Any] = {}
        self.seq = 0
        self.client = MqttClient(settings, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.subscribe("bw/v1/demo/alarms/+", self._on_alarm)
        self.client.subscribe(topics.service_status("rules", instance), self._on_status)
        self.client.start()
        assert self.client.wait_connected(10)

    def _on_alarm(self, msg: paho.MQTTMessage) -> None:
        self.events.append((msg.topic, AlarmEvent.model_validate_json(msg.payload)))

    def _on_status(self, msg: paho.MQTTMessage) -> None:
        self.status = orjson.loads(msg.payload)

    def send(self, point: str, seconds: range, value: float, equipment: str = "P-01") -> None:
        for t in seconds:
            self.seq += 1
            batch = ReadingBatch(
                "demo", "gw-1", self.seq, EQUIPMENT, [reading(point, t, value, equipment=equipment)]
            )
            info = self.client.publish(topics.readings("demo", "gw-1"), encode_batch(batch))
            info.wait_for_publish(10)

    def counter(self, name: str) -> int:
        return int(self.status.get("counters", {}).get(name, -1))


@pytest.fixture
def config(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> RulesConfig:
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE))
    return RulesConfig(
        instance=f"rules-{uuid.uuid4().hex[:8]}",
        mqtt=mqtt_settings,
        database=sqlite_settings,
        site_files=[site],
        status_interval_s=0.2,
        escalate_after_s=0,  # readings carry March source times: the wall clock is far ahead
        max_age_s=10 * 365 * 86400,  # ... and so must the time window
    )


class Running:
    """The service in a thread, stoppable and restartable."""

    def __init__(self, cfg: RulesConfig) -> None:
        self.cfg = cfg
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run, args=(cfg, self.stop), daemon=True)
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def bus(config: RulesConfig, mqtt_settings: MqttSettings) -> Iterator[Bus]:
    b = Bus(mqtt_settings, config.instance)
    yield b
    b.client.stop()


def start(cfg: RulesConfig, bus: Bus) -> Running:
    svc = Running(cfg)
    wait_for(lambda: bus.status.get("state") == "running", timeout=20, what="rules running")
    return svc


def open_alarms(cfg: RulesConfig) -> list[Any]:
    engine = make_engine(cfg.database)
    try:
        return AlarmStore(engine).load_open()
    finally:
        engine.dispose()


def test_bearing_fault_raises_one_alarm_and_clears(config: RulesConfig, bus: Bus) -> None:
    svc = start(config, bus)
    try:
        bus.send("bearing_temp_c", range(0, 12), 95.0)  # on-delay 5 s of source time
        wait_for(lambda: bus.events, timeout=20, what="activate event")
        wait_for(lambda: bus.counter("messages") >= 12, timeout=20, what="12 batches handled")
        assert [(t, e.transition, e.state) for t, e in bus.events] == [
            ("bw/v1/demo/alarms/P-01", "activate", AlarmState.ACTIVE_UNACK)
        ]
        event = bus.events[0][1]
        assert (event.rule, event.fault_code, event.family) == (
            "pump.bearing_temp_high",
            "PUMP_BEARING_TEMP",
            "bearing",
        )
        (alarm,) = open_alarms(config)
        assert (alarm.alarm_id, alarm.state) == (event.alarm_id, AlarmState.ACTIVE_UNACK)

        bus.send("bearing_temp_c", range(12, 24), 70.0)  # below 85 - 5 for > off-delay
        wait_for(lambda: len(bus.events) >= 2, timeout=20, what="clear event")
        clear = bus.events[1][1]
        assert (clear.transition, clear.state, clear.alarm_id) == (
            "clear",
            AlarmState.RTN_UNACK,
            event.alarm_id,
        )
        (alarm,) = open_alarms(config)
        assert alarm.state is AlarmState.RTN_UNACK

        bus.send("bearing_temp_c", range(24, 25), 99.0, equipment="P-99")
        wait_for(
            lambda: bus.counter("unknown_equipment") == 1,
            timeout=20,
            what="unknown equipment counted",
        )
        assert len(bus.events) == 2
    finally:
        svc.halt()
    wait_for(lambda: bus.status.get("state") == "stopped", timeout=10, what="stopped status")


def test_readings_sent_while_down_are_handled_after_restart(config: RulesConfig, bus: Bus) -> None:
    svc = start(config, bus)
    bus.send("bearing_temp_c", range(0, 8), 95.0)
    wait_for(lambda: bus.events, timeout=20, what="activate event")
    svc.halt()

    bus.send("bearing_temp_c", range(8, 20), 60.0)  # the broker keeps them for the session
    svc = start(config, bus)
    try:
        wait_for(lambda: len(bus.events) >= 2, timeout=20, what="clear after restart")
        assert [e.transition for _, e in bus.events] == ["activate", "clear"]
        assert len({e.alarm_id for _, e in bus.events}) == 1
    finally:
        svc.halt()


def test_sample_config_validates() -> None:
    cfg = load_config(Path("rules/sample.yaml"), RulesConfig)
    packs = ["pump", "elevator", "shaft_panel", "temp_sensor", "meters"]
    assert (cfg.shard, cfg.packs) == ("0/1", packs)


@pytest.mark.parametrize(
    ("shard", "match"), [("2/2", "shard: .*0 <= i < N"), ("a/b", "is not i/N"), ("1", "is not i/N")]
)
def test_bad_shard_names_the_field(shard: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config({"shard": shard}, RulesConfig)


def test_shards_split_sites_stably() -> None:
    sites = [f"site-{i}" for i in range(200)]
    shards = [Shard.parse(f"{i}/3") for i in range(3)]
    owners = [[s for s in shards if s.owns(site)] for site in sites]
    assert all(len(o) == 1 for o in owners)
    assert all(sum(1 for o in owners if o[0] is s) > 40 for s in shards)
    assert Shard.parse("0/1").owns("anything")


def test_bad_rule_file_stops_before_touching_anything(config: RulesConfig, tmp_path: Path) -> None:
    bad = tmp_path / "extra.yaml"
    bad.write_text(yaml.safe_dump({"pack": "x", "rules": [{"id": "pump.x", "kind": "threshold"}]}))
    db_file = tmp_path / "untouched.db"
    cfg = config.model_copy(
        update={"rule_files": [bad], "database": DatabaseSettings(url=f"sqlite:///{db_file}")}
    )
    with pytest.raises(ConfigError, match=r"extra.yaml: rule 'pump.x': equipment_type"):
        run(cfg, threading.Event())
    assert not db_file.exists()


def test_the_clock_tick_raises_a_stale_point_without_any_reading(
    config: RulesConfig, bus: Bus, tmp_path: Path
) -> None:
    extra = tmp_path / "stale.yaml"
    stale = {
        "id": "site.pump_silent",
        "kind": "stale",
        "equipment_type": "pump",
        "point": "running",
        "stale_after_s": 120,
        "severity": "minor",
        "priority": 3,
        "fault_code": "PUMP_NO_DATA",
        "family": "comms",
    }
    extra.write_text(yaml.safe_dump({"pack": "site", "rules": [stale]}))
    cfg = config.model_copy(update={"packs": [], "rule_files": [extra], "tick_interval_s": 0.05})
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(cfg, stop), kwargs={"clock": clock}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: bus.counter("ticks") >= 1, timeout=20, what="first tick")
        clock.advance(119)
        wait_for(lambda: bus.counter("ticks") >= 2, timeout=20, what="a tick at +119 s")
        assert bus.events == []
        clock.advance(2)
        wait_for(lambda: bus.events, timeout=20, what="stale alarm")
        ((_, event),) = bus.events
        assert (event.fault_code, event.transition) == ("PUMP_NO_DATA", "activate")
    finally:
        stop.set()
        thread.join(30)


def test_operator_actions_are_published_by_the_service_from_the_outbox(
    config: RulesConfig, bus: Bus
) -> None:
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))  # frozen: the sweep is wall time
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), kwargs={"clock": clock}, daemon=True)
    thread.start()
    engine = make_engine(config.database)
    try:
        wait_for(lambda: bus.status.get("state") == "running", timeout=20, what="rules running")
        bus.send("bearing_temp_c", range(0, 12), 95.0)
        [(_, raised)] = wait_for(lambda: list(bus.events), timeout=20, what="activate event")
        # What the console does: the owner's action, one transaction, nothing published by it.
        actions = AlarmActions(engine)
        acked = actions.acknowledge(raised.alarm_id, at=clock.now(), actor="zhang", comment="seen")
        assert acked.state is AlarmState.ACTIVE_ACK
        actions.comment(raised.alarm_id, at=clock.now(), actor="zhang", text="bearing noise")
        wait_for(lambda: len(bus.events) == 2, timeout=10, what="the acknowledgement published")
        _, ack = bus.events[1]
        assert (ack.transition, ack.actor, ack.comment) == ("acknowledge", "zhang", "seen")
        wait_for(lambda: AlarmStore(engine).outbox() == [], timeout=10, what="outbox emptied")
        with pytest.raises(InvalidTransitionError, match="already acknowledged"):
            actions.acknowledge(raised.alarm_id, at=clock.now(), actor="li")
    finally:
        stop.set()
        thread.join(30)
        engine.dispose()
    assert [e.transition for _, e in bus.events] == ["activate", "acknowledge"]
