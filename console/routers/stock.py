"""Spare parts and stock (材料备品): stores per site, their stock and levels, movements,
stocktakes, and parts reserved, issued and returned on a work order.

Anyone of the property team reads a store of a site they see; supervisors (and admins) add
stores, set levels, receive by hand and count (stocktake, with its reason); technicians and
supervisors move parts on the orders they may book on (`console.orderpolicy`, action `book`).
The change is the owner's (`maintenance.stock`); an issue books on the order, so its cost,
history file and budget figures follow.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

import bldgwatch.console.partpath  # noqa: F401  (registers {…:part})
from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import SUPERVISOR, TECHNICIAN, CurrentUser, User, require
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
    said,
)
from bldgwatch.console.language import Lang
from bldgwatch.console.orderpolicy import check
from bldgwatch.console.paging import (
    DIGITS_ONLY,
    MAX_ID,
    MAX_LIMIT,
    After,
    CursorPage,
    cut_page,
    keyset_of,
)
from bldgwatch.console.present import order_title
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.work_order_actions import approval_limit, visible_order
from bldgwatch.console.routers.work_orders import order_detail
from bldgwatch.console.schemas import WorkOrderDetail
from bldgwatch.console.schemas_stock import (
    LevelsIn,
    MovementOut,
    OrderStockIn,
    OrderStockOut,
    ReceiptIn,
    ReservationOut,
    StockLineOut,
    StockPageOut,
    StocktakeIn,
    StoreIn,
    StoreOut,
)
from bldgwatch.core.db import Keyset, session_factory
from bldgwatch.core.i18n import Message, render
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    StockOverLimit,
    StockRefused,
    StockShort,
    StoreNotFound,
    UnknownPart,
    WorkOrderNotFound,
)
from bldgwatch.maintenance.purchasing import stock_lines
from bldgwatch.maintenance.stock import (
    Move,
    MovementKind,
    StockDesk,
    ledger,
    ledger_csv,
    movement_reason,
)
from bldgwatch.maintenance.stockmodels import StoreRow
from bldgwatch.maintenance.stockorders import (
    OrderStockDesk,
    order_positions,
    store_reservations,
    uncovered,
)
from bldgwatch.maintenance.worklog import InvalidWorkLog, is_late

router = APIRouter(prefix="/api", tags=["stock"])

StoreId = Annotated[int, Path(ge=1, le=MAX_ID, description="Store number."), DIGITS_ONLY]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number."), DIGITS_ONLY]
PartNo = Annotated[str, Path(min_length=1, max_length=64, description="Part number.")]
DOCS = problem_docs(401, 403, 404, 409, 422, 503)
STOCK_MOVERS = require(TECHNICIAN, SUPERVISOR, what="moving_stock")
STOCK_KEEPERS = require(SUPERVISOR, what="keeping_stock")
"""Who adds stores, sets levels, receives and counts stock by hand: a supervisor (review 19i
L4: a technician's refusal spoke of planning, dispatch and reports)."""
StockKeeper = Annotated[User, Depends(STOCK_KEEPERS)]
StockMover = Annotated[User, Depends(STOCK_MOVERS)]
T = TypeVar("T")


def run_stock(session: Session, operation: Callable[[], T]) -> T:
    """Run the owner's change and map its refusals to problems."""
    try:
        out = operation()
    except (StoreNotFound, WorkOrderNotFound) as err:
        raise NotFoundError(said(err)) from err
    except (StockShort, StockRefused, InvalidWorkLog) as err:
        raise ConflictError(said(err)) from err
    except StockOverLimit as err:
        raise ForbiddenError(said(err)) from err
    except UnknownPart as err:
        raise UnprocessableError(said(err), param="part_no") from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.rollback()  # end this request's read transaction: the next reads see the change
    return out


def visible_store(session: Session, user: User, store_id: int) -> StoreRow:
    """The store, if the user may see its site (404 otherwise, as for a missing one)."""
    row = session.get(StoreRow, store_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.stock.store_unknown", {"store": str(store_id)}))
    return row


def stock_page(session: Session, user: User, store: StoreRow) -> StockPageOut:
    """The store's stock lines, and what the user may approve."""
    site = queries.site(session, store.site)
    lines = [
        StockLineOut(
            part_no=x.part.part_no,
            name=x.part.name,
            unit=x.part.unit,
            unit_cost=x.part.unit_cost,
            critical=x.part.critical,
            on_hand=_shown(x.stock.on_hand),
            reserved=_shown(x.stock.reserved),
            available=_shown(max(x.stock.on_hand - x.stock.reserved, 0.0)),
            shortfall=_shown(x.shortfall),
            short_orders=[
                o.id for o, _ in uncovered(session, store.id, x.part.part_no, x.stock.on_hand)
            ]
            if x.shortfall
            else [],
            on_order=_shown(x.on_order),
            requested=_shown(x.requested),
            minimum=x.stock.minimum,
            reorder_level=x.stock.reorder_level,
            to_reorder=x.to_reorder,
            below_minimum=x.below_minimum,
            suggested_order=x.suggested_order,
        )
        for x in stock_lines(session, store.id)
    ]
    return StockPageOut(
        store=StoreOut.model_validate(store),
        timezone=site.timezone if site is not None else "Asia/Shanghai",
        lines=lines,
        approval_limit=approval_limit(session, user),
    )


def _shown(quantity: float) -> float:
    """A sum of float quantities as people count it (0.1 + 0.2 is 0.3, review 19s L4)."""
    return round(quantity, 6) + 0.0  # + 0.0: no "-0"


def store_change(
    session: Session,
    user: User,
    store_id: int,
    noted: AuditEntry,
    change: Callable[[], object],
    **detail: object,
) -> StockPageOut:
    """The steps of every change of a store: the store if the user sees it (404), the audit
    entry's site and detail, the owner's change (its refusals as problems), the page after."""
    noted.site = visible_store(session, user, store_id).site
    if detail:
        noted.detail = detail
    run_stock(session, change)
    return stock_page(session, user, visible_store(session, user, store_id))


@router.get(
    "/stores",
    response_model=list[StoreOut],
    responses=problem_docs(401, 422, 503),
    summary="The stores of the sites one sees",
)
def stores(
    *,
    session: DbSession,
    user: CurrentUser,
    site: Annotated[str | None, Query(max_length=64, description="Only this site's.")] = None,
) -> list[StoreOut]:
    """Stores by site and code."""
    stmt = select(StoreRow).where(user.site_filter(StoreRow.site))
    if site is not None:
        stmt = stmt.where(StoreRow.site == site)
    rows = session.scalars(stmt.order_by(StoreRow.site, StoreRow.code))
    return [StoreOut.model_validate(r) for r in rows]


@router.post(
    "/stores",
    response_model=StoreOut,
    status_code=201,
    responses=DOCS,
    summary="Add a store to a site",
)
def add_store(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.STORE_ADD, "stores"))],
    session: DbSession,
    engine: DbEngine,
    user: StockKeeper,
    body: StoreIn,
) -> StoreOut:
    """A store (仓库) of a site one sees; its code is unique within the site."""
    if not user.may_see(body.site) or queries.site(session, body.site) is None:
        raise NotFoundError(Message("error.site.not_found", {"site": body.site}))
    noted.site = body.site
    desk = StockDesk(session_factory(engine))
    row = run_stock(session, lambda: desk.add_store(body.site, body.code, body.name))
    return StoreOut.model_validate(row)


@router.get(
    "/stores/{store_id}/stock",
    response_model=StockPageOut,
    responses=problem_docs(401, 404, 422, 503),
    summary="A store's stock, levels and reorder list",
)
def store_stock(*, session: DbSession, user: CurrentUser, store_id: StoreId) -> StockPageOut:
    """Every part the store holds or keeps levels for; `to_reorder` marks the reorder list."""
    return stock_page(session, user, visible_store(session, user, store_id))


LedgerPart = Annotated[str | None, Query(max_length=64, description="Only this part's movements.")]
LedgerKind = Annotated[MovementKind | None, Query(description="Only this kind.")]


@router.get(
    "/stores/{store_id}/movements",
    response_model=CursorPage[MovementOut],
    responses=problem_docs(400, 401, 404, 422, 503),
    summary="A store's stock movements, newest first, a page at a time",
)
def movements(
    *,
    session: DbSession,
    user: CurrentUser,
    store_id: StoreId,
    part_no: LedgerPart = None,
    kind: LedgerKind = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Movements per page.")] = 100,
    after: After = None,
    lang: Lang,
) -> CursorPage[MovementOut]:
    """The ledger, newest first: who moved what, when, why and on which order; one part's
    or one kind's when asked. `next` continues it (`after`) with the filters kept; movements
    made meanwhile come first in a new listing, never on a later page."""
    visible_store(session, user, store_id)
    rows = ledger(
        session,
        store_id,
        part_no=part_no,
        kind=kind,
        limit=limit + 1,
        after=keyset_of(after),
    )
    page, next_at = cut_page(rows, limit, lambda r: Keyset(r[0].at, r[0].id))
    items = [
        MovementOut.model_validate(row).model_copy(
            update={"name": part.name, "unit": part.unit, "reason": movement_reason(row, lang)}
        )
        for row, part in page
    ]
    return CursorPage[MovementOut](items=items, next=next_at)


@router.get(
    "/stores/{store_id}/movements.csv",
    response_class=StreamingResponse,
    responses={**problem_docs(401, 404, 422, 503), 200: {"content": {"text/csv": {}}}},
    summary="A store's whole ledger (as filtered) as CSV",
)
def movements_csv(
    *,
    session: DbSession,
    engine: DbEngine,
    user: CurrentUser,
    store_id: StoreId,
    part_no: LedgerPart = None,
    kind: LedgerKind = None,
    lang: Lang,
) -> StreamingResponse:
    """Every movement the filters keep, newest first, written as it is read (a thousand at a
    time): times in the site's zone with their offset, kinds and column heads in the reader's
    language; UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese."""
    store = visible_store(session, user, store_id)
    site = queries.site(session, store.site)
    zone = ZoneInfo(site.timezone if site is not None else "Asia/Shanghai")
    body = ledger_csv(
        session_factory(engine), store_id, part_no=part_no, kind=kind, lang=lang, zone=zone
    )
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{store.site}-{store.code}")
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}-ledger.csv"'},
    )


@router.put(
    "/stores/{store_id}/stock/{part_no:part}/levels",
    response_model=StockPageOut,
    responses=DOCS,
    summary="Set a part's minimum and reorder level in a store",
)
def set_levels(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.STOCK_LEVELS, "store:{store_id}"))],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: StockKeeper,
    store_id: StoreId,
    part_no: PartNo,
    body: LevelsIn,
) -> StockPageOut:
    """The minimum may not be above the reorder level (422); a level set by hand is the base
    later suggestions start from."""
    desk, now = StockDesk(session_factory(engine)), clock.now()
    return store_change(
        session,
        user,
        store_id,
        noted,
        lambda: desk.set_levels(
            store_id, part_no, minimum=body.minimum, reorder_level=body.reorder_level, at=now
        ),
        part_no=part_no,
        **body.model_dump(),
    )


@router.post(
    "/stores/{store_id}/receipts",
    response_model=StockPageOut,
    responses=DOCS,
    summary="Receive parts into a store by hand",
)
def receive(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.STOCK_RECEIVE, "store:{store_id}"))],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: StockKeeper,
    store_id: StoreId,
    body: ReceiptIn,
) -> StockPageOut:
    """A receive movement (purchase request lines are received on their request)."""
    desk, now = StockDesk(session_factory(engine)), clock.now()

    def change() -> object:  # the move checks its reason: inside, where refusals are mapped
        move = Move(store_id, body.part_no, body.quantity, reason=body.reason)
        return desk.receive(move, at=now, actor=user.name, limit=approval_limit(session, user))

    return store_change(session, user, store_id, noted, change)


@router.post(
    "/stores/{store_id}/stocktakes",
    response_model=StockPageOut,
    responses=DOCS,
    summary="Record a stocktake count of a part, with its reason",
)
def stocktake(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.STOCKTAKE, "store:{store_id}"))],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: StockKeeper,
    store_id: StoreId,
    body: StocktakeIn,
    lang: Lang,
) -> StockPageOut:
    """The count replaces on hand through an adjust movement carrying the reason. A count
    below what is reserved is recorded (it is what the shelf holds) and answered with a
    `warning` naming the orders whose reservations it cannot cover (review 19d-d M4)."""
    desk, now = StockDesk(session_factory(engine)), clock.now()

    def change() -> object:
        move = Move(store_id, body.part_no, body.counted, reason=body.reason)
        return desk.stocktake(move, at=now, actor=user.name, limit=approval_limit(session, user))

    page = store_change(
        session,
        user,
        store_id,
        noted,
        change,
        part_no=body.part_no,
        counted=body.counted,
    )
    line = next((x for x in page.lines if x.part_no == body.part_no), None)
    if line is not None and line.short_orders:
        params = {
            "part": body.part_no,
            "counted": f"{line.on_hand:g}",
            "reserved": f"{line.reserved:g}",
            "unit": line.unit,
            "short": f"{line.shortfall:g}",
            "orders": "、".join(f"#{n}" for n in line.short_orders)
            if lang.startswith("zh")
            else ", ".join(f"#{n}" for n in line.short_orders),
        }
        page.warning = render("stock.stocktake_short", params, lang)
    return page


@router.get(
    "/stores/{store_id}/reservations",
    response_model=list[ReservationOut],
    responses=problem_docs(401, 404, 422, 503),
    summary="Parts reserved in a store, per work order",
)
def reservations(
    *, session: DbSession, user: CurrentUser, lang: Lang, store_id: StoreId
) -> list[ReservationOut]:
    """What each order holds reserved, oldest order first; a supervisor releases it on the
    stock page (POST /work-orders/{id}/stock, `unreserve`)."""
    visible_store(session, user, store_id)
    return [
        ReservationOut(
            work_order_id=order.id,
            title=order_title(order, lang),
            status=order.status,
            part_no=part.part_no,
            name=part.name,
            unit=part.unit,
            reserved=round(reserved, 6),
        )
        for order, part, reserved in store_reservations(session, store_id)
    ]


@router.get(
    "/work-orders/{order_id}/stock",
    response_model=list[OrderStockOut],
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Parts reserved for and issued to a work order",
)
def order_stock(*, session: DbSession, user: CurrentUser, order_id: OrderId) -> list[OrderStockOut]:
    """Per store and part that moved on the order: still reserved, issued and not returned."""
    visible_order(session, user, order_id)
    return [OrderStockOut.model_validate(p) for p in order_positions(session, order_id)]


@router.post(
    "/work-orders/{order_id}/stock",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Reserve, release, issue or return a part from stock on a work order",
)
def move_on_order(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.WORK_ORDER_STOCK, "work_order:{order_id}"))],
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: StockMover,
    lang: Lang,
    order_id: OrderId,
    body: OrderStockIn,
) -> WorkOrderDetail:
    """An issue books the part on the order at its unit cost (the order's cost rises), a
    return reverses it (on a closed or cancelled order a supervisor's late booking); 409
    naming the part and what is available when the store is short."""
    order = visible_order(session, user, order_id)
    noted.site, noted.detail = order.site, body.model_dump()
    # leftovers brought back after the order is closed: a supervisor's late booking (M7)
    late = body.action == "return" and is_late(order)
    check(user, order, "book_late" if late else "book")
    visible_store(session, user, body.store_id)
    move = Move(body.store_id, body.part_no, body.quantity, work_order_id=order_id)
    desk, now = OrderStockDesk(session_factory(engine)), clock.now()
    actions: dict[str, Callable[..., object]] = {
        "reserve": desk.reserve,
        "unreserve": desk.unreserve,
        "issue": desk.issue,
        "return": partial(desk.give_back, late=late),
    }
    run_stock(session, lambda: actions[body.action](move, at=now, actor=user.name))
    return order_detail(session, visible_order(session, user, order_id), lang=lang, user=user)
