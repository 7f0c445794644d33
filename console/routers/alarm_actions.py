"""Operator actions on alarms: acknowledge, shelve, unshelve, comment, and the history.

The console checks who may act and what was asked; the change itself is the owner's
(`rules.operator`, one locked transaction each, its event in the rules outbox). The rules
service publishes the transition, so rules, maintenance and every console see it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import SUPERVISOR, Admin, AlarmWriter, CurrentUser, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import BadParameterError, ConflictError, NotFoundError
from bldgwatch.console.locale import Reader, ReaderOf
from bldgwatch.console.paging import Page, Paging
from bldgwatch.console.present import present_alarms
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import AlarmSummary
from bldgwatch.console.schemas_write import (
    AckRequest,
    AlarmHistoryItem,
    CommentRequest,
    LeakVerdictRequest,
    OutOfServiceRequest,
    ShelveRequest,
    UnshelveRequest,
)
from bldgwatch.core import i18n
from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message
from bldgwatch.core.models import AlarmState, MaintenanceAction
from bldgwatch.core.site import DEFAULT_TIMEZONE, site_zone
from bldgwatch.maintenance import queries as maintenance_queries
from bldgwatch.maintenance.incidents import confirmed_event, handle_alarm_event
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.rules import alarms, queries
from bldgwatch.rules.errors import InvalidTransitionError, UnknownAlarmError
from bldgwatch.rules.models import AlarmCommentRow, AlarmRow, LeakVerdictRow, RuleLessonRow
from bldgwatch.rules.operator import AlarmActions
from bldgwatch.rules.store import AlarmStore

router = APIRouter(prefix="/api/alarms", tags=["alarms"])

AlarmId = Annotated[str, Path(max_length=36, description="Alarm id.")]
MAX_SHELF = timedelta(days=7)
"""The longest shelf an operator may set."""


def transition_refused(err: InvalidTransitionError) -> Message:
    """The 409's detail: what could not be done, in which state, and why."""
    operation = err.operation.replace(" ", "_")
    return Message(
        "error.alarm.transition",
        {
            "id": err.alarm_id,
            "operation": Message(f"alarm.operation.{operation}").to_json(default=err.operation),
            "state": Message(f"alarm.state.{err.state}").to_json(default=str(err.state)),
            "reason": Message(f"alarm.reason.{err.code}").to_json(default=str(err).split(": ")[-1]),
        },
    )


CHANGE_DOCS = problem_docs(400, 401, 403, 404, 409, 422, 503)


def visible_alarm(session: Session, user: User, alarm_id: str) -> AlarmRow:
    """The alarm row, or a 404 when it does not exist or is at another site."""
    row = queries.alarm(session, alarm_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.alarm.not_found", {"id": alarm_id}))
    return row


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """What a state change of an alarm needs: the request's session, the store's engine, the
    clock and the acting user (an alarm writer)."""

    session: Session
    engine: Engine
    clock: Clock
    user: User
    reader: Reader

    def start(self, alarm_id: str, noted: AuditEntry) -> datetime:
        """404 unless the user may see the alarm; the time of the change (the alarm's site
        goes into the audit entry)."""
        noted.site = visible_alarm(self.session, self.user, alarm_id).site
        return self.clock.now()

    def apply(self, alarm_id: str, action: Callable[[AlarmActions], object]) -> AlarmSummary:
        """Run the owner's action (one locked transaction); the alarm as stored after it."""
        try:
            action(AlarmActions(self.engine))
        except UnknownAlarmError as err:
            raise NotFoundError(Message("error.alarm.not_found", {"id": alarm_id})) from err
        except InvalidTransitionError as err:
            raise ConflictError(transition_refused(err)) from err
        self.session.rollback()  # end this request's read transaction: the next read sees it
        summary = AlarmSummary.model_validate(queries.alarm(self.session, alarm_id))
        present_alarms([summary], self.reader.locale)
        return summary


def alarm_change(
    session: DbSession, engine: DbEngine, clock: AppClock, user: AlarmWriter, reader: ReaderOf
) -> AlarmChange:
    """The `AlarmChange` of this request."""
    return AlarmChange(session=session, engine=engine, clock=clock, user=user, reader=reader)


Change = Annotated[AlarmChange, Depends(alarm_change)]
AckNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_ACKNOWLEDGE, "alarm:{alarm_id}"))]
VerdictNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_LEAK_VERDICT, "alarm:{alarm_id}"))]
ShelveNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_SHELVE, "alarm:{alarm_id}"))]
UnshelveNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_UNSHELVE, "alarm:{alarm_id}"))]
CommentNoted = Annotated[AuditEntry, Depends(Audited(audit.ALARM_COMMENT, "alarm:{alarm_id}"))]
ServiceNoted = Annotated[
    AuditEntry, Depends(Audited(audit.ALARM_OUT_OF_SERVICE, "alarm:{alarm_id}"))
]
ReturnNoted = Annotated[
    AuditEntry, Depends(Audited(audit.ALARM_RETURN_TO_SERVICE, "alarm:{alarm_id}"))
]


def service_change(
    session: DbSession, engine: DbEngine, clock: AppClock, user: Admin, reader: ReaderOf
) -> AlarmChange:
    """The `AlarmChange` of an out-of-service request (admins only)."""
    return AlarmChange(session=session, engine=engine, clock=clock, user=user, reader=reader)


ServiceChange = Annotated[AlarmChange, Depends(service_change)]


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


class LeakVerdict(BaseModel):
    """The alarm after a verdict, and the repair order a confirmed leak opened (or joined)."""

    alarm: AlarmSummary
    work_order_id: int | None = Field(description="The order of a confirmed leak; else null.")


_UNACKED = frozenset({AlarmState.ACTIVE_UNACK.value, AlarmState.RTN_UNACK.value})
TAUGHT_FAMILIES = frozenset({"waste"})
"""Families of alarms whose rule learns from a verdict though it opens no order: the meters'
off-hours use (third review of issue 20, M2: "expected use" teaches the meter a new normal)."""


def asks_verdict(row: AlarmRow) -> bool:
    """An alarm whose rule waits for a person (a leak) or learns from one (waste)."""
    return row.maintenance == MaintenanceAction.CONFIRM.value or row.family in TAUGHT_FAMILIES


def takes_verdict(row: AlarmRow) -> bool:
    """An open alarm whose rule waits for a person (a leak) or learns from one (waste)."""
    return asks_verdict(row) and row.is_open


def _verdict_key(row: AlarmRow, leak: bool) -> str:
    if row.family in TAUGHT_FAMILIES:
        return "alarm.verdict.waste" if leak else "alarm.verdict.expected"
    return "alarm.verdict.leak" if leak else "alarm.verdict.none"


@router.post(
    "/{alarm_id}/leak-verdict",
    response_model=LeakVerdict,
    responses=CHANGE_DOCS,
    summary="Confirm a leak alarm (opens its repair order) or say it is no leak",
)
def leak_verdict(
    *, noted: VerdictNoted, change: Change, alarm_id: AlarmId, body: LeakVerdictRequest
) -> LeakVerdict:
    """For an open alarm whose rule waits for a person (`maintenance: confirm`, the meters'
    night flow): `leak: true` opens the incident's reactive order (or joins the open one);
    `leak: false` needs the reason in `comment`. Either acknowledges the alarm (or, when it
    is acknowledged already, notes the verdict in its history). An off-hours (waste) alarm
    takes it too, with no order either way: `leak: false` is "expected use", a lesson that
    makes the level the meter's new normal off hours; 409 for any other alarm."""
    now = change.start(alarm_id, noted)
    found = (body.comment or "").strip()
    noted.detail = {"leak": body.leak}
    actor, store = change.user.name, AlarmStore(change.engine)
    # The verdict is decided with the alarm row locked, and what it writes (the verdict, the
    # lesson, the acknowledgement) commits together or not at all: of two opposite verdicts
    # given at once, the second waits, sees the first and is refused with nothing done
    # (third review of issue 20, H4).
    with Session(change.engine) as session, session.begin():
        try:
            row = store.locked(session, alarm_id)
        except UnknownAlarmError as err:
            raise NotFoundError(Message("error.alarm.not_found", {"id": alarm_id})) from err
        _check_reason(row, body.leak, found)
        given = current_verdict(session, row) if asks_verdict(row) else None
        # A correction of the standing verdict is taken on a closed alarm too (fourth review
        # of issue 20, H1: "not a leak" clears the alarm at the rules service's next sweep,
        # so a supervisor's reversal came too late, always).
        correcting = given is not None and given.leak != body.leak
        if not takes_verdict(row) and not correcting:
            refused = "error.alarm.no_waste_verdict" if _waste(row) else "error.alarm.no_verdict"
            raise ConflictError(Message(refused, {"id": alarm_id}))
        # The verdict's word is stored as its key and rendered for each reader (review 20f,
        # L6); the note's text keeps the giver's rendering, for older readers.
        said_key, said = _verdict_key(row, body.leak), {"reason": found} if found else {}
        note = verdict_note(said_key, said, change.reader.locale)
        opens_order = body.leak and row.maintenance == MaintenanceAction.CONFIRM.value
        if given is not None and given.leak != body.leak:
            _refuse_or_reverse(
                session,
                row,
                given,
                change.user,
                at=now,
                meant=body.reverse,
                locale=change.reader.locale,
            )
            given = None
        if given is None:
            given = LeakVerdictRow(
                alarm_id=row.id, raised_at=row.raised_at, leak=body.leak, actor=actor, given_at=now
            )
            session.add(given)
            if not body.leak:
                # "Not a leak", with its reason: the rules service takes the lesson at its
                # next sweep (the level alarmed on is a normal one); the alarm then clears.
                session.add(_lesson(row, actor, now))
        try:
            if row.state in _UNACKED:
                store.change_in(
                    session,
                    alarm_id,
                    lambda a: alarms.acknowledge(
                        a, at=now, actor=actor, comment=note, comment_key=said_key,
                        comment_params=said,
                    ),
                )  # fmt: skip
            else:
                session.add(
                    AlarmCommentRow(
                        alarm_id=alarm_id, at=now, actor=actor[:64], text=note, text_key=said_key,
                        text_params=said,
                    )
                )  # fmt: skip
        except InvalidTransitionError as err:
            raise ConflictError(transition_refused(err)) from err
        session.flush()
        verdict_id = given.id
    order_id = None
    if opens_order:  # only the verdict that won opens (or joins) the order
        row = visible_alarm(change.session, change.user, alarm_id)
        event = confirmed_event(row, at=now, actor=actor)
        with Session(change.engine) as session:  # the maintenance owner's transaction
            order_id = handle_alarm_event(session, event).work_order_id
            session.commit()
        with Session(change.engine) as session, session.begin():
            kept = session.get(LeakVerdictRow, verdict_id)
            if kept is not None and kept.work_order_id is None:
                kept.work_order_id = order_id
    change.session.rollback()  # end this request's read transaction: the next read sees it
    alarm = AlarmSummary.model_validate(queries.alarm(change.session, alarm_id))
    present_alarms([alarm], change.reader.locale)
    return LeakVerdict(alarm=alarm, work_order_id=order_id)


def _waste(row: AlarmRow) -> bool:
    """An off-hours use alarm: its verdicts and refusals speak of off-hours use, not leaks
    (review 20f, L3)."""
    return row.family in TAUGHT_FAMILIES


def _check_reason(row: AlarmRow, leak: bool, found: str) -> None:
    """ "No leak" and "expected use" need their reason (400 naming `comment`)."""
    if not leak and not found:
        key = "error.alarm.expected_reason" if _waste(row) else "error.alarm.verdict_reason"
        raise BadParameterError(Message(key), param="comment")


def _lesson(row: AlarmRow, actor: str, at: datetime, *, withdraw: bool = False) -> RuleLessonRow:
    return RuleLessonRow(
        site=row.site,
        equipment=row.equipment,
        rule=row.rule,
        alarm_id=row.id,
        actor=actor,
        given_at=at,
        withdraw=withdraw,
        level=None if withdraw else row.value,  # what the person judged (review 20d, H3)
    )


def _given_key(row: AlarmRow, leak: bool) -> str:
    """The refusal's words for the standing verdict, per rule kind (review 20e L2: an
    off-hours alarm's "expected use" was called "not a leak")."""
    if leak:
        return "error.alarm.verdict_leak_given"
    if row.family in TAUGHT_FAMILIES:
        return "error.alarm.verdict_expected_given"
    return "error.alarm.verdict_none_given"


def current_verdict(session: Session, row: AlarmRow) -> LeakVerdictRow | None:
    """The verdict standing on this raising of the alarm (not withdrawn), if any."""
    return session.scalars(
        select(LeakVerdictRow)
        .where(
            LeakVerdictRow.alarm_id == row.id,
            LeakVerdictRow.raised_at == row.raised_at,
            LeakVerdictRow.withdrawn_at.is_(None),
        )
        .order_by(LeakVerdictRow.id.desc())
        .limit(1)
    ).first()


def may_reverse(session: Session, row: AlarmRow, given: LeakVerdictRow, user: User) -> bool:
    """Whether `user` (one who may give verdicts) may reverse the standing verdict `given`: a
    "leak" whose repair order was cancelled (or a "waste", which opened none), or a "not a
    leak" by a supervisor."""
    if given.leak and row.maintenance != MaintenanceAction.CONFIRM.value:
        return True  # "waste" opened no order: nothing stands in the way
    if given.leak:
        order = (
            None if given.work_order_id is None else session.get(WorkOrderRow, given.work_order_id)
        )
        return order is not None and order.status == "cancelled"  # none: being opened
    return user.has_any(frozenset({SUPERVISOR}))


def _refuse_or_reverse(
    session: Session,
    row: AlarmRow,
    given: LeakVerdictRow,
    user: User,
    *,
    at: datetime,
    meant: bool,
    locale: str,
) -> None:
    """The opposite of a standing verdict: 409 naming who gave it, when, and what would make
    the reversal possible (third review of issue 20, M1) — unless that is so: a "leak" whose
    repair order was cancelled, or a supervisor reversing a "not a leak" (its lesson is
    withdrawn: the meter is judged against its own nights again). The standing verdict is
    then withdrawn — only when the caller `meant` it (`reverse: true`): a verdict given a
    moment ago by someone else is not withdrawn by one who did not know of it (fourth review
    of issue 20, L4); else 409 naming that verdict, who gave it and when."""
    site = maintenance_queries.site(session, row.site)
    zone = site_zone(site.timezone if site else DEFAULT_TIMEZONE)
    when = given.given_at.astimezone(zone)
    if may_reverse(session, row, given, user):
        if not meant:
            raise ConflictError(
                Message(
                    "error.alarm.verdict_reverse_unmeant",
                    {
                        "id": row.id,
                        "verdict": i18n.render(_verdict_key(row, given.leak), {}, locale),
                        "actor": given.actor,
                        "at": f"{when:%Y-%m-%d %H:%M:%S} ({zone.key})",
                    },
                )
            )
        given.withdrawn_at, given.withdrawn_by = at, user.name[:64]
        if not given.leak:
            session.add(_lesson(row, user.name, at, withdraw=True))
        return
    raise ConflictError(
        Message(
            _given_key(row, given.leak),
            {
                "id": row.id,
                "actor": given.actor,
                "at": f"{when:%Y-%m-%d %H:%M} ({zone.key})",
                "order": given.work_order_id or "",
            },
        )
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
        raise BadParameterError(Message("error.alarm.shelve_one_of"), param="until")
    until = body.until if body.until is not None else now + timedelta(minutes=body.minutes or 0)
    if until > now + MAX_SHELF:
        raise BadParameterError(
            Message("error.alarm.shelve_too_long", {"days": MAX_SHELF.days}), param="until"
        )
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
    "/{alarm_id}/out-of-service",
    response_model=AlarmSummary,
    responses=CHANGE_DOCS,
    summary="Take an alarm out of service (admin)",
)
def out_of_service(
    *, noted: ServiceNoted, change: ServiceChange, alarm_id: AlarmId, body: OutOfServiceRequest
) -> AlarmSummary:
    """Hide the alarm whatever its condition until it is returned to service (e.g. its
    sensor is removed); the reason is kept in its history. Admins only."""
    now = change.start(alarm_id, noted)
    actor = change.user.name
    return change.apply(
        alarm_id,
        lambda alarms: alarms.remove_from_service(
            alarm_id, at=now, actor=actor, reason=body.reason.strip()
        ),
    )


@router.post(
    "/{alarm_id}/return-to-service",
    response_model=AlarmSummary,
    responses=CHANGE_DOCS,
    summary="Return an out-of-service alarm to service (admin)",
)
def return_to_service(
    *,
    noted: ReturnNoted,
    change: ServiceChange,
    alarm_id: AlarmId,
    body: UnshelveRequest | None = None,
) -> AlarmSummary:
    """The alarm shows again as its condition says (unacknowledged if still active)."""
    now = change.start(alarm_id, noted)
    actor, comment = change.user.name, body.comment if body else None
    return change.apply(
        alarm_id,
        lambda alarms: alarms.return_to_service(alarm_id, at=now, actor=actor, comment=comment),
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
        raise NotFoundError(Message("error.alarm.not_found", {"id": alarm_id})) from err
    return AlarmHistoryItem(at=note.at, kind="comment", actor=note.actor, text=note.text)


def verdict_note(key: str, params: dict[str, Any], locale: str) -> str:
    """A note stored as a catalogue key in `locale`: the escalation's wait, or a verdict's
    word followed by the person's `reason` as they wrote it ("不是漏水: 水箱补水")."""
    said = i18n.render(key, params, locale)
    reason = params.get("reason")
    return f"{said}: {reason}" if isinstance(reason, str) and reason else said


_OLD_ESCALATION = re.compile(r"unacknowledged for (\d+) min")


def event_note(
    transition: str, comment: str | None, key: str, params: dict[str, Any], reader: Reader
) -> str | None:
    """A transition's note as the reader reads it: a system note stored as a catalogue key
    rendered in their language; an escalation stored before the key was (its English text
    only, "unacknowledged for N min") recognised and rendered the same way; a person's words
    as they wrote them (review 20f, M1)."""
    if key:
        return verdict_note(key, params, reader.locale)
    old = _OLD_ESCALATION.fullmatch(comment or "") if transition == "escalate" else None
    if old is not None:
        return i18n.render(alarms.ESCALATED_KEY, {"minutes": int(old[1])}, reader.locale)
    return comment


@router.get(
    "/{alarm_id}/history",
    response_model=Page[AlarmHistoryItem],
    responses=problem_docs(401, 404, 422, 503),
    summary="Transitions and comments of an alarm",
)
def history(
    *, session: DbSession, user: CurrentUser, reader: ReaderOf, paging: Paging, alarm_id: AlarmId
) -> Page[AlarmHistoryItem]:
    """Every transition and comment, oldest first; the system's notes (the escalation's wait)
    in the reader's language."""
    visible_alarm(session, user, alarm_id)
    items = [
        AlarmHistoryItem(
            at=e.at,
            kind="transition",
            transition=e.transition,
            state=e.state,
            previous_state=e.previous_state,
            actor=e.actor,
            text=event_note(e.transition, e.comment, e.comment_key, e.comment_params, reader),
            value=e.value,
        )
        for e in queries.transitions(session, alarm_id)
    ]
    items += [
        AlarmHistoryItem(
            at=c.at,
            kind="comment",
            actor=c.actor,
            text=verdict_note(c.text_key, c.text_params, reader.locale) if c.text_key else c.text,
        )
        for c in queries.comments(session, alarm_id)
    ]
    items.sort(key=lambda i: i.at)
    return Page[AlarmHistoryItem](
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
    )
