"""The service desk's queue (supervisors and admins, at their sites): the requests by status,
oldest first, with their age and, once accepted, their order's SLA clocks; requests the desk
logs by phone or at the counter; merging a duplicate into its primary; accepting a request
by joining the open order of an alarm incident on its equipment. Another site's request
answers 404."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import ColumnElement, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import Supervisor, User
from bldgwatch.console.config import ConsoleConfig, ServiceDeskSettings
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import ConflictError, NotFoundError, UnprocessableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import MAX_ID, Page, Paging, fetch_page
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_requests import (
    Decision,
    DeskLimits,
    DeskLogged,
    DeskRequest,
    DeskRequestIn,
    EquipmentIn,
    LinkIn,
    MergeIn,
)
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import deskrequests as dr
from bldgwatch.maintenance import publicrequests as pr
from bldgwatch.maintenance.errors import InvalidRecord, UnknownEquipment, UnknownSite
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.requestdesk import RequestDecided
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow

router = APIRouter(prefix="/api/service-desk", tags=["public requests"])

ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
SiteQuery = Annotated[str | None, Query(max_length=64, description="Only this site.")]
StatusQuery = Annotated[
    Literal["new", "accepted", "merged", "declined", "spam"],
    Query(description="Which requests: new (waiting, the default), accepted, merged, ..."),
]
MergeableQuery = Annotated[
    bool, Query(description="The possible primaries of a merge instead, newest first.")
]
LogNoted = Annotated[AuditEntry, Depends(Audited(audit.PUBLIC_REQUEST_LOG, "public_request:new"))]
DecisionNoted = Annotated[
    AuditEntry, Depends(Audited(audit.PUBLIC_REQUEST_DECISION, "public_request:{request_id}"))
]
RESPONDING = (WorkOrderStatus.OPEN.value, WorkOrderStatus.ASSIGNED.value)
"""An order's response clock runs until work starts."""
DONE = (
    WorkOrderStatus.RESOLVED.value,
    WorkOrderStatus.VERIFIED.value,
    WorkOrderStatus.CLOSED.value,
    WorkOrderStatus.CANCELLED.value,
)


def _minutes(due: datetime, now: datetime) -> int:
    return int((due - now).total_seconds() // 60)


def _clocks(order: WorkOrderRow | None, now: datetime) -> dict[str, object]:
    """The order's status and SLA clocks as the queue shows them."""
    if order is None:
        return {}
    return {
        "order_status": order.status,
        "response_due": order.response_due,
        "resolution_due": order.resolution_due,
        "response_left_min": _minutes(order.response_due, now)
        if order.status in RESPONDING
        else None,
        "resolution_left_min": _minutes(order.resolution_due, now)
        if order.status not in DONE
        else None,
    }


class _Reads:
    """What the rows of one page share, read once for the page: how many requests are
    merged into each (they wait again if it is refused) in one query, and the incident
    orders per equipment (a flood from one point asked for the same orders 50 times)."""

    def __init__(self, session: Session, rows: list[PublicRequestRow]) -> None:
        self._session = session
        merged = PublicRequestRow.merged_into_id
        counted = (
            select(merged, func.count()).where(merged.in_([r.id for r in rows])).group_by(merged)
        )
        self._duplicates = {i: int(n) for i, n in session.execute(counted).all() if i}
        self._incidents: dict[tuple[str, str | None], list[WorkOrderRow]] = {}

    def duplicates(self, request_id: int) -> int:
        return self._duplicates.get(request_id, 0)

    def incidents(self, site: str, equipment: str | None) -> list[WorkOrderRow]:
        key = (site, equipment)
        if key not in self._incidents:
            self._incidents[key] = dr.incident_orders(self._session, site, equipment)
        return self._incidents[key]


def desk_request(
    session: Session, row: PublicRequestRow, now: datetime, reads: _Reads | None = None
) -> DeskRequest:
    """A request as the desk's queue shows it (`reads`: its page's shared reads)."""
    reads = reads or _Reads(session, [row])
    point = None if row.point_id is None else session.get(RequestPointRow, row.point_id)
    order = session.get(WorkOrderRow, row.work_order_id) if row.work_order_id else None
    equipment = dr.equipment_of(session, row)
    waiting = row.status == pr.RequestStatus.NEW.value
    incidents = reads.incidents(row.site, equipment) if waiting else []
    return DeskRequest.model_validate(
        {
            "id": row.id,
            "number": pr.request_number(row),
            "site": row.site,
            "status": row.status,
            "channel": row.channel,
            "point_label": point.label if point else "",
            "equipment": equipment,
            "category": row.category,
            "location": row.location,
            "description": row.description,
            "caller_name": row.caller_name,
            "phone": row.phone,
            "has_photo": row.photo_stored_as is not None,
            "created_at": row.created_at,
            "age_min": max(0, int((now - row.created_at).total_seconds() // 60)),
            "urgency": row.urgency,
            "work_order_id": row.work_order_id,
            "merged_into": row.merged_into_id,
            "merged_into_number": f"R-{row.merged_into_id:06d}" if row.merged_into_id else None,
            "incident_orders": [o.id for o in incidents],
            "duplicates": reads.duplicates(row.id) if waiting else 0,
            **_clocks(order, now),
        }
    )


def _mergeable() -> ColumnElement[bool]:
    """Waiting, or accepted onto an order still being worked on (`deskrequests.merge`)."""
    open_orders = select(WorkOrderRow.id).where(WorkOrderRow.status.in_(dr.OPEN_ORDER))
    return or_(
        PublicRequestRow.status == pr.RequestStatus.NEW.value,
        and_(
            PublicRequestRow.status == pr.RequestStatus.ACCEPTED.value,
            PublicRequestRow.work_order_id.in_(open_orders),
        ),
    )


def _desk_settings(request: Request) -> ServiceDeskSettings:
    return cast(ConsoleConfig, request.app.state.cfg).service_desk


DeskSettings = Annotated[ServiceDeskSettings, Depends(_desk_settings)]


def _scoped(user: User, site: str | None) -> None:
    if site is not None and not user.may_see(site):
        raise NotFoundError(Message("error.site.not_found", {"site": site}))


def _own_request(session: Session, user: User, request_id: int) -> PublicRequestRow:
    row = session.get(PublicRequestRow, request_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.request.unknown", {"id": str(request_id)}))
    return row


@router.get(
    "/requests",
    response_model=Page[DeskRequest],
    responses=problem_docs(401, 403, 404, 422),
    summary="The desk's queue of repair requests",
)
def queue(
    *,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    paging: Paging,
    site: SiteQuery = None,
    status: StatusQuery = "new",
    mergeable: MergeableQuery = False,
) -> Page[DeskRequest]:
    """Requests of your sites in one status (default: waiting), oldest first, a page at a
    time, with their age, channel and — once accepted — their order's SLA clocks (minutes
    left, negative when overdue); `total` is how many there are. `mergeable=true` lists
    instead the requests a duplicate may be merged into, newest first: the waiting ones and
    the accepted ones whose order is still open (`status` is then ignored)."""
    _scoped(user, site)
    now = clock.now()
    chosen = _mergeable() if mergeable else PublicRequestRow.status == status
    scope = and_(user.site_filter(PublicRequestRow.site), chosen)
    if site is not None:
        scope = and_(scope, PublicRequestRow.site == site)
    order: tuple[SQLColumnExpression[Any], ...] = (PublicRequestRow.created_at, PublicRequestRow.id)
    if mergeable:
        order = (PublicRequestRow.created_at.desc(), PublicRequestRow.id.desc())
    rows, total = fetch_page(session, select(PublicRequestRow).where(scope), order, paging)
    reads = _Reads(session, list(rows))
    items = [desk_request(session, r, now, reads) for r in rows]
    return Page[DeskRequest](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post(
    "/requests",
    response_model=DeskLogged,
    status_code=201,
    responses=problem_docs(401, 403, 404, 422),
    summary="Log a repair request taken by phone or at the counter",
)
def log_request(
    *,
    request: Request,
    noted: LogNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    settings: DeskSettings,
    body: DeskRequestIn,
) -> DeskLogged:
    """It waits in the queue like one from a QR page, with its channel; the answer holds its
    private status link, once, to give to the caller: on `service_desk.public_url` when set
    (the address the caller's phone reaches, as the QR sheet's), else this console's. The
    description is as long as the QR page takes (`service_desk.max_description_chars`)."""
    _scoped(user, body.site)
    noted.site = body.site
    noted.detail = {"channel": body.channel}
    entry = dr.DeskEntry(
        site=body.site,
        channel=body.channel,
        category=body.category,
        description=body.description,
        language=lang,
        location=body.location,
        point_id=body.point_id,
        caller_name=body.caller_name,
        phone=body.phone,
        equipment=body.equipment,
    )
    try:
        row, token = dr.log_request(
            session, entry, at=clock.now(), most=settings.max_description_chars
        )
    except UnknownSite as err:
        raise NotFoundError(said(err)) from err
    except UnknownEquipment as err:
        raise UnprocessableError(said(err), param="equipment") from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.commit()
    noted.target = f"public_request:{row.id}"
    logged = desk_request(session, row, clock.now())
    base = settings.public_url or str(request.base_url).rstrip("/")
    return DeskLogged(
        request=logged,
        status_token=token,
        status_path=f"/s/{token}",
        status_url=f"{base}/s/{token}",
    )


@router.get(
    "/limits",
    response_model=DeskLimits,
    responses=problem_docs(401, 403),
    summary="What the desk's request form accepts",
)
def desk_limits(*, user: Supervisor, settings: DeskSettings) -> DeskLimits:
    """The longest description (the QR page's setting), location and caller's name."""
    return DeskLimits(
        max_description_chars=settings.max_description_chars,
        max_location_chars=dr.MAX_LOCATION,
        max_caller_chars=dr.MAX_CALLER,
    )


def _decision(row: PublicRequestRow) -> Decision:
    return Decision(
        id=row.id, number=pr.request_number(row), status=row.status, work_order_id=row.work_order_id
    )


@router.post(
    "/requests/{request_id}/merge",
    response_model=Decision,
    responses=problem_docs(401, 403, 404, 409, 422),
    summary="Merge a duplicate request into its primary",
)
def merge_request(
    *,
    noted: DecisionNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    request_id: ItemId,
    body: MergeIn,
) -> Decision:
    """This waiting request becomes `merged`, following the primary (waiting or accepted, of
    the same site): its status page shows the primary's progress; only the primary's
    requester rates the repair. Final: a merged request is decided, never a primary."""
    noted.site = _own_request(session, user, request_id).site
    noted.detail = {"decision": "merge", "primary_id": body.primary_id}
    _own_request(session, user, body.primary_id)  # another site's: 404, as unknown
    try:
        dr.merge(session, request_id, body.primary_id, at=clock.now(), actor=user.name)
    except (RequestDecided, dr.MergeRefused) as err:
        raise ConflictError(said(err)) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.commit()
    return _decision(_own_request(session, user, request_id))


@router.post(
    "/requests/{request_id}/equipment",
    response_model=DeskRequest,
    responses=problem_docs(401, 403, 404, 409, 422),
    summary="Name the equipment of a waiting request",
)
def name_equipment(
    *,
    noted: DecisionNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    request_id: ItemId,
    body: EquipmentIn,
) -> DeskRequest:
    """What it is about, when its point names no equipment: an active alarm incident on that
    equipment then shows in the queue (`incident_orders`), and accepting opens the order on
    it unless another is named."""
    noted.site = _own_request(session, user, request_id).site
    noted.detail = {"decision": "equipment", "equipment": body.equipment}
    try:
        row = dr.name_equipment(session, request_id, body.equipment)
    except RequestDecided as err:
        raise ConflictError(said(err)) from err
    except UnknownEquipment as err:
        raise UnprocessableError(said(err), param="equipment") from err
    session.commit()
    return desk_request(session, row, clock.now())


@router.post(
    "/requests/{request_id}/link",
    response_model=Decision,
    responses=problem_docs(401, 403, 404, 409, 422),
    summary="Accept a request by joining an alarm incident's open order",
)
def link_request(
    *,
    noted: DecisionNoted,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    request_id: ItemId,
    body: LinkIn,
) -> Decision:
    """The same problem as an active alarm incident on its equipment (an owner reporting a
    stuck elevator during its entrapment alarm): accepted onto that order, no second one;
    its status page follows that order."""
    noted.site = _own_request(session, user, request_id).site
    noted.detail = {"decision": "link", "work_order_id": body.work_order_id}
    try:
        dr.link_to_order(session, request_id, body.work_order_id, at=clock.now(), actor=user.name)
    except RequestDecided as err:
        raise ConflictError(said(err)) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.commit()
    return _decision(_own_request(session, user, request_id))
