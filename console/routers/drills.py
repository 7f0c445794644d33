"""Drills (演练) of emergency plans: supervisors (admins) schedule, move, cancel and record
them; engineers, technicians and supervisors time the steps of a running drill; everyone of
the team reads them, each step's minutes against its target and overdue drills flagged.
The changes are the owner's (`maintenance.drills`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import CurrentUser, DrillTimer, Supervisor, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.paging import DIGITS_ONLY, MAX_ID, OnlySite
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.emergency import visible_plan, write, zone_of
from bldgwatch.console.schemas_emergency import (
    DrillCancel,
    DrillCorrectIn,
    DrillCorrectionOut,
    DrillIn,
    DrillMove,
    DrillOut,
    DrillRecordIn,
    DrillVoidIn,
    StepTime,
    TimedStep,
)
from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import drills
from bldgwatch.maintenance.emergencymodels import DrillRow, EmergencyPlanRow

router = APIRouter(prefix="/api", tags=["emergency"])

DrillId = Annotated[int, Path(ge=1, le=MAX_ID, description="Drill number."), DIGITS_ONLY]
StepNo = Annotated[int, Path(ge=1, le=40, description="Step number, from 1."), DIGITS_ONLY]
READ_DOCS = problem_docs(401, 403, 404, 422, 503)
CHANGE_DOCS = problem_docs(401, 403, 404, 409, 422, 503)
ScheduleNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_SCHEDULE, "drill"))]
MoveNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_RESCHEDULE, "drill:{drill_id}"))]
CancelNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_CANCEL, "drill:{drill_id}"))]
StepNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_STEP, "drill:{drill_id}"))]
RecordNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_RECORD, "drill:{drill_id}"))]
CorrectNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_CORRECT, "drill:{drill_id}"))]
VoidNoted = Annotated[AuditEntry, Depends(Audited(audit.DRILL_VOID, "drill:{drill_id}"))]


def drill_out(
    session: Session,
    row: DrillRow,
    now: datetime,
    corrections: list[DrillCorrectionOut] | None = None,
) -> DrillOut:
    """The drill with each step's minutes against its target (the plan's current steps,
    untimed, until the first is timed) and its corrections (read when not given)."""
    if corrections is None:
        kept = drills.corrections_of(session, [row.id])[row.id] if row.corrections else []
        corrections = [DrillCorrectionOut.model_validate(c, from_attributes=True) for c in kept]
    steps = row.steps
    if not steps:
        plan = session.get(EmergencyPlanRow, row.plan_id)
        steps = [{**s, "at": None} for s in plan.steps] if plan is not None else []
    timed = [TimedStep.model_validate(t, from_attributes=True) for t in drills.timings(steps)]
    zone = zone_of(session, row.site)
    return DrillOut(
        id=row.id,
        plan_id=row.plan_id,
        site=row.site,
        kind=row.kind,
        status=row.status,
        scheduled_at=row.scheduled_at,
        timezone=zone,
        overdue=drills.overdue(row, now, ZoneInfo(zone), steps),
        plan_version=row.plan_version,
        steps=timed,
        participants=list(row.participants),
        findings=row.findings,
        actions=list(row.actions),
        note=row.note,
        recorded_at=row.recorded_at,
        held_at=row.held_at,
        updated_by=row.updated_by,
        corrections=corrections,
    )


def visible_drill(session: Session, user: User, drill_id: int) -> DrillRow:
    """The drill, or 404 when it does not exist or is at another site."""
    row = session.get(DrillRow, drill_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.drill.unknown", {"id": str(drill_id)}))
    return row


@router.get("/drills", response_model=list[DrillOut], responses=READ_DOCS, summary="List drills")
def list_drills(
    *, session: DbSession, clock: AppClock, user: CurrentUser, site: OnlySite = None
) -> list[DrillOut]:
    """The drills of the user's sites (or one site), at most 500: first those to hold now
    (still scheduled, up to a day ahead: today's, running, overdue), soonest first; then the
    others, latest schedule first."""
    sites = set(user.sites) if user.sites is not None else None
    if site is not None:
        sites = {site} & sites if sites is not None else {site}
    now = clock.now()
    rows = drills.drills(session, sites, now=now)
    kept = drills.corrections_of(session, [r.id for r in rows if r.corrections])
    return [
        drill_out(
            session,
            r,
            now,
            [
                DrillCorrectionOut.model_validate(c, from_attributes=True)
                for c in kept.get(r.id, [])
            ],
        )
        for r in rows
    ]


@router.get("/drills/{drill_id}", response_model=DrillOut, responses=READ_DOCS, summary="A drill")
def get_drill(
    *, session: DbSession, clock: AppClock, user: CurrentUser, drill_id: DrillId
) -> DrillOut:
    """One drill."""
    return drill_out(session, visible_drill(session, user, drill_id), clock.now())


@router.post(
    "/drills",
    response_model=DrillOut,
    status_code=201,
    responses=CHANGE_DOCS,
    summary="Schedule a drill",
)
def schedule_drill(
    *,
    noted: ScheduleNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    body: DrillIn,
) -> DrillOut:
    """A drill of a plan at `scheduled_at` (the web sends the site's local time with its
    offset)."""
    plan = visible_plan(session, user, body.plan_id)
    noted.site = plan.site
    now = clock.now()

    def change(s: Session) -> int:
        own = visible_plan(s, user, body.plan_id)
        return drills.schedule(s, own, body.scheduled_at, at=now, actor=user.name).id

    drill_id = write(session, engine, change)
    noted.target = f"drill:{drill_id}"
    return get_drill(session=session, clock=clock, user=user, drill_id=drill_id)


def change_drill(
    *,
    noted: AuditEntry,
    session: Session,
    engine: Engine,
    clock: Clock,
    user: User,
    drill_id: int,
    act: Callable[[Session, datetime], object],
) -> DrillOut:
    """The steps every change of one drill shares: 404 unless the user sees it, its site in
    the audit entry, the owner's change `act(session, now)` in a transaction of its own
    (`write`: refusals become problems), and the drill as it now is."""
    noted.site = visible_drill(session, user, drill_id).site
    now = clock.now()
    write(session, engine, lambda s: act(s, now))
    return drill_out(session, visible_drill(session, user, drill_id), now)


@router.post(
    "/drills/{drill_id}/reschedule",
    response_model=DrillOut,
    responses=CHANGE_DOCS,
    summary="Move a drill",
)
def reschedule_drill(
    *,
    noted: MoveNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    drill_id: DrillId,
    body: DrillMove,
) -> DrillOut:
    """A scheduled drill moved (409 once recorded or cancelled)."""

    def act(s: Session, now: datetime) -> object:
        return drills.reschedule(s, drill_id, body.scheduled_at, body.note, at=now, actor=user.name)

    return change_drill(
        noted=noted, session=session, engine=engine, clock=clock, user=user, drill_id=drill_id,
        act=act,
    )  # fmt: skip


@router.post(
    "/drills/{drill_id}/cancel",
    response_model=DrillOut,
    responses=CHANGE_DOCS,
    summary="Cancel a drill",
)
def cancel_drill(
    *,
    noted: CancelNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    drill_id: DrillId,
    body: DrillCancel,
) -> DrillOut:
    """A scheduled drill called off, with the reason (409 once recorded or cancelled)."""

    def act(s: Session, now: datetime) -> object:
        return drills.cancel(s, drill_id, body.note, at=now, actor=user.name)

    return change_drill(
        noted=noted, session=session, engine=engine, clock=clock, user=user, drill_id=drill_id,
        act=act,
    )  # fmt: skip


@router.post(
    "/drills/{drill_id}/steps/{step}",
    response_model=DrillOut,
    responses=CHANGE_DOCS,
    summary="Time a step of a running drill",
)
def time_step(
    *,
    noted: StepNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: DrillTimer,
    drill_id: DrillId,
    step: StepNo,
    body: StepTime,
) -> DrillOut:
    """Step `step` of the drill reached at `at` (default now: the "now" button); a step timed
    already is 409 naming when and by whom, unless re-timed with a `reason`."""

    def act(s: Session, now: datetime) -> object:
        return drills.time_step(
            s, drill_id, step, body.at or now, at=now, actor=user.name, reason=body.reason
        )

    return change_drill(
        noted=noted, session=session, engine=engine, clock=clock, user=user, drill_id=drill_id,
        act=act,
    )  # fmt: skip


@router.post(
    "/drills/{drill_id}/record",
    response_model=DrillOut,
    responses=CHANGE_DOCS,
    summary="Record a held drill",
)
def record_drill(
    *,
    noted: RecordNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    drill_id: DrillId,
    body: DrillRecordIn,
) -> DrillOut:
    """The drill as held: participants, one time per step of the plan (null keeps a time
    set before), findings and follow-up actions."""
    held = drills.DrillRecord(
        body.participants,
        body.step_times,
        body.findings,
        body.actions,
        body.cleared,
        reason=body.reason,
    )

    def act(s: Session, now: datetime) -> object:
        return drills.record(s, drill_id, held, at=now, actor=user.name)

    return change_drill(
        noted=noted, session=session, engine=engine, clock=clock, user=user, drill_id=drill_id,
        act=act,
    )  # fmt: skip


@router.post(
    "/drills/{drill_id}/correct",
    response_model=DrillOut,
    responses=CHANGE_DOCS,
    summary="Correct a recorded drill",
)
def correct_drill(
    *,
    noted: CorrectNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    drill_id: DrillId,
    body: DrillCorrectIn,
) -> DrillOut:
    """A recorded drill's participants, step times (null keeps one, `cleared` empties it),
    findings and actions corrected, with the reason; who, when and what changed are kept
    with the drill (review 19c-d M13). 409 when not recorded, or corrected since
    `corrections` was read; 422 when nothing changes."""
    held = drills.DrillRecord(
        body.participants, body.step_times, body.findings, body.actions, body.cleared
    )
    noted.detail = {"reason": body.reason}

    def act(s: Session, now: datetime) -> object:
        return drills.correct(
            s, drill_id, held, body.reason, seen=body.corrections, at=now, actor=user.name
        )

    return change_drill(
        noted=noted, session=session, engine=engine, clock=clock, user=user, drill_id=drill_id,
        act=act,
    )  # fmt: skip


@router.post(
    "/drills/{drill_id}/void",
    response_model=DrillOut,
    responses=CHANGE_DOCS,
    summary="Void a drill recorded by mistake",
)
def void_drill(
    *,
    noted: VoidNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    drill_id: DrillId,
    body: DrillVoidIn,
) -> DrillOut:
    """A recorded drill voided with the reason: kept and shown as voided, counted as held
    nowhere (review 19c-d M13). 409 when not recorded or changed since read."""
    noted.detail = {"reason": body.reason}

    def act(s: Session, now: datetime) -> object:
        return drills.void(s, drill_id, body.reason, seen=body.corrections, at=now, actor=user.name)

    return change_drill(
        noted=noted, session=session, engine=engine, clock=clock, user=user, drill_id=drill_id,
        act=act,
    )  # fmt: skip
