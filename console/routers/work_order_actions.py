"""Changes to work orders: repair requests, assignment, transitions, labour and parts.

Each change goes through `maintenance.workorders` in one transaction, then the console
publishes a `WorkOrderEvent` on the equipment's work-order topic. Technicians act only on
orders assigned to them (and may accept an open one for themselves); supervisors on any.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.console.auth import SUPERVISOR, TECHNICIAN, CurrentUser, Requester, Supervisor, User
from bldgwatch.console.auth import WorkOrderWorker as Worker
from bldgwatch.console.bus import EventSink, publish_work_order
from bldgwatch.console.deps import AppClock, DbSession, Events
from bldgwatch.console.errors import BadParameterError, ConflictError, ForbiddenError, NotFoundError
from bldgwatch.console.paging import Page, Paging, page_of
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.work_orders import order_detail
from bldgwatch.console.schemas import WorkOrderDetail, WorkOrderEvent
from bldgwatch.console.schemas_write import (
    AssignRequest,
    LabourRequest,
    RepairRequest,
    TransitionRequest,
)
from bldgwatch.maintenance import worklog, workorders
from bldgwatch.maintenance.errors import InvalidTransition, UnknownEquipment, WorkOrderNotFound
from bldgwatch.maintenance.events import CREATED, order_event
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow

router = APIRouter(prefix="/api/work-orders", tags=["work orders"])

OrderId = Annotated[int, Path(ge=1, description="Work-order number.")]
CHANGE_DOCS = problem_docs(401, 403, 404, 409, 422, 503)
TECHNICIAN_MOVES = frozenset({"assigned", "in_progress", "on_hold", "resolved"})
"""Where a technician may move an order (assigned: accept an open order for oneself)."""


def visible_order(session: Session, user: User, order_id: int) -> WorkOrderRow:
    """The order, or 404 when it does not exist or is at another site."""
    row = session.get(WorkOrderRow, order_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(f"work order {order_id} does not exist")
    return row


def check_may_act(user: User, order: WorkOrderRow, to: str | None) -> None:
    """Technicians: only their own orders (or accepting an open one); 403 otherwise."""
    if user.has_any(frozenset({SUPERVISOR})):
        return
    if TECHNICIAN not in user.roles:
        raise ForbiddenError(f"{user.name} may not change work orders")
    if to == "assigned":
        if order.status != "open" or order.assigned_to not in (None, user.name):
            raise ForbiddenError(f"work order {order.id} is not open for {user.name} to accept")
        return
    if to is not None and to not in TECHNICIAN_MOVES:
        raise ForbiddenError(f"moving a work order to {to} needs the supervisor role")
    if order.assigned_to != user.name:
        raise ForbiddenError(f"work order {order.id} is not assigned to {user.name}")


def _commit_and_publish(
    session: Session,
    events: EventSink,
    order: WorkOrderRow,
    *,
    change: str,
    previous: str | None,
    actor: str,
) -> WorkOrderDetail:
    """Commit, publish the change's `WorkOrderEvent` (built by `maintenance.events`, caused
    by the order's newest timeline row) and return the order's detail."""
    session.commit()
    cause = session.scalar(
        select(func.max(WorkOrderEventRow.id)).where(WorkOrderEventRow.work_order_id == order.id)
    )
    event = order_event(
        order,
        change=change,
        cause=str(cause),
        at=order.updated_at,
        actor=actor,
        previous_status=previous,
    )
    publish_work_order(events, event)
    return order_detail(session, order)


def _log_work(
    session: Session,
    order_id: int,
    user: User,
    work: TransitionRequest | LabourRequest,
    *,
    note: str,
    at: datetime,
) -> None:
    """Book the request's labour and parts through `maintenance.worklog` (409 when the order
    is finished)."""
    hours, rate = work.labour_hours, work.rate
    try:
        if hours:
            worklog.add_labour(
                session, order_id, technician=user.name, hours=hours, rate=rate, at=at, note=note
            )
        for part in work.parts:
            worklog.add_part(
                session,
                order_id,
                part_no=part.part_no,
                quantity=part.quantity,
                unit_cost=part.unit_cost,
                description=part.description,
                at=at,
                actor=user.name,
            )
    except worklog.InvalidWorkLog as err:
        raise ConflictError(str(err)) from err


def _move(
    session: Session,
    events: EventSink,
    user: User,
    order: WorkOrderRow,
    body: TransitionRequest,
    *,
    at_now: AppClock,
    assigned_to: str | None = None,
) -> WorkOrderDetail:
    previous = order.status
    now = at_now.now()
    try:
        workorders.check_transition(order.status, body.to, order_id=order.id)
        _log_work(session, order.id, user, body, note="", at=now)
        moved = workorders.transition(
            session,
            order.id,
            body.to,
            actor=user.name,
            at=now,
            note=body.note,
            assigned_to=assigned_to,
        )
    except InvalidTransition as err:
        raise ConflictError(str(err)) from err
    except WorkOrderNotFound as err:
        raise NotFoundError(str(err)) from err
    return _commit_and_publish(
        session, events, moved, change=moved.status, previous=previous, actor=user.name
    )


@router.post(
    "",
    response_model=WorkOrderDetail,
    status_code=201,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Open a repair request",
)
def create_request(
    *, session: DbSession, events: Events, clock: AppClock, user: Requester, body: RepairRequest
) -> WorkOrderDetail:
    """A work order of kind `request` on a registered equipment, with SLA and failure stage."""
    if not user.may_see(body.site):
        raise NotFoundError(f"equipment {body.equipment} of site {body.site} does not exist")
    try:
        order = workorders.create_request(
            session,
            site=body.site,
            equipment=body.equipment,
            title=body.title,
            description=body.description,
            priority=body.priority,
            at=clock.now(),
            actor=user.name,
        )
    except UnknownEquipment as err:
        raise NotFoundError(str(err)) from err
    return _commit_and_publish(
        session, events, order, change=CREATED, previous=None, actor=user.name
    )


@router.post(
    "/{order_id}/assign",
    response_model=WorkOrderDetail,
    responses=CHANGE_DOCS,
    summary="Assign a work order to a technician",
)
def assign(
    *,
    session: DbSession,
    events: Events,
    clock: AppClock,
    user: Supervisor,
    order_id: OrderId,
    body: AssignRequest,
) -> WorkOrderDetail:
    """open → assigned, with the technician's name."""
    order = visible_order(session, user, order_id)
    move = TransitionRequest(to="assigned", note=body.note)
    return _move(session, events, user, order, move, at_now=clock, assigned_to=body.technician)


@router.post(
    "/{order_id}/transition",
    response_model=WorkOrderDetail,
    responses=CHANGE_DOCS,
    summary="Move a work order (accept, start, hold, resolve, verify, close, cancel)",
)
def transition(
    *,
    session: DbSession,
    events: Events,
    clock: AppClock,
    user: Worker,
    order_id: OrderId,
    body: TransitionRequest,
) -> WorkOrderDetail:
    """Technicians: accept (→ assigned to themselves), start, hold and resolve their own
    orders, logging labour and parts; supervisors: any allowed move. 409 when the state
    machine does not allow it."""
    order = visible_order(session, user, order_id)
    check_may_act(user, order, body.to)
    assignee = user.name if body.to == "assigned" else None
    return _move(session, events, user, order, body, at_now=clock, assigned_to=assignee)


@router.post(
    "/{order_id}/labour",
    response_model=WorkOrderDetail,
    responses=CHANGE_DOCS,
    summary="Book labour and parts",
)
def log_labour(
    *,
    session: DbSession,
    clock: AppClock,
    user: Worker,
    order_id: OrderId,
    body: LabourRequest,
) -> WorkOrderDetail:
    """Book labour hours (at `rate`) and parts on the order; its totals grow (status unchanged)."""
    order = visible_order(session, user, order_id)
    check_may_act(user, order, None)
    if not body.labour_hours and not body.parts:
        raise BadParameterError("nothing to log: give labour_hours or parts", param="labour_hours")
    _log_work(session, order.id, user, body, note=body.note, at=clock.now())
    session.commit()
    return order_detail(session, order)


@router.get(
    "/{order_id}/history",
    response_model=Page[WorkOrderEvent],
    responses=problem_docs(401, 404, 422, 503),
    summary="History of a work order",
)
def history(
    *, session: DbSession, user: CurrentUser, paging: Paging, order_id: OrderId
) -> Page[WorkOrderEvent]:
    """Every transition and note (labour, parts), oldest first."""
    visible_order(session, user, order_id)
    stmt = select(WorkOrderEventRow).where(WorkOrderEventRow.work_order_id == order_id)
    order = (WorkOrderEventRow.at, WorkOrderEventRow.id)
    return page_of(session, stmt, order, paging, WorkOrderEvent)
