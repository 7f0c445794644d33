"""Communication loss on the clock: gateways silent or offline (last will), devices the
gateway says do not answer; first cause only; alarms with their cause in both languages."""

from __future__ import annotations

from sqlalchemy import Engine

from bldgwatch.core import i18n
from bldgwatch.core.models import AlarmState
from bldgwatch.rules.comms import CommsWatch, parse_status
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.schema import Rule, builtin_pack_path, load_rule_file
from bldgwatch.rules.store import AlarmStore
from tests.rules.helpers import T0_MS, at, reading

PUMP = Equipment("demo", "P-01", "pump", "B1", {"comms_silence_s": 20.0})
SENSOR = Equipment("demo", "TS-01", "temp_sensor", "B1")
COMMS: list[Rule] = list(load_rule_file(builtin_pack_path("comms")).rules)
STALE = load_rule_file(builtin_pack_path("pump")).rules[-1]  # pump.no_data


def ms(seconds: float) -> int:
    return T0_MS + int(seconds * 1000)


def run(watch: CommsWatch, start: int, end: int) -> list[tuple[int, str, bool, object]]:
    """Tick once a second; (second, rule, active, cause key) of each change."""
    found = []
    for t in range(start, end):
        for c in watch.tick(ms(t)):
            cause = (c.detail or {}).get("cause", {}).get("key")
            found.append((t, c.rule.id, c.active, cause))
    return found


def test_a_silent_gateway_is_lost_after_its_silence_and_on_delay_then_back() -> None:
    watch = CommsWatch(COMMS, [PUMP, SENSOR])
    for t in range(5):
        watch.saw_batch("demo", "gw-1", ["P-01", "TS-01"], [reading("running", t, 1)])
        assert watch.tick(ms(t)) == []
    # last heard at 4 s; the site's comms_silence_s is 20 s, the on-delay 30 s
    assert run(watch, 5, 60) == [(54, "comms.gateway_lost", True, "comms.cause.silent")]
    watch.saw_batch("demo", "gw-1", ["P-01"], [])
    assert run(watch, 60, 80) == [(70, "comms.gateway_lost", False, None)]  # off-delay 10 s


def test_the_last_will_makes_the_gateway_lost_at_once_and_online_ends_it() -> None:
    watch = CommsWatch(COMMS, [PUMP])
    watch.saw_status("demo", "gw-1", online=True, available={"P-01": True})
    watch.tick(ms(0))
    watch.saw_status("demo", "gw-1", online=False, available={})
    assert run(watch, 1, 40) == [(31, "comms.gateway_lost", True, "comms.cause.offline")]
    watch.saw_status("demo", "gw-1", online=True, available={"P-01": True})
    assert run(watch, 40, 60) == [(50, "comms.gateway_lost", False, None)]


def test_a_device_that_does_not_answer_is_lost_while_its_gateway_reports() -> None:
    watch = CommsWatch(COMMS, [PUMP, SENSOR])
    watch.saw_batch("demo", "gw-1", ["P-01"], [reading("_available", 0, False)])
    changes = []
    for t in range(0, 40):
        watch.saw_batch("demo", "gw-1", ["P-01"], [])  # the gateway keeps reporting
        changes += [(t, c.rule.id, c.active) for c in watch.tick(ms(t))]
    assert changes == [(30, "comms.pump_lost", True)]
    watch.saw_batch("demo", "gw-1", ["P-01"], [reading("_available", 40, True)])
    watch.tick(ms(40))
    assert run(watch, 41, 55) == [(50, "comms.pump_lost", False, None)]


def test_the_devices_of_a_lost_gateway_raise_nothing_of_their_own() -> None:
    watch = CommsWatch(COMMS, [PUMP, SENSOR])
    watch.saw_status("demo", "gw-1", online=True, available={"P-01": True, "TS-01": True})
    watch.tick(ms(0))
    watch.saw_status("demo", "gw-1", online=False, available={"P-01": False, "TS-01": False})
    assert run(watch, 1, 100) == [(31, "comms.gateway_lost", True, "comms.cause.offline")]
    assert [(site, sorted(eqs), lost) for site, eqs, lost in watch.lost_gateways()] == [
        ("demo", ["P-01", "TS-01"], True)
    ]


def test_a_restored_alarm_continues_for_a_gateway_not_heard_of_yet() -> None:
    watch = CommsWatch(COMMS, [PUMP])
    assert watch.restore(("demo", "gw-1", "comms.gateway_lost"), active=True)
    assert not watch.restore(("demo", "P-01", "pump.bearing_temp_high"), active=True)
    watch.saw_batch("demo", "gw-1", ["P-01"], [])
    assert run(watch, 0, 15) == [(10, "comms.gateway_lost", False, None)]


def test_status_documents_are_read_defensively() -> None:
    doc = {"state": "online", "devices": {"P-01": {"available": False}, "E-01": {"x": 1}}}
    status = parse_status(doc)
    assert status is not None and status.online and status.available == {"P-01": False}
    assert parse_status({"state": "offline"}) is not None
    for bad in ({"state": "maybe"}, [], "offline", {"devices": {}}):
        assert parse_status(bad) is None


def test_the_engine_raises_one_alarm_for_a_lost_gateway_and_holds_stale_points(
    db: Engine,
) -> None:
    engine = RulesEngine([*COMMS, STALE], [PUMP], AlarmStore(db))
    engine.evaluate("demo", [reading("running", 0, 1)], gateway="gw-1", equipment=["P-01"])
    events = []
    for t in range(0, 700, 5):  # longer than pump.no_data's 600 s
        for pending in engine.tick(at(t)):
            event = engine.commit(pending)
            if event is not None:
                events.append(event)
    assert [(e.rule, e.transition) for e in events] == [("comms.gateway_lost", "activate")]
    (alarm,) = AlarmStore(db).load_open(["demo"])
    assert (alarm.equipment, alarm.equipment_type, alarm.fault_code) == (
        "gw-1",
        "gateway",
        "GATEWAY_COMMS_LOSS",
    )
    assert alarm.state is AlarmState.ACTIVE_UNACK
    assert alarm.message == "gw-1: communication lost (no data for 20 s)"
    assert i18n.render(alarm.message_key, alarm.params, "zh-CN") == "gw-1：通信中断（20 秒无数据）"
    assert alarm.value is not None and alarm.value >= 20 and alarm.params["unit"] == "s"
