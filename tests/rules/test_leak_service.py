"""The rules service on a real Mosquitto with a water meter (issue 20, point 4): five nights of
flow readings published as a gateway would, a leak from the fifth day; the night-flow alarm
is raised by the service at the end of the fifth local night, published on the broker and
kept open in the alarm store like any other alarm."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core import topics
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.models import RuleLessonRow
from bldgwatch.rules.store import AlarmStore
from tests.rules.test_service import Bus, open_alarms, start
from tests.waiting import wait_for

pytestmark = pytest.mark.services

START = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # midnight in Shanghai
SITE = {
    "site": "demo",
    "timezone": "Asia/Shanghai",
    "buildings": [{"id": "B1"}],
    "equipment": [{"id": "WM-01", "type": "water_meter", "building": "B1", "gateway": "gw-1"}],
}
EQUIPMENT = {"WM-01": EquipmentInfo("water_meter", "B1")}


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
        escalate_after_s=0,
        max_age_s=10 * 365 * 86400,  # March source times, a wall clock far ahead
    )


@pytest.fixture
def bus(config: RulesConfig, mqtt_settings: MqttSettings) -> Iterator[Bus]:
    b = Bus(mqtt_settings, config.instance)
    yield b
    b.client.stop()


def _send_hours(bus: Bus, hours: range) -> None:
    """One batch an hour, six flow readings in it (every 10 minutes)."""
    for hour in hours:
        readings = []
        for k in range(6):
            at = START + timedelta(hours=hour, minutes=10 * k)
            local_hour = (at + timedelta(hours=8)).hour
            flow = 0.04 if 1 <= local_hour < 5 else 1.5
            if at >= START + timedelta(days=4):
                flow += 0.4  # a running cistern from the fifth day
            ms = int(at.timestamp() * 1000)
            readings.append(Reading("WM-01", "flow_m3h", ms, flow, Quality.GOOD))
        bus.seq += 1
        batch = ReadingBatch("demo", "gw-1", bus.seq, EQUIPMENT, readings)
        bus.client.publish(topics.readings("demo", "gw-1"), encode_batch(batch)).wait_for_publish(
            10
        )


def test_a_leak_is_raised_by_the_service_at_the_end_of_a_local_night(
    config: RulesConfig, bus: Bus
) -> None:
    svc = start(config, bus)
    try:
        _send_hours(bus, range(6 * 24))
        wait_for(
            lambda: any(e.rule == "meters.night_flow" for _, e in bus.events),
            timeout=30,
            what="night-flow alarm",
        )
        leak = [e for _, e in bus.events if e.rule == "meters.night_flow"]
        assert [(e.transition, e.fault_code, e.equipment) for e in leak] == [
            ("activate", "WATER_NIGHT_FLOW", "WM-01")
        ]
        # The fifth local night (6 March, 02:00-04:00) ends at 04:00 = 20:00 UTC on the 5th.
        assert leak[0].at == START + timedelta(days=4, hours=4)
        assert leak[0].value == pytest.approx(0.44)
        [alarm] = [a for a in open_alarms(config) if a.rule == "meters.night_flow"]
        assert alarm.equipment == "WM-01"
        # Fifth review of issue 20, L3: the value with its unit on the alarm pages.
        from bldgwatch.console.present import alarm_value

        assert alarm.params["point"] == "flow_m3h"
        assert alarm_value(alarm.equipment_type, alarm.params, alarm.value, "en") == "0.440 m³/h"
    finally:
        svc.halt()


def test_a_restart_keeps_what_the_meter_learned_and_the_leak_stays_flagged(
    config: RulesConfig, bus: Bus
) -> None:
    """Review of issue 20, F5: the learned nights are kept in the alarm store; after a restart
    the running leak is judged against them (not learned as the meter's normal night), so its
    alarm stays active night after night."""
    svc = start(config, bus)
    try:
        _send_hours(bus, range(6 * 24))
        wait_for(
            lambda: any(e.rule == "meters.night_flow" for _, e in bus.events),
            timeout=30,
            what="night-flow alarm",
        )
    finally:
        svc.halt()
    [memory] = [m for k, m in _memories(config).items() if k[2] == "meters.night_flow"]
    assert memory["verdict"] is True
    assert memory["learned"] == pytest.approx([0.04] * 4)  # the leak nights were not learned
    bus.status = {}
    svc = start(config, bus)
    try:
        _send_hours(bus, range(6 * 24, 12 * 24))  # six more nights of the leak
        wait_for(lambda: bus.counter("messages") >= 6 * 24, timeout=60, what="six days handled")
        leak = [e.transition for _, e in bus.events if e.rule == "meters.night_flow"]
        assert leak == ["activate"]  # never cleared: the leak nights still read as a leak
        [alarm] = [a for a in open_alarms(config) if a.rule == "meters.night_flow"]
        assert alarm.condition is True
    finally:
        svc.halt()
    [memory] = [m for k, m in _memories(config).items() if k[2] == "meters.night_flow"]
    assert memory["learned"] == pytest.approx([0.04] * 4)
    assert memory["baseline"] == pytest.approx(0.04)


def test_not_a_leak_clears_the_alarm_through_the_service(config: RulesConfig, bus: Bus) -> None:
    """Review of issue 20, N12: the console's "not a leak" (a `rule_lessons` row) is taken by
    the running service; the level alarmed on becomes the meter's normal night, so the alarm
    clears at the next reading and the next nights at that level raise nothing."""
    svc = start(config, bus)
    try:
        _send_hours(bus, range(6 * 24))
        wait_for(
            lambda: any(e.rule == "meters.night_flow" for _, e in bus.events),
            timeout=30,
            what="night-flow alarm",
        )
        [alarm] = [a for a in open_alarms(config) if a.rule == "meters.night_flow"]
        engine = make_engine(config.database)
        try:
            with Session(engine) as session:
                session.add(
                    RuleLessonRow(
                        site="demo",
                        equipment="WM-01",
                        rule="meters.night_flow",
                        alarm_id=alarm.alarm_id,
                        actor="engineer",
                        given_at=START + timedelta(days=6),
                    )
                )
                session.commit()

            def taken() -> bool:
                with Session(engine) as session:
                    return session.scalars(select(RuleLessonRow.applied_at)).one() is not None

            wait_for(taken, timeout=30, what="the lesson taken")
        finally:
            engine.dispose()
        _send_hours(bus, range(6 * 24, 9 * 24))  # three more nights at the accepted level
        wait_for(lambda: bus.counter("messages") >= 9 * 24, timeout=60, what="three days handled")
        leak = [e.transition for _, e in bus.events if e.rule == "meters.night_flow"]
        assert leak == ["activate", "clear"]
    finally:
        svc.halt()
    [memory] = [m for k, m in _memories(config).items() if k[2] == "meters.night_flow"]
    # The accepted level is taught on top of the learned nights, which are kept (review 20c, H1).
    assert memory["taught"] == pytest.approx(0.44)
    assert memory["baseline"] == pytest.approx(0.04)


def _memories(cfg: RulesConfig) -> dict[tuple[str, str, str], dict[str, object]]:
    engine = make_engine(cfg.database)
    try:
        return AlarmStore(engine).load_memory(["demo"])
    finally:
        engine.dispose()
