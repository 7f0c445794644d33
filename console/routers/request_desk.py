"""The desk's side of public repair requests (supervisors and admins, at their sites):
request points and their QR sheet, and the moderation queue — accept (a repair work order),
decline with a reason, mark as spam. Another site's point or request answers 404."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import Supervisor, User
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    NotFoundError,
    UnavailableError,
    UnprocessableError,
    said,
)
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import MAX_ID
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.publicguard import PublicGuard
from bldgwatch.console.schemas_requests import (
    AcceptIn,
    Decision,
    DeclineIn,
    RequestPointIn,
    RequestPointOut,
    SpamIn,
    SpamOut,
)
from bldgwatch.console.users import ConsoleTechnicians
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import publicrequests as pr
from bldgwatch.maintenance.attachments import STORED, AttachmentStore
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.errors import InvalidRecord, UnknownEquipment, UnknownSite
from bldgwatch.maintenance.printing import ReportError
from bldgwatch.maintenance.qrsheet import SheetPoint, natural_key, sheet_pdf
from bldgwatch.maintenance.requestdesk import RequestDecided, RequestDesk, Urgency
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow
from bldgwatch.maintenance.rounds import rounds_needing

router = APIRouter(prefix="/api/service-desk", tags=["public requests"])

SHEET_POINTS = 200
"""Points per QR sheet: 100 pages, printed in seconds (thousands would pass Chromium's print
timeout; the web page offers one button per part)."""

ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
SiteQuery = Annotated[str | None, Query(max_length=64, description="Only this site.")]
PointNoted = Annotated[
    AuditEntry, Depends(Audited(audit.REQUEST_POINT, "request_point:{point_id}"))
]
NewPointNoted = Annotated[AuditEntry, Depends(Audited(audit.REQUEST_POINT, "request_point:new"))]
DecisionNoted = Annotated[
    AuditEntry, Depends(Audited(audit.PUBLIC_REQUEST_DECISION, "public_request:{request_id}"))
]
BulkNoted = Annotated[
    AuditEntry, Depends(Audited(audit.PUBLIC_REQUEST_DECISION, "public_request:several"))
]


def _point_out(row: RequestPointRow) -> RequestPointOut:
    fields = {
        name: getattr(row, name) for name in RequestPointOut.model_fields if name != "url_path"
    }
    return RequestPointOut.model_validate({**fields, "url_path": f"/r/{row.code}"})


def _scoped(user: User, site: str | None) -> None:
    """404 for a site the user does not see (as for one that does not exist)."""
    if site is not None and not user.may_see(site):
        raise NotFoundError(Message("error.site.not_found", {"site": site}))


@router.get(
    "/points",
    response_model=list[RequestPointOut],
    responses=problem_docs(401, 403, 404, 422),
    summary="Points",
)
def list_points(
    *, session: DbSession, user: Supervisor, site: SiteQuery = None
) -> list[RequestPointOut]:
    """The request points of your sites (retired ones too), by site and label."""
    _scoped(user, site)
    rows = pr.points(session, user.site_filter(RequestPointRow.site))
    return [_point_out(r) for r in rows if site is None or r.site == site]


@router.post(
    "/points",
    response_model=RequestPointOut,
    status_code=201,
    responses=problem_docs(401, 403, 404, 422),
    summary="Add a request point",
)
def add_point(
    *,
    noted: NewPointNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    body: RequestPointIn,
) -> RequestPointOut:
    """A new point with a fresh unguessable code, for its QR code."""
    _scoped(user, body.site)
    noted.site = body.site
    new = pr.NewPoint(body.site, body.kind, body.label, body.building, body.equipment)
    try:
        row = pr.add_point(session, new, at=clock.now(), actor=user.name)
    except UnknownSite as err:
        raise NotFoundError(said(err)) from err
    except UnknownEquipment as err:
        raise UnprocessableError(said(err), param="equipment") from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.commit()
    noted.target = f"request_point:{row.id}"
    return _point_out(row)


def _own_point(session: Session, user: User, point_id: int) -> RequestPointRow:
    row = session.get(RequestPointRow, point_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.request.point_unknown", {"id": str(point_id)}))
    return row


@router.post(
    "/points/{point_id}/retire",
    response_model=RequestPointOut,
    responses=problem_docs(401, 403, 404, 409, 422),
    summary="Retire a request point",
)
def retire_point(
    *,
    noted: PointNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    point_id: ItemId,
    confirm: Annotated[
        bool,
        Query(
            description="Retire it even though active rounds stop at its equipment and it is "
            "the equipment's only label in use (without it: 409 naming those rounds)."
        ),
    ] = False,
) -> RequestPointOut:
    """Its code answers 'no longer in use' from now on (retiring twice keeps the first time).
    The equipment's last label in use, with active rounds through it: 409 naming them unless
    `confirm` (their runs could not be completed; review 19c-r M2)."""
    row = _own_point(session, user, point_id)
    noted.site = row.site
    if row.retired_at is None and row.equipment is not None and not confirm:
        needing = rounds_needing(session, row.site, row.equipment, row.code)
        if needing:
            params = {"equipment": row.equipment, "rounds": ", ".join(needing)}
            raise ConflictError(Message("error.request.point_in_rounds", params))
    row.retired_at = row.retired_at or clock.now()
    session.commit()
    return _point_out(row)


@router.get(
    "/points/sheet",
    response_class=Response,
    responses={
        **problem_docs(401, 403, 404, 422, 503),
        200: {"content": {"application/pdf": {}}, "description": "The QR sheet."},
    },
    summary="The QR codes of a site's points, as a PDF",
)
def point_sheet(
    *,
    request: Request,
    session: DbSession,
    user: Supervisor,
    lang: Lang,
    site: Annotated[str, Query(min_length=1, max_length=64)],
    part: Annotated[
        int, Query(ge=1, le=MAX_ID, description=f"Which {SHEET_POINTS} points: 1 the first.")
    ] = 1,
) -> Response:
    """One QR code per point in use, with its label and the site, to print and post; a site
    of more than `SHEET_POINTS` points prints in parts (`X-Sheet-Parts` says how many), each
    in the order of the labels' numbers (2层 before 10层)."""
    _scoped(user, site)
    rows = [r for r in pr.points(session, RequestPointRow.site == site) if r.retired_at is None]
    rows.sort(key=lambda r: natural_key(r.label))
    parts = max(1, -(-len(rows) // SHEET_POINTS))
    if part > parts:
        raise NotFoundError(Message("error.request.sheet_part", {"part": part, "parts": parts}))
    configured = cast(ConsoleConfig, request.app.state.cfg).service_desk.public_url
    base = configured or str(request.base_url).rstrip("/")
    mine = rows[(part - 1) * SHEET_POINTS : part * SHEET_POINTS]
    found = [SheetPoint(r.label, f"{base}/r/{r.code}") for r in mine]
    try:
        pdf = sheet_pdf(session, site, found, lang=lang)
    except UnknownSite as err:
        raise NotFoundError(said(err)) from err
    except ReportError as err:
        raise UnavailableError(said(err)) from err
    name = f"request-points-{site}" + (f"-{part}-of-{parts}" if parts > 1 else "")
    headers = {
        "Content-Disposition": f'attachment; filename="{name}.pdf"',
        "X-Sheet-Parts": str(parts),
        "Access-Control-Expose-Headers": "X-Sheet-Parts",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


def _own_request(session: Session, user: User, request_id: int) -> PublicRequestRow:
    row = session.get(PublicRequestRow, request_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.request.unknown", {"id": str(request_id)}))
    return row


@router.get(
    "/requests/{request_id}/photo",
    response_class=FileResponse,
    responses=problem_docs(401, 403, 404, 422),
    summary="The photo of a public request",
)
def request_photo(
    *, request: Request, session: DbSession, user: Supervisor, request_id: ItemId
) -> FileResponse:
    """The requester's photo, as re-encoded when it was sent: its own type and extension,
    never sniffed by the browser, never cached (it shows someone's home)."""
    row = _own_request(session, user, request_id)
    guard = cast(PublicGuard, request.app.state.public_guard)
    stored = row.photo_stored_as
    target = guard.photos.folder / stored if stored and STORED.match(stored) else None
    if stored is None or target is None or not target.is_file():
        raise NotFoundError(Message("error.request.no_photo", {"id": str(request_id)}))
    return FileResponse(
        target,
        media_type=row.photo_type or "application/octet-stream",
        filename=f"{pr.request_number(row)}.{stored.rsplit('.', 1)[-1]}",
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


def _photo_store(request: Request) -> AttachmentStore:
    return cast(PublicGuard, request.app.state.public_guard).photos


PhotoStore = Annotated[AttachmentStore, Depends(_photo_store)]
"""Where the requests' photos lie (a declined or spam request's photo is removed)."""


def _request_desk(
    session: Session, engine: Engine, photos: AttachmentStore | None = None
) -> RequestDesk:
    sessions = session_factory(engine)
    technicians = ConsoleTechnicians(session)
    desk = WorkDesk.from_store(sessions, technicians=technicians)
    return RequestDesk(sessions, desk, photos=photos)


def _decide(
    *,
    session: Session,
    engine: Engine,
    user: User,
    request_id: int,
    noted: AuditEntry,
    act: Callable[[RequestDesk], object],
    photos: AttachmentStore | None = None,
) -> Decision:
    """Run the desk's decision `act(desk)` and answer the request as stored after it."""
    noted.site = _own_request(session, user, request_id).site
    desk = _request_desk(session, engine, photos)
    try:
        returned = act(desk)
    except RequestDecided as err:
        raise ConflictError(said(err)) from err
    except UnknownEquipment as err:
        raise UnprocessableError(said(err), param="equipment") from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.rollback()
    decided = _decision(_own_request(session, user, request_id))
    if isinstance(returned, list) and returned:  # merged callers waiting again, not refused
        decided.returned_to_queue = [str(n) for n in returned]
        noted.detail = {**noted.detail, "returned_to_queue": decided.returned_to_queue}
    return decided


def _decision(row: PublicRequestRow) -> Decision:
    return Decision(
        id=row.id, number=pr.request_number(row), status=row.status, work_order_id=row.work_order_id
    )


DECISION_DOCS = problem_docs(401, 403, 404, 409, 422)


@router.post(
    "/requests/{request_id}/accept",
    response_model=Decision,
    responses=DECISION_DOCS,
    summary="Accept a public request as a repair work order",
)
def accept_request(
    *,
    noted: DecisionNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    request_id: ItemId,
    body: AcceptIn,
) -> Decision:
    """A repair work order on the point's equipment (or the one named): 急修 P1, 零修 P3."""
    noted.detail = {"decision": "accept", "urgency": body.urgency}
    now = clock.now()
    return _decide(
        session=session,
        engine=engine,
        user=user,
        request_id=request_id,
        noted=noted,
        act=lambda desk: desk.accept(
            request_id,
            urgency=Urgency(body.urgency),
            at=now,
            actor=user.name,
            equipment=body.equipment,
        ),
    )


@router.post(
    "/requests/{request_id}/decline",
    response_model=Decision,
    responses=DECISION_DOCS,
    summary="Decline a public request",
)
def decline_request(
    *,
    noted: DecisionNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    photos: PhotoStore,
    user: Supervisor,
    request_id: ItemId,
    body: DeclineIn,
) -> Decision:
    """Declined with a reason, which its status page shows."""
    noted.detail = {"decision": "decline"}
    now = clock.now()
    return _decide(
        session=session,
        engine=engine,
        user=user,
        request_id=request_id,
        noted=noted,
        act=lambda desk: desk.decline(request_id, body.reason, at=now, actor=user.name),
        photos=photos,
    )


@router.post(
    "/requests/{request_id}/spam",
    response_model=Decision,
    responses=DECISION_DOCS,
    summary="Mark a public request as spam",
)
def spam_request(
    *,
    noted: DecisionNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    photos: PhotoStore,
    user: Supervisor,
    request_id: ItemId,
) -> Decision:
    """Never dispatched; its status page says declined."""
    noted.detail = {"decision": "spam"}
    now = clock.now()
    return _decide(
        session=session,
        engine=engine,
        user=user,
        request_id=request_id,
        noted=noted,
        act=lambda desk: desk.mark_spam(request_id, at=now, actor=user.name),
        photos=photos,
    )


@router.post(
    "/requests/spam",
    response_model=SpamOut,
    responses=problem_docs(401, 403, 404, 422),
    summary="Mark several public requests as spam",
)
def spam_requests(
    *,
    noted: BulkNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    photos: PhotoStore,
    user: Supervisor,
    body: SpamIn,
) -> SpamOut:
    """Each named request still waiting is marked as spam, as one at a time would, and
    audited as such; one another desk decided first is left as it is. A request of a site
    you do not see refuses the whole call (404 naming it, nothing marked)."""
    ids = list(dict.fromkeys(body.ids))
    noted.detail = {"decision": "spam", "ids": ids}
    rows = [_own_request(session, user, i) for i in ids]
    noted.site = rows[0].site if len({r.site for r in rows}) == 1 else None
    desk, now = _request_desk(session, engine, photos), clock.now()
    marked = {r.id: done for r in rows if (done := _marked(desk, r.id, now, user.name)) is not None}
    session.rollback()  # read them again, as decided
    for request_id, returned in marked.items():
        row = session.get(PublicRequestRow, request_id)
        target = f"public_request:{request_id}"
        one = replace(noted, target=target, site=row.site if row else None, actor=user.name)
        detail: dict[str, object] = {"decision": "spam", "bulk": True}
        if returned:  # the callers merged into it wait again
            detail["returned_to_queue"] = returned
        audit.record(session, replace(one, detail=detail), now)
    session.commit()
    noted.recorded = True  # one row per request marked, as the one-at-a-time route writes
    decisions = [_decision(_own_request(session, user, i)) for i in ids]
    return SpamOut(marked=len(marked), requests=decisions)


def _marked(desk: RequestDesk, request_id: int, at: datetime, actor: str) -> list[str] | None:
    """The numbers of the requests merged into it, now waiting again; None: decided before."""
    try:
        return desk.mark_spam(request_id, at=at, actor=actor)
    except RequestDecided:
        return None
