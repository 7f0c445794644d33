"""Operator actions on alarms: acknowledge, shelve, unshelve, comment, and the history.

The console checks who may act and what was asked; the change itself is the owner's
(`rules.operator`, one locked transaction each, its event in the rules outbox). The rules
service publishes the transition, so rules, maintenance and every console see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import AlarmWriter, CurrentUser, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import BadParameterError, ConflictError, NotFoundError
from bldgwatch.console.paging import Page, Paging
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import AlarmSummary
from bldgwatch.console.schemas_write import (
    AckRequest,
    AlarmHistoryItem,
    CommentRequest,
    ShelveRequest,
    UnshelveRequest,
)
from bldgwatch.core.clock import Clock
from bldgwatch.rules import queries
from bldgwatch.rules.alarms import Alarm
from bldgwatch.rules.errors import InvalidTransitionError, UnknownAlarmError
from bldgwatch.rules.models import AlarmRow
from bldgwatch.rules.operator import AlarmActions

router = APIRouter(prefix="/api/alarms", tags=["alarms"])

AlarmId = Annotated[str, Path(max_length=36, description="Alarm id.")]
CHANGE_DOCS = problem_docs(400, 401, 403, 404, 409, 422, 503)


def visible_alarm(session: Session, user: User, alarm_id: str) -> AlarmRow:
    """The alarm row, or a 404 when it does not exist or is at another site."""
    row = queries.alarm(session, alarm_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(f"alarm {alarm_id} does not exist")
    return row


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """What a state change of an alarm needs: the request's session, the store's engine, the
    clock and the acting user (an alarm writer)."""

    session: Session
    engine: Engine
    clock: Clock
    user: User

    def start(self, alarm_id: str, noted: AuditEntry) -> datetime:
        """404 unless the user may see the alarm; the time of the change (the alarm's site
        goes into the audit entry)."""
        noted.site = visible_alarm(self.session, self.user, alarm_id).site
        return self.clock.now()

    def apply(self, alarm_id: str, action: Callable[[AlarmActions], Alarm]) -> AlarmSummary:
        """Run the owner's action (one locked transaction); the alarm as stored after it."""
        try:
            action(AlarmActions(self.engine))
        except UnknownAlarmError as err:
            raise NotFoundError(f"alarm {alarm_id} does not exist") from err
        except InvalidTransitionError as err:
            raise ConflictError(str(err)) from err
        self.session.rollback()  # end this request's read transaction: the next read sees it
        return AlarmSummary.model_validate(queries.alarm(self.session, alarm_id))


def alarm_change(
    session: DbSession, engine: DbEngine, clock: AppClock, user: AlarmWriter
) -> AlarmChange:
    """The `AlarmChange` of this request."""
    return AlarmChange(session=session, engine=engine, clock=clock, user=user)


Change = Annotated[AlarmChange, Depends(alarm_change)]
AckNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_ACKNOWLEDGE, "alarm:{alarm_id}"))]
ShelveNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_SHELVE, "alarm:{alarm_id}"))]
UnshelveNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_UNSHELVE, "alarm:{alarm_id}"))]
CommentNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_COMMENT, "alarm:{alarm_id}"))]


@router.post(
    "/{alarm_id}/acknowledge",
    response_model=AlarmSummary,
    responses=CHANGE_DOCS,
    summary="Acknowledge an alarm",
)
def acknowledge(
    *, noted: AckNoted, change: Change, alarm_id: AlarmId, body: AckRequest | None = None
) -> AlarmSummary:
    """active_unack → active_ack, rtn_unack → normal; 409 when already acknowledged."""
    now = change.start(alarm_id, noted)
    actor, comment = change.user.name, body.comment if body else None
    return change.apply(
        alarm_id, lambda alarms: alarms.acknowledge(alarm_id, at=now, actor=actor, comment=comment)
    )


@router.post(
    "/{alarm_id}/shelve",
    response_model=AlarmSummary,
    responses=CHANGE_DOCS,
    summary="Shelve an alarm until a time",
)
def shelve(
    *, noted: ShelveNoted, change: Change, alarm_id: AlarmId, body: ShelveRequest
) -> AlarmSummary:
    """Hide an active or returned alarm until `until` (or for `minutes`); it comes back then."""
    now = change.start(alarm_id, noted)
    if (body.until is None) == (body.minutes is None):
        raise BadParameterError("give exactly one of 'until' and 'minutes'", param="until")
    until = body.until if body.until is not None else now + timedelta(minutes=body.minutes or 0)
    if until > now + timedelta(days=7):
        raise BadParameterError("a shelf may last at most 7 days", param="until")
    noted.detail = {"until": until.isoformat()}
    actor = change.user.name
    return change.apply(
        alarm_id,
        lambda alarms: alarms.shelve(
            alarm_id, at=now, until=until, actor=actor, comment=body.comment
        ),
    )


@router.post(
    "/{alarm_id}/unshelve",
    response_model=AlarmSummary,
    responses=CHANGE_DOCS,
    summary="End a shelf early",
)
def unshelve(
    *, noted: UnshelveNoted, change: Change, alarm_id: AlarmId, body: UnshelveRequest | None = None
) -> AlarmSummary:
    """The alarm shows again; if still active it needs acknowledging again."""
    now = change.start(alarm_id, noted)
    actor, comment = change.user.name, body.comment if body else None
    return change.apply(
        alarm_id, lambda alarms: alarms.unshelve(alarm_id, at=now, actor=actor, comment=comment)
    )


@router.post(
    "/{alarm_id}/comments",
    response_model=AlarmHistoryItem,
    status_code=201,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Comment on an alarm",
)
def comment(
    *,
    noted: CommentNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: AlarmWriter,
    alarm_id: AlarmId,
    body: CommentRequest,
) -> AlarmHistoryItem:
    """A note in the alarm's history; its state does not change."""
    noted.site = visible_alarm(session, user, alarm_id).site
    try:
        note = AlarmActions(engine).comment(
            alarm_id, at=clock.now(), actor=user.name, text=body.text
        )
    except UnknownAlarmError as err:
        raise NotFoundError(f"alarm {alarm_id} does not exist") from err
    return AlarmHistoryItem(at=note.at, kind="comment", actor=note.actor, text=note.text)


@router.get(
    "/{alarm_id}/history",
    response_model=Page[AlarmHistoryItem],
    responses=problem_docs(401, 404, 422, 503),
    summary="Transitions and comments of an alarm",
)
def history(
    *, session: DbSession, user: CurrentUser, paging: Paging, alarm_id: AlarmId
) -> Page[AlarmHistoryItem]:
    """Every transition and comment, oldest first."""
    visible_alarm(session, user, alarm_id)
    items = [
        AlarmHistoryItem(
            at=e.at,
            kind="transition",
            transition=e.transition,
            state=e.state,
            previous_state=e.previous_state,
            actor=e.actor,
            text=e.comment,
            value=e.value,
        )
        for e in queries.transitions(session, alarm_id)
    ]
    items += [
        AlarmHistoryItem(at=c.at, kind="comment", actor=c.actor, text=c.text)
        for c in queries.comments(session, alarm_id)
    ]
    items.sort(key=lambda i: i.at)
    return Page[AlarmHistoryItem](
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
    )
