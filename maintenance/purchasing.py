"""What a store should order and the purchase requests (采购申请) that order it.

The reorder list holds the parts whose position — on hand + on order − reserved — is at or
below their reorder level; a purchase request takes lines from it or by hand, is approved by
amount as the plans approve repair costs (a supervisor up to `stock.supervisor_approval_limit`,
above it a manager; the console says who may, this module checks the limit it is given), and
its received lines become receive movements (`maintenance.stock`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.db import Keyset, newest_first
from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import first_hidden
from bldgwatch.core.site import DEFAULT_TIMEZONE
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    MaintenanceError,
    StockRefused,
    quantity_text,
)
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.partslist import counted, known_part, listed_part, part_number, plain
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stock import (
    EPSILON,
    Move,
    MovementKind,
    apply_move,
    get_store,
    in_units,
    positive,
)
from bldgwatch.maintenance.stockmodels import (
    PurchaseLineRow,
    PurchaseRequestRow,
    StockRow,
    StoreRow,
)

logger = logging.getLogger(__name__)


class RequestStatus(StrEnum):
    """Where a purchase request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    CLOSED = "closed"


class RequestNotFound(MaintenanceError):  # noqa: N818
    """No purchase request (or line) with that id in that store (HTTP 404)."""

    def __init__(self, request_id: int) -> None:
        super().__init__(Message("error.purchase.unknown", {"id": str(request_id)}))


class OverApprovalLimit(MaintenanceError):  # noqa: N818
    """The request's amount is above what the approver may approve (HTTP 403)."""

    def __init__(self, amount: float, limit: float) -> None:
        params = {"amount": f"{amount:.2f}", "limit": f"{limit:.2f}"}
        super().__init__(Message("error.purchase.over_limit", params))


class OverSplitLimit(OverApprovalLimit):
    """The request with the requester's other open requests for the site's stores of the last
    `SPLIT_DAYS` site-local days comes to more than the approver may approve (HTTP 403; review
    19g M7: four requests of ¥4,940 approved under a ¥5,000 limit; 19i M2: in four stores made
    for them), naming the sum and them."""

    def __init__(
        self, row: PurchaseRequestRow, amount: float, others: Sequence[Alongside], limit: float
    ) -> None:
        total = amount + sum(x.amount for x in others)
        params = {
            "id": str(row.id),
            "amount": f"{amount:,.2f}",
            "requester": row.created_by,
            "days": str(SPLIT_DAYS),
            "others": ", ".join(f"#{x.id} {x.amount:,.2f}" for x in others),
            "total": f"{total:,.2f}",
            "limit": f"{limit:,.2f}",
        }
        MaintenanceError.__init__(self, Message("error.purchase.over_limit_split", params))


SPLIT_DAYS = 7
"""An approver's limit holds for a request with its requester's other open requests for the
site's stores (any of them: a store is made in one call; review 19i M2) raised within this many
site-local days (review 19g M7)."""


@dataclass(frozen=True, slots=True)
class Alongside:
    """Another open request of the same requester for a store of the same site: its number,
    amount (as the approval limit counts it) and status."""

    id: int
    amount: float
    status: str


def alongside(
    session: Session,
    row: PurchaseRequestRow,
    at: datetime,
    managers: Collection[str],
    *,
    every: bool = False,
) -> list[Alongside]:
    """The requester's other requests for the site's stores (review 19i M2: not only this
    one) raised within the last `SPLIT_DAYS`
    site-local days (to `at`) that count with `row` against an approver's limit: approved by
    someone not in `managers` (a manager's approval is theirs to give), or pending and raised
    before it (the first of a split is not yet a split: it is approved, the second then shows
    the sum). Rejected ones, and ones a manager approved, do not count. `every`: all that
    are not rejected, pending or decided, what the request page shows beside it."""
    store = session.get(StoreRow, row.store_id)
    site = session.get(SiteRow, store.site) if store is not None else None
    zone = ZoneInfo(site.timezone if site is not None else DEFAULT_TIMEZONE)
    first_day = at.astimezone(zone).date() - timedelta(days=SPLIT_DAYS - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    found = session.scalars(
        select(PurchaseRequestRow)
        .join(StoreRow, StoreRow.id == PurchaseRequestRow.store_id)
        .where(
            StoreRow.site == (store.site if store is not None else None),
            PurchaseRequestRow.created_by == row.created_by,
            PurchaseRequestRow.id != row.id,
            PurchaseRequestRow.created_at >= since,
            PurchaseRequestRow.status != RequestStatus.REJECTED.value,
        )
        .order_by(PurchaseRequestRow.id)
    ).all()
    counted = [
        r
        for r in found
        if every
        or (r.status == RequestStatus.PENDING.value and r.id < row.id)
        or (r.status != RequestStatus.PENDING.value and r.decided_by not in managers)
    ]
    lines = lines_of(session, [r.id for r in counted])
    return [Alongside(r.id, approval_amount(lines[r.id]), r.status) for r in counted]


class OwnRequest(MaintenanceError):  # noqa: N818
    """Who raised a purchase request does not approve it (HTTP 403): another must."""

    def __init__(self, request_id: int) -> None:
        super().__init__(Message("error.purchase.own_request", {"id": request_id}))


@dataclass(frozen=True, slots=True)
class StockLine:
    """A part's stock in a store with its position (on hand + on order + requested −
    reserved): what approved requests still bring, and what pending ones ask for."""

    part: PartRow
    stock: StockRow
    on_order: float
    requested: float = 0.0

    @property
    def position(self) -> float:
        """What the store will have for new work once what is ordered or asked for comes (a
        pending request counts: a second click ordered the same shortage again, review 19s
        M3)."""
        return self.stock.on_hand + self.on_order + self.requested - self.stock.reserved

    @property
    def shortfall(self) -> float:
        """What is reserved beyond what is on hand (a stocktake counted fewer than the
        reservations hold, review 19d-d M4): the orders cannot all be served; 0 otherwise."""
        short = self.stock.reserved - self.stock.on_hand
        return short if short > EPSILON else 0.0

    @property
    def below_minimum(self) -> bool:
        """Below the minimum the store must not go under (shown apart from the reorder); a
        minimum of 0 is none set: reservations beyond the shelf are a shortfall, not a level
        gone wrong (review 19e L5)."""
        return self.stock.minimum > EPSILON and self.position < self.stock.minimum - EPSILON

    @property
    def to_reorder(self) -> bool:
        """At or below the reorder level (a level of 0 means: not kept in stock), below the
        minimum, or a critical part with nothing left for new work (review 19s L5); never a
        withdrawn part, which is not bought again (review 19c-s M1)."""
        if not self.part.active:
            return False
        if self.stock.reorder_level > 0 and self.position <= self.stock.reorder_level + EPSILON:
            return True
        if self.below_minimum or self.position < -EPSILON:  # promised beyond what will come
            return True
        return bool(self.part.critical) and self.position <= EPSILON

    @property
    def suggested_order(self) -> float:
        """Enough to bring the position up to twice the reorder level (whole units, one at
        least)."""
        return float(max(1, math.ceil(2 * self.stock.reorder_level - self.position - EPSILON)))


def on_order(
    session: Session, store_id: int, status: RequestStatus = RequestStatus.APPROVED
) -> dict[str, float]:
    """Per part: on the store's requests of that status and not received yet."""
    rows = session.execute(
        select(
            PurchaseLineRow.part_no,
            func.sum(PurchaseLineRow.quantity - PurchaseLineRow.received),
        )
        .join(PurchaseRequestRow, PurchaseRequestRow.id == PurchaseLineRow.request_id)
        .where(
            PurchaseRequestRow.store_id == store_id,
            PurchaseRequestRow.status == status.value,
        )
        .group_by(PurchaseLineRow.part_no)
    )
    return {part_no: max(float(left or 0.0), 0.0) for part_no, left in rows}


def stock_lines(session: Session, store_id: int) -> list[StockLine]:
    """Every part the store holds or keeps levels for, by part number."""
    ordered, requested = (
        on_order(session, store_id),
        on_order(session, store_id, RequestStatus.PENDING),
    )
    rows = session.execute(
        select(PartRow, StockRow)
        .join(StockRow, StockRow.part_no == PartRow.part_no)
        .where(StockRow.store_id == store_id)
        .order_by(PartRow.part_no)
    ).all()
    return [
        StockLine(part, stock, ordered.get(part.part_no, 0.0), requested.get(part.part_no, 0.0))
        for part, stock in rows
    ]


def reorder_list(session: Session, store_id: int) -> list[StockLine]:
    """The store's parts at or below their reorder level."""
    return [line for line in stock_lines(session, store_id) if line.to_reorder]


@dataclass(frozen=True, slots=True)
class LineIn:
    """A line asked for: a listed part, how many, the unit cost (the list's when None)."""

    part_no: str
    quantity: float
    unit_cost: float | None = None


class PurchaseDesk:
    """Purchase requests of a store, one transaction each."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def request(
        self,
        store_id: int,
        lines: Sequence[LineIn],
        *,
        from_reorder_list: bool,
        note: str,
        at: datetime,
        actor: str,
    ) -> PurchaseRequestRow:
        """A pending request with `lines`, plus the reorder list's parts (its suggested
        quantities) when `from_reorder_list`; refused when it would have no line."""
        wanted = _by_part(lines)
        with self._sessions() as session:
            get_store(session, store_id)
            if from_reorder_list:
                # the store's row is written first: two requests from the list (a double click,
                # two supervisors) take turns, and the second sees the first's lines as
                # requested (on SQLite as on PostgreSQL, review 19s M3)
                session.execute(
                    update(StoreRow).where(StoreRow.id == store_id).values(id=StoreRow.id)
                )
                low = reorder_list(session, store_id)
                if not low and not wanted:
                    raise StockRefused(Message("error.purchase.reorder_covered"))
                for line in low:
                    wanted.setdefault(
                        line.part.part_no, LineIn(line.part.part_no, line.suggested_order)
                    )
            if not wanted:
                raise InvalidRecord("lines", Message("error.purchase.no_lines"))
            row = PurchaseRequestRow(
                store_id=store_id,
                status=RequestStatus.PENDING.value,
                amount=0.0,
                note=plain("note", note, lines=True),
                created_at=at,
                created_by=actor[:64],
            )
            session.add(row)
            session.flush()
            row.amount = round(sum(_add_line(session, row.id, x) for x in wanted.values()), 2)
            session.commit()
        return row

    def decide(
        self,
        store_id: int,
        request_id: int,
        *,
        approve: bool,
        limit: float | None,
        at: datetime,
        actor: str,
        reason: str = "",
        managers: Collection[str] = (),
    ) -> PurchaseRequestRow:
        """Approve (`approval_amount` within `limit`; None: no limit) or reject a pending
        request; only someone other than who raised it approves it (four eyes: the amount is
        the unit costs the requester gave). A rejection says why (`reason`, review 19c-s L4:
        InvalidRecord `reason` without one). The limit holds for the request with its
        requester's other open requests for the site's stores (`alongside`; `managers`: who approves
        any amount; review 19g M7): OverSplitLimit 403 naming the sum and them."""
        reason = reason.strip()
        hidden = bool(reason) and first_hidden(reason, lines=True) is not None
        if hidden or (not approve and not reason):
            raise InvalidRecord("reason", Message("error.purchase.reject_reason"))
        with self._sessions() as session:
            row = _request(session, store_id, request_id, for_update=True)
            if row.status != RequestStatus.PENDING.value:
                raise StockRefused(_status(row))
            if approve and limit is not None and row.amount > limit + EPSILON:
                raise OverApprovalLimit(row.amount, limit)
            if approve and row.created_by == actor[:64]:
                raise OwnRequest(row.id)
            if approve and limit is not None:  # stated below the list: the list's amount
                amount = approval_amount(lines_of(session, [row.id])[row.id])
                if amount > limit + EPSILON:
                    raise OverApprovalLimit(amount, limit)
                # one approval at a time per site: two desks approving two of a split at once
                # each saw the other pending (review 19g M7), also in two stores (19i M2)
                site = session.scalar(select(StoreRow.site).where(StoreRow.id == store_id))
                session.execute(update(SiteRow).where(SiteRow.id == site).values(id=SiteRow.id))
                others = alongside(session, row, at, managers)
                if amount + sum(x.amount for x in others) > limit + EPSILON:
                    raise OverSplitLimit(row, amount, others, limit)
            row.status = (RequestStatus.APPROVED if approve else RequestStatus.REJECTED).value
            row.decided_at, row.decided_by = at, actor[:64]
            row.decision_note = reason or None
            session.commit()
        return row

    def close(
        self, store_id: int, request_id: int, *, at: datetime, actor: str
    ) -> PurchaseRequestRow:
        """Close an approved request with lines still to come (`close_request`)."""
        with self._sessions() as session:
            row = close_request(session, store_id, request_id, at=at, actor=actor)
            session.commit()
        return row

    def receive(
        self,
        store_id: int,
        request_id: int,
        line_id: int,
        quantity: float,
        *,
        at: datetime,
        actor: str,
    ) -> PurchaseRequestRow:
        """`quantity` of an approved request's line came: a receive movement; the request is
        received when every line is."""
        given, quantity = quantity, positive(in_units(quantity))  # kept to a thousandth
        with self._sessions() as session:
            row = _request(session, store_id, request_id, for_update=True)
            if row.status != RequestStatus.APPROVED.value:
                raise StockRefused(_status(row))
            line = _line_to_come(session, row, line_id, quantity)
            counted(known_part(session, line.part_no), given)
            move = Move(store_id, line.part_no, quantity, reason=f"PR-{row.id}")
            movement = apply_move(
                session,
                move,
                MovementKind.RECEIVE,
                on_hand=quantity,
                reserved=0.0,
                at=at,
                actor=actor,
            )
            movement.purchase_line_id = line.id
            line.received += quantity
            session.flush()
            lines = session.scalars(
                select(PurchaseLineRow).where(PurchaseLineRow.request_id == row.id)
            )
            if all(x.received >= x.quantity - EPSILON for x in lines):
                row.status = RequestStatus.RECEIVED.value
            session.commit()
        return row


def _by_part(lines: Sequence[LineIn]) -> dict[str, LineIn]:
    """The lines by part number; a part on two lines is refused, naming it (review 19s L3:
    the last one silently won)."""
    wanted: dict[str, LineIn] = {}
    for line in lines:
        part_no = part_number(line.part_no)
        if part_no in wanted:
            raise InvalidRecord(
                "lines", Message("error.purchase.duplicate_line", {"part_no": part_no})
            )
        wanted[part_no] = line
    return wanted


def close_request(
    session: Session, store_id: int, request_id: int, *, at: datetime, actor: str
) -> PurchaseRequestRow:
    """Close an approved request whose remaining lines will not come (the supplier cannot
    deliver): what came stays received, the rest is no longer on order, so the reorder list
    sees the shortage again (review 19s L9: it stayed on order for ever). The caller commits."""
    row = _request(session, store_id, request_id, for_update=True)
    if row.status != RequestStatus.APPROVED.value:
        raise StockRefused(_status(row))
    row.status = RequestStatus.CLOSED.value
    logger.info("purchase request %d closed by %s at %s", row.id, actor, at.isoformat())
    return row


def _line_to_come(
    session: Session, row: PurchaseRequestRow, line_id: int, quantity: float
) -> PurchaseLineRow:
    """The request's line if `quantity` of it may still come (RequestNotFound, StockRefused)."""
    line = session.get(PurchaseLineRow, line_id)
    if line is None or line.request_id != row.id:
        raise RequestNotFound(row.id)
    if quantity > line.quantity - line.received + EPSILON:
        params = {"id": str(row.id), "left": quantity_text(line.quantity - line.received)}
        raise StockRefused(Message("error.purchase.over_received", params))
    return line


def _add_line(session: Session, request_id: int, line: LineIn) -> float:
    """Add the line to the request; its amount."""
    part = listed_part(session, line.part_no)
    cost = part.unit_cost if line.unit_cost is None else line.unit_cost
    if not 0 <= cost < 1e9:
        raise InvalidRecord("unit_cost", Message("error.record.not_negative"))
    quantity = positive(counted(part, line.quantity))
    session.add(
        PurchaseLineRow(
            request_id=request_id,
            part_no=part.part_no,
            quantity=quantity,
            unit_cost=cost,
            received=0.0,
        )
    )
    return quantity * cost


def _request(
    session: Session, store_id: int, request_id: int, *, for_update: bool = False
) -> PurchaseRequestRow:
    stmt = select(PurchaseRequestRow).where(
        PurchaseRequestRow.id == request_id, PurchaseRequestRow.store_id == store_id
    )
    row = session.scalars(stmt.with_for_update() if for_update else stmt).one_or_none()
    if row is None:
        raise RequestNotFound(request_id)
    return row


def _status(row: PurchaseRequestRow) -> Message:
    params = {"id": str(row.id), "status": Message(f"purchase.status.{row.status}")}
    return Message("error.purchase.status", params)


def requests_of(
    session: Session,
    store_id: int,
    *,
    status: RequestStatus | None = None,
    limit: int = 50,
    after: Keyset | None = None,
) -> list[PurchaseRequestRow]:
    """The store's purchase requests, newest first (by when raised, then number), only those
    in `status` if given; the `limit` after the keyset `after` (a page's last request)."""
    stmt = select(PurchaseRequestRow).where(PurchaseRequestRow.store_id == store_id)
    if status is not None:
        stmt = stmt.where(PurchaseRequestRow.status == status.value)
    stmt = newest_first(
        stmt, PurchaseRequestRow.created_at, PurchaseRequestRow.id, after=after, limit=limit
    )
    return list(session.scalars(stmt))


PricedLine = tuple[PurchaseLineRow, PartRow]
"""A request's line and its part (its name and list price)."""


def lines_of(session: Session, request_ids: Sequence[int]) -> dict[int, list[PricedLine]]:
    """The lines of those requests with their parts, per request."""
    found: dict[int, list[PricedLine]] = {i: [] for i in request_ids}
    stmt = (
        select(PurchaseLineRow, PartRow)
        .join(PartRow, PartRow.part_no == PurchaseLineRow.part_no)
        .where(PurchaseLineRow.request_id.in_(request_ids))
    )
    for line, part in session.execute(stmt.order_by(PurchaseLineRow.id)):
        found[line.request_id].append((line, part))
    return found


def approval_amount(lines: Sequence[PricedLine]) -> float:
    """The amount the approval limit is checked against: each line at the higher of the cost
    the requester stated and the list price, so a line stated below the list (1000 bearings
    at 0.01) needs whom the parts' worth needs (review 19b-s M3)."""
    return round(
        sum(line.quantity * max(line.unit_cost, part.unit_cost) for line, part in lines), 2
    )
