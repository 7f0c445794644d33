"""The ISA-18.2 alarm state machine (pure: alarms in, alarms and events out).

An alarm occurrence keeps facts — is the condition active, has it been acknowledged, is it
suppressed by design, shelved (until when), out of service — and its displayed state is
derived from them (`derive_state`). Every operation returns the updated alarm and, when the
displayed state moved, the `AlarmEvent` to publish. Facts that change without a visible
change (a clear while shelved) are still returned so the store keeps them, with no event.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bldgwatch.core.models import AlarmEvent, AlarmState, MaintenanceAction, Severity
from bldgwatch.rules.errors import InvalidTransitionError
from bldgwatch.rules.evaluator import AlarmKey, ChangeCause, ConditionChange

OPERATOR_VISIBLE_UNACKED = frozenset({AlarmState.ACTIVE_UNACK, AlarmState.RTN_UNACK})
ESCALATED_KEY = "alarm.history.escalated"
"""The escalation's note in the catalogue: `{minutes}` the alarm waited unacknowledged."""
SHELVABLE = frozenset({AlarmState.ACTIVE_UNACK, AlarmState.ACTIVE_ACK, AlarmState.RTN_UNACK})


class Transition(StrEnum):
    """Names of transitions as published in `AlarmEvent.transition`."""

    ACTIVATE = "activate"
    CLEAR = "clear"
    ACKNOWLEDGE = "acknowledge"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    REMOVE_FROM_SERVICE = "remove_from_service"
    RETURN_TO_SERVICE = "return_to_service"
    ESCALATE = "escalate"


def new_uuid() -> str:
    """A fresh uuid4 as text."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm occurrence of (site, equipment, rule), from activation until normal."""

    alarm_id: str
    site: str
    building: str
    equipment: str
    equipment_type: str
    rule: str
    fault_code: str
    family: str
    severity: Severity
    priority: int
    maintenance: MaintenanceAction
    message: str
    raised_at: datetime
    updated_at: datetime
    state: AlarmState
    condition: bool = True
    acked: bool = False
    suppressed: bool = False
    out_of_service: bool = False
    shelved_until: datetime | None = None
    cleared_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    value: float | None = None
    activations: int = 1
    chatter_count: int = 0
    escalated_at: datetime | None = None
    incident: str | None = None  # the rule's incident family (None: stored before it existed)
    message_key: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> AlarmKey:
        """(site, equipment, rule)."""
        return (self.site, self.equipment, self.rule)

    @property
    def is_open(self) -> bool:
        """Open until it is back to normal."""
        return self.state is not AlarmState.NORMAL


@dataclass(frozen=True, slots=True)
class AlarmUpdate:
    """The alarm after an operation, and the event to publish when its state moved."""

    alarm: Alarm
    event: AlarmEvent | None
    created: bool = False


def derive_state(a: Alarm) -> AlarmState:
    """The displayed ISA-18.2 state of an alarm's facts."""
    if not a.condition and a.acked:
        return AlarmState.NORMAL  # nothing left to show or to acknowledge
    if a.out_of_service:
        return AlarmState.OUT_OF_SERVICE
    if a.shelved_until is not None:
        return AlarmState.SHELVED
    if a.suppressed:
        return AlarmState.SUPPRESSED
    if a.condition:
        return AlarmState.ACTIVE_ACK if a.acked else AlarmState.ACTIVE_UNACK
    return AlarmState.RTN_UNACK


def _finish(
    before: Alarm,
    after: Alarm,
    transition: Transition,
    *,
    at: datetime,
    value: float | None = None,
    actor: str | None = None,
    comment: str | None = None,
    comment_key: str = "",
    comment_params: dict[str, Any] | None = None,
    new_id: Callable[[], str] = new_uuid,
    created: bool = False,
    always: bool = False,
) -> AlarmUpdate:
    state = derive_state(after)
    after = replace(after, state=state, updated_at=at)
    if state is before.state and not always and not created:
        return AlarmUpdate(after, None)
    event = AlarmEvent(
        event_id=new_id(),
        alarm_id=after.alarm_id,
        site=after.site,
        building=after.building,
        equipment=after.equipment,
        equipment_type=after.equipment_type,
        rule=after.rule,
        fault_code=after.fault_code,
        family=after.family,
        incident=after.incident or after.family,
        severity=after.severity,
        priority=after.priority,
        transition=transition.value,
        state=state,
        previous_state=AlarmState.NORMAL if created else before.state,
        at=at,
        value=value,
        message=after.message,
        message_key=after.message_key,
        params=dict(after.params),
        maintenance=after.maintenance,
        actor=actor,
        comment=comment,
        comment_key=comment_key,
        comment_params=dict(comment_params or {}),
    )
    return AlarmUpdate(after, event, created)


def _texts(change: ConditionChange, equipment: str) -> dict[str, Any]:
    """The alarm's text: English `message`, and its catalogue key and parameters."""
    rule, extra = change.rule, change.detail
    value = None if change.value is None or math.isnan(change.value) else change.value
    limit = None if change.limit is None or math.isnan(change.limit) else change.limit
    return {
        "message": rule.render(value=value, limit=limit, equipment=equipment, extra=extra),
        "message_key": rule.message_key,
        "params": rule.message_params(value=value, limit=limit, equipment=equipment, extra=extra),
    }


def _new_alarm(change: ConditionChange, alarm_id: str, chattering: bool) -> Alarm:
    eq, rule = change.equipment, change.rule
    return Alarm(
        alarm_id=alarm_id,
        site=eq.site,
        building=eq.building,
        equipment=eq.id,
        equipment_type=eq.type,
        rule=rule.id,
        fault_code=rule.fault_code,
        family=rule.family,
        incident=rule.incident_family,
        severity=rule.severity,
        priority=rule.priority,
        maintenance=rule.maintenance,
        raised_at=change.at,
        updated_at=change.at,
        state=AlarmState.NORMAL,
        condition=True,
        value=change.value,
        chatter_count=int(chattering),
        **_texts(change, eq.id),
    )


def _condition_facts(alarm: Alarm, change: ConditionChange, chattering: bool) -> Alarm:
    """The alarm's facts after an evaluator change (the state is derived afterwards)."""
    after = replace(alarm, suppressed=change.suppressed, incident=change.rule.incident_family)
    value = change.value if change.value is not None else alarm.value
    if change.active and not alarm.condition:
        return replace(
            after, condition=True, acked=False, acked_at=None, acked_by=None, cleared_at=None,
            activations=alarm.activations + 1, chatter_count=alarm.chatter_count + chattering,
            value=value, **_texts(change, alarm.equipment),
        )  # fmt: skip
    if not change.active and alarm.condition:
        return replace(after, condition=False, cleared_at=change.at, value=value)
    return after


def on_condition(
    alarm: Alarm | None,
    change: ConditionChange,
    *,
    chattering: bool = False,
    new_id: Callable[[], str] = new_uuid,
) -> AlarmUpdate | None:
    """Apply an evaluator change to the open alarm of its key (None: there is none).

    With no open alarm, only an active, unsuppressed condition opens one: an activation
    while suppressed by design never reaches operators. Re-activation of an open alarm
    (e.g. in rtn_unack) reopens the same alarm and counts `activations`.
    """
    if alarm is None:
        if not change.active or change.suppressed:
            return None
        created = _new_alarm(change, new_id(), chattering)
        return _finish(
            created,
            created,
            Transition.ACTIVATE,
            at=change.at,
            value=change.value,
            new_id=new_id,
            created=True,
        )
    if not alarm.is_open:
        raise InvalidTransitionError(
            alarm.alarm_id, alarm.state, "update", "alarm is closed", code="closed"
        )
    if change.active == alarm.condition and change.suppressed == alarm.suppressed:
        return None  # a repeat (e.g. a redelivered reading after restart)
    after = _condition_facts(alarm, change, chattering)
    if change.cause is ChangeCause.SUPPRESSION:
        transition = Transition.SUPPRESS if change.suppressed else Transition.UNSUPPRESS
    else:
        transition = Transition.ACTIVATE if change.active else Transition.CLEAR
    return _finish(alarm, after, transition, at=change.at, value=change.value, new_id=new_id)


def _by_operator(
    before: Alarm,
    after: Alarm,
    transition: Transition,
    *,
    at: datetime,
    actor: str | None,
    comment: str | None,
    new_id: Callable[[], str],
) -> AlarmUpdate:
    return _finish(
        before, after, transition, at=at, actor=actor, comment=comment, new_id=new_id, always=True
    )


def acknowledge(
    alarm: Alarm,
    *,
    at: datetime,
    actor: str,
    comment: str | None = None,
    new_id: Callable[[], str] = new_uuid,
    comment_key: str = "",
    comment_params: dict[str, Any] | None = None,
) -> AlarmUpdate:
    """Operator acknowledgement: active_unack → active_ack, rtn_unack → normal (a verdict's
    word as `comment_key`, rendered when read; `comment` its giver's rendering)."""
    if alarm.state not in OPERATOR_VISIBLE_UNACKED:
        code, reason = {
            AlarmState.ACTIVE_ACK: ("already_acknowledged", "already acknowledged"),
            AlarmState.NORMAL: ("closed", "the alarm is closed"),
        }.get(alarm.state, ("not_shown", "the alarm is not shown to operators in this state"))
        raise InvalidTransitionError(alarm.alarm_id, alarm.state, "acknowledge", reason, code=code)
    after = replace(alarm, acked=True, acked_at=at, acked_by=actor)
    return _finish(
        alarm,
        after,
        Transition.ACKNOWLEDGE,
        at=at,
        actor=actor,
        comment=comment,
        comment_key=comment_key,
        comment_params=comment_params,
        new_id=new_id,
        always=True,
    )


def shelve(
    alarm: Alarm,
    *,
    at: datetime,
    until: datetime,
    actor: str,
    comment: str | None = None,
    new_id: Callable[[], str] = new_uuid,
) -> AlarmUpdate:
    """Manual shelving until `until` (the shelf expires then; see `expire_shelf`)."""
    if alarm.state not in SHELVABLE:
        raise InvalidTransitionError(
            alarm.alarm_id,
            alarm.state,
            "shelve",
            "only active or returned alarms can be shelved",
            code="not_shelvable",
        )
    if until <= at:
        raise InvalidTransitionError(
            alarm.alarm_id,
            alarm.state,
            "shelve",
            "the shelf must end in the future",
            code="shelf_in_past",
        )
    after = replace(alarm, shelved_until=until)
    return _by_operator(
        alarm, after, Transition.SHELVE, at=at, actor=actor, comment=comment, new_id=new_id
    )


def unshelve(
    alarm: Alarm,
    *,
    at: datetime,
    actor: str | None = None,
    comment: str | None = None,
    new_id: Callable[[], str] = new_uuid,
) -> AlarmUpdate:
    """End the shelf; an alarm still active comes back unacknowledged."""
    if alarm.shelved_until is None or not alarm.is_open:
        raise InvalidTransitionError(
            alarm.alarm_id, alarm.state, "unshelve", "it is not shelved", code="not_shelved"
        )
    after = replace(alarm, shelved_until=None)
    if after.condition:
        after = replace(after, acked=False, acked_at=None, acked_by=None)
    return _by_operator(
        alarm, after, Transition.UNSHELVE, at=at, actor=actor, comment=comment, new_id=new_id
    )


def expire_shelf(alarm: Alarm, now: datetime) -> AlarmUpdate | None:
    """Unshelve when the shelf has run out at `now` (driven by a clock), else None."""
    if alarm.shelved_until is None or alarm.shelved_until > now or not alarm.is_open:
        return None
    return unshelve(alarm, at=now, comment="shelf expired")


def remove_from_service(
    alarm: Alarm,
    *,
    at: datetime,
    actor: str,
    comment: str | None = None,
    new_id: Callable[[], str] = new_uuid,
) -> AlarmUpdate:
    """Take the alarm out of service (e.g. its sensor is being replaced)."""
    if alarm.out_of_service or not alarm.is_open:
        raise InvalidTransitionError(
            alarm.alarm_id,
            alarm.state,
            "remove from service",
            "it is closed or already out of service",
            code="already_out_of_service",
        )
    after = replace(alarm, out_of_service=True)
    return _by_operator(
        alarm,
        after,
        Transition.REMOVE_FROM_SERVICE,
        at=at,
        actor=actor,
        comment=comment,
        new_id=new_id,
    )


def return_to_service(
    alarm: Alarm,
    *,
    at: datetime,
    actor: str,
    comment: str | None = None,
    new_id: Callable[[], str] = new_uuid,
) -> AlarmUpdate:
    """Put an out-of-service alarm back; its state follows its facts again."""
    if not alarm.out_of_service:
        raise InvalidTransitionError(
            alarm.alarm_id,
            alarm.state,
            "return to service",
            "it is not out of service",
            code="not_out_of_service",
        )
    after = replace(alarm, out_of_service=False)
    return _by_operator(
        alarm,
        after,
        Transition.RETURN_TO_SERVICE,
        at=at,
        actor=actor,
        comment=comment,
        new_id=new_id,
    )


def escalate(
    alarm: Alarm, now: datetime, *, after: timedelta, new_id: Callable[[], str] = new_uuid
) -> AlarmUpdate | None:
    """Escalate an alarm left unacknowledged (active, shown to operators) for `after`.

    Once per activation: the event `escalate` keeps the state and names the wait in its
    comment. Shelved, suppressed and out-of-service alarms are not shown, so not escalated.
    """
    if alarm.state is not AlarmState.ACTIVE_UNACK or alarm.escalated_at is not None:
        return None
    since = alarm.raised_at  # the occurrence has waited for an operator since it was raised
    if now - since < after:
        return None
    after_facts = replace(alarm, escalated_at=now)
    minutes = (now - since).total_seconds() / 60
    return _finish(
        alarm,
        after_facts,
        Transition.ESCALATE,
        at=now,
        comment=f"unacknowledged for {minutes:.0f} min",  # the English, for older readers
        comment_key=ESCALATED_KEY,
        comment_params={"minutes": round(minutes)},
        new_id=new_id,
        always=True,
    )
