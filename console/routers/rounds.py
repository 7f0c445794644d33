"""Checklist templates and inspection rounds (巡检): supervisors (and admins) manage them,
everyone of the property team reads them with their missed and late counts, technicians start
a run of the round due now. The changes are the owner's (`maintenance.checklists`,
`maintenance.rounds`), the runs' entries are in `console.routers.round_runs`."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import CurrentUser, RoundWorker, Supervisor, User
from bldgwatch.console.deps import AppClock, DbSession, Store
from bldgwatch.console.errors import BadParameterError, ConflictError, NotFoundError, said
from bldgwatch.console.paging import MAX_ID, OnlySite
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.round_runs import live_reader, run_out
from bldgwatch.console.schemas_rounds import (
    DuePointOut,
    RoundChange,
    RoundCreate,
    RoundOut,
    RunOut,
    StopOut,
    TemplateChange,
    TemplateCreate,
    TemplateOut,
)
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import checklists, rounds
from bldgwatch.maintenance.checklists import TemplateIn
from bldgwatch.maintenance.errors import UnknownEquipment
from bldgwatch.maintenance.models import EquipmentRow, SiteRow
from bldgwatch.maintenance.roundmodels import (
    ChecklistTemplateRow,
    InspectionRoundRow,
    RoundEntryRow,
)
from bldgwatch.maintenance.rounds import ChecklistNotFound, NoRoundDue, RoundIn, StopRefused

router = APIRouter(prefix="/api", tags=["rounds"])

TemplateId = Annotated[int, Path(ge=1, le=MAX_ID, description="Checklist template id.")]
RoundId = Annotated[int, Path(ge=1, le=MAX_ID, description="Round id.")]
Days = Annotated[int, Query(ge=1, le=92, description="Count the due points of this many days.")]
READ_DOCS = problem_docs(401, 403, 404, 422, 503)
CHANGE_DOCS = problem_docs(401, 403, 404, 409, 422, 503)
TemplateNoted = Annotated[AuditEntry, Depends(Audited(audit.CHECKLIST_SAVE, "checklist"))]
RoundNoted = Annotated[AuditEntry, Depends(Audited(audit.ROUND_SAVE, "round"))]
StartNoted = Annotated[AuditEntry, Depends(Audited(audit.ROUND_START, "round:{round_id}"))]


def _site(session: Session, user: User, site: str) -> SiteRow:
    """The site, or 404 when it does not exist or is not the user's."""
    row = session.get(SiteRow, site)
    if row is None or not user.may_see(site):
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    return row


def _sites(session: Session, user: User, site: str | None) -> set[str] | None:
    """The sites to list: the one asked for (404 when not the user's: review 19r L6), else
    the user's (all with None)."""
    if site is not None:
        return {_site(session, user, site).id}
    return set(user.sites) if user.sites is not None else None


def _template(session: Session, user: User, template_id: int) -> ChecklistTemplateRow:
    row = session.get(ChecklistTemplateRow, template_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.checklist.not_found", {"id": str(template_id)}))
    return row


def visible_round(session: Session, user: User, round_id: int) -> InspectionRoundRow:
    """The round, or 404 when it does not exist or is at another site."""
    row = session.get(InspectionRoundRow, round_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.round.not_found", {"id": str(round_id)}))
    return row


def round_out(session: Session, row: InspectionRoundRow, now: datetime, days: int) -> RoundOut:
    """The round with its stops, today's due points and its counts of the last `days` days
    (site days: from the site's midnight `days - 1` days ago until now)."""
    zone = rounds.zone_of(session, row.site)
    day = now.astimezone(zone).date()
    start, end = (datetime.combine(day + timedelta(days=n), time(), tzinfo=zone) for n in (0, 1))
    first = datetime.combine(day - timedelta(days=days - 1), time(), tzinfo=zone)
    tick = timedelta(microseconds=1)
    today = rounds.history(session, row, start - tick, end - tick, now)
    past = rounds.history(session, row, first - tick, now, now)
    stops = []
    for stop in row.stops:
        asset = session.get(EquipmentRow, (row.site, stop["equipment"]))
        place = " ".join(filter(None, (asset.building, asset.location))) if asset else ""
        stops.append(StopOut(**stop, name=asset.name if asset else "", location=place))
    return RoundOut(
        id=row.id,
        site=row.site,
        name=row.name,
        times=row.times,
        timezone=str(zone),
        repeat=row.repeat or "daily",
        weekdays=list(row.weekdays or []),
        month_days=list(row.month_days or []),
        assignee=row.assignee,
        team=row.team,
        late_after_min=row.late_after_min,
        missed_after_min=row.missed_after_min,
        active=row.active,
        stops=stops,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        today=[DuePointOut(**vars_of(p)) for p in today],
        counts=rounds.counts(past),
        days=days,
    )


def vars_of(point: rounds.DuePoint) -> dict[str, object]:
    """A due point's fields."""
    return {
        "due_at": point.due_at,
        "state": point.state,
        "run_id": point.run_id,
        "done_at": point.done_at,
        "synced_at": point.synced_at,
    }


@router.get(
    "/checklist-templates",
    response_model=list[TemplateOut],
    responses=READ_DOCS,
    summary="Checklist templates",
)
def list_templates(
    *, session: DbSession, user: CurrentUser, site: OnlySite = None
) -> list[TemplateOut]:
    """The templates of the user's sites (or of one)."""
    sites = _sites(session, user, site)
    return [TemplateOut.model_validate(r) for r in checklists.templates(session, sites)]


@router.post(
    "/checklist-templates",
    response_model=TemplateOut,
    status_code=201,
    responses=CHANGE_DOCS,
    summary="Add a checklist template",
)
def add_template(
    *,
    noted: TemplateNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    body: TemplateCreate,
) -> TemplateOut:
    """A template of checks for one equipment class (and location) of a site."""
    noted.site = body.site
    _site(session, user, body.site)
    fields = TemplateIn.model_validate(body.model_dump(exclude={"site"}))
    try:
        row = checklists.save_template(
            session, body.site, fields, template_id=None, at=clock.now(), actor=user.name
        )
    except checklists.TemplateMisfit as err:  # no such class or place at the site (19c-r L1)
        raise ConflictError(said(err)) from err
    session.commit()
    noted.target = f"checklist:{row.id}"
    return TemplateOut.model_validate(row)


@router.put(
    "/checklist-templates/{template_id}",
    response_model=TemplateOut,
    responses=CHANGE_DOCS,
    summary="Change a checklist template",
)
def change_template(
    *,
    noted: TemplateNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    template_id: TemplateId,
    body: TemplateChange,
) -> TemplateOut:
    """Replace the template's name, class, location and items (runs keep their entries);
    409 when `seen_at` is given and someone saved the template since."""
    row = _template(session, user, template_id)
    noted.site, noted.target = row.site, f"checklist:{row.id}"
    fields = TemplateIn.model_validate(body.model_dump(exclude={"seen_at"}))
    try:
        checklists.save_template(
            session,
            row.site,
            fields,
            template_id=row.id,
            at=clock.now(),
            actor=user.name,
            seen=body.seen_at,
        )
    except (
        checklists.TemplateInUse,
        checklists.ChangedMeanwhile,
        checklists.TemplateMisfit,
    ) as err:
        raise ConflictError(said(err)) from err
    session.commit()
    return TemplateOut.model_validate(row)


@router.get(
    "/rounds",
    response_model=list[RoundOut],
    responses=READ_DOCS,
    summary="Inspection rounds with missed and late counts",
)
def list_rounds(
    *, session: DbSession, clock: AppClock, user: CurrentUser, site: OnlySite = None, days: Days = 7
) -> list[RoundOut]:
    """The rounds of the user's sites (or of one), today's due points and how the due points
    of the last `days` site days went (on time, late, missed)."""
    sites = _sites(session, user, site)
    now = clock.now()
    return [round_out(session, r, now, days) for r in rounds.rounds_of(session, sites)]


def _save(
    session: Session,
    site: str,
    body: RoundIn,
    round_id: int | None,
    *,
    at: datetime,
    actor: str,
    seen: datetime | None = None,
) -> InspectionRoundRow:
    try:
        row = rounds.save_round(
            session, site, body, round_id=round_id, at=at, actor=actor, seen=seen
        )
    except (UnknownEquipment, ChecklistNotFound) as err:
        raise NotFoundError(said(err)) from err
    except (StopRefused, checklists.ChangedMeanwhile) as err:
        raise ConflictError(said(err)) from err
    except rounds.PersonRefused as err:
        raise BadParameterError(said(err)) from err
    session.commit()
    return row


@router.post(
    "/rounds",
    response_model=RoundOut,
    status_code=201,
    responses=CHANGE_DOCS,
    summary="Add an inspection round",
)
def add_round(
    *, noted: RoundNoted, session: DbSession, clock: AppClock, user: Supervisor, body: RoundCreate
) -> RoundOut:
    """A route of stops (each equipment with its template, each carrying a QR label) and the
    local times it falls due."""
    noted.site = body.site
    _site(session, user, body.site)
    fields = RoundIn.model_validate(body.model_dump(exclude={"site"}))
    row = _save(session, body.site, fields, None, at=clock.now(), actor=user.name)
    noted.target = f"round:{row.id}"
    return round_out(session, row, clock.now(), 7)


@router.put(
    "/rounds/{round_id}",
    response_model=RoundOut,
    responses=CHANGE_DOCS,
    summary="Change an inspection round",
)
def change_round(
    *,
    noted: RoundNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    round_id: RoundId,
    body: RoundChange,
) -> RoundOut:
    """Replace the round's route, times and clocks (or retire it: `active` false); 409 when
    `seen_at` is given and someone saved the round since."""
    row = visible_round(session, user, round_id)
    noted.site, noted.target = row.site, f"round:{row.id}"
    fields = RoundIn.model_validate(body.model_dump(exclude={"seen_at"}))
    _save(session, row.site, fields, row.id, at=clock.now(), actor=user.name, seen=body.seen_at)
    return round_out(session, row, clock.now(), 7)


@router.post(
    "/rounds/{round_id}/runs",
    response_model=RunOut,
    responses=CHANGE_DOCS,
    summary="Start the run of the round due now",
)
def start(
    *,
    noted: StartNoted,
    session: DbSession,
    store: Store,
    clock: AppClock,
    user: RoundWorker,
    round_id: RoundId,
) -> RunOut:
    """The run of the due point open now (from an hour before it until it is missed), started
    by this call or an earlier one (by anyone): 409 when none is open."""
    row = visible_round(session, user, round_id)
    noted.site = row.site
    try:
        run = rounds.start_run(session, row, at=clock.now(), actor=user.name)
    except NoRoundDue as err:
        raise ConflictError(said(err)) from err
    noted.detail = {"run": run.id}
    return run_out(session, run, clock.now(), live_reader(store, row.site))


def _tallies(session: Session, run_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per run: entries, faults and disagreements with the live value."""
    rows = session.execute(
        select(
            RoundEntryRow.run_id,
            func.count(),
            func.sum(case((RoundEntryRow.ok.is_(False), 1), else_=0)),
            func.sum(case((RoundEntryRow.disagrees.is_(True), 1), else_=0)),
        )
        .where(RoundEntryRow.run_id.in_(run_ids))
        .group_by(RoundEntryRow.run_id)
    ).all()
    return {run: (int(n), int(bad or 0), int(off or 0)) for run, n, bad, off in rows}


@router.get(
    "/rounds/{round_id}/history",
    response_model=list[DuePointOut],
    responses=READ_DOCS,
    summary="A round's due points of the last days, newest first, with their runs' results",
)
def round_history(
    *, session: DbSession, clock: AppClock, user: CurrentUser, round_id: RoundId, days: Days = 7
) -> list[DuePointOut]:
    """Each due point of the last `days` site days until now: how it went and, when it was
    run, how many items were answered, how many were faults and how many readings disagreed
    with the live value (open the run for its entries: `GET /api/round-runs/{run_id}`)."""
    row = visible_round(session, user, round_id)
    now = clock.now()
    zone = rounds.zone_of(session, row.site)
    first = datetime.combine(now.astimezone(zone).date() - timedelta(days=days - 1), time(), zone)
    points = rounds.history(session, row, first - timedelta(microseconds=1), now, now)
    tallies = _tallies(session, [p.run_id for p in points if p.run_id is not None])
    out = []
    for p in reversed(points):
        entries, faults, off = tallies.get(p.run_id or 0, (0, 0, 0))
        extra = {"entries": entries, "faults": faults, "disagreements": off} if p.run_id else {}
        out.append(DuePointOut(**vars_of(p), **extra))
    return out
