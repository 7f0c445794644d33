"""Complaints (投诉): log one, list with filters, one with its timeline, assign the handler,
record the first response and the outcome. Engineers and supervisors (admins) handle the
complaints of their sites, viewers read them, technicians see none. The change is the
owner's (`maintenance.complaints`), the reads its query functions
(`maintenance.complaintqueries`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import (
    ENGINEER,
    SUPERVISOR,
    ComplaintHandler,
    ComplaintReader,
    User,
)
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import ConflictError, NotFoundError, UnprocessableError, said
from bldgwatch.console.paging import DIGITS_ONLY, MAX_ID, OnlySite, Page, Paging
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_complaints import (
    ComplaintAssign,
    ComplaintDetail,
    ComplaintEvent,
    ComplaintIn,
    ComplaintNote,
    ComplaintResolve,
    ComplaintSummary,
)
from bldgwatch.console.users import user_named
from bldgwatch.core.clock import Clock
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import complaintqueries, queries
from bldgwatch.maintenance.complaintmodels import Category, Channel, ComplaintRow
from bldgwatch.maintenance.complaints import (
    ComplaintClosed,
    ComplaintDesk,
    ComplaintNotFound,
    NewComplaint,
    overdue,
)
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite

router = APIRouter(prefix="/api", tags=["complaints"])

ComplaintId = Annotated[int, Path(ge=1, le=MAX_ID, description="Complaint number."), DIGITS_ONLY]
READ_DOCS = problem_docs(401, 403, 404, 422, 503)
CHANGE_DOCS = problem_docs(401, 403, 404, 409, 422, 503)
HANDLING = frozenset({ENGINEER, SUPERVISOR})
LogNoted = Annotated[AuditEntry, Depends(Audited(audit.COMPLAINT_LOG, "complaint"))]
AssignNoted = Annotated[
    AuditEntry, Depends(Audited(audit.COMPLAINT_ASSIGN, "complaint:{complaint_id}"))
]
RespondNoted = Annotated[
    AuditEntry, Depends(Audited(audit.COMPLAINT_RESPOND, "complaint:{complaint_id}"))
]
ResolveNoted = Annotated[
    AuditEntry, Depends(Audited(audit.COMPLAINT_RESOLVE, "complaint:{complaint_id}"))
]


def zones(session: Session, sites: set[str]) -> dict[str, str]:
    """Each site's time zone."""
    return {s: row.timezone for s in sites if (row := queries.site(session, s)) is not None}


def summary(row: ComplaintRow, clock: Clock, zone: str, user: User) -> ComplaintSummary:
    """The complaint as listed, with its clocks that ran out; who complained and their phone
    number only for those who handle complaints (a viewer sees them masked)."""
    out = ComplaintSummary.model_validate(row)
    update: dict[str, object] = {"overdue": overdue(row, clock.now()), "timezone": zone}
    if not user.has_any(HANDLING):
        update |= {"complainant": mask_name(row.complainant), "phone": mask_phone(row.phone)}
    return out.model_copy(update=update)


def mask_name(name: str | None) -> str | None:
    """`张三丰` → `张**`: the first character and one star for each of the rest (at most 3);
    a name of one character is only `*`."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    return name[0] + "*" * min(len(name) - 1, 3)


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` → `138****5678` (11 digits or more); a shorter number (a landline)
    keeps only its last 2 digits: `62345678` → `******78`."""
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 11:
        return "*" * max(len(digits) - 2, 1) + "".join(digits[-2:])
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


def person(user: User) -> str | None:
    """Who becomes the handler when they answer: the user, never an API token."""
    return user.name if user.kind == "user" else None


def visible(session: Session, user: User, complaint_id: int) -> ComplaintRow:
    """The complaint, or 404 when it does not exist or is at another site."""
    row = complaintqueries.complaint(session, complaint_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.complaint.not_found", {"id": str(complaint_id)}))
    return row


def detail(session: Session, row: ComplaintRow, user: User, clock: Clock) -> ComplaintDetail:
    """The complaint with its timeline and the caller's actions."""
    base = summary(row, clock, zones(session, {row.site}).get(row.site, "Asia/Shanghai"), user)
    actions: list[str] = []
    if user.has_any(HANDLING) and row.resolved_at is None:
        actions = ["assign", "resolve"] if row.responded_at else ["assign", "respond", "resolve"]
    return ComplaintDetail(
        **base.model_dump(),
        outcome_note=row.outcome_note,
        logged_at=row.logged_at,
        logged_by=row.logged_by,
        events=[
            ComplaintEvent.model_validate(e) for e in complaintqueries.timeline(session, row.id)
        ],
        actions=actions,
    )


def check_handler(session: Session, name: str, site: str) -> str:
    """The handler's user name as it is spelt (names ignore case, as logins do); 422 (naming
    `handler`) unless `name` is an enabled console user who may handle the site's complaints."""
    row = user_named(session, name)
    roles = set(row.roles) if row is not None else set()
    fits = (
        row is not None
        and not row.disabled
        and bool(roles & {ENGINEER, SUPERVISOR, "admin"})
        and (row.sites is None or site in row.sites)
    )
    if not fits:
        params = {"handler": name, "site": site}
        raise UnprocessableError(Message("error.complaint.handler", params), param="handler")
    assert row is not None
    return row.name


def _run(
    session: Session, engine: Engine, operation: Callable[[ComplaintDesk], ComplaintRow]
) -> ComplaintRow:
    """Run the owner's change and map its refusals to problems."""
    try:
        row = operation(ComplaintDesk.from_store(session_factory(engine)))
    except ComplaintNotFound as err:
        raise NotFoundError(said(err)) from err
    except ComplaintClosed as err:
        raise ConflictError(said(err)) from err
    except UnknownSite as err:
        raise NotFoundError(said(err)) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.rollback()  # end this request's read transaction: the next reads see the change
    return row


@router.post(
    "/complaints",
    response_model=ComplaintDetail,
    status_code=201,
    responses=CHANGE_DOCS,
    summary="Log a complaint",
)
def log_complaint(
    *,
    noted: LogNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: ComplaintHandler,
    body: ComplaintIn,
) -> ComplaintDetail:
    """A complaint received by phone, in person, online, WeCom, letter or the 12345 hotline;
    its response and resolution clocks start at `received_at` (default now)."""
    noted.site = body.site  # a refused attempt at another site is audited with that site
    if not user.may_see(body.site):
        raise NotFoundError(Message("error.site.not_found", {"site": body.site}))
    if body.handler is not None:
        body.handler = check_handler(session, body.handler, body.site)
    now = clock.now()
    fields = body.model_dump(exclude={"received_at"})
    new = NewComplaint(**fields, received_at=body.received_at or now)
    row = _run(session, engine, lambda desk: desk.log(new, at=now, actor=user.name))
    noted.target, noted.detail = f"complaint:{row.id}", {"category": body.category.value}
    return detail(session, visible(session, user, row.id), user, clock)


@router.get(
    "/complaints",
    response_model=Page[ComplaintSummary],
    responses=READ_DOCS,
    summary="List complaints",
)
def list_complaints(
    *,
    session: DbSession,
    clock: AppClock,
    user: ComplaintReader,
    paging: Paging,
    site: OnlySite = None,
    open_: Annotated[
        bool | None, Query(alias="open", description="true: no outcome yet; false: settled.")
    ] = None,
    overdue_: Annotated[
        bool | None,
        Query(alias="overdue", description="true: a clock ran out unanswered."),
    ] = None,
    channel: Channel | None = None,
    category: Category | None = None,
    handler: Annotated[
        str | None, Query(max_length=64, description="Handled by; `me` for yours.")
    ] = None,
    building: Annotated[str | None, Query(max_length=64)] = None,
    room: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ComplaintSummary]:
    """Complaints matching every filter, newest received first (a room needs its building)."""
    if room is not None and building is None:
        raise UnprocessableError(Message("error.complaint.room_without_building"), param="room")
    wanted = complaintqueries.ComplaintFilter(
        sites=user.sites,
        site=site,
        open=open_,
        overdue=overdue_,
        channel=channel.value if channel else None,
        category=category.value if category else None,
        handler=user.name if handler == "me" else handler,
        building=building,
        room=room,
    )
    rows, total = complaintqueries.list_complaints(
        session, wanted, now=clock.now(), limit=paging.limit, offset=paging.offset
    )
    site_zones = zones(session, {r.site for r in rows})
    items = [summary(r, clock, site_zones.get(r.site, "Asia/Shanghai"), user) for r in rows]
    return Page[ComplaintSummary](
        items=items, total=total, limit=paging.limit, offset=paging.offset
    )


@router.get(
    "/complaints/{complaint_id}",
    response_model=ComplaintDetail,
    responses=READ_DOCS,
    summary="One complaint with its timeline",
)
def get_complaint(
    *, session: DbSession, clock: AppClock, user: ComplaintReader, complaint_id: ComplaintId
) -> ComplaintDetail:
    """The complaint, every change to it (oldest first) and what the caller may do now."""
    return detail(session, visible(session, user, complaint_id), user, clock)


@router.post(
    "/complaints/{complaint_id}/assign",
    response_model=ComplaintDetail,
    responses=CHANGE_DOCS,
    summary="Hand a complaint to a handler",
)
def assign(
    *,
    noted: AssignNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: ComplaintHandler,
    complaint_id: ComplaintId,
    body: ComplaintAssign,
) -> ComplaintDetail:
    """The handler must be an engineer or supervisor of the complaint's site (409 once the
    complaint is settled)."""
    row = visible(session, user, complaint_id)
    noted.site, noted.detail = row.site, {"handler": body.handler}
    handler = check_handler(session, body.handler, row.site)
    now = clock.now()
    _run(
        session,
        engine,
        lambda desk: desk.assign(
            complaint_id,
            handler,
            at=now,
            actor=user.name,
            note=body.note,
            version=body.version,
        ),
    )
    return detail(session, visible(session, user, complaint_id), user, clock)


@router.post(
    "/complaints/{complaint_id}/respond",
    response_model=ComplaintDetail,
    responses=CHANGE_DOCS,
    summary="Record the first response to a complaint",
)
def respond(
    *,
    noted: RespondNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: ComplaintHandler,
    complaint_id: ComplaintId,
    body: ComplaintNote,
) -> ComplaintDetail:
    """Stops the response clock (409 when it was already answered or settled)."""
    noted.site = visible(session, user, complaint_id).site
    now = clock.now()
    _run(
        session,
        engine,
        lambda desk: desk.respond(
            complaint_id,
            body.note,
            at=now,
            actor=user.name,
            handler=person(user),
            version=body.version,
        ),
    )
    return detail(session, visible(session, user, complaint_id), user, clock)


@router.post(
    "/complaints/{complaint_id}/resolve",
    response_model=ComplaintDetail,
    responses=CHANGE_DOCS,
    summary="Record the outcome of a complaint",
)
def resolve(
    *,
    noted: ResolveNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: ComplaintHandler,
    complaint_id: ComplaintId,
    body: ComplaintResolve,
) -> ComplaintDetail:
    """Resolved, partially resolved, unfounded (无效) or withdrawn, with a note and whether
    the complainant accepted it; stops both clocks (409 when already settled)."""
    noted.site = visible(session, user, complaint_id).site
    noted.detail = {"outcome": body.outcome.value}
    now = clock.now()
    _run(
        session,
        engine,
        lambda desk: desk.resolve(
            complaint_id,
            body.outcome.value,
            note=body.note,
            accepted=body.accepted,
            at=now,
            actor=user.name,
            handler=person(user),
            version=body.version,
        ),
    )
    return detail(session, visible(session, user, complaint_id), user, clock)
