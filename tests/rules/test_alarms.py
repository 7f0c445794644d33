"""ISA-18.2 state machine: operation sequences → transitions and states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bldgwatch.core.models import AlarmEvent, AlarmState
from bldgwatch.rules import alarms
from bldgwatch.rules.alarms import Alarm, AlarmUpdate
from bldgwatch.rules.errors import InvalidTransitionError
from bldgwatch.rules.evaluator import ChangeCause, ConditionChange
from bldgwatch.rules.flood import ChatterDetector
from tests.rules.helpers import PUMP, at, rule

S = AlarmState
RULE = rule()


@dataclass
class Driver:
    """Plays operations against the pure functions, keeping the open alarm like the store."""

    condition: bool = False
    suppressed: bool = False
    alarm: Alarm | None = None
    last: Alarm | None = None
    events: list[AlarmEvent] = field(default_factory=list)
    alarm_ids: set[str] = field(default_factory=set)

    def _take(self, update: AlarmUpdate | None) -> None:
        if update is None:
            return
        self.last = update.alarm
        self.alarm = update.alarm if update.alarm.is_open else None
        self.alarm_ids.add(update.alarm.alarm_id)
        if update.event is not None:
            self.events.append(update.event)

    def change(self, cause: ChangeCause, t: float) -> None:
        ch = ConditionChange(
            PUMP,
            RULE,
            at(t),
            cause,
            self.condition,
            self.suppressed,
            90.0 if self.condition else 70.0,
            85.0,
        )
        self._take(alarms.on_condition(self.alarm, ch))

    def run(self, op: str, t: float) -> None:
        if op in ("on", "off"):
            self.condition = op == "on"
            self.change(ChangeCause.CONDITION, t)
        elif op in ("supp", "unsupp"):
            self.suppressed = op == "supp"
            self.change(ChangeCause.SUPPRESSION, t)
        else:
            assert self.alarm is not None
            a, when = self.alarm, at(t)
            ops: dict[str, Callable[[], AlarmUpdate | None]] = {
                "ack": lambda: alarms.acknowledge(a, at=when, actor="op1", comment="seen"),
                "shelve": lambda: alarms.shelve(a, at=when, until=at(100), actor="op1"),
                "expire": lambda: alarms.expire_shelf(a, at(200)),
                "unshelve": lambda: alarms.unshelve(a, at=when, actor="op1"),
                "oos": lambda: alarms.remove_from_service(a, at=when, actor="tech"),
                "ris": lambda: alarms.return_to_service(a, at=when, actor="tech"),
            }
            self._take(ops[op]())


A, C, ACK = "activate", "clear", "acknowledge"
CASES = [
    (
        "ack then clear closes",
        ["on", "ack", "off"],
        [(A, S.ACTIVE_UNACK), (ACK, S.ACTIVE_ACK), (C, S.NORMAL)],
        1,
    ),
    (
        "clear then ack closes",
        ["on", "off", "ack"],
        [(A, S.ACTIVE_UNACK), (C, S.RTN_UNACK), (ACK, S.NORMAL)],
        1,
    ),
    (
        "re-activation in rtn_unack reopens the same alarm",
        ["on", "off", "on"],
        [(A, S.ACTIVE_UNACK), (C, S.RTN_UNACK), (A, S.ACTIVE_UNACK)],
        1,
    ),
    (
        "after normal a fault is a new alarm",
        ["on", "ack", "off", "on"],
        [(A, S.ACTIVE_UNACK), (ACK, S.ACTIVE_ACK), (C, S.NORMAL), (A, S.ACTIVE_UNACK)],
        2,
    ),
    ("suppressed by design: nothing reaches operators", ["supp", "on", "off", "unsupp"], [], 0),
    (
        "active at the end of suppression activates",
        ["supp", "on", "unsupp"],
        [(A, S.ACTIVE_UNACK)],
        1,
    ),
    (
        "active alarm suppressed and released",
        ["on", "supp", "unsupp"],
        [(A, S.ACTIVE_UNACK), ("suppress", S.SUPPRESSED), ("unsuppress", S.ACTIVE_UNACK)],
        1,
    ),
    (
        "cleared while suppressed comes back rtn_unack",
        ["on", "supp", "off", "unsupp"],
        [(A, S.ACTIVE_UNACK), ("suppress", S.SUPPRESSED), ("unsuppress", S.RTN_UNACK)],
        1,
    ),
    (
        "shelf expiry brings an active alarm back unacknowledged",
        ["on", "shelve", "off", "on", "expire"],
        [(A, S.ACTIVE_UNACK), ("shelve", S.SHELVED), ("unshelve", S.ACTIVE_UNACK)],
        1,
    ),
    (
        "an acknowledged alarm also comes back unacknowledged",
        ["on", "ack", "shelve", "expire"],
        [
            (A, S.ACTIVE_UNACK),
            (ACK, S.ACTIVE_ACK),
            ("shelve", S.SHELVED),
            ("unshelve", S.ACTIVE_UNACK),
        ],
        1,
    ),
    (
        "acknowledged shelved alarm closes on clear",
        ["on", "ack", "shelve", "off"],
        [(A, S.ACTIVE_UNACK), (ACK, S.ACTIVE_ACK), ("shelve", S.SHELVED), (C, S.NORMAL)],
        1,
    ),
    (
        "manual unshelve",
        ["on", "shelve", "unshelve"],
        [(A, S.ACTIVE_UNACK), ("shelve", S.SHELVED), ("unshelve", S.ACTIVE_UNACK)],
        1,
    ),
    (
        "out of service hides changes until returned",
        ["on", "oos", "off", "ris"],
        [
            (A, S.ACTIVE_UNACK),
            ("remove_from_service", S.OUT_OF_SERVICE),
            ("return_to_service", S.RTN_UNACK),
        ],
        1,
    ),
]


@pytest.mark.parametrize(
    ("ops", "expected", "n_alarms"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_state_machine_table(
    ops: list[str], expected: list[tuple[str, AlarmState]], n_alarms: int
) -> None:
    d = Driver()
    for t, op in enumerate(ops):
        d.run(op, float(t))
    assert [(e.transition, e.state) for e in d.events] == expected
    assert len(d.alarm_ids) == n_alarms
    previous = S.NORMAL
    for e in d.events:  # every event chains from the state before it
        assert e.previous_state == previous
        previous = S.NORMAL if e.state is S.NORMAL else e.state
    assert len({e.event_id for e in d.events}) == len(d.events)


def test_events_carry_rule_equipment_and_source_time() -> None:
    d = Driver()
    d.run("on", 7)
    d.run("off", 9)
    d.run("on", 11)
    first, clear, again = d.events
    assert (first.at, clear.at, again.at) == (at(7), at(9), at(11))
    assert first.alarm_id == clear.alarm_id == again.alarm_id
    assert (first.site, first.building, first.equipment, first.equipment_type) == (
        "demo",
        "B1",
        "P-01",
        "pump",
    )
    assert (first.rule, first.fault_code, first.family, first.priority) == (
        "pump.bearing_temp_high",
        "PUMP_BEARING_TEMP",
        "bearing",
        2,
    )
    assert first.maintenance == "reactive"
    assert first.message == "P-01: bearing 90.0 > 85.0"
    assert first.value == 90.0 and clear.value == 70.0
    assert d.alarm is not None and d.alarm.activations == 2
    assert d.alarm.raised_at == at(7)


def test_acknowledge_records_who_and_why() -> None:
    d = Driver()
    d.run("on", 0)
    d.run("ack", 3)
    event = d.events[-1]
    assert (event.actor, event.comment, event.at) == ("op1", "seen", at(3))
    assert d.alarm is not None and (d.alarm.acked_by, d.alarm.acked_at) == ("op1", at(3))


def test_repeated_change_is_a_no_op() -> None:
    d = Driver()
    d.run("on", 0)
    assert d.alarm is not None
    again = ConditionChange(PUMP, RULE, at(1), ChangeCause.CONDITION, True, False, 91.0, 85.0)
    assert alarms.on_condition(d.alarm, again) is None
    off_without_alarm = ConditionChange(
        PUMP, RULE, at(1), ChangeCause.CONDITION, False, False, 70.0, 85.0
    )
    assert alarms.on_condition(None, off_without_alarm) is None


@pytest.mark.parametrize(
    ("ops", "bad", "match"),
    [
        (["on", "ack"], "ack", "cannot acknowledge in state active_ack: already acknowledged"),
        (["on", "supp"], "ack", "not shown to operators"),
        (["on", "shelve"], "shelve", "only active or returned alarms"),
        (["on"], "unshelve", "it is not shelved"),
        (["on"], "ris", "not out of service"),
        (["on", "oos"], "oos", "already out of service"),
    ],
)
def test_invalid_operations_raise(ops: list[str], bad: str, match: str) -> None:
    d = Driver()
    for t, op in enumerate(ops):
        d.run(op, float(t))
    with pytest.raises(InvalidTransitionError, match=match):
        d.run(bad, 50.0)


def test_shelf_must_end_in_the_future_and_closed_alarms_are_final() -> None:
    d = Driver()
    d.run("on", 0)
    assert d.alarm is not None
    with pytest.raises(InvalidTransitionError, match="future"):
        alarms.shelve(d.alarm, at=at(10), until=at(5), actor="op1")
    d.run("ack", 1)
    d.run("off", 2)
    assert d.alarm is None and d.last is not None and not d.last.is_open
    with pytest.raises(InvalidTransitionError, match="closed"):
        alarms.acknowledge(d.last, at=at(3), actor="op1")
    change = ConditionChange(PUMP, RULE, at(4), ChangeCause.CONDITION, True, False, 90.0, 85.0)
    with pytest.raises(InvalidTransitionError, match="closed"):
        alarms.on_condition(d.last, change)


def test_expire_shelf_waits_for_the_expiry() -> None:
    d = Driver()
    d.run("on", 0)
    d.run("shelve", 1)
    assert d.alarm is not None
    assert alarms.expire_shelf(d.alarm, at(99)) is None
    update = alarms.expire_shelf(d.alarm, at(100))
    assert update is not None and update.alarm.state is S.ACTIVE_UNACK


def test_chatter_detector_counts_activations_in_the_window() -> None:
    det = ChatterDetector(window_s=60, threshold=3)
    key = ("demo", "P-01", "r")
    assert [det.record(key, at(t)) for t in (0, 10, 20, 30)] == [False, False, True, True]
    assert det.record(key, at(30) + timedelta(seconds=61)) is False
    assert det.record(("demo", "P-02", "r"), at(31)) is False


def test_chattering_activation_is_counted_on_the_alarm() -> None:
    d = Driver()
    d.run("on", 0)
    d.run("off", 1)
    assert d.alarm is not None
    again = ConditionChange(PUMP, RULE, at(2), ChangeCause.CONDITION, True, False, 90.0, 85.0)
    update = alarms.on_condition(d.alarm, again, chattering=True)
    assert update is not None
    assert (update.alarm.activations, update.alarm.chatter_count) == (2, 1)
