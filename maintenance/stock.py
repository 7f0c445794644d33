"""Spare parts in stock (材料备品): stores per site, stock per store and part, and every change
of stock as a movement — receive, reserve, unreserve, issue, return, adjust (stocktake).

Each change writes its movement and changes the stock row in the same transaction, through
one conditional UPDATE that refuses to take what is not there (`StockShort`, 409): two
technicians issuing the last bearing at the same time cannot both have it, on SQLite
(writes are serialised) and on PostgreSQL (the second UPDATE re-reads the row it waited for).

Issuing parts on a work order books them on the order (`maintenance.worklog.add_part`) at the
part's unit cost — the one booking path the order's cost, its history file and the budget
figures read — and a return books the reversing row. Both put the order's `work_logged`
event in the outbox with the change, as every booking does (`maintenance.desk`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.desk import record_change
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.events import WORK_LOGGED
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    WorkOrderPartRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.partslist import listed_part
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stockmodels import StockMovementRow, StockRow, StoreRow
from bldgwatch.maintenance.worklog import InvalidWorkLog, add_part, return_part
from bldgwatch.maintenance.workorders import get_order

logger = logging.getLogger(__name__)

EPSILON = 1e-9
"""Quantities are floats (metres, litres): what is left may be this much below zero."""


class MovementKind(StrEnum):
    """What a stock movement did."""

    RECEIVE = "receive"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    ISSUE = "issue"
    RETURN = "return"
    ADJUST = "adjust"


class StoreNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No store with that id (HTTP 404)."""

    def __init__(self, store_id: int) -> None:
        super().__init__(Message("error.stock.store_unknown", {"store": str(store_id)}))


class StockShort(MaintenanceError):  # noqa: N818
    """Less of the part is available than asked for (HTTP 409), naming both."""

    def __init__(self, part_no: str, wanted: float, available: float) -> None:
        params = {"part_no": part_no, "wanted": f"{wanted:g}", "available": f"{available:g}"}
        super().__init__(Message("error.stock.short", params))
        self.available = available


class StockRefused(MaintenanceError):  # noqa: N818
    """A stock change the order or its bookings do not allow (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class Move:
    """One stock change asked for: the part, how many, why, and the order it is for."""

    store_id: int
    part_no: str
    quantity: float
    reason: str = ""
    work_order_id: int | None = None


def positive(quantity: float) -> float:
    """The quantity if it is a positive finite number (InvalidRecord 422 otherwise)."""
    if not 0 < quantity < 1e9:
        raise InvalidRecord("quantity", Message("error.stock.quantity"))
    return quantity


def get_store(session: Session, store_id: int) -> StoreRow:
    """The store (StoreNotFound when there is none)."""
    row = session.get(StoreRow, store_id)
    if row is None:
        raise StoreNotFound(store_id)
    return row


def stock_row(session: Session, store_id: int, part_no: str, at: datetime) -> StockRow:
    """The part's stock row in the store, created empty when the store never held it."""
    row = session.get(StockRow, (store_id, part_no))
    if row is None:
        row = StockRow(store_id=store_id, part_no=part_no, on_hand=0.0, reserved=0.0)
        row.minimum, row.reorder_level, row.updated_at = 0.0, 0.0, at
        session.add(row)
        session.flush()
    return row


def apply_move(
    session: Session,
    move: Move,
    kind: MovementKind,
    *,
    on_hand: float,
    reserved: float,
    at: datetime,
    actor: str,
) -> StockMovementRow:
    """Change the stock row by (`on_hand`, `reserved`) and write the movement; a change that
    lowers what is available succeeds only while enough is there (StockShort otherwise)."""
    held = stock_row(session, move.store_id, move.part_no, at)
    stmt = (
        update(StockRow)
        .where(StockRow.store_id == move.store_id, StockRow.part_no == move.part_no)
        .values(
            on_hand=StockRow.on_hand + on_hand,
            reserved=StockRow.reserved + reserved,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    if on_hand - reserved < 0:
        stmt = stmt.where(StockRow.on_hand - StockRow.reserved + (on_hand - reserved) >= -EPSILON)
    if on_hand < 0:
        stmt = stmt.where(StockRow.on_hand + on_hand >= -EPSILON)
    done = cast(CursorResult[Any], session.execute(stmt))
    if done.rowcount != 1:
        row = session.get(StockRow, (move.store_id, move.part_no), populate_existing=True)
        # what this move could have had: the free stock and the reservation it releases
        left = (row.on_hand - row.reserved + max(-reserved, 0.0)) if row is not None else 0.0
        raise StockShort(move.part_no, move.quantity, max(left, 0.0))
    movement = StockMovementRow(
        store_id=move.store_id,
        part_no=move.part_no,
        kind=kind.value,
        quantity=move.quantity,
        on_hand=on_hand,
        reserved=reserved,
        at=at,
        actor=actor[:64],
        reason=move.reason.strip(),
        work_order_id=move.work_order_id,
    )
    session.add(movement)
    session.flush()
    session.expire(held)  # changed in SQL: read afresh when next used
    return movement


def order_position(
    session: Session, order_id: int, store_id: int, part_no: str
) -> tuple[float, float]:
    """(still reserved, issued and not returned) of the part from the store for the order."""
    reserved, on_hand = session.execute(
        select(
            func.coalesce(func.sum(StockMovementRow.reserved), 0.0),
            func.coalesce(
                func.sum(StockMovementRow.on_hand).filter(
                    StockMovementRow.kind.in_((MovementKind.ISSUE, MovementKind.RETURN))
                ),
                0.0,
            ),
        ).where(
            StockMovementRow.work_order_id == order_id,
            StockMovementRow.store_id == store_id,
            StockMovementRow.part_no == part_no,
        )
    ).one()
    return float(reserved), -float(on_hand)


class StockDesk:
    """Every change of stock, one transaction each (with the order's booking and event when
    the change is on a work order)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def add_store(self, site: str, code: str, name: str) -> StoreRow:
        """A new store of the site (InvalidRecord 422 for an empty or taken code)."""
        code, name = code.strip(), name.strip()
        if not code or len(code) > 32:
            raise InvalidRecord("code", Message("error.record.length", {"low": 1, "high": 32}))
        if not name:
            raise InvalidRecord("name", Message("error.stock.store_name"))
        with self._sessions() as session:
            taken = session.scalar(
                select(StoreRow.id).where(StoreRow.site == site, StoreRow.code == code)
            )
            if taken is not None:
                raise InvalidRecord("code", Message("error.stock.store_taken", {"code": code}))
            row = StoreRow(site=site, code=code, name=name[:200])
            session.add(row)
            session.commit()
        return row

    def set_levels(
        self, store_id: int, part_no: str, *, minimum: float, reorder_level: float, at: datetime
    ) -> StockRow:
        """The store's minimum and reorder level of the part (both ≥ 0, minimum ≤ reorder)."""
        if not 0 <= minimum <= reorder_level < 1e9:
            raise InvalidRecord("reorder_level", Message("error.stock.levels"))
        with self._sessions() as session:
            get_store(session, store_id)
            row = stock_row(session, store_id, listed_part(session, part_no).part_no, at)
            row.minimum, row.reorder_level, row.updated_at = minimum, reorder_level, at
            session.commit()
        return row

    def receive(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow:
        """Parts come into the store (by hand; purchase lines go through `purchasing`)."""
        positive(move.quantity)
        with self._sessions() as session:
            get_store(session, move.store_id)
            listed_part(session, move.part_no)
            row = apply_move(
                session,
                move,
                MovementKind.RECEIVE,
                on_hand=move.quantity,
                reserved=0.0,
                at=at,
                actor=actor,
            )
            session.commit()
        return row

    def stocktake(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow | None:
        """The counted quantity (`move.quantity`, ≥ 0) replaces on hand, with a reason
        (required); None when the count agrees with the books."""
        if not 0 <= move.quantity < 1e9:
            raise InvalidRecord("quantity", Message("error.stock.quantity"))
        if not move.reason.strip():
            raise InvalidRecord("reason", Message("error.stock.reason"))
        with self._sessions() as session:
            get_store(session, move.store_id)
            listed_part(session, move.part_no)
            row = stock_row(session, move.store_id, move.part_no, at)
            delta = move.quantity - row.on_hand
            if abs(delta) <= EPSILON:
                return None
            # a count below what is reserved is what the shelf holds: recorded, never refused
            session.execute(
                update(StockRow)
                .where(StockRow.store_id == move.store_id, StockRow.part_no == move.part_no)
                .values(on_hand=move.quantity, updated_at=at)
            )
            movement = StockMovementRow(
                store_id=move.store_id,
                part_no=move.part_no,
                kind=MovementKind.ADJUST.value,
                quantity=abs(delta),
                on_hand=delta,
                reserved=0.0,
                at=at,
                actor=actor[:64],
                reason=move.reason.strip(),
            )
            session.add(movement)
            session.commit()
        return movement

    # -- on a work order -------------------------------------------------------------------
    def _on_order(
        self,
        move: Move,
        apply: Callable[[Session, WorkOrderRow, PartRow], StockMovementRow],
        *,
        actor: str,
        booked: bool,
    ) -> StockMovementRow:
        """Run `apply` with the order locked and the store of its site, in one transaction;
        a change that books on the order puts its event in the outbox."""
        positive(move.quantity)
        if move.work_order_id is None:
            raise InvalidRecord("work_order_id", Message("error.stock.no_order"))
        with self._sessions() as session:
            order = get_order(session, move.work_order_id, for_update=True)
            store = get_store(session, move.store_id)
            if store.site != order.site:
                raise StoreNotFound(move.store_id)
            previous = order.status
            movement = apply(session, order, listed_part(session, move.part_no))
            if booked:
                record_change(session, order, change=WORK_LOGGED, previous=previous, actor=actor)
            session.commit()
        return movement

    def reserve(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow:
        """Set parts aside for the order (StockShort 409 when fewer are available)."""

        def apply(session: Session, order: WorkOrderRow, part: PartRow) -> StockMovementRow:
            _working(order)
            return apply_move(
                session,
                move,
                MovementKind.RESERVE,
                on_hand=0.0,
                reserved=move.quantity,
                at=at,
                actor=actor,
            )

        return self._on_order(move, apply, actor=actor, booked=False)

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

        return self._on_order(move, apply, actor=actor, booked=False)

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

        return self._on_order(move, apply, actor=actor, booked=True)

    def give_back(self, move: Move, *, at: datetime, actor: str) -> StockMovementRow:
        """Parts issued to the order come back unused: into the store, and the order's booking
        is reversed at the cost they were issued at (no more than were issued: 409)."""

        def apply(session: Session, order: WorkOrderRow, part: PartRow) -> StockMovementRow:
            _, issued = order_position(session, order.id, move.store_id, part.part_no)
            if move.quantity > issued + EPSILON:
                raise StockRefused(_held("error.stock.not_issued", part, order, issued))
            movement = apply_move(
                session,
                move,
                MovementKind.RETURN,
                on_hand=move.quantity,
                reserved=0.0,
                at=at,
                actor=actor,
            )
            booking = return_part(
                session,
                order.id,
                part_no=part.part_no,
                quantity=move.quantity,
                unit_cost=_issued_cost(session, order.id, move, part),
                description=part.name,
                unit=part.unit,
                at=at,
                actor=actor,
            )
            movement.booking_id = booking.id
            return movement

        return self._on_order(move, apply, actor=actor, booked=True)


def _working(order: WorkOrderRow) -> None:
    """Parts are set aside only for an order still to be worked on."""
    if WorkOrderStatus(order.status) in TERMINAL_STATUSES:
        raise InvalidWorkLog(
            Message(
                "error.work_order.no_more_work",
                {"id": str(order.id), "status_name": Message(f"error.status_word.{order.status}")},
            )
        )


def _held(key: str, part: PartRow, order: WorkOrderRow, quantity: float) -> Message:
    return Message(key, {"part_no": part.part_no, "id": str(order.id), "quantity": f"{quantity:g}"})


def _issued_cost(session: Session, order_id: int, move: Move, part: PartRow) -> float:
    """The unit cost the order's newest issue of the part was booked at (the list's if none)."""
    cost = session.scalar(
        select(WorkOrderPartRow.unit_cost)
        .join(StockMovementRow, StockMovementRow.booking_id == WorkOrderPartRow.id)
        .where(
            StockMovementRow.work_order_id == order_id,
            StockMovementRow.store_id == move.store_id,
            StockMovementRow.part_no == part.part_no,
            StockMovementRow.kind == MovementKind.ISSUE.value,
        )
        .order_by(StockMovementRow.id.desc())
        .limit(1)
    )
    return float(cost) if cost is not None else part.unit_cost
