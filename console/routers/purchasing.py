"""Purchase requests (采购申请) of a store and the reorder levels the failure model suggests.

Supervisors (and admins) raise requests — lines by hand or the store's reorder list —
approve them by amount as the plans approve repair costs (a supervisor up to the policy's
`stock.supervisor_approval_limit`, a manager (admin) any amount; 403 naming both otherwise)
and receive their lines into the store. Suggested levels are shown with their reason in the
reader's language; accepting one sets the level, nothing is applied by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

import bldgwatch.console.partpath  # noqa: F401  (registers {…:part})
from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import Supervisor, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import ConflictError, ForbiddenError, NotFoundError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.models import UserRow
from bldgwatch.console.paging import (
    DIGITS_ONLY,
    MAX_ID,
    MAX_LIMIT,
    After,
    CursorPage,
    cut_page,
    keyset_of,
)
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.stock import (
    PartNo,
    StoreId,
    run_stock,
    store_change,
    visible_store,
)
from bldgwatch.console.routers.work_order_actions import approval_limit
from bldgwatch.console.schemas_stock import (
    DecisionIn,
    OpenRequestOut,
    PurchaseLineOut,
    PurchaseReceiptIn,
    PurchaseRequestIn,
    PurchaseRequestOut,
    StockPageOut,
    SuggestionOut,
)
from bldgwatch.core.db import Keyset, session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.partslist import part_number
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.purchasing import (
    LineIn,
    OverApprovalLimit,
    OwnRequest,
    PurchaseDesk,
    RequestNotFound,
    RequestStatus,
    alongside,
    approval_amount,
    lines_of,
    requests_of,
)
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stock import StockDesk
from bldgwatch.maintenance.stockmodels import PurchaseLineRow, PurchaseRequestRow, StockRow
from bldgwatch.maintenance.stocksuggest import StageTally, Suggestion, suggestions

router = APIRouter(prefix="/api", tags=["stock"])

RequestId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="Purchase request number."), DIGITS_ONLY
]
DOCS = problem_docs(401, 403, 404, 409, 422, 503)


def _out(
    session: Session, rows: list[PurchaseRequestRow], lang: str, now: datetime | None = None
) -> list[PurchaseRequestOut]:
    lines = lines_of(session, [r.id for r in rows])
    return [
        PurchaseRequestOut.model_validate(r).model_copy(
            update={
                "status_name": Message(f"purchase.status.{r.status}").render(lang),
                "approval_amount": approval_amount(lines[r.id]),
                "lines": [_line_out(line, part) for line, part in lines[r.id]],
                "alongside": _alongside(session, r, now),
            }
        )
        for r in rows
    ]


def _alongside(
    session: Session, row: PurchaseRequestRow, now: datetime | None
) -> list[OpenRequestOut]:
    """A pending request's requester's other open requests for the site's stores (review 19g
    M7, 19i M2)."""
    if row.status != RequestStatus.PENDING.value or now is None:
        return []
    return [
        OpenRequestOut(id=x.id, amount=x.amount, status=x.status)
        for x in alongside(session, row, now, (), every=True)
    ]


def managers(session: Session) -> frozenset[str]:
    """Who approves any amount (a manager, `admin`): their approvals are theirs to give, not
    counted against a supervisor's limit (review 19g M7)."""
    users = session.scalars(select(UserRow)).all()
    return frozenset(u.name for u in users if "admin" in (u.roles or []))


def _line_out(line: PurchaseLineRow, part: PartRow) -> PurchaseLineOut:
    """A line with its part's name and list price, for the approver (review 19b-s M3)."""
    return PurchaseLineOut.model_validate(line).model_copy(
        update={"name": part.name, "list_cost": part.unit_cost}
    )


def _one(session: Session, store_id: int, request_id: int, lang: str) -> PurchaseRequestOut:
    """The request of that store (404 otherwise, also for one older than the newest 10 000,
    review 19s L8)."""
    row = session.get(PurchaseRequestRow, request_id)
    if row is None or row.store_id != store_id:
        raise NotFoundError(said(RequestNotFound(request_id)))
    return _out(session, [row], lang)[0]


def on_request(
    session: Session,
    user: User,
    store_id: int,
    noted: AuditEntry,
    change: Callable[[], PurchaseRequestRow],
    *,
    lang: str,
) -> PurchaseRequestOut:
    """The steps of every change of a purchase request: the store if the user sees it (404),
    the audit entry's site, the owner's change (its refusals as problems: 404 for an unknown
    request, 403 over the approver's limit or for one's own request), the request after."""
    noted.site = visible_store(session, user, store_id).site
    try:
        row = run_stock(session, change)
    except RequestNotFound as err:
        raise NotFoundError(said(err)) from err
    except (OverApprovalLimit, OwnRequest) as err:
        raise ForbiddenError(said(err)) from err
    return _one(session, store_id, row.id, lang)


@router.get(
    "/stores/{store_id}/purchase-requests",
    response_model=CursorPage[PurchaseRequestOut],
    responses=problem_docs(400, 401, 403, 404, 422, 503),
    summary="A store's purchase requests, newest first, a page at a time",
)
def purchase_requests(
    *,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    store_id: StoreId,
    status: Annotated[RequestStatus | None, Query(description="Only those in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Requests per page.")] = 50,
    after: After = None,
) -> CursorPage[PurchaseRequestOut]:
    """Newest first (by when raised), with their lines; `next` continues the listing
    (`after`) with the status kept, requests raised meanwhile never on a later page."""
    visible_store(session, user, store_id)
    rows = requests_of(session, store_id, status=status, limit=limit + 1, after=keyset_of(after))
    page, next_at = cut_page(rows, limit, lambda r: Keyset(r.created_at, r.id))
    items = _out(session, list(page), lang, clock.now())
    return CursorPage[PurchaseRequestOut](items=items, next=next_at)


@router.post(
    "/stores/{store_id}/purchase-requests",
    response_model=PurchaseRequestOut,
    status_code=201,
    responses=DOCS,
    summary="Raise a purchase request",
)
def raise_request(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.PURCHASE_REQUEST, "store:{store_id}"))],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    store_id: StoreId,
    body: PurchaseRequestIn,
) -> PurchaseRequestOut:
    """Lines by hand and, with `from_reorder_list`, the store's reorder list (each part up to
    twice its reorder level; what pending requests ask for counts as on order, so a second
    request finds nothing left: 409); 422 when it would have no line or a part on two."""
    lines = [LineIn(x.part_no, x.quantity, x.unit_cost) for x in body.lines]
    desk, now = PurchaseDesk(session_factory(engine)), clock.now()
    made = on_request(
        session,
        user,
        store_id,
        noted,
        lambda: desk.request(
            store_id,
            lines,
            from_reorder_list=body.from_reorder_list,
            note=body.note,
            at=now,
            actor=user.name,
        ),
        lang=lang,
    )
    noted.detail = {"amount": made.amount}
    return made


@router.post(
    "/stores/{store_id}/purchase-requests/{request_id}/decision",
    response_model=PurchaseRequestOut,
    responses=DOCS,
    summary="Approve or reject a purchase request",
)
def decide(
    *,
    noted: Annotated[
        AuditEntry, Depends(Audited(audit.PURCHASE_DECISION, "purchase_request:{request_id}"))
    ],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    store_id: StoreId,
    request_id: RequestId,
    body: DecisionIn,
) -> PurchaseRequestOut:
    """A supervisor approves up to the policy's limit, a manager (admin) any amount (403
    naming the amount and the limit); a decided request is 409."""
    noted.detail = body.model_dump()
    limit = approval_limit(session, user)
    desk, now = PurchaseDesk(session_factory(engine)), clock.now()
    return on_request(
        session,
        user,
        store_id,
        noted,
        lambda: desk.decide(
            store_id,
            request_id,
            approve=body.approve,
            limit=limit,
            at=now,
            actor=user.name,
            reason=body.reason,
            managers=managers(session),
        ),
        lang=lang,
    )


@router.post(
    "/stores/{store_id}/purchase-requests/{request_id}/receipts",
    response_model=PurchaseRequestOut,
    responses=DOCS,
    summary="Receive a line of an approved purchase request",
)
def receive_line(
    *,
    noted: Annotated[
        AuditEntry, Depends(Audited(audit.PURCHASE_RECEIVE, "purchase_request:{request_id}"))
    ],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    store_id: StoreId,
    request_id: RequestId,
    body: PurchaseReceiptIn,
) -> PurchaseRequestOut:
    """A receive movement into the store; the request is received when every line is."""
    noted.detail = body.model_dump()
    desk, now = PurchaseDesk(session_factory(engine)), clock.now()
    return on_request(
        session,
        user,
        store_id,
        noted,
        lambda: desk.receive(
            store_id, request_id, body.line_id, body.quantity, at=now, actor=user.name
        ),
        lang=lang,
    )


@router.post(
    "/stores/{store_id}/purchase-requests/{request_id}/close",
    response_model=PurchaseRequestOut,
    responses=DOCS,
    summary="Close an approved purchase request whose remaining lines will not come",
)
def close_request(
    *,
    noted: Annotated[
        AuditEntry, Depends(Audited(audit.PURCHASE_CLOSE, "purchase_request:{request_id}"))
    ],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    store_id: StoreId,
    request_id: RequestId,
) -> PurchaseRequestOut:
    """What came stays received; the rest is no longer on order (409 unless approved)."""
    desk, now = PurchaseDesk(session_factory(engine)), clock.now()
    return on_request(
        session,
        user,
        store_id,
        noted,
        lambda: desk.close(store_id, request_id, at=now, actor=user.name),
        lang=lang,
    )


def stage_tally(request: Request) -> StageTally:
    """The console's kept stage tallies (`app.state`)."""
    return cast(StageTally, request.app.state.stage_tally)


Tally = Annotated[StageTally, Depends(stage_tally)]


def _suggested(
    session: Session, store_id: int, now: datetime, tally: StageTally
) -> list[Suggestion]:
    policy = load_policy(session)
    return suggestions(
        session, store_id, as_of=now, stage=policy.stage, settings=policy.stock, tally=tally
    )


@router.get(
    "/stores/{store_id}/suggestions",
    response_model=list[SuggestionOut],
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Reorder levels the failure model suggests, with the reason",
)
def suggested_levels(
    *,
    session: DbSession,
    clock: AppClock,
    tally: Tally,
    user: Supervisor,
    lang: Lang,
    store_id: StoreId,
) -> list[SuggestionOut]:
    """Parts of the site's classes in early or late life whose failures are rising."""
    visible_store(session, user, store_id)
    return [
        SuggestionOut(
            part_no=x.part_no,
            name=x.name,
            equipment_type=x.equipment_type,
            current=x.current,
            suggested=x.suggested,
            reason=x.reason.render(lang),
        )
        for x in _suggested(session, store_id, clock.now(), tally)
    ]


@router.post(
    "/stores/{store_id}/suggestions/{part_no:part}/accept",
    response_model=StockPageOut,
    responses=DOCS,
    summary="Accept a suggested reorder level",
)
def accept_suggestion(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.STOCK_SUGGESTION, "store:{store_id}"))],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    tally: Tally,
    user: Supervisor,
    store_id: StoreId,
    part_no: PartNo,
) -> StockPageOut:
    """Sets the part's reorder level to the one suggested now, keeping the level it was
    computed from: the same suggestion is not offered again, so accepting twice raises the
    level once (409 when none is suggested, review 19s M4)."""
    visible_store(session, user, store_id)
    now = clock.now()
    wanted = part_number(part_no)  # as the list names it: Ｐ1 is P1 (review 19b-s L2)
    found = [x for x in _suggested(session, store_id, now, tally) if x.part_no == wanted]
    if not found:
        raise ConflictError(Message("error.stock.no_suggestion", {"part_no": part_no}))
    shown = found[0]
    stock = session.get(StockRow, (store_id, shown.part_no))
    minimum = min(stock.minimum if stock is not None else 0.0, shown.suggested)
    desk = StockDesk(session_factory(engine))
    return store_change(
        session,
        user,
        store_id,
        noted,
        lambda: desk.set_levels(
            store_id,
            shown.part_no,
            minimum=minimum,
            reorder_level=shown.suggested,
            at=now,
            suggested_from=shown.base,
        ),
        part_no=shown.part_no,
        reorder_level=shown.suggested,
        was=shown.current,
        base=shown.base,
    )
