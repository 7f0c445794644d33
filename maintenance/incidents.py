"""Incidents: alarm transitions in, reactive work orders out.

An incident is (site, equipment, fault family) while its order is open; its key sits in
`work_orders.incident_key` (unique) until the order is closed or cancelled. Handling is
idempotent on the event id: the `incident_alarms` row is claimed first, and a duplicate key
means the event was handled before. Two processes racing to open the same incident meet at the
unique key; the loser rolls back and retries, and then attaches to the winner's order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core.models import (
    ACTIVE_STATES,
    AlarmEvent,
    AlarmState,
    MaintenanceAction,
    WorkOrderEvent,
)
from bldgwatch.maintenance.condition import ConditionReader
from bldgwatch.maintenance.config import SlaPolicy, StageConfig
from bldgwatch.maintenance.events import ALARM_ATTACHED, CREATED, order_event
from bldgwatch.maintenance.models import IncidentAlarmRow, WorkOrderKind, WorkOrderRow
from bldgwatch.maintenance.outbox import enqueue
from bldgwatch.maintenance.scoring import FailureStage, StageScore
from bldgwatch.maintenance.sla import compute_due
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.workorders import OrderDraft, add_note, insert_order

logger = logging.getLogger(__name__)

ACTOR = "maintenance"
MAX_ATTEMPTS = 5
_RETURNED = frozenset({AlarmState.NORMAL, AlarmState.RTN_UNACK})
PLANNED_MIN_PRIORITY = 3
_OPENING = frozenset({MaintenanceAction.REACTIVE, MaintenanceAction.PLANNED})


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
    """How alarms become orders: SLA clocks, stage scoring, priority escalation."""

    sla: SlaPolicy = field(default_factory=SlaPolicy)
    stage: StageConfig = field(default_factory=StageConfig)
    raise_priority_when_late: bool = True
    fits: FitCache = field(default_factory=FitCache, compare=False)
    condition: ConditionReader | None = field(default=None, compare=False)


def incident_key(event: AlarmEvent) -> str:
    """The incident an event belongs to: site/equipment/family."""
    return f"{event.site}/{event.equipment}/{event.family}"


def is_activation(event: AlarmEvent) -> bool:
    """An alarm becoming active (not an ack, shelve or clear of an active one)."""
    if event.transition == "activate":
        return True
    return event.state in ACTIVE_STATES and event.previous_state in _RETURNED


def order_priority(alarm_priority: int, stage: StageScore, policy: IncidentPolicy) -> int:
    """The alarm's priority, one level more urgent (towards 1) in late life."""
    if policy.raise_priority_when_late and stage.stage is FailureStage.LATE:
        return max(1, alarm_priority - 1)
    return alarm_priority


def _title(event: AlarmEvent) -> str:
    what = f"{event.fault_code}: {event.equipment_type} {event.equipment}"
    return f"{what} — {event.message}" if event.message else what


def _description(event: AlarmEvent) -> str:
    value = f", value {event.value:g}" if event.value is not None else ""
    return (
        f"Opened by alarm {event.alarm_id} (rule {event.rule}, {event.severity.value}, "
        f"P{event.priority}{value}) at {event.at.isoformat()} in building {event.building}."
    )


def _note(event: AlarmEvent) -> str:
    value = f" value {event.value:g}" if event.value is not None else ""
    return (
        f"alarm {event.transition}: {event.fault_code} {event.previous_state.value} → "
        f"{event.state.value}{value} at {event.at.isoformat()}"
    )


def _create(session: Session, event: AlarmEvent, policy: IncidentPolicy) -> WorkOrderRow:
    stage = assess_stage(
        session,
        site=event.site,
        equipment=event.equipment,
        equipment_type=event.equipment_type,
        as_of=event.at,
        config=policy.stage,
        fits=policy.fits,
        condition=policy.condition,
    )
    planned = event.maintenance is MaintenanceAction.PLANNED
    priority = order_priority(event.priority, stage, policy)
    if planned:  # a condition-based PM: scheduled work, never an emergency
        priority = max(priority, PLANNED_MIN_PRIORITY)
    due = compute_due(
        policy.sla, priority=priority, fault_code=event.fault_code, started_at=event.at
    )
    draft = OrderDraft(
        site=event.site,
        equipment=event.equipment,
        kind=WorkOrderKind.PREVENTIVE if planned else WorkOrderKind.REACTIVE,
        priority=priority,
        title=_title(event),
        description=_description(event),
        family=event.family,
        fault_code=event.fault_code,
        incident_key=incident_key(event),
        source_alarm_id=event.alarm_id,
        alarm_count=1,
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


def _attach(session: Session, order: WorkOrderRow, event: AlarmEvent, *, count: bool) -> None:
    if count:
        order.alarm_count += 1
    order.updated_at = max(order.updated_at, event.at)
    add_note(session, order, actor=f"alarm:{event.rule}", at=event.at, note=_note(event))


def _apply(
    session: Session, event: AlarmEvent, claim: IncidentAlarmRow, policy: IncidentPolicy
) -> Outcome:
    key = incident_key(event)
    order = session.scalars(
        select(WorkOrderRow).where(WorkOrderRow.incident_key == key).with_for_update()
    ).one_or_none()
    activation = is_activation(event)
    wire: WorkOrderEvent | None = None
    if order is None and activation and event.maintenance in _OPENING:
        order = _create(session, event, policy)
        kind = OutcomeKind.CREATED
        wire = order_event(order, change=CREATED, cause=event.event_id, at=event.at, actor=ACTOR)
    elif order is not None:
        _attach(session, order, event, count=activation)
        kind = OutcomeKind.ATTACHED if activation else OutcomeKind.RECORDED
        if activation:
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
    claim.work_order_id = order.id if order is not None else None
    if wire is not None:
        enqueue(session, wire)
    session.flush()
    return Outcome(kind, event.event_id, claim.work_order_id, key, wire)


def _claim(session: Session, event: AlarmEvent) -> IncidentAlarmRow | None:
    """Insert the event's row; None when it is already there (handled before)."""
    if session.get(IncidentAlarmRow, event.event_id) is not None:
        return None
    claim = IncidentAlarmRow(event_id=event.event_id, alarm_id=event.alarm_id, at=event.at)
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
