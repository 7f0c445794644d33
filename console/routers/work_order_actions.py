"""Changes to work orders: repair requests, assignment, transitions, labour and parts.

The console checks who may act; the change itself is the owner's (`maintenance.desk`, one
transaction each, its event and notice in the work-order outbox), and the maintenance service
publishes the `WorkOrderEvent` and sends the notice. Technicians act only on orders assigned
to them (and may accept an open one for themselves); supervisors on any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import (
    CONTRACTOR,
    SUPERVISOR,
    TECHNICIAN,
    OrderReader,
    Requester,
    Supervisor,
    User,
)
from bldgwatch.console.auth import WorkOrderWorker as Worker
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    BadParameterError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
    said,
)
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import DIGITS_ONLY, MAX_ID, Page, Paging, to_page
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.work_orders import order_detail
from bldgwatch.console.schemas import WorkOrderDetail, WorkOrderEvent
from bldgwatch.console.schemas_write import (
    AssignRequest,
    LabourRequest,
    RepairRequest,
    TransitionRequest,
)
from bldgwatch.console.users import ConsoleTechnicians
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.deskrules import IncompleteMove
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    InvalidTransition,
    UnknownEquipment,
    UnknownPart,
    WorkOrderNotFound,
)
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.roster import TechnicianNotAtSite, UnknownTechnician
from bldgwatch.maintenance.texts import event_text
from bldgwatch.maintenance.worklog import (
    InvalidWorkLog,
    LabourBound,
    PartUse,
    PriceNotAllowed,
    WorkDone,
)

router = APIRouter(prefix="/api/work-orders", tags=["work orders"])

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number."), DIGITS_ONLY]
CHANGE_DOCS = problem_docs(400, 401, 403, 404, 409, 413, 422, 503)
RequestNoted = Annotated[AuditEntry, Depends(Audited(audit.WORK_ORDER_REQUEST, "work_order"))]
AssignNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_ASSIGN, "work_order:{order_id}"))
]
TransitionNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_TRANSITION, "work_order:{order_id}"))
]
LabourNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_LABOUR, "work_order:{order_id}"))
]
CONTRACTOR_MOVES = frozenset({"in_progress", "on_hold", "resolved"})
"""Where a contractor's user may move an order dispatched to its contractor."""
TECHNICIAN_MOVES = frozenset({"assigned", "in_progress", "on_hold", "resolved"})
"""Where a technician may move an order (assigned: accept an open order for oneself)."""


def approval_limit(session: Session, user: User) -> float | None:
    """What the user may approve: a manager (admin) any amount, a supervisor up to the
    policy's limit, anyone else nothing."""
    if user.has_any(frozenset({"admin"})):
        return None
    if user.has_any(frozenset({SUPERVISOR})):
        return load_policy(session).stock.supervisor_approval_limit
    return 0.0


def spot_limit(session: Session, user: User) -> float | None:
    """What the user's spot purchases on one order come to without approval: a supervisor's
    approval limit (a manager's none, review 19f M1), anyone else's
    `stock.spot_purchase_limit`."""
    if user.has_any(frozenset({"admin", SUPERVISOR})):
        return approval_limit(session, user)
    return load_policy(session).stock.spot_purchase_limit


def labour_bound(session: Session, user: User) -> LabourBound | None:
    """The bound on the user's own labour lines: a supervisor's none, anyone else's the site's
    `stock.labour_rate` and `stock.labour_max_hours` (review 19f H2)."""
    if user.has_any(frozenset({"admin", SUPERVISOR})):
        return None
    stock = load_policy(session).stock
    return LabourBound(stock.labour_rate, stock.labour_max_hours)


def visible_order(session: Session, user: User, order_id: int) -> WorkOrderRow:
    """The order, or 404 when it does not exist or is at another site."""
    row = queries.work_order(session, order_id)
    if row is None or not user.may_see_order(row.site, row.contractor):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    return row


def check_may_act(user: User, order: WorkOrderRow, to: str | None, *, books: bool = False) -> None:
    """Technicians: only their own orders (or accepting an open one); a contractor's user:
    the moves of its contractor's orders, booking no labour or parts (`books`: the call
    would; the property team books the contractor's charges); 403 otherwise."""
    if user.has_any(frozenset({SUPERVISOR})):
        return
    if CONTRACTOR in user.roles and user.contractor is not None:
        if order.contractor != user.contractor:  # not reached: such an order is a 404
            raise ForbiddenError(Message("error.contractor.not_yours", {"id": str(order.id)}))
        if books:
            raise ForbiddenError(Message("error.contractor.no_booking"))
        if to is not None and to not in CONTRACTOR_MOVES:
            raise ForbiddenError(Message("error.work_order.needs_supervisor", {"to": to}))
        return
    if TECHNICIAN not in user.roles:
        raise ForbiddenError(Message("error.work_order.may_not_change", {"user": user.name}))
    if to == "assigned":
        if order.status != "open" or order.assigned_to not in (None, user.name):
            raise ForbiddenError(
                Message("error.work_order.not_open_for", {"id": str(order.id), "user": user.name})
            )
        return
    if to is not None and to not in TECHNICIAN_MOVES:
        raise ForbiddenError(Message("error.work_order.needs_supervisor", {"to": to}))
    if order.assigned_to != user.name:
        raise ForbiddenError(
            Message("error.work_order.not_assigned_to", {"id": str(order.id), "user": user.name})
        )


def work_done(session: Session, work: TransitionRequest | LabourRequest, user: User) -> WorkDone:
    """The labour and parts a request books (another price than the list's: a supervisor's),
    under the booker's authority, labour bound and the site's labour rate."""
    parts = tuple(
        PartUse(
            p.part_no,
            p.quantity,
            p.unit_cost,
            p.description,
            p.cost_reason,
            bought_on_spot=p.bought_on_spot,
            spot_reason=p.spot_reason,
        )
        for p in work.parts
    )
    may_price = user.has_any(frozenset({SUPERVISOR}))
    return WorkDone(
        hours=work.labour_hours,
        rate=work.rate,
        parts=parts,
        may_price=may_price,
        spot_limit=spot_limit(session, user),
        labour_bound=labour_bound(session, user),
        labour_rate=load_policy(session).stock.labour_rate,
    )


def change(
    session: Session, engine: Engine, operation: Callable[[WorkDesk], WorkOrderRow]
) -> WorkOrderDetail:
    """Run the owner's change (one transaction) and return the order as stored after it."""
    desk = WorkDesk.from_store(session_factory(engine), technicians=ConsoleTechnicians(session))
    try:
        order = operation(desk)
    except (InvalidTransition, InvalidWorkLog, UnknownTechnician, TechnicianNotAtSite) as err:
        raise ConflictError(said(err)) from err
    except (WorkOrderNotFound, UnknownEquipment) as err:
        raise NotFoundError(said(err)) from err
    except PriceNotAllowed as err:
        raise ForbiddenError(said(err)) from err
    except UnknownPart as err:
        raise UnprocessableError(said(err), param="part_no") from err
    except IncompleteMove as err:
        needs = Message(f"error.work_order.needs_{err.needs}")
        raise UnprocessableError(needs, param=err.field) from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.rollback()  # end this request's read transaction: the next reads see the change
    row = queries.work_order(session, order.id)
    if row is None:
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order.id)}))
    return order_detail(session, row)


@router.post(
    "",
    response_model=WorkOrderDetail,
    status_code=201,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Open a repair request",
)
def create_request(
    *,
    noted: RequestNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Requester,
    body: RepairRequest,
) -> WorkOrderDetail:
    """A work order of kind `request` on a registered equipment, with SLA and failure stage."""
    noted.detail = {"equipment": body.equipment, "priority": body.priority}
    if not user.may_see(body.site):
        raise NotFoundError(
            Message("error.equipment.not_found", {"equipment": body.equipment, "site": body.site})
        )
    noted.site = body.site
    now = clock.now()
    created = change(
        session,
        engine,
        lambda desk: desk.request(
            site=body.site,
            equipment=body.equipment,
            title=body.title,
            description=body.description,
            priority=body.priority,
            at=now,
            actor=user.name,
        ),
    )
    noted.target = f"work_order:{created.id}"
    return created


@router.post(
    "/{order_id}/assign",
    response_model=WorkOrderDetail,
    responses=CHANGE_DOCS,
    summary="Assign a work order to a technician",
)
def assign(
    *,
    noted: AssignNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    order_id: OrderId,
    body: AssignRequest,
) -> WorkOrderDetail:
    """open → assigned to an existing, active technician of the order's site (409 naming
    the technician otherwise); the technician gets the assignment notice."""
    noted.site = visible_order(session, user, order_id).site
    noted.detail = {"technician": body.technician}
    now = clock.now()
    return change(
        session,
        engine,
        lambda desk: desk.assign(
            order_id, at=now, actor=user.name, technician=body.technician, note=body.note
        ),
    )


@router.post(
    "/{order_id}/transition",
    response_model=WorkOrderDetail,
    responses=CHANGE_DOCS,
    summary="Move a work order (accept, start, hold, resolve, verify, close, cancel)",
)
def transition(
    *,
    noted: TransitionNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    order_id: OrderId,
    body: TransitionRequest,
) -> WorkOrderDetail:
    """Technicians: accept (→ assigned to themselves), start, hold and resolve their own
    orders, logging labour and parts; supervisors: any allowed move. 409 when the state
    machine does not allow it; 422 when the move skips what its own route records (resolved
    needs a summary in `note`, cancelled a reason in `note`, and only POST /follow-up
    verifies)."""
    order = visible_order(session, user, order_id)
    noted.site, noted.detail = order.site, {"from": order.status, "to": body.to}
    check_may_act(user, order, body.to, books=bool(body.labour_hours or body.parts))
    assignee = user.name if body.to == "assigned" else None
    now, work = clock.now(), work_done(session, body, user)
    return change(
        session,
        engine,
        lambda desk: desk.move(
            order_id,
            body.to,
            at=now,
            actor=user.name,
            note=body.note,
            assigned_to=assignee,
            work=work,
        ),
    )


@router.post(
    "/{order_id}/labour",
    response_model=WorkOrderDetail,
    responses=CHANGE_DOCS,
    summary="Book labour and parts",
)
def log_labour(
    *,
    noted: LabourNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    order_id: OrderId,
    body: LabourRequest,
) -> WorkOrderDetail:
    """Book labour hours (at `rate`) and parts on the order; its totals grow (status unchanged)."""
    order = visible_order(session, user, order_id)
    noted.site = order.site
    noted.detail = {"labour_hours": body.labour_hours, "parts": len(body.parts)}
    check_may_act(user, order, None, books=True)
    if not body.labour_hours and not body.parts:
        raise BadParameterError(Message("error.work_order.nothing_to_log"), param="labour_hours")
    now, work = clock.now(), work_done(session, body, user)
    return change(
        session,
        engine,
        lambda desk: desk.log_work(order_id, work, at=now, actor=user.name, note=body.note),
    )


@router.get(
    "/{order_id}/history",
    response_model=Page[WorkOrderEvent],
    responses=problem_docs(401, 404, 422, 503),
    summary="History of a work order",
)
def history(
    *, session: DbSession, user: OrderReader, lang: Lang, paging: Paging, order_id: OrderId
) -> Page[WorkOrderEvent]:
    """Every transition and note (labour, parts), oldest first, each with its `text` in the
    reader's language (review 19f L8: it was empty on every event)."""
    visible_order(session, user, order_id)
    rows, total = queries.order_timeline(
        session, order_id, limit=paging.limit, offset=paging.offset
    )
    page = to_page(rows, total, paging, WorkOrderEvent)
    page.items = [
        e.model_copy(update={"text": event_text(e.message, e.note, lang)}) for e in page.items
    ]
    return page
