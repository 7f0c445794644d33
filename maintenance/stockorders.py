"""Parts from stock on a work order: reserved for it, released, issued to it, returned.

Issuing parts books them on the order (`maintenance.worklog.add_part`) at the part's unit
cost — the one booking path the order's cost, its history file and the budget figures read —
and a return books the reversing row. Both put the order's `work_logged` event in the outbox
with the stock change, in one transaction with the order locked, as every booking does
(`maintenance.desk`). The stock itself moves through `maintenance.stock.apply_move`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.desk import record_change
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    StockRefused,
    StoreNotFound,
    UnknownPart,
    quantity_text,
)
from bldgwatch.maintenance.events import WORK_LOGGED
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    WorkOrderPartRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.partslist import counted, listed_part
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stock import (
    EPSILON,
    Move,
    MovementKind,
    apply_move,
    get_store,
    in_units,
    order_position,
    positive,
)
from bldgwatch.maintenance.stockmodels import StockMovementRow, StockRow
from bldgwatch.maintenance.worklog import InvalidWorkLog, add_part, return_part
from bldgwatch.maintenance.workorders import get_order

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OrderPosition:
    """A part from a store on an order: still reserved, and issued and not returned."""

    store_id: int
    store: str
    part_no: str
    name: str
    unit: str
    reserved: float
    issued: float
    short: float = 0.0
    """Of the reservation, what the shelf cannot serve (orders served oldest first; a
    stocktake counted fewer, review 19e L7); 0 when it is all there."""


def _short(session: Session, order_id: int, store_id: int, part_no: str) -> float:
    """How much of the order's reservation of the part what is on hand cannot serve, the
    store's reservations served oldest order first (as `uncovered`)."""
    stock = session.get(StockRow, (store_id, part_no))
    left = stock.on_hand if stock is not None else 0.0
    for order, part, reserved in store_reservations(session, store_id):
        if part.part_no != part_no:
            continue
        if order.id == order_id:
            short = reserved - min(reserved, left)
            return round(short, 6) if short > EPSILON else 0.0
        left = max(left - reserved, 0.0)
    return 0.0


def order_positions(session: Session, order_id: int) -> list[OrderPosition]:
    """Every store and part that moved on the order, by store and part number."""
    pairs = session.execute(
        select(StockMovementRow.store_id, StockMovementRow.part_no)
        .where(StockMovementRow.work_order_id == order_id)
        .distinct()
        .order_by(StockMovementRow.store_id, StockMovementRow.part_no)
    ).all()
    found = []
    for store_id, part_no in pairs:
        store, part = get_store(session, store_id), session.get(PartRow, part_no)
        reserved, issued = order_position(session, order_id, store_id, part_no)
        found.append(
            OrderPosition(
                store_id=store_id,
                store=store.name,
                part_no=part_no,
                name=part.name if part is not None else "",
                unit=part.unit if part is not None else "",
                reserved=round(reserved, 6),
                issued=round(issued, 6),
                short=_short(session, order_id, store_id, part_no) if reserved > EPSILON else 0.0,
            )
        )
    return found


def store_reservations(
    session: Session, store_id: int
) -> list[tuple[WorkOrderRow, PartRow, float]]:
    """What each order holds reserved in the store: (order, part, reserved), by order."""
    held = func.sum(StockMovementRow.reserved)
    rows = session.execute(
        select(WorkOrderRow, PartRow, held)
        .join(StockMovementRow, StockMovementRow.work_order_id == WorkOrderRow.id)
        .join(PartRow, PartRow.part_no == StockMovementRow.part_no)
        .where(StockMovementRow.store_id == store_id)
        .group_by(WorkOrderRow.id, PartRow.part_no)
        .having(held > EPSILON)
        .order_by(WorkOrderRow.id, PartRow.part_no)
    ).all()
    return [(order, part, in_units(reserved)) for order, part, reserved in rows]


def uncovered(
    session: Session, store_id: int, part_no: str, on_hand: float
) -> list[tuple[WorkOrderRow, float]]:
    """The orders whose reservations of the part what is on hand cannot cover, served oldest
    order first (review 19d-d M4): (order, reserved), empty when on hand covers them all."""
    left, short = on_hand, []
    for order, part, reserved in store_reservations(session, store_id):
        if part.part_no != part_no:
            continue
        if reserved > left + EPSILON:
            short.append((order, reserved))
        left = max(left - reserved, 0.0)
    return short


class OrderStockDesk:
    """Parts moved on work orders, one transaction each with the order locked."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def _on_order(
        self,
        move: Move,
        apply: Callable[[Session, WorkOrderRow, PartRow], StockMovementRow],
        *,
        actor: str,
        booked: bool,
        taking: bool,
    ) -> StockMovementRow:
        """Run `apply` with the order locked and the store of its site, in one transaction;
        a change that books on the order puts its event in the outbox. A change `taking` stock
        (reserve, issue) needs an order being worked on and a listed part; what the order holds
        goes back whatever became of either (review 19s L1, L2)."""
        positive(move.quantity)
        if move.work_order_id is None:
            raise InvalidRecord("work_order_id", Message("error.stock.no_order"))
        with self._sessions() as session:
            # The order's row is written first: on SQLite, where FOR UPDATE is nothing, that
            # takes the write lock before anything is read, so two returns (or releases) of
            # one unit cannot both pass the check of what the order holds (review 19s H3).
            session.execute(
                update(WorkOrderRow)
                .where(WorkOrderRow.id == move.work_order_id)
                .values(id=WorkOrderRow.id)
            )
            order = get_order(session, move.work_order_id, for_update=True)
            store = get_store(session, move.store_id)
            if store.site != order.site:
                raise StoreNotFound(move.store_id)
            previous = order.status
            if taking:
                _working(order)
            part = listed_part(session, move.part_no) if taking else known_part(session, move)
            counted(part, move.given)
            movement = apply(session, order, part)
            if booked:
                record_change(session, order, change=WORK_LOGGED, previous=previous, actor=actor)
            session.commit()
        return movement

    def reserve(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow:
        """Set parts aside for the order (StockShort 409 when fewer are available)."""

        def apply(session: Session, order: WorkOrderRow, part: PartRow) -> StockMovementRow:
            return apply_move(
                session,
                move,
                MovementKind.RESERVE,
                on_hand=0.0,
                reserved=move.quantity,
                at=at,
                actor=actor,
            )

        return self._on_order(move, apply, actor=actor, booked=False, taking=True)

    def unreserve(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow:
        """Release parts set aside for the order (no more than it holds: 409)."""

        def apply(session: Session, order: WorkOrderRow, part: PartRow) -> StockMovementRow:
            held, _ = order_position(session, order.id, move.store_id, part.part_no)
            if move.quantity > held + EPSILON:
                raise StockRefused(_held("error.stock.not_reserved", part, order, held))
            return apply_move(
                session,
                move,
                MovementKind.UNRESERVE,
                on_hand=0.0,
                reserved=-move.quantity,
                at=at,
                actor=actor,
            )

        return self._on_order(move, apply, actor=actor, booked=False, taking=False)

    def issue(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow:
        """Hand parts out for the order, from its reservation first, and book them on the order
        at the part's unit cost (StockShort 409 when the store has fewer)."""

        def apply(session: Session, order: WorkOrderRow, part: PartRow) -> StockMovementRow:
            held, _ = order_position(session, order.id, move.store_id, part.part_no)
            used = min(held, move.quantity)
            movement = apply_move(
                session,
                move,
                MovementKind.ISSUE,
                on_hand=-move.quantity,
                reserved=-used,
                at=at,
                actor=actor,
            )
            booking = add_part(
                session,
                order.id,
                part_no=part.part_no,
                quantity=move.quantity,
                unit_cost=part.unit_cost,
                description=part.name,
                unit=part.unit,
                at=at,
                actor=actor,
            )
            movement.booking_id = booking.id
            return movement

        return self._on_order(move, apply, actor=actor, booked=True, taking=True)

    def give_back(
        self, move: Move, *, at: datetime, actor: str, late: bool = False
    ) -> StockMovementRow:
        """Parts issued to the order come back unused: into the store, and the order's booking
        is reversed at the cost the returned units were issued at — the newest issues first,
        one return movement and reversing row per cost (no more than were issued: 409).
        On a closed or cancelled order only `late` (a supervisor's late booking, noted late:
        leftovers come back after the job is signed off; review 19c-s M7); 409 otherwise."""

        def apply(session: Session, order: WorkOrderRow, part: PartRow) -> StockMovementRow:
            lots = issued_lots(session, order.id, move.store_id, part)
            issued = in_units(sum(n for n, _ in lots))
            taken = take_back(lots, move.quantity)
            if move.quantity > issued + EPSILON or not taken:
                raise StockRefused(_held("error.stock.not_issued", part, order, issued))
            movements = [
                _return(
                    session,
                    order,
                    part,
                    replace(move, quantity=n),
                    unit_cost=cost,
                    at=at,
                    actor=actor,
                    late=late,
                )
                for n, cost in taken
            ]
            return movements[-1]

        return self._on_order(move, apply, actor=actor, booked=True, taking=False)


def _return(
    session: Session,
    order: WorkOrderRow,
    part: PartRow,
    move: Move,
    *,
    unit_cost: float,
    at: datetime,
    actor: str,
    late: bool = False,
) -> StockMovementRow:
    """One return movement and its reversing booking at `unit_cost` (`late` on a closed
    order)."""
    movement = apply_move(
        session, move, MovementKind.RETURN, on_hand=move.quantity, reserved=0.0, at=at, actor=actor
    )
    booking = return_part(
        session,
        order.id,
        part_no=part.part_no,
        quantity=move.quantity,
        unit_cost=unit_cost,
        description=part.name,
        unit=part.unit,
        at=at,
        actor=actor,
        late=late,
    )
    movement.booking_id = booking.id
    return movement


Lot = list[float]
"""Units of one issue still out on the order: [quantity, unit cost booked]."""


def issued_lots(session: Session, order_id: int, store_id: int, part: PartRow) -> list[Lot]:
    """The order's issues of the part from the store still out, oldest first.

    Returns are taken from the newest issue first (LIFO, review 19s M1): the units that come
    back unused are the last ones picked, and each return reverses only units still out at the
    cost their own issue was booked at, so the order's parts cost never goes below zero and
    always equals the sum of its bookings, whatever the list price did in between."""
    rows = session.execute(
        select(StockMovementRow.kind, StockMovementRow.quantity, WorkOrderPartRow.unit_cost)
        .outerjoin(WorkOrderPartRow, WorkOrderPartRow.id == StockMovementRow.booking_id)
        .where(
            StockMovementRow.work_order_id == order_id,
            StockMovementRow.store_id == store_id,
            StockMovementRow.part_no == part.part_no,
            StockMovementRow.kind.in_((MovementKind.ISSUE.value, MovementKind.RETURN.value)),
        )
        .order_by(StockMovementRow.id)
    ).all()
    lots: list[Lot] = []
    for kind, quantity, cost in rows:
        if kind == MovementKind.ISSUE.value:
            lots.append([in_units(quantity), float(part.unit_cost if cost is None else cost)])
        else:
            take_back(lots, in_units(quantity))
    return lots


def take_back(lots: list[Lot], quantity: float) -> list[tuple[float, float]]:
    """Take `quantity` from the newest lots (changing them): (quantity, unit cost) per lot,
    kept to the places quantities are kept to (`stock.in_units`); empty when nothing is out."""
    taken: list[tuple[float, float]] = []
    quantity = in_units(quantity)
    while quantity > 0 and lots:
        lot = lots[-1]
        n = min(lot[0], quantity)
        if n > 0:
            taken.append((n, lot[1]))
        lot[0], quantity = in_units(lot[0] - n), in_units(quantity - n)
        if lot[0] <= 0:
            lots.pop()
    return taken


def known_part(session: Session, move: Move) -> PartRow:
    """The part even if withdrawn from the list since (UnknownPart when it never was)."""
    row = session.get(PartRow, move.part_no)
    if row is None:
        raise UnknownPart(move.part_no)
    return row


def _working(order: WorkOrderRow) -> None:
    """Parts are set aside and issued only for an order someone has taken on and not finished
    (an open order's refusal was English only and came at the issue, after the reserve)."""
    if order.status == WorkOrderStatus.OPEN.value:
        raise InvalidWorkLog(Message("error.stock.order_open", {"id": str(order.id)}))
    if WorkOrderStatus(order.status) in TERMINAL_STATUSES:
        raise InvalidWorkLog(
            Message(
                "error.work_order.no_more_work",
                {"id": str(order.id), "status_name": Message(f"error.status_word.{order.status}")},
            )
        )


def _held(key: str, part: PartRow, order: WorkOrderRow, quantity: float) -> Message:
    return Message(
        key, {"part_no": part.part_no, "id": str(order.id), "quantity": quantity_text(quantity)}
    )
