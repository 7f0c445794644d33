"""Work orders: the status state machine (pure) and the functions that store orders and moves.

open → assigned → in_progress (⇄ on_hold) → resolved → verified → closed, or cancelled from
any non-terminal status. A follow-up (回访) that finds the repair wanting sends a resolved
order back to work (→ assigned, or → open when nobody had it). Every move is a
`work_order_events` row with actor and time; the assignment's note is kept on the order for
the technician, the resolution's note as its summary; closing or cancelling clears
`incident_key`, so the next alarm of that incident opens a new order. A move changes the
stored status only if it is still the one the move started from (`_claim_move`), so two
concurrent moves of one order cannot both succeed, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message as CatalogueMessage
from bldgwatch.maintenance.config import SlaPolicy, StageConfig
from bldgwatch.maintenance.errors import (
    AwaitingApproval,
    InvalidTransition,
    UnknownEquipment,
    WorkOrderNotFound,
    quantity_text,
)
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    WorkOrderEventRow,
    WorkOrderKind,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.recordmodels import WorkOrderChargeRow
from bldgwatch.maintenance.scoring import StageScore
from bldgwatch.maintenance.sla import SlaDue, compute_due
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.stock import release_reservations
from bldgwatch.maintenance.texts import english, named

logger = logging.getLogger(__name__)

S = WorkOrderStatus

# What a timeline row records (`work_order_events.kind`).
CREATED_KIND, TRANSITION, COMMENT = "created", "transition", "comment"

TRANSITIONS: dict[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    S.OPEN: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.RESOLVED, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.RESOLVED: frozenset({S.VERIFIED, S.ASSIGNED, S.OPEN, S.CANCELLED}),
    S.VERIFIED: frozenset({S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


def check_transition(
    from_status: WorkOrderStatus | str,
    to_status: WorkOrderStatus | str,
    *,
    order_id: int | None = None,
) -> WorkOrderStatus:
    """Return the target status when the move is allowed; raise InvalidTransition otherwise."""
    try:
        src, dst = WorkOrderStatus(from_status), WorkOrderStatus(to_status)
    except ValueError as err:
        raise InvalidTransition(str(from_status), str(to_status), order_id=order_id) from err
    if dst not in TRANSITIONS[src]:
        raise InvalidTransition(src.value, dst.value, order_id=order_id)
    return dst


def is_open(status: WorkOrderStatus | str) -> bool:
    """True while the order is on the books (not closed or cancelled)."""
    return WorkOrderStatus(status) not in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """Everything a new order needs besides its SLA and stage."""

    site: str
    equipment: str
    kind: WorkOrderKind
    priority: int
    title: str
    description: str = ""
    family: str | None = None
    fault_code: str | None = None
    incident_key: str | None = None
    source_alarm_id: str | None = None
    alarm_count: int = 0
    pm_key: str | None = None
    texts: dict[str, Any] = field(default_factory=dict)  # {"title": message, …} stored form
    title_key: str | None = None
    title_params: dict[str, Any] | None = None


def add_event(
    session: Session,
    order: WorkOrderRow,
    *,
    to_status: str,
    actor: str,
    at: datetime,
    from_status: str | None = None,
    note: str = "",
    kind: str | None = None,
    message: Message | None = None,
) -> WorkOrderEventRow:
    """Record a move (or, with from == to, a note) in the order's timeline.

    `note` is the person's text; `message` the system's (stored as key and params, its
    English rendering in `note` when the person wrote none). `kind` says what the row records
    (transition by default for a move, note otherwise).
    """
    if message is not None and not note:
        note = english(message)
    row = WorkOrderEventRow(
        work_order_id=order.id,
        at=at,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:64],
        note=note,
        kind=kind or (TRANSITION if from_status != to_status else COMMENT),
        message=message.as_dict() if message is not None else None,
    )
    session.add(row)
    return row


def add_note(
    session: Session,
    order: WorkOrderRow,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    kind: str = "comment",
    message: Message | None = None,
) -> WorkOrderEventRow:
    """Record a note in the order's timeline (its status unchanged): a person's comment, or
    what the system booked or saw (`kind` labour, part, alarm, …, with its `message`)."""
    return add_event(
        session,
        order,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        at=at,
        note=note,
        kind=kind,
        message=message,
    )


def insert_order(
    session: Session,
    draft: OrderDraft,
    *,
    due: SlaDue,
    stage: StageScore,
    at: datetime,
    actor: str,
) -> WorkOrderRow:
    """Insert an open order and its first event; flushes (a duplicate incident_key raises)."""
    order = WorkOrderRow(
        site=draft.site,
        equipment=draft.equipment,
        kind=draft.kind.value,
        status=S.OPEN.value,
        priority=draft.priority,
        title=draft.title[:300],
        title_key=draft.title_key,
        title_params=draft.title_params,
        description=draft.description,
        family=draft.family,
        fault_code=draft.fault_code,
        incident_key=draft.incident_key,
        source_alarm_id=draft.source_alarm_id,
        alarm_count=draft.alarm_count,
        pm_key=draft.pm_key,
        texts=dict(draft.texts),
        created_at=at,
        updated_at=at,
        response_due=due.response_due,
        resolution_due=due.resolution_due,
        stage=stage.stage.value,
        stage_reason=stage.reason,
        stage_detail={**stage.as_detail(), **due.as_detail()},
        labour_hours=0.0,
        cost=0.0,
    )
    session.add(order)
    session.flush()
    add_event(
        session,
        order,
        to_status=S.OPEN.value,
        actor=actor,
        at=at,
        kind=CREATED_KIND,
        message=Message(
            "note.created", {"kind": named("kind", draft.kind.value), "priority": draft.priority}
        ),
    )
    return order


def get_order(session: Session, order_id: int, *, for_update: bool = False) -> WorkOrderRow:
    """The order with that id (row-locked on PostgreSQL when `for_update`)."""
    stmt = select(WorkOrderRow).where(WorkOrderRow.id == order_id)
    if for_update:
        stmt = stmt.with_for_update()
    order = session.scalars(stmt).one_or_none()
    if order is None:
        raise WorkOrderNotFound(order_id)
    return order


def _claim_move(session: Session, order_id: int, src: str, dst: str) -> None:
    """Move the stored status from `src` to `dst` only if it is still `src`: the optimistic
    check every status move makes (SQLite takes no row lock, so the status this transaction
    read may be stale); InvalidTransition (409) from the status found when another
    transaction moved the order first."""
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(WorkOrderRow)
            .where(WorkOrderRow.id == order_id, WorkOrderRow.status == src)
            .values(status=dst)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount == 1:
        return
    now = session.scalar(select(WorkOrderRow.status).where(WorkOrderRow.id == order_id))
    logger.info("work order %d: moved by someone else (%s, not %s)", order_id, now, src)
    raise InvalidTransition(str(now), dst, order_id=order_id)


FINISHING = frozenset({S.RESOLVED, S.CLOSED})
"""Moves an order may not make while it holds a spot purchase awaiting approval."""


def money(amount: float) -> str:
    """An amount of money as the refusals write it: two decimals, grouped."""
    return f"{amount:,.2f}"


def part_line(part_no: str, quantity: float, unit: str, amount: float) -> CatalogueMessage:
    """A part line named in a refusal: "part DR-ROLLER × 3 pc = 1,234.00"."""
    params = {"part_no": part_no, "quantity": quantity_text(quantity), "unit": unit}
    return CatalogueMessage("error.line.part", {**params, "amount": money(amount)})


def labour_line(technician: str, hours: float, amount: float) -> CatalogueMessage:
    """A labour line named in a refusal: "labour tech1 8 h = 640.00"."""
    params = {"technician": technician, "hours": f"{hours:g}", "amount": money(amount)}
    return CatalogueMessage("error.line.labour", params)


def charge_line(contractor: str, amount: float) -> CatalogueMessage:
    """A contractor charge named in a refusal: "contractor charge ACME = 6,000.00"."""
    return CatalogueMessage(
        "error.line.charge", {"contractor": contractor, "amount": money(amount)}
    )


_PENDING_KINDS: tuple[tuple[Any, Callable[[Any], CatalogueMessage]], ...] = (
    (
        WorkOrderPartRow,
        lambda p: part_line(p.part_no, p.quantity, p.unit or "", p.quantity * p.unit_cost),
    ),
    # review 19g: labour lines and contractor charges beyond their booker's authority too
    (WorkOrderLabourRow, lambda r: labour_line(r.technician, r.hours, r.hours * r.rate)),
    (WorkOrderChargeRow, lambda c: charge_line(c.contractor, c.amount)),
)
"""Each cost line table with how one of its lines is named (kind, what, amount)."""


def pending_lines(session: Session, order_id: int) -> list[CatalogueMessage]:
    """The order's lines awaiting approval, each as "#id" and its kind, what and amount."""
    said: list[CatalogueMessage] = []
    for table, described in _PENDING_KINDS:
        rows = session.scalars(
            select(table)
            .where(table.work_order_id == order_id, table.approval == "pending")
            .order_by(table.id)
        ).all()
        said += [
            CatalogueMessage("error.line.numbered", {"id": str(r.id), "line": described(r)})
            for r in rows
        ]
    return said


def check_no_pending(session: Session, order_id: int, to_status: WorkOrderStatus) -> None:
    """AwaitingApproval (409) naming the lines, by kind, when the order holds lines awaiting
    approval (review 19f M3); a supervisor approves or rejects them on the order first."""
    said = pending_lines(session, order_id)
    if said:
        raise AwaitingApproval(order_id, to_status.value, said)


def transition(
    session: Session,
    order_id: int,
    to_status: WorkOrderStatus | str,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    assigned_to: str | None = None,
) -> WorkOrderRow:
    """Move an order to `to_status`, recording who and when; the caller commits.

    Raises WorkOrderNotFound (404) or InvalidTransition (409).
    """
    order = get_order(session, order_id, for_update=True)
    dst = check_transition(order.status, to_status, order_id=order_id)
    if dst in FINISHING or dst is S.CANCELLED:  # review 19h M1: cancelling too
        check_no_pending(session, order_id, dst)
    src = order.status
    _claim_move(session, order_id, src, dst.value)
    if dst in TERMINAL_STATUSES:  # the parts it had set aside go back to the store
        for released in release_reservations(
            session, order_id, at=at, actor=actor, status=dst.value
        ):
            params = {"part_no": released.part_no, "quantity": quantity_text(released.quantity)}
            message = Message("note.stock_released", params)
            add_note(session, order, actor=actor, at=at, kind="part", message=message)
    order.status = dst.value
    order.updated_at = at
    if dst is S.ASSIGNED:
        order.assigned_to = assigned_to or order.assigned_to or actor
        if src != S.RESOLVED.value:
            order.assign_note = note or None
    if dst is S.RESOLVED:
        order.resolved_at = at
        order.summary = note or order.summary
    if src == S.RESOLVED.value and dst in {S.ASSIGNED, S.OPEN}:
        order.resolved_at = None  # back to work: not resolved any more
    if dst in TERMINAL_STATUSES:
        order.closed_at = at
        order.incident_key = None
    add_event(session, order, from_status=src, to_status=dst.value, actor=actor, at=at, note=note)
    session.flush()
    logger.info("work order %d: %s -> %s by %s", order.id, src, dst.value, actor)
    return order


def create_request(
    session: Session,
    *,
    site: str,
    equipment: str,
    title: str,
    at: datetime,
    actor: str,
    priority: int = 3,
    description: str = "",
    sla: SlaPolicy | None = None,
    stage_config: StageConfig | None = None,
    fits: FitCache | None = None,
) -> WorkOrderRow:
    """Open an owner's repair request (kind `request`) on a registered equipment.

    Pass the process's `FitCache` so the class fit is not rebuilt for every request.
    """
    asset = session.get(EquipmentRow, (site, equipment))
    if asset is None:
        raise UnknownEquipment(site, equipment)
    stage = assess_stage(
        session,
        site=site,
        equipment=equipment,
        equipment_type=asset.type,
        as_of=at,
        config=stage_config or StageConfig(),
        fits=fits,
    )
    due = compute_due(sla or SlaPolicy(), priority=priority, fault_code=None, started_at=at)
    draft = OrderDraft(
        site=site,
        equipment=equipment,
        kind=WorkOrderKind.REQUEST,
        priority=priority,
        title=title,
        description=description,
    )
    return insert_order(session, draft, due=due, stage=stage, at=at, actor=actor)
