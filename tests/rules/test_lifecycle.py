"""Alarm lifecycle beyond activation: shelving expiry, escalation, floods, outbox, annotations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmState
from bldgwatch.core.tsdb import open_store
from bldgwatch.rules import alarms
from bldgwatch.rules.annotations import AnnotationWriter
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.evaluator import ChangeCause, ConditionChange
from bldgwatch.rules.flood import FloodDetector, FloodSettings, flood_periods
from bldgwatch.rules.models import AlarmFloodRow
from bldgwatch.rules.store import AlarmStore
from tests.rules.helpers import PUMP, at, reading, rule
from tests.waiting import wait_for

KEY = ("demo", "P-01", "pump.bearing_temp_high")


def engine_with_alarm(db: Engine, **kwargs: object) -> RulesEngine:
    rules = [rule(on_delay_s=0, off_delay_s=0)]
    engine = RulesEngine(rules, [PUMP], AlarmStore(db), **kwargs)  # type: ignore[arg-type]
    (event,) = engine.process("demo", [reading("bearing_temp_c", 0, 95)])
    assert event.state is AlarmState.ACTIVE_UNACK
    return engine


@pytest.mark.services
def test_shelf_expiry_by_the_clock_brings_it_back_unacknowledged(db: Engine) -> None:
    engine = engine_with_alarm(db)
    store = engine.store
    (alarm,) = store.load_open(["demo"])
    store.change(alarm.alarm_id, lambda a: alarms.acknowledge(a, at=at(10), actor="ops"))
    store.change(
        alarm.alarm_id,
        lambda a: alarms.shelve(a, at=at(20), until=at(620), actor="ops", comment="sensor check"),
    )
    assert engine.housekeeping(["demo"], at(600)) == []
    (event,) = engine.housekeeping(["demo"], at(621))
    assert (event.transition, event.previous_state, event.state) == (
        "unshelve",
        AlarmState.SHELVED,
        AlarmState.ACTIVE_UNACK,
    )
    assert engine.housekeeping(["demo"], at(700)) == []
    steps = [(s.transition, s.actor, s.comment) for s in store.transitions(alarm.alarm_id)]
    assert steps == [
        ("activate", None, None),
        ("acknowledge", "ops", None),
        ("shelve", "ops", "sensor check"),
        ("unshelve", None, "shelf expired"),
    ]


@pytest.mark.services
def test_an_expired_shelf_of_a_cleared_alarm_shows_it_returned(db: Engine) -> None:
    engine = engine_with_alarm(db)
    (alarm,) = engine.store.load_open(["demo"])
    engine.store.change(
        alarm.alarm_id, lambda a: alarms.shelve(a, at=at(5), until=at(60), actor="ops")
    )
    engine.process("demo", [reading("bearing_temp_c", 10, 20)])  # clears while shelved
    (event,) = engine.housekeeping(["demo"], at(61))
    assert event.state is AlarmState.RTN_UNACK


@pytest.mark.services
def test_unacknowledged_alarms_escalate_once(db: Engine) -> None:
    engine = engine_with_alarm(db, escalate_after=timedelta(minutes=15))
    assert engine.housekeeping(["demo"], at(14 * 60)) == []
    (event,) = engine.housekeeping(["demo"], at(15 * 60))
    assert (event.transition, event.state) == ("escalate", AlarmState.ACTIVE_UNACK)
    assert event.comment == "unacknowledged for 15 min"
    assert engine.housekeeping(["demo"], at(30 * 60)) == []
    (alarm,) = engine.store.load_open(["demo"])
    assert alarm.escalated_at == at(15 * 60)


@pytest.mark.services
def test_acknowledged_alarms_do_not_escalate(db: Engine) -> None:
    engine = engine_with_alarm(db, escalate_after=timedelta(minutes=15))
    (alarm,) = engine.store.load_open(["demo"])
    engine.store.acknowledge(alarm.alarm_id, actor="ops", at=at(60))
    assert engine.housekeeping(["demo"], at(3600)) == []


@pytest.mark.services
def test_every_event_is_in_the_outbox_until_confirmed(db: Engine) -> None:
    engine = engine_with_alarm(db)
    (alarm,) = engine.store.load_open(["demo"])
    ack = engine.store.acknowledge(alarm.alarm_id, actor="ops", at=at(5))
    entries = engine.store.outbox()
    assert [e.topic for e in entries] == ["bw/v1/demo/alarms/P-01"] * 2
    assert entries[1].event_id == ack.event_id
    engine.store.published([entries[0].event_id])
    assert [e.event_id for e in engine.store.outbox()] == [ack.event_id]


def test_escalation_waits_and_skips_hidden_states() -> None:
    engine_free = alarms.on_condition(None, _change(True), new_id=lambda: "a1")
    assert engine_free is not None
    alarm = engine_free.alarm
    after = timedelta(minutes=10)
    assert alarms.escalate(alarm, at(599), after=after) is None
    escalated = alarms.escalate(alarm, at(600), after=after)
    assert escalated is not None and escalated.event is not None
    shelved = alarms.shelve(alarm, at=at(1), until=at(9999), actor="ops").alarm
    assert alarms.escalate(shelved, at(600), after=after) is None


def _change(active: bool) -> ConditionChange:
    return ConditionChange(
        equipment=PUMP,
        rule=rule(),
        at=at(0),
        cause=ChangeCause.CONDITION,
        active=active,
        suppressed=False,
        value=95.0,
        limit=85.0,
    )


# (activation times in minutes, expected (start, end) minutes; the flood of EEMUA 191 starts
# above 10 alarms in 10 minutes and ends when fewer than 5 remain in the window)
FLOODS: list[tuple[str, list[float], list[tuple[float, float]]]] = [
    ("ten is not a flood", [i * 0.5 for i in range(10)], []),
    ("eleven in ten minutes", [i * 0.5 for i in range(11)], [(5.0, 13.0)]),
    ("steady two a minute floods", [i * 0.5 for i in range(40)], [(5.0, 27.5)]),
    ("spread out, no flood", [i * 1.0 for i in range(30)], []),
]


@pytest.mark.parametrize(("times", "expected"), [c[1:] for c in FLOODS], ids=[c[0] for c in FLOODS])
def test_flood_periods(times: list[float], expected: list[tuple[float, float]]) -> None:
    periods = flood_periods([at(m * 60) for m in times], at(3600))
    assert periods == [(at(a * 60), at(b * 60)) for a, b in expected]


@pytest.mark.parametrize(("times", "expected"), [c[1:] for c in FLOODS], ids=[c[0] for c in FLOODS])
def test_live_flood_detector_agrees(
    times: list[float], expected: list[tuple[float, float]]
) -> None:
    detector = FloodDetector(FloodSettings())
    changes = []
    for m in times:
        changes += detector.record("demo", at(m * 60))
    changes += detector.tick(at(3600))
    starts = [c.at for c in changes if c.started]
    ends = [c.at for c in changes if not c.started]
    assert list(zip(starts, ends, strict=True)) == [(at(a * 60), at(b * 60)) for a, b in expected]


@pytest.mark.services
def test_floods_are_stored(db: Engine) -> None:
    rules = [rule(on_delay_s=0, off_delay_s=0)]
    engine = RulesEngine(rules, [PUMP], AlarmStore(db))
    for i in range(12):  # chattering bearing: 12 activations in 6 minutes
        engine.process("demo", [reading("bearing_temp_c", i * 30, 95)])
        engine.process("demo", [reading("bearing_temp_c", i * 30 + 15, 20)])
    assert engine.floods == 1
    engine.housekeeping(["demo"], at(3600))
    with session_factory(db)() as session:
        (flood,) = session.scalars(select(AlarmFloodRow)).all()
    assert (flood.site, flood.started_at, flood.peak) == ("demo", at(300), 12)
    assert flood.ended_at == at(7 * 30 + 600)  # when the 8th of 12 leaves, 4 remain


@pytest.mark.services
def test_transitions_become_influx_annotations(db: Engine, influx_settings: InfluxSettings) -> None:
    store = open_store(influx_settings)
    store.ensure_database()
    writer = AnnotationWriter(store)
    writer.start()
    try:
        engine = engine_with_alarm(db)
        (alarm,) = engine.store.load_open(["demo"])
        for event in [
            engine.store.acknowledge(alarm.alarm_id, actor="ops", at=at(5), comment="on it")
        ]:
            writer.submit(event)
        wait_for(lambda: writer.written == 1, timeout=10, what="annotation written")
    finally:
        writer.close()
    rows = open_store(influx_settings).query(
        'SELECT "title", "text", "actor", "comment", "state" FROM "alarm_events"'
    )
    assert [(r["title"], r["actor"], r["comment"], r["state"]) for r in rows] == [
        ("P-01 PUMP_BEARING_TEMP acknowledge", "ops", "on it", "active_ack")
    ]


def test_an_unreachable_influxdb_never_blocks_submit() -> None:
    writer = AnnotationWriter(
        open_store(InfluxSettings(url="http://127.0.0.1:9", timeout_s=0.2)), capacity=3
    )
    writer.start()
    try:
        from bldgwatch.core.models import AlarmEvent

        event = AlarmEvent.model_validate(
            {
                "event_id": "e",
                "alarm_id": "a",
                "site": "demo",
                "building": "B1",
                "equipment": "P-01",
                "equipment_type": "pump",
                "rule": "pump.bearing_temp_high",
                "fault_code": "F",
                "family": "f",
                "severity": "major",
                "priority": 2,
                "transition": "activate",
                "state": "active_unack",
                "previous_state": "normal",
                "at": at(0),
            }
        )
        for _ in range(10):
            writer.submit(event)  # returns at once; the oldest are dropped beyond capacity
        wait_for(lambda: writer.errors >= 1, timeout=10, what="a failed write")
        assert writer.written == 0
        assert writer.pending <= 3
        assert writer.dropped >= 7
    finally:
        writer.close(timeout=2)
