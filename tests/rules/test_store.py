"""Alarm store on SQLite and PostgreSQL: transitions, restart mid-fault, acknowledgement."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from bldgwatch.core import i18n
from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmState
from bldgwatch.rules import alarms
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.errors import InvalidTransitionError, UnknownAlarmError
from bldgwatch.rules.models import AlarmRow
from bldgwatch.rules.store import AlarmStore, acknowledge, row_to_alarm
from tests.rules.helpers import PUMP, PUMP_2, at, reading, rule

KEY = ("demo", "P-01", "pump.bearing_temp_high")


def new_engine(db: Engine) -> RulesEngine:
    """A rules engine as a fresh process would build it (condition state from the DB)."""
    engine = RulesEngine([rule()], [PUMP, PUMP_2], AlarmStore(db))
    engine.restore(["demo"])
    return engine


def feed(engine: RulesEngine, seconds: range, value: float) -> list[str]:
    events = []
    for t in seconds:
        events += engine.process("demo", [reading("bearing_temp_c", t, value)])
    return [f"{e.transition}:{e.state}" for e in events]


def open_rows(db: Engine) -> int:
    with session_factory(db)() as s:
        return s.scalar(select(func.count()).select_from(AlarmRow).where(AlarmRow.is_open)) or 0


def test_transitions_are_stored_with_the_alarm(db: Engine) -> None:
    engine = new_engine(db)
    assert feed(engine, range(0, 10), 92) == ["activate:active_unack"]
    assert feed(engine, range(10, 20), 70) == ["clear:rtn_unack"]
    (alarm,) = engine.store.load_open(["demo"])
    assert (alarm.state, alarm.condition, alarm.acked) == (AlarmState.RTN_UNACK, False, False)
    assert (alarm.raised_at, alarm.cleared_at) == (at(5), at(15))
    assert (alarm.fault_code, alarm.family, alarm.value) == ("PUMP_BEARING_TEMP", "bearing", 70)
    steps = engine.store.transitions(alarm.alarm_id)
    assert [(s.transition, s.previous_state, s.state, s.at) for s in steps] == [
        ("activate", AlarmState.NORMAL, AlarmState.ACTIVE_UNACK, at(5)),
        ("clear", AlarmState.ACTIVE_UNACK, AlarmState.RTN_UNACK, at(15)),
    ]
    assert engine.store.load_open(["elsewhere"]) == []


def test_restart_mid_fault_continues_without_a_second_alarm(db: Engine) -> None:
    first = new_engine(db)
    assert feed(first, range(0, 8), 95) == ["activate:active_unack"]
    (before,) = first.store.load_open()

    second = new_engine(db)  # the process restarted while the fault is still there
    assert feed(second, range(8, 30), 95) == []
    assert open_rows(db) == 1
    assert feed(second, range(30, 40), 60) == ["clear:rtn_unack"]
    (after,) = second.store.load_open()
    assert after.alarm_id == before.alarm_id
    assert after.cleared_at == at(35)


def test_restart_after_clear_then_new_fault_reopens_the_same_alarm(db: Engine) -> None:
    first = new_engine(db)
    feed(first, range(0, 20), 95)
    feed(first, range(20, 30), 60)
    second = new_engine(db)
    assert feed(second, range(30, 40), 95) == ["activate:active_unack"]
    (alarm,) = second.store.load_open()
    assert alarm.activations == 2


def test_console_acknowledge_is_seen_by_the_running_engine(db: Engine) -> None:
    engine = new_engine(db)
    feed(engine, range(0, 10), 95)
    (alarm,) = engine.store.load_open()
    event = acknowledge(db, alarm.alarm_id, actor="zhang", comment="on my way", at=at(20))
    assert (event.transition, event.previous_state, event.state) == (
        "acknowledge",
        AlarmState.ACTIVE_UNACK,
        AlarmState.ACTIVE_ACK,
    )
    assert (event.actor, event.comment, event.at, event.alarm_id) == (
        "zhang",
        "on my way",
        at(20),
        alarm.alarm_id,
    )
    with pytest.raises(InvalidTransitionError, match="already acknowledged"):
        acknowledge(db, alarm.alarm_id, actor="li", at=at(21))
    with pytest.raises(UnknownAlarmError):
        acknowledge(db, "no-such-alarm", actor="li", at=at(21))
    # The running engine keeps no stale copy: the clear finds the acknowledged alarm.
    assert feed(engine, range(30, 40), 60) == ["clear:normal"]
    assert engine.store.load_open() == []
    stored = engine.store.get(alarm.alarm_id)
    assert stored is not None and (stored.state, stored.acked_by) == (AlarmState.NORMAL, "zhang")
    assert [s.actor for s in engine.store.transitions(alarm.alarm_id)] == [None, "zhang", None]


def test_acknowledge_in_rtn_unack_closes_the_alarm(db: Engine) -> None:
    engine = new_engine(db)
    feed(engine, range(0, 10), 95)
    feed(engine, range(10, 20), 60)
    (alarm,) = engine.store.load_open()
    event = engine.store.acknowledge(alarm.alarm_id, actor="zhang", at=at(30))
    assert event.state is AlarmState.NORMAL
    assert open_rows(db) == 0
    assert feed(engine, range(40, 50), 95) == ["activate:active_unack"]
    (fresh,) = engine.store.load_open()
    assert fresh.alarm_id != alarm.alarm_id


def test_facts_survive_a_reload(db: Engine) -> None:
    engine = new_engine(db)
    feed(engine, range(0, 10), 95)
    (alarm,) = engine.store.load_open()
    engine.store.change(
        alarm.alarm_id, lambda a: alarms.shelve(a, at=at(11), until=at(3600), actor="op")
    )
    engine.store.change(
        alarm.alarm_id, lambda a: alarms.remove_from_service(a, at=at(12), actor="op")
    )
    (reloaded,) = engine.store.load_open()
    assert reloaded.state is AlarmState.OUT_OF_SERVICE
    assert (reloaded.shelved_until, reloaded.out_of_service, reloaded.condition) == (
        at(3600),
        True,
        True,
    )


def test_database_refuses_a_second_open_alarm_per_rule(db: Engine) -> None:
    engine = new_engine(db)
    feed(engine, range(0, 10), 95)
    (alarm,) = engine.store.load_open()
    with session_factory(db).begin() as s:
        row = s.get(AlarmRow, alarm.alarm_id)
        assert row is not None and row_to_alarm(row) == alarm
    duplicate = replace(alarm, alarm_id="dup")
    with pytest.raises(IntegrityError):
        engine.store.change_open(
            ("demo", "P-01", "other.rule"), lambda _none: alarms.AlarmUpdate(duplicate, None, True)
        )


def test_every_event_of_an_alarm_carries_its_rules_incident_family(db: Engine) -> None:
    engine = RulesEngine([rule(incident="rotor")], [PUMP], AlarmStore(db))
    engine.restore(["demo"])
    raised = [
        e for t in range(0, 10) for e in engine.process("demo", [reading("bearing_temp_c", t, 95)])
    ]
    (alarm,) = engine.store.load_open()
    assert alarm.incident == "rotor"
    # an operator's action on the stored alarm (another process) carries it too
    ack = acknowledge(db, alarm.alarm_id, actor="zhang", at=at(20))
    assert [e.incident for e in raised] == ["rotor"] and ack.incident == "rotor"
    # a rule without one: its family is the incident family
    plain = RulesEngine([rule()], [PUMP_2], AlarmStore(db))
    events = [
        e
        for t in range(0, 10)
        for e in plain.process("demo", [reading("bearing_temp_c", t, 95, equipment="P-02")])
    ]
    assert [(e.family, e.incident) for e in events] == [("bearing", "bearing")]


def test_the_alarm_text_is_stored_as_a_key_and_its_parameters(db: Engine) -> None:
    """The text is rendered in the reader's language later; `message` stays English."""
    engine = new_engine(db)
    (event,) = engine.process("demo", [reading("bearing_temp_c", t, 92.5) for t in range(8)])
    assert event.message_key == "rule.pump.bearing_temp_high"
    params = {"equipment": "P-01", "value": 92.5, "limit": 85.0, "point": "bearing_temp_c"}
    assert event.params == params
    assert event.message == "P-01: bearing 92.5 > 85.0"  # the rule's English template
    (stored,) = AlarmStore(db).load_open(["demo"])
    assert (stored.message_key, dict(stored.params)) == (event.message_key, params)
    assert i18n.render(stored.message_key, stored.params, "zh-CN") == (
        "P-01：轴承温度 92.5 °C，超过 85.0 °C"
    )
    wire = type(event).model_validate_json(event.model_dump_json(by_alias=True))
    assert (wire.message_key, wire.params) == (event.message_key, params)


def test_the_register_dates_pumps_learn_from_and_an_overhaul_renews_them(db: Engine) -> None:
    """Third review of issue 20, M3: the rules read each pump's last overhaul (else install)
    from the asset register; after the maintenance service moves it, the pump's learning
    rule forgets its baseline (`RulesEngine.renew`, at start and at every outbox sweep)."""
    from datetime import date

    from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow
    from bldgwatch.rules.evaluator import Equipment
    from bldgwatch.rules.schema import load_rules

    with session_factory(db).begin() as s:
        s.add(SiteRow(id="demo", name="Demo"))
        s.flush()
        s.add(BuildingRow(site="demo", id="B1", name="B1"))
        s.flush()
        for pid, installed, overhaul in (
            ("P-01", date(2024, 5, 1), None),
            ("P-02", date(2020, 1, 1), date(2025, 3, 1)),
        ):
            s.add(
                EquipmentRow(
                    site="demo", id=pid, building="B1", type="pump", name=pid, rated={},
                    params={}, installed=installed, last_overhaul=overhaul,
                )
            )  # fmt: skip
        s.add(EquipmentRow(site="demo", id="EM-1", building="B1", type="electricity_meter"))
    store = AlarmStore(db)
    assert store.renewals(["demo"]) == {
        ("demo", "P-01"): date(2024, 5, 1),
        ("demo", "P-02"): date(2025, 3, 1),
    }
    assert store.renewals(["elsewhere"]) == {}
    pump = Equipment("demo", "P-01", "pump", "B1", {}, {"current_a": 30.0})
    engine = RulesEngine(load_rules(["pump"], []), [pump], store)
    engine.restore(["demo"])  # takes the dates: nothing learned, nothing forgotten
    assert engine.renew(["demo"]) == 0
    with session_factory(db).begin() as s:
        row = s.get(EquipmentRow, ("demo", "P-01"))
        assert row is not None
        row.last_overhaul = date(2026, 12, 1)  # a repair overhauled it (`maintenance.worklog`)
    assert engine.renew(["demo"]) == 1
    memory = engine.evaluator.memories(everything=True)[("demo", "P-01", "pump.energy_drift")]
    assert memory["since"] == "2026-12-01"
