"""Incidents: alarm transitions in, reactive work orders out.

An incident is (site, equipment, fault family) while its order is open; its key sits in
`work_orders.incident_key` (unique) until the order is closed or cancelled. Handling is
idempotent on the event id: the `incident_alarms` row is claimed first, and a duplicate key
means the event was handled before. Two processes racing to open the same incident meet at the
unique key; the loser rolls back and retries, and then attaches to the winner's order.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.core.models import (
    ACTIVE_STATES,
    AlarmEvent,
    AlarmState,
    MaintenanceAction,
    WorkOrderEvent,
)
from bldgwatch.maintenance import entrapments
from bldgwatch.maintenance.condition import ConditionReader
from bldgwatch.maintenance.config import SlaPolicy, StageConfig
from bldgwatch.maintenance.events import ALARM_ATTACHED, CREATED, order_event
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import (
    IncidentAlarmRow,
    WorkOrderKind,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.outbox import enqueue
from bldgwatch.maintenance.recurrence import after_repair
from bldgwatch.maintenance.scoring import FailureStage, StageScore
from bldgwatch.maintenance.sla import compute_due
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.texts import fault, named
from bldgwatch.maintenance.workorders import OrderDraft, add_note, insert_order

logger = logging.getLogger(__name__)

ACTOR = "maintenance"
MAX_ATTEMPTS = 5
_RETURNED = frozenset({AlarmState.NORMAL, AlarmState.RTN_UNACK})
PLANNED_MIN_PRIORITY = 3
_OPENING = frozenset({MaintenanceAction.REACTIVE, MaintenanceAction.PLANNED})
_DONE = frozenset({WorkOrderStatus.RESOLVED.value, WorkOrderStatus.VERIFIED.value})


class OutcomeKind(StrEnum):
    """What handling one alarm event did."""

    CREATED = "created"  # a new reactive order was opened
    ATTACHED = "attached"  # an activation joined the incident's open order
    RECORDED = "recorded"  # stored (attached if an order is open), no order opened
    DUPLICATE = "duplicate"  # seen before: nothing changed


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of `handle_alarm_event`."""

    kind: OutcomeKind
    event_id: str
    work_order_id: int | None = None
    incident_key: str | None = None
    order_event: WorkOrderEvent | None = None  # also in the outbox, sent by the service


@dataclass(frozen=True, slots=True)
class IncidentPolicy:
    """How alarms become orders: SLA clocks, stage scoring, priority escalation, and the
    window after a resolution during which related alarms still join the order."""

    sla: SlaPolicy = field(default_factory=SlaPolicy)
    stage: StageConfig = field(default_factory=StageConfig)
    raise_priority_when_late: bool = True
    window: timedelta = timedelta(hours=24)
    fits: FitCache = field(default_factory=FitCache, compare=False)
    condition: ConditionReader | None = field(default=None, compare=False)


def incident_family(event: AlarmEvent) -> str:
    """The incident family the event's rule declares (its family for older events)."""
    return event.incident or event.family


def incident_key(event: AlarmEvent) -> str:
    """The incident an event belongs to: site/equipment/incident family."""
    return f"{event.site}/{event.equipment}/{incident_family(event)}"


CONFIRMED = "confirm"
"""The transition of the event a person's confirmation makes (`confirmed_event`)."""


def is_activation(event: AlarmEvent) -> bool:
    """An alarm becoming active (not an ack, shelve or clear of an active one), or a person
    confirming one that waited for it (`maintenance: confirm`)."""
    if event.transition in ("activate", CONFIRMED):
        return True
    return event.state in ACTIVE_STATES and event.previous_state in _RETURNED


def order_priority(event: AlarmEvent, stage: str, policy: IncidentPolicy) -> int:
    """The alarm's priority, one level more urgent (towards 1) in late life; at most P3 for
    an alarm that asks for planned work (a condition-based PM is never an emergency)."""
    priority = event.priority
    if policy.raise_priority_when_late and stage == FailureStage.LATE.value:
        priority = max(1, priority - 1)
    if event.maintenance is MaintenanceAction.PLANNED:
        priority = max(priority, PLANNED_MIN_PRIORITY)
    return priority


TITLE_KEY = "workorder.title.alarm"


def title_of(event: AlarmEvent) -> i18n.Message:
    """The order's title: fault code, equipment type and id, and the alarm's text with its
    value, all rendered in the reader's language (`title` keeps the English)."""
    text: Any = event.message or event.fault_code
    if event.message_key:  # else an alarm from before alarms had keys: its English as written
        text = i18n.Message(event.message_key, event.params).to_json(default=event.message)
    kind = i18n.Message(f"equipment_type.{event.equipment_type}")
    return i18n.Message(
        TITLE_KEY,
        {
            "fault_code": event.fault_code,
            "equipment_type": kind.to_json(default=event.equipment_type),
            "equipment": event.equipment,
            "message": text,
        },
    )


def _texts(event: AlarmEvent) -> dict[str, Any]:
    """The system's texts other than the title (that is `title_key`/`title_params`)."""
    description = Message(
        "order.description.alarm",
        {
            "fault_code": event.fault_code,
            "rule": event.rule,
            "priority": event.priority,
            "building": event.building,
            "message": event.message,
        },
    )
    return {"description": description.as_dict()}


def _description(event: AlarmEvent) -> str:
    value = f", value {event.value:g}" if event.value is not None else ""
    return (
        f"Opened by alarm {event.alarm_id} (rule {event.rule}, {event.severity.value}, "
        f"P{event.priority}{value}) at {event.at.isoformat()} in building {event.building}."
    )


def _note(event: AlarmEvent) -> Message:
    return Message(
        "note.alarm",
        {
            "fault": fault(event.fault_code),
            "transition": named("transition", event.transition),
            "state": event.state.value,
            "value": event.value,
        },
    )


def _stage(session: Session, event: AlarmEvent, policy: IncidentPolicy) -> StageScore:
    return assess_stage(
        session,
        site=event.site,
        equipment=event.equipment,
        equipment_type=event.equipment_type,
        as_of=event.at,
        config=policy.stage,
        fits=policy.fits,
        condition=policy.condition,
    )


def _create(session: Session, event: AlarmEvent, policy: IncidentPolicy) -> WorkOrderRow:
    stage = _stage(session, event, policy)
    planned = event.maintenance is MaintenanceAction.PLANNED
    priority = order_priority(event, stage.stage.value, policy)
    due = compute_due(
        policy.sla, priority=priority, fault_code=event.fault_code, started_at=event.at
    )
    title = title_of(event)
    draft = OrderDraft(
        site=event.site,
        equipment=event.equipment,
        kind=WorkOrderKind.PREVENTIVE if planned else WorkOrderKind.REACTIVE,
        priority=priority,
        title=title.render("en"),
        title_key=title.key,
        title_params=title.to_json()["params"],
        description=_description(event),
        family=event.family,
        fault_code=event.fault_code,
        incident_key=incident_key(event),
        source_alarm_id=event.alarm_id,
        alarm_count=1,
        texts=_texts(event),
    )
    order = insert_order(session, draft, due=due, stage=stage, at=event.at, actor=ACTOR)
    logger.info(
        "opened work order %d (P%d, %s life) for %s",
        order.id,
        priority,
        stage.stage.value,
        draft.incident_key,
    )
    return order


def _follow_worst(
    session: Session, order: WorkOrderRow, event: AlarmEvent, policy: IncidentPolicy
) -> bool:
    """A more urgent symptom makes the order more urgent: the lower priority, the earlier due
    times (the new alarm's clocks from its own time), and a planned order becomes reactive
    when an alarm asks for a repair. True when the order changed."""
    priority = order_priority(event, order.stage, policy)
    upgrade = (
        event.maintenance is MaintenanceAction.REACTIVE
        and order.kind == WorkOrderKind.PREVENTIVE.value
        and order.pm_key is None
    )
    due = compute_due(
        policy.sla, priority=priority, fault_code=event.fault_code, started_at=event.at
    )
    earlier = due.response_due < order.response_due or due.resolution_due < order.resolution_due
    if priority >= order.priority and not upgrade and not earlier:
        return False
    order.priority = min(order.priority, priority)
    order.response_due = min(order.response_due, due.response_due)
    order.resolution_due = min(order.resolution_due, due.resolution_due)
    if upgrade:
        order.kind = WorkOrderKind.REACTIVE.value
    add_note(
        session,
        order,
        actor=ACTOR,
        at=event.at,
        kind="incident",
        message=Message(
            "note.alarm_worse",
            {"kind": named("kind", order.kind), "priority": order.priority},
        ),
    )
    return True


def _attach(session: Session, order: WorkOrderRow, event: AlarmEvent, *, count: bool) -> None:
    if count:
        order.alarm_count += 1
    order.updated_at = max(order.updated_at, event.at)
    add_note(
        session, order, actor=f"alarm:{event.rule}", at=event.at, kind="alarm", message=_note(event)
    )


def _incident_order(session: Session, event: AlarmEvent) -> WorkOrderRow | None:
    """The open order of the event's incident; for a transition of an alarm whose activation
    joined an order (under an older key), that order while it is open."""
    order = session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.incident_key == incident_key(event))
        .with_for_update()
    ).one_or_none()
    if order is not None or is_activation(event):
        return order
    joined = session.scalar(
        select(IncidentAlarmRow.work_order_id)
        .where(
            IncidentAlarmRow.alarm_id == event.alarm_id,
            IncidentAlarmRow.work_order_id.is_not(None),
        )
        .limit(1)
    )
    if joined is None:
        return None
    found = session.get(WorkOrderRow, joined, with_for_update=True)
    return found if found is not None and found.incident_key is not None else None


def _past_window(order: WorkOrderRow, event: AlarmEvent, policy: IncidentPolicy) -> bool:
    """The order was resolved longer than the window before this activation: a new failure."""
    return (
        order.resolved_at is not None
        and order.status in _DONE
        and event.at > order.resolved_at + policy.window
    )


def _apply(
    session: Session, event: AlarmEvent, claim: IncidentAlarmRow, policy: IncidentPolicy
) -> Outcome:
    key = incident_key(event)
    order = _incident_order(session, event)
    activation = is_activation(event)
    if order is not None and activation and _past_window(order, event, policy):
        logger.info("order %d resolved before the window: %s opens a new one", order.id, key)
        order.incident_key = None
        session.flush()
        order = None
    elif order is not None and activation and order.status in _DONE:
        order = after_repair(session, order, event)  # the fix did not hold
    wire: WorkOrderEvent | None = None
    if order is None and activation and event.maintenance in _OPENING:
        order = _create(session, event, policy)
        kind = OutcomeKind.CREATED
        wire = order_event(order, change=CREATED, cause=event.event_id, at=event.at, actor=ACTOR)
    elif order is not None:
        _attach(session, order, event, count=activation)
        kind = OutcomeKind.ATTACHED if activation else OutcomeKind.RECORDED
        if activation:
            _follow_worst(session, order, event, policy)
            wire = order_event(
                order,
                change=ALARM_ATTACHED,
                cause=event.event_id,
                at=event.at,
                actor=f"alarm:{event.rule}",
                previous_status=order.status,
            )
    else:
        kind = OutcomeKind.RECORDED
    if order is not None and activation and entrapments.is_entrapment_code(event.fault_code):
        created = kind is OutcomeKind.CREATED
        entrapments.open_rescue(
            session, order, alarm_id=event.alarm_id, at=event.at, created=created
        )
    claim.work_order_id = order.id if order is not None else None
    if wire is not None:
        enqueue(session, wire)
    session.flush()
    return Outcome(kind, event.event_id, claim.work_order_id, key, wire)


def confirmed_event(alarm: Any, *, at: datetime, actor: str) -> AlarmEvent:
    """The event of a person confirming an alarm whose rule waits for it (`maintenance:
    confirm`, a leak): handled like an activation that asks for a repair, so it opens the
    incident's reactive order (or joins the open one). `alarm` is the stored alarm row."""
    state = AlarmState(alarm.state)
    return AlarmEvent(
        event_id=str(uuid.uuid4()),
        alarm_id=alarm.id,
        site=alarm.site,
        building=alarm.building,
        equipment=alarm.equipment,
        equipment_type=alarm.equipment_type,
        rule=alarm.rule,
        fault_code=alarm.fault_code,
        family=alarm.family,
        incident=alarm.incident,
        severity=alarm.severity,
        priority=alarm.priority,
        transition=CONFIRMED,
        state=state,
        previous_state=state,
        at=at,
        value=alarm.value,
        message=alarm.message,
        message_key=alarm.message_key,
        params=dict(alarm.params or {}),
        maintenance=MaintenanceAction.REACTIVE,
        actor=actor,
    )


def _claim(session: Session, event: AlarmEvent) -> IncidentAlarmRow | None:
    """Insert the event's row; None when it is already there (handled before)."""
    if session.get(IncidentAlarmRow, event.event_id) is not None:
        return None
    claim = IncidentAlarmRow(
        event_id=event.event_id,
        alarm_id=event.alarm_id,
        at=event.at,
        rule=event.rule,
        fault_code=event.fault_code,
        incident=incident_family(event),
        priority=event.priority,
        transition=event.transition,
        state=event.state.value,
        value=event.value,
    )
    session.add(claim)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return claim


def handle_alarm_event(
    session: Session, event: AlarmEvent, policy: IncidentPolicy | None = None
) -> Outcome:
    """Handle one alarm transition in the session's transaction; the caller commits.

    Call it on a session with no other pending work: on a unique-key race it rolls the
    session back and starts over. Returns what it did.
    """
    policy = policy or IncidentPolicy()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claim = _claim(session, event)
        if claim is None:
            return Outcome(OutcomeKind.DUPLICATE, event.event_id, None, incident_key(event))
        try:
            return _apply(session, event, claim, policy)
        except IntegrityError:
            session.rollback()
            if attempt == MAX_ATTEMPTS:
                raise
            logger.debug("incident %s opened concurrently; retrying", incident_key(event))
    raise AssertionError("unreachable")  # pragma: no cover


def process_event(
    sessions: Callable[[], Session], event: AlarmEvent, policy: IncidentPolicy | None = None
) -> Outcome:
    """Handle one event in a transaction of its own and commit it."""
    with sessions() as session:
        outcome = handle_alarm_event(session, event, policy)
        session.commit()
        return outcome
