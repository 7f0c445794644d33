"""What was done on a work order: labour, parts, contractor charges, cost, and the completion
record (repair class, cause code, root cause, downtime).

The order's `labour_hours` and `cost` are running totals of its labour, parts and charge rows.
Parts come from the parts list (`maintenance.partslist`): a booking names a listed part, its
unit and cost default to the list's. Work and the completion record are booked once someone
has taken the order on (refused while it is `open`). A booking on a closed or cancelled order
is refused, unless it is booked late on purpose (`late`, a supervisor's), when it is flagged
as such. A major overhaul (大修) or a replacement renews the equipment's age: its
`last_overhaul` moves to the repair date (the site's day), so stage scoring and the PM
orders' stages start a new age segment. The caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from bldgwatch.core.i18n import Message as CatalogueMessage
from bldgwatch.core.plaintext import first_hidden
from bldgwatch.core.site import DEFAULT_TIMEZONE
from bldgwatch.maintenance.errors import (
    BookingWouldWait,
    InvalidRecord,
    MaintenanceError,
    quantity_text,
)
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    SiteRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.partslist import counted, listed_part
from bldgwatch.maintenance.purchasing import OverApprovalLimit
from bldgwatch.maintenance.recordmodels import WorkOrderChargeRow
from bldgwatch.maintenance.stockmodels import StockMovementRow, StockRow, StoreRow
from bldgwatch.maintenance.texts import named
from bldgwatch.maintenance.workorders import (
    add_note,
    charge_line,
    get_order,
    labour_line,
    part_line,
)

logger = logging.getLogger(__name__)

CostLine = WorkOrderPartRow | WorkOrderLabourRow | WorkOrderChargeRow
"""A cost line a person books on an order."""


class RepairClass(StrEnum):
    """小修 / 中修 / 大修, or a replacement (更换)."""

    MINOR = "minor"
    MEDIUM = "medium"
    MAJOR = "major"
    REPLACEMENT = "replacement"


RENEWING = frozenset({RepairClass.MAJOR, RepairClass.REPLACEMENT})
"""Repairs that renew the equipment's age."""
CAUSES = (
    *("wear", "lubrication", "electrical", "control", "installation"),
    *("misuse", "external", "supply", "unknown"),
)
"""Cause codes of the completion record (named by `maintenance.cause.<code>` in the catalogue)."""


PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
COUNTED = frozenset({None, APPROVED})
"""The approval states of a part booking the order's cost counts (as `models.counted_part`)."""
"""A part booking's `approval`: None is counted at once; a pending one is not counted until
approved (review 19e H1)."""
SPOT_MAX_QUANTITY = 100.0
"""Most units of one part one spot purchase books: more is a purchase request (review 19e H1:
10,000 × 10,000,000 was booked)."""
SPOT_PRICE_BAND = (0.5, 3.0)
"""A spot price within these multiples of the list price is plausible; outside needs approval."""

COST_PLACES = 6
"""The order's running parts cost is kept to these places: an issue and its return split over
lots at other prices leave 0, not 1.7e-15 (review 19b-s L1)."""


class InvalidWorkLog(MaintenanceError):  # noqa: N818 - reads better at the call site
    """Labour, parts or a completion the order cannot take (HTTP 409 / 422)."""


class PriceNotAllowed(MaintenanceError):  # noqa: N818
    """A part booked by hand at another price than the list's by someone who may not set
    one (HTTP 403): only a supervisor does, with the reason (review 19c-s M4)."""

    def __init__(self, part_no: str, list_price: float) -> None:
        params = {"part_no": part_no, "list": f"{list_price:.2f}"}
        super().__init__(CatalogueMessage("error.work_log.price_by_supervisor", params))


def _open_order(session: Session, order_id: int, *, late: bool = False) -> WorkOrderRow:
    """The order if it takes work now: taken on by someone (not `open`) and not finished
    (unless the booking is `late`); InvalidWorkLog (409) otherwise."""
    order = get_order(session, order_id, for_update=True)
    # core messages: the error's text nests the status word, which only the core catalogue
    # message renders (a maintenance.i18n one printed its repr; review 19b-s L11)
    if order.status == WorkOrderStatus.OPEN.value:
        raise InvalidWorkLog(CatalogueMessage("error.work_log.order_open", {"id": str(order_id)}))
    if WorkOrderStatus(order.status) in TERMINAL_STATUSES and not late:
        status_name = CatalogueMessage(f"error.status_word.{order.status}")
        raise InvalidWorkLog(
            CatalogueMessage(
                "error.work_order.no_more_work", {"id": str(order_id), "status_name": status_name}
            )
        )
    return order


def is_late(order: WorkOrderRow) -> bool:
    """A booking on this order now would be late (it is closed or cancelled)."""
    return WorkOrderStatus(order.status) in TERMINAL_STATUSES


def _log(
    session: Session,
    order: WorkOrderRow,
    *,
    actor: str,
    at: datetime,
    message: Message,
    kind: str,
) -> None:
    """Note what was booked in the order's timeline, move its `updated_at` on and flush."""
    order.updated_at = max(order.updated_at, at)
    if is_late(order):
        message = Message(
            "note.late_booking", {"status": named("status", order.status), "what": message}
        )
    add_note(session, order, actor=actor, at=at, kind=kind, message=message)
    session.flush()


def add_labour(
    session: Session,
    order_id: int,
    *,
    technician: str,
    hours: float,
    rate: float,
    at: datetime,
    note: str = "",
    actor: str | None = None,
    late: bool = False,
    pending: bool = False,
) -> WorkOrderLabourRow:
    """Book `hours` of `technician` at `rate` per hour (booked by `actor`, the technician
    when None); adds to the order's hours and cost (`pending`: kept awaiting approval and not
    added, `decide_line`). `late`: allowed on a closed order."""
    if not hours > 0 or not rate >= 0:
        raise InvalidWorkLog(Message("error.work_log.labour"))
    order = _open_order(session, order_id, late=late)
    row = WorkOrderLabourRow(
        work_order_id=order.id,
        technician=technician[:64],
        hours=hours,
        rate=rate,
        at=at,
        note=note,
        actor=(actor or technician)[:64],
        late=is_late(order),
        approval=PENDING if pending else None,
    )
    session.add(row)
    if not pending:
        order.labour_hours += hours
        order.cost = round(order.cost + hours * rate, COST_PLACES)
    params = {"hours": hours, "rate": rate, "technician": technician}
    _log(
        session,
        order,
        actor=actor or technician,
        at=at,
        kind="labour",
        message=Message("note.labour_pending" if pending else "note.labour", params),
    )
    return row


def add_part(
    session: Session,
    order_id: int,
    *,
    part_no: str,
    quantity: float,
    unit_cost: float,
    at: datetime,
    actor: str,
    description: str = "",
    unit: str | None = None,
    late: bool = False,
    pending: bool = False,
    spot: bool = False,
) -> WorkOrderPartRow:
    """Book parts used; adds quantity × unit cost to the order's cost (`pending`: kept as
    awaiting a supervisor's approval and not added, `decide_line`; `spot`: bought on the
    spot)."""
    if not quantity > 0 or not unit_cost >= 0:
        raise InvalidWorkLog(Message("error.work_log.parts"))
    order = _open_order(session, order_id, late=late)
    row = WorkOrderPartRow(
        work_order_id=order.id,
        part_no=part_no[:64],
        description=description[:200],
        quantity=quantity,
        unit_cost=unit_cost,
        at=at,
        actor=actor[:64],
        unit=unit,
        late=is_late(order),
        approval=PENDING if pending else None,
        spot=spot,
    )
    session.add(row)
    if not pending:
        order.cost = round(order.cost + quantity * unit_cost, COST_PLACES)
    params = {
        "part_no": part_no,
        "name": description,
        "quantity": quantity,
        "unit": unit or "",
        "unit_cost": unit_cost,
    }
    message = Message("note.part_pending" if pending else "note.part", params)
    _log(session, order, actor=actor, at=at, kind="part", message=message)
    return row


def return_part(
    session: Session,
    order_id: int,
    *,
    part_no: str,
    quantity: float,
    unit_cost: float,
    at: datetime,
    actor: str,
    description: str = "",
    unit: str | None = None,
    late: bool = False,
) -> WorkOrderPartRow:
    """Book parts given back unused (to the store): a reversing row of `-quantity` at the
    unit cost they were booked at, so the order's cost, its history file and the budget
    figures, which all sum quantity × unit cost, drop by what came back. `late`: allowed on
    a closed or cancelled order (a supervisor's late booking, flagged late)."""
    if not quantity > 0 or not unit_cost >= 0:
        raise InvalidWorkLog(Message("error.work_log.parts"))
    order = _open_order(session, order_id, late=late)
    row = WorkOrderPartRow(
        work_order_id=order.id,
        part_no=part_no[:64],
        description=description[:200],
        quantity=-quantity,
        unit_cost=unit_cost,
        at=at,
        actor=actor[:64],
        unit=unit,
        late=is_late(order),
    )
    session.add(row)
    order.cost = round(order.cost - quantity * unit_cost, COST_PLACES)
    params = {"part_no": part_no, "name": description, "quantity": quantity, "unit": unit or ""}
    message = Message("note.part_return", {**params, "unit_cost": unit_cost})
    _log(session, order, actor=actor, at=at, kind="part", message=message)
    return row


def add_charge(
    session: Session,
    order_id: int,
    *,
    contractor: str,
    amount: float,
    at: datetime,
    actor: str,
    note: str = "",
    late: bool = False,
    pending: bool = False,
) -> WorkOrderChargeRow:
    """Book a contractor's charge (category contractors); adds to the order's cost
    (`pending`: kept awaiting approval and not added, `decide_line`)."""
    if not amount >= 0 or not contractor.strip():
        raise InvalidWorkLog(Message("error.work_log.charge"))
    if first_hidden(contractor.strip(), lines=False) is not None:
        # review 19g L2: "\u200b" passed `strip()`: a charge to nobody visible
        raise InvalidRecord("contractor", CatalogueMessage("error.work_log.charge_contractor"))
    order = _open_order(session, order_id, late=late)
    row = WorkOrderChargeRow(
        work_order_id=order.id,
        contractor=contractor.strip()[:200],
        amount=amount,
        note=note,
        at=at,
        actor=actor[:64],
        late=is_late(order),
        approval=PENDING if pending else None,
    )
    session.add(row)
    if not pending:
        order.cost = round(order.cost + amount, COST_PLACES)
    params = {"contractor": row.contractor, "amount": amount}
    _log(
        session,
        order,
        actor=actor,
        at=at,
        kind="charge",
        message=Message("note.contractor_pending" if pending else "note.contractor", params),
    )
    return row


@dataclass(frozen=True, slots=True)
class PartUse:
    """Parts of one number used on an order; the unit cost defaults to the parts list's."""

    part_no: str
    quantity: float
    unit_cost: float | None = None
    description: str = ""
    cost_reason: str = ""
    """Why another price than the list's (a supervisor's, review 19c-s M4)."""
    bought_on_spot: bool = False
    """Bought on the spot (review 19d-d M1): booked at the price paid (`unit_cost`, required)
    with the reason (`spot_reason`, shown on the timeline), drawing nothing from a store, even
    when a store lists the part (its stock may all be reserved for other orders)."""
    spot_reason: str = ""


@dataclass(frozen=True, slots=True)
class LabourUse:
    """Hours one technician worked, at a rate."""

    technician: str
    hours: float
    rate: float | None = None
    """None: the site's rate (`WorkDone.labour_rate`; review 19g M5: lines cost ¥0)."""
    note: str = ""
    rate_reason: str = ""
    """Why another rate than the site's (a supervisor's, review 19g H1/M5)."""


@dataclass(frozen=True, slots=True)
class Charge:
    """A contractor's charge."""

    contractor: str
    amount: float
    note: str = ""


LABOUR_RATE_BAND = 3.0
"""A technician's own labour rate is at most this many times the site's rate (review 19f H2)."""


@dataclass(frozen=True, slots=True)
class LabourBound:
    """What labour a technician books themself: up to `max_hours` a line, at up to
    `LABOUR_RATE_BAND` × the site's `rate` (review 19f H2: 1000 h at ¥100,000/h was counted)."""

    rate: float
    max_hours: float


@dataclass(frozen=True, slots=True)
class WorkDone:
    """Labour, parts and charges booked in one go (with a move, or on their own). `hours` and
    `rate` are the booking person's own labour; `labour` anyone's (a supervisor's entry)."""

    hours: float | None = None
    rate: float | None = None
    parts: tuple[PartUse, ...] = ()
    labour: tuple[LabourUse, ...] = ()
    charges: tuple[Charge, ...] = ()
    may_price: bool = False
    """The booking person may book a part at another price than the list's (a supervisor)."""
    spot_limit: float | None = None
    """The booking person's authority: what the lines they count without anyone's approval on
    the site's orders in a site-local day come to, every kind together (a technician's
    `stock.spot_purchase_limit`, a supervisor's approval limit; None: any amount, a manager
    or the system; review 19g)."""
    labour_bound: LabourBound | None = None
    """The bound on the booking person's labour lines (None: a supervisor's, any)."""
    labour_rate: float | None = None
    """The site's hourly rate (`stock.labour_rate`): a labour line without a rate is priced at
    it, another rate is a supervisor's with the reason (review 19g M5; None: any rate, a line
    without one at 0)."""

    def is_empty(self) -> bool:
        """Nothing to book."""
        return not (self.hours or self.parts or self.labour or self.charges)


def _not_reserved(session: Session, order_id: int, part_no: str) -> None:
    """InvalidWorkLog 409 naming the store and quantity when the order holds `part_no`
    reserved: it issues the reservation rather than book the part by hand or as bought on the
    spot (review 19e M1; review 19f M2: a spot purchase of a reserved part paid twice)."""
    held = session.execute(
        select(StoreRow.name, func.sum(StockMovementRow.reserved))
        .join(StoreRow, StoreRow.id == StockMovementRow.store_id)
        .where(StockMovementRow.work_order_id == order_id, StockMovementRow.part_no == part_no)
        .group_by(StoreRow.id, StoreRow.name)
        .having(func.sum(StockMovementRow.reserved) > 1e-9)
        .order_by(StoreRow.id)
        .limit(1)
    ).first()
    if held is not None:
        params = {"part_no": part_no, "store": held[0], "quantity": f"{held[1]:g}"}
        params["id"] = str(order_id)
        raise InvalidWorkLog(CatalogueMessage("error.work_log.part_reserved", params))


def _not_in_stock(session: Session, order_id: int, part_no: str) -> None:
    """A booking by hand is for parts bought on the spot: a part a store of the order's site
    can issue (some available, not all reserved for other orders; review 19d-d M1) is issued
    from that store (the stock, the ledger and the reorder list follow), not booked by hand
    (InvalidWorkLog 409 naming the store and how to book a purchase instead; review 19c-s
    M4). A part marked bought on the spot is not checked here (`_bought`). A part this order
    holds reserved is refused first, naming the reservation to issue instead (review 19e M1:
    the order paid twice, the reservation stayed)."""
    order = get_order(session, order_id)
    _not_reserved(session, order_id, part_no)
    held = free_in_store(session, order.site, part_no)
    if held is not None:
        raise InvalidWorkLog(
            CatalogueMessage("error.work_log.part_in_stock", {"part_no": part_no, "store": held[0]})
        )


def free_in_store(session: Session, site: str, part_no: str) -> tuple[str, float] | None:
    """The first store of `site` that can issue `part_no` (some on hand not reserved), with
    its free quantity; None when no store can."""
    found = session.execute(
        select(StoreRow.name, StockRow.on_hand - StockRow.reserved)
        .join(StockRow, StockRow.store_id == StoreRow.id)
        .where(
            StoreRow.site == site,
            StockRow.part_no == part_no,
            StockRow.on_hand - StockRow.reserved > 1e-9,
        )
        .order_by(StoreRow.id)
        .limit(1)
    ).first()
    return None if found is None else (found[0], float(found[1]))


def held_text(row: CostLine, lang: str) -> str | None:
    """Why a line waits, in `lang`: for a spot purchase "store 主库 holds 10 free" (a store
    of the site held the part free when it was booked; review 19g M4); for a labour line or
    contractor charge awaiting approval, that it is beyond its booker's authority for the day
    (review 19h L7: told for parts only); None otherwise."""
    if not isinstance(row, WorkOrderPartRow):
        if row.approval != PENDING:
            return None
        return CatalogueMessage("work_log.beyond_authority").render(lang)
    if row.held_store is None:
        return None
    free = quantity_text(row.held_free or 0.0)
    params = {"store": row.held_store, "free": free, "unit": row.unit or ""}
    return CatalogueMessage("work_log.spot_held", params).render(lang)


def _priced(
    part: PartUse, list_price: float, *, may_price: bool, name: str = ""
) -> tuple[float, str]:
    """The unit cost a part booked by hand takes, and its description: the list price
    (review 19c-s M4: a technician booked a catalogue part at 0.01, the order's cost and the
    budget understated); another only by a supervisor, with the reason, which the timeline
    shows. PriceNotAllowed for anyone else; InvalidRecord `cost_reason` without one."""
    if part.unit_cost is None or abs(part.unit_cost - list_price) < 0.005:
        return list_price, part.description
    if not may_price:
        raise PriceNotAllowed(part.part_no, list_price)
    reason = part.cost_reason.strip()
    if not reason or first_hidden(reason, lines=False) is not None:
        params = {"part_no": part.part_no, "list": f"{list_price:.2f}"}
        raise InvalidRecord("cost_reason", CatalogueMessage("error.work_log.price_reason", params))
    return part.unit_cost, f"{part.description or name or part.part_no} ({reason})"


def _bought(part: PartUse, name: str) -> tuple[float, str]:
    """The price paid for a part bought on the spot and its description (as given, else the
    catalogue's `name`; review 19h L2: the part number twice) with the reason
    (InvalidRecord `unit_cost` without a price, `spot_reason` without a visible reason)."""
    params = {"part_no": part.part_no}
    if part.quantity > SPOT_MAX_QUANTITY:
        params["most"] = f"{SPOT_MAX_QUANTITY:g}"
        raise InvalidRecord("quantity", CatalogueMessage("error.work_log.spot_quantity", params))
    if part.unit_cost is None:
        raise InvalidRecord("unit_cost", CatalogueMessage("error.work_log.spot_cost", params))
    reason = part.spot_reason.strip()
    if not reason or first_hidden(reason, lines=False) is not None:
        raise InvalidRecord("spot_reason", CatalogueMessage("error.work_log.spot_reason", params))
    return part.unit_cost, f"{part.description or name} ({reason})"


def _bounded(entry: LabourUse, bound: LabourBound | None) -> None:
    """InvalidRecord `hours` or `rate` (422) for a labour line outside `bound`."""
    if bound is None:
        return
    if entry.hours > bound.max_hours:
        params = {"hours": f"{entry.hours:g}", "most": f"{bound.max_hours:g}"}
        raise InvalidRecord("hours", CatalogueMessage("error.work_log.labour_hours", params))
    if entry.rate is not None and entry.rate > LABOUR_RATE_BAND * bound.rate + 0.005:
        params = {"rate": f"{entry.rate:.2f}", "most": f"{LABOUR_RATE_BAND * bound.rate:.2f}"}
        params["site"] = f"{bound.rate:.2f}"
        raise InvalidRecord("rate", CatalogueMessage("error.work_log.labour_rate", params))


MAX_DAY_HOURS = 24.0
"""Most hours one person works in a site-local day, over all their lines and orders (review
19g H1: 4,800 h were booked in 200 lines of 24 h)."""


def _rated(entry: LabourUse, work: WorkDone) -> tuple[float, str]:
    """The rate a labour line is priced at, and its note: the site's when none is given; another
    only by someone who may set prices (a supervisor) with the reason, which the note keeps
    (InvalidRecord `rate` or `rate_reason`, 422; review 19g M5)."""
    site = work.labour_rate
    if entry.rate is None:
        return (site or 0.0), entry.note
    if site is None or abs(entry.rate - site) < 0.005:
        return entry.rate, entry.note
    params = {"rate": f"{entry.rate:,.2f}", "site": f"{site:,.2f}"}
    if not work.may_price:
        raise InvalidRecord("rate", CatalogueMessage("error.work_log.rate_by_supervisor", params))
    reason = entry.rate_reason.strip()
    if not reason or first_hidden(reason, lines=False) is not None:
        raise InvalidRecord("rate_reason", CatalogueMessage("error.work_log.rate_reason", params))
    return entry.rate, f"{entry.note} ({reason})".strip()


def _site_day(session: Session, order: WorkOrderRow, at: datetime) -> tuple[datetime, datetime]:
    """The site-local day of `at` (the order's site) as its start and end, in the site's zone."""
    site = session.get(SiteRow, order.site)
    zone = ZoneInfo(site.timezone if site is not None else DEFAULT_TIMEZONE)
    local = at.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    end = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def _within_day(session: Session, order: WorkOrderRow, entry: LabourUse, at: datetime) -> None:
    """InvalidRecord `hours` (422) when the line takes its technician above `MAX_DAY_HOURS` on
    the site-local day, with what they have booked that day on any order (review 19g H1)."""
    start, end = _site_day(session, order, at)
    booked = session.scalar(
        select(func.sum(WorkOrderLabourRow.hours)).where(
            WorkOrderLabourRow.technician == entry.technician[:64],
            WorkOrderLabourRow.approval.is_distinct_from(REJECTED),
            WorkOrderLabourRow.at >= start.astimezone(UTC),
            WorkOrderLabourRow.at < end.astimezone(UTC),
        )
    )
    booked = float(booked or 0.0)
    if booked + entry.hours > MAX_DAY_HOURS + 1e-9:
        params = {
            "technician": entry.technician,
            "day": start.date().isoformat(),
            "hours": f"{entry.hours:g}",
            "booked": f"{booked:g}",
            "total": f"{booked + entry.hours:g}",
            "most": f"{MAX_DAY_HOURS:g}",
        }
        raise InvalidRecord("hours", CatalogueMessage("error.work_log.labour_day", params))


def off_band(cost: float, list_price: float, work: WorkDone) -> bool:
    """A spot purchase by someone who may not set prices at a price outside `SPOT_PRICE_BAND` ×
    the list price waits for approval whatever its amount (review 19e H1)."""
    if work.may_price:
        return False
    low, high = SPOT_PRICE_BAND
    return list_price > 0 and not low * list_price <= cost <= high * list_price


LINE_TABLES = (WorkOrderPartRow, WorkOrderLabourRow, WorkOrderChargeRow)
"""The three kinds of cost line a person books by hand."""


def _amount(table: type[CostLine]) -> ColumnElement[float] | InstrumentedAttribute[float]:
    if table is WorkOrderPartRow:
        return WorkOrderPartRow.quantity * WorkOrderPartRow.unit_cost
    if table is WorkOrderLabourRow:
        return WorkOrderLabourRow.hours * WorkOrderLabourRow.rate
    return WorkOrderChargeRow.amount


def line_amount(row: CostLine) -> float:
    """What a cost line comes to."""
    if isinstance(row, WorkOrderPartRow):
        return row.quantity * row.unit_cost
    if isinstance(row, WorkOrderLabourRow):
        return row.hours * row.rate
    return row.amount


def _sum_lines(session: Session, *where: Callable[[type[CostLine]], Any]) -> float:
    """The sum over the three kinds of line, not reversed and not reversals, of the rows
    matching each of `where` (given the table), store issues left out (they count as stock
    movements, not by the booker's authority)."""
    total = 0.0
    for table in LINE_TABLES:
        reversed_ = select(table.reverses).where(table.reverses.is_not(None))
        stmt = (
            select(func.sum(_amount(table)))
            .join(WorkOrderRow, WorkOrderRow.id == table.work_order_id)
            .where(table.reverses.is_(None), table.id.not_in(reversed_))
            .where(*(w(table) for w in where))
        )
        if table is WorkOrderPartRow:
            issued = select(StockMovementRow.booking_id).where(
                StockMovementRow.booking_id.is_not(None)
            )
            stmt = stmt.where(WorkOrderPartRow.id.not_in(issued))
        total += float(session.scalar(stmt) or 0.0)
    return total


def _not_at_rate(table: type[CostLine], rate: float | None) -> Any:
    """Labour lines at another rate than `rate` (the site's; None: every line), every line of
    the other kinds."""
    if table is not WorkOrderLabourRow or rate is None:
        return true()
    return func.abs(WorkOrderLabourRow.rate - rate) >= RATE_TOLERANCE


def authority_left(
    session: Session, order: WorkOrderRow, actor: str, at: datetime, *, limit: float, rate: float
) -> float:
    """How much of `actor`'s authority (`limit`) for the site-local day of `at` at the order's
    site is left: what they may still book by hand and have counted without approval
    (review 19h: the booking form said the limit, not what was left of it)."""
    start, end = _site_day(session, order, at)
    used = counted_by_authority(session, order.site, actor, start, end, site_rate=rate)
    return max(0.0, round(limit - used, 2))


def counted_by_authority(
    session: Session,
    site: str,
    actor: str,
    start: datetime,
    end: datetime,
    *,
    site_rate: float | None = None,
) -> float:
    """What `actor` has counted without anyone's approval on the site's orders between `start`
    and `end` (their site-local day), every kind of line: the amount their authority already
    covers (review 19g M1: six orders of ¥500 by one technician, H1–H3: labour and charges).
    Labour at the site's rate `site_rate` is not by authority (review 19h H2)."""
    return _sum_lines(
        session,
        lambda t: WorkOrderRow.site == site,
        lambda t: t.actor == actor[:64],
        lambda t: t.approval.is_(None),
        lambda t: t.at >= start.astimezone(UTC),
        lambda t: t.at < end.astimezone(UTC),
        lambda t: _not_at_rate(t, site_rate),
    )


RATE_TOLERANCE = 0.005
"""A rate this close to the site's is the site's."""


def at_site_rate(rate: float, work: WorkDone) -> bool:
    """Labour at the site's rate (`stock.labour_rate`) is no one's discretionary money: within
    the person's 24 h a site-local day (`_within_day`) it counts at once, without the booker's
    authority (review 19h H2: a technician's 8 h job could not be resolved with its hours)."""
    return work.labour_rate is not None and abs(rate - work.labour_rate) < RATE_TOLERANCE


def own_counted(session: Session, order_id: int, actor: str) -> float:
    """What `actor` has counted on the order without anyone's approval, every kind of line."""
    return _sum_lines(
        session,
        lambda t: t.work_order_id == order_id,
        lambda t: t.actor == actor[:64],
        lambda t: t.approval.is_(None),
    )


def approved_on_order(session: Session, order_id: int) -> float:
    """What approvals brought into count on the order, by whoever approved (review 19g M2: two
    supervisors each approved ¥4,896 of one purchase split into lines)."""
    return _sum_lines(
        session, lambda t: t.work_order_id == order_id, lambda t: t.approval == APPROVED
    )


def approved_for_booker(
    session: Session, site: str, approver: str, *, booker: str, start: datetime, end: datetime
) -> float:
    """What `approver` brought into count by approving `booker`'s lines on the site's orders,
    any order, between `start` and `end` (the site-local day of the approval; review 19h M2:
    ¥4,900 approved on each of three orders by one supervisor of limit ¥5,000)."""
    return _sum_lines(
        session,
        lambda t: WorkOrderRow.site == site,
        lambda t: t.actor == booker[:64],
        lambda t: t.decided_by == approver[:64],
        lambda t: t.approval == APPROVED,
        lambda t: t.decided_at >= start.astimezone(UTC),
        lambda t: t.decided_at < end.astimezone(UTC),
    )


class _Authority:
    """The booker's authority for the booking's site-local day: a line counts at once only if
    what they counted without approval that day, with it, is within `work.spot_limit` (None:
    any amount, a manager)."""

    def __init__(
        self, session: Session, order: WorkOrderRow, work: WorkDone, actor: str, at: datetime
    ) -> None:
        self.limit = work.spot_limit
        self.site_rate = work.labour_rate
        self.used: float | None = None
        self._args = (session, order, actor, at)

    def covers(self, amount: float) -> bool:
        """Whether the line of `amount` counts at once (and it is then added to the day's)."""
        if self.limit is None:
            return True
        if self.used is None:
            session, order, actor, at = self._args
            start, end = _site_day(session, order, at)
            self.used = counted_by_authority(
                session, order.site, actor, start, end, site_rate=self.site_rate
            )
        if self.used + amount > self.limit + 0.005:
            return False
        self.used += amount
        return True


def book(
    session: Session,
    order_id: int,
    work: WorkDone,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    late: bool = False,
    finishing: str | None = None,
) -> None:
    """Book `work` on the order (parts must be on the parts list: UnknownPart); the caller
    commits. `late`: a supervisor's booking on a closed order, flagged as late. `finishing`:
    the status the order moves to with the booking (resolved, closed): a line that would wait
    for approval refuses the move before it is kept (BookingWouldWait 409, review 19h H2)."""

    def held(pending: bool, line: CatalogueMessage) -> bool:
        if pending and finishing is not None:
            raise BookingWouldWait(order_id, finishing, line)
        return pending

    labour = list(work.labour)
    if work.hours:
        labour.insert(0, LabourUse(actor, work.hours, work.rate, note))
    order = get_order(session, order_id, for_update=True)
    # one booking at a time per site: the day's hours and the booker's authority are sums
    # over the site's orders (the order first, then the site, as every path locks them)
    session.get(SiteRow, order.site, with_for_update=True)
    authority = _Authority(session, order, work, actor, at)
    for entry in labour:
        _bounded(entry, work.labour_bound)
        rate, described = _rated(entry, work)
        _within_day(session, order, entry, at)
        add_labour(
            session,
            order_id,
            technician=entry.technician,
            hours=entry.hours,
            rate=rate,
            at=at,
            note=described,
            actor=actor,
            late=late,
            pending=held(
                not (
                    at_site_rate(rate, work)
                    or entry.hours * rate <= 0.005
                    # hours that pay their booker at other than the site's rate are never
                    # within the booker's own authority: another approves them (review 19i
                    # M4; a desk that knows no site rate has none to hold them to)
                    or (
                        (entry.technician != actor[:64] or work.labour_rate is None)
                        and authority.covers(entry.hours * rate)
                    )
                ),
                labour_line(entry.technician, entry.hours, entry.hours * rate),
            ),
        )
    for part in work.parts:
        listed = listed_part(session, part.part_no)
        counted(listed, part.quantity)
        in_store: tuple[str, float] | None = None
        if part.bought_on_spot:
            cost, described = _bought(part, listed.name)
            if not late:
                _not_reserved(session, order_id, listed.part_no)
            # review 19g M4: a part a store of the site can issue, bought on the spot, waits
            # for approval whatever the booker's authority (the store may be far away)
            in_store = free_in_store(session, order.site, listed.part_no)
            pending = in_store is not None or off_band(cost, listed.unit_cost, work)
        else:
            if not late:
                _not_in_stock(session, order_id, listed.part_no)
            cost, described = _priced(
                part, listed.unit_cost, may_price=work.may_price, name=listed.name
            )
            pending = False
        pending = pending or not authority.covers(part.quantity * cost)
        amount = part.quantity * cost
        pending = held(pending, part_line(listed.part_no, part.quantity, listed.unit, amount))
        row = add_part(
            session,
            order_id,
            part_no=listed.part_no,
            quantity=part.quantity,
            unit_cost=cost,
            description=(described or listed.name)[:200],
            unit=listed.unit,
            at=at,
            actor=actor,
            late=late,
            pending=pending,
            spot=part.bought_on_spot,
        )
        if in_store is not None:
            row.held_store, row.held_free = in_store[0][:100], in_store[1]
    for charge in work.charges:
        add_charge(
            session,
            order_id,
            contractor=charge.contractor,
            amount=charge.amount,
            note=charge.note,
            at=at,
            actor=actor,
            late=late,
            pending=held(
                not authority.covers(charge.amount), charge_line(charge.contractor, charge.amount)
            ),
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """How a repair went: its class, root cause, the equipment's downtime and the cause code."""

    repair_class: RepairClass | None = None
    root_cause: str | None = None
    downtime_h: float | None = None
    cause_code: str | None = None


def record_completion(
    session: Session, order_id: int, completion: Completion, *, at: datetime, actor: str
) -> WorkOrderRow:
    """Store repair class, cause code, root cause and downtime; a major overhaul or a
    replacement renews the asset's age."""
    if completion.downtime_h is not None and not completion.downtime_h >= 0:
        raise InvalidWorkLog(Message("error.work_log.downtime"))
    if completion.cause_code is not None and completion.cause_code not in CAUSES:
        raise InvalidWorkLog(
            Message(
                "error.work_log.cause", {"code": completion.cause_code, "known": ", ".join(CAUSES)}
            )
        )
    order = _open_order(session, order_id)
    if completion.repair_class is not None:
        order.repair_class = completion.repair_class.value
    if completion.cause_code is not None:
        order.cause_code = completion.cause_code
    if completion.root_cause is not None:
        order.root_cause = completion.root_cause
    if completion.downtime_h is not None:
        order.downtime_h = completion.downtime_h
    message = Message(
        "note.completion",
        {
            "repair_class": named("repair_class", order.repair_class),
            "cause": named("cause", order.cause_code),
            "downtime_h": order.downtime_h or 0.0,
        },
    )
    _log(session, order, actor=actor, at=at, kind="completion", message=message)
    if completion.repair_class in RENEWING:
        _renew(session, order, at, actor)
    return order


def _renew(session: Session, order: WorkOrderRow, at: datetime, actor: str) -> None:
    asset = session.get(EquipmentRow, (order.site, order.equipment))
    site = session.get(SiteRow, order.site)
    day = at.astimezone(ZoneInfo(site.timezone if site is not None else DEFAULT_TIMEZONE)).date()
    if asset is not None and (asset.last_overhaul is None or asset.last_overhaul < day):
        asset.last_overhaul = day
        message = Message(
            "note.renewed",
            {"repair_class": named("repair_class", order.repair_class), "day": day.isoformat()},
        )
        add_note(session, order, actor=actor, at=at, kind="renewal", message=message)
        session.flush()
        logger.info("%s/%s overhauled on %s: age renewed", order.site, order.equipment, day)


def _part_note(row: WorkOrderPartRow) -> dict[str, object]:
    """A part line's parameters in the timeline's notes (approved, rejected, reversed)."""
    return {
        "part_no": row.part_no,
        "quantity": row.quantity,
        "unit": row.unit or "",
        "unit_cost": row.unit_cost,
        "booker": row.actor,
    }


class SpotOverLimit(OverApprovalLimit):
    """A spot purchase above what the approver may approve (HTTP 403), naming the purchase,
    its amount and, with what they already brought into count on the order, the total
    against their limit (review 19f L3: it spoke of a purchase request's amount)."""

    def __init__(self, row: WorkOrderPartRow, total: float, limit: float) -> None:
        params = {
            "part_no": row.part_no,
            "quantity": quantity_text(row.quantity),
            "unit": row.unit or "",
            "amount": f"{row.quantity * row.unit_cost:.2f}",
            "total": f"{total:.2f}",
            "limit": f"{limit:.2f}",
        }
        MaintenanceError.__init__(self, CatalogueMessage("error.work_log.spot_over_limit", params))


class NoSuchBooking(MaintenanceError):  # noqa: N818
    """No such part, labour or charge line on the order (HTTP 404; review 19f L5: a 409)."""


class NotPending(MaintenanceError):  # noqa: N818
    """A part booking that is not awaiting approval (HTTP 409)."""


class DecidedTooLate(NotPending):
    """An approval on a cancelled order, or on a closed one of a line not booked late (HTTP
    409; review 19h M1: a charge was approved and counted on a cancelled order)."""


class OwnLine(MaintenanceError):  # noqa: N818
    """A line approved by its own booker (HTTP 403; review 19g: no self-approval)."""


class LineOverLimit(OverApprovalLimit):
    """A labour line or charge above what the approver may approve (HTTP 403), naming its
    amount and the order's total against the limit."""

    def __init__(
        self, amount: float, total: float, limit: float, *, booker: str | None = None
    ) -> None:
        params = {"amount": f"{amount:,.2f}", "total": f"{total:,.2f}", "limit": f"{limit:,.2f}"}
        key = "error.work_log.line_over_limit"
        if booker is not None:  # the sum is the day's for the booker over orders (19i L1)
            params |= {"booker": booker, "approved": f"{total - amount:,.2f}"}
            key = "error.work_log.line_over_day_limit"
        MaintenanceError.__init__(self, CatalogueMessage(key, params))


LINE_KINDS: dict[str, type[CostLine]] = {
    "parts": WorkOrderPartRow,
    "labour": WorkOrderLabourRow,
    "charges": WorkOrderChargeRow,
}
"""The cost lines awaiting approval by the route's word for their kind."""


def _may_approve(order: WorkOrderRow, row: CostLine, actor: str, params: dict[str, str]) -> None:
    """DecidedTooLate (409) on a cancelled order, or a closed one for a line not booked late
    (review 19h M1); OwnLine (403) for the line's booker or, for labour, its technician:
    nobody approves a line that pays them (review 19h M3: a supervisor-technician approved
    20 h at 2.5× the site's rate that another supervisor booked for him)."""
    if order.status == "cancelled" or (order.status == "closed" and not row.late):
        status = {"status": CatalogueMessage(f"error.status_word.{order.status}")}
        raise DecidedTooLate(CatalogueMessage("error.work_log.approve_finished", params | status))
    if row.actor == actor[:64]:
        raise OwnLine(CatalogueMessage("error.work_log.own_line", params))
    if isinstance(row, WorkOrderLabourRow) and row.technician == actor[:64]:
        raise OwnLine(CatalogueMessage("error.work_log.own_labour", params))


REJECT_REASON_MAX = 500
"""Most characters of the reason a line is rejected with."""


def _reject_reason(reason: str, params: dict[str, str]) -> str:
    """The visible reason a line is rejected with (review 19h L7: a rejection said no why);
    InvalidRecord `reason` when none is given or it is too long."""
    why = reason.strip()
    if not why or first_hidden(why, lines=False) is not None:
        raise InvalidRecord("reason", CatalogueMessage("error.work_log.reject_reason", params))
    if len(why) > REJECT_REASON_MAX:
        most = {**params, "most": str(REJECT_REASON_MAX)}
        raise InvalidRecord("reason", CatalogueMessage("error.work_log.reject_reason_long", most))
    return why


def decide_line(
    session: Session,
    order_id: int,
    kind: str,
    booking_id: int,
    *,
    approve: bool,
    limit: float | None,
    actor: str,
    at: datetime,
    reason: str = "",
) -> CostLine:
    """Approve or reject a line awaiting approval (a part, labour line or contractor charge of
    `kind`): approved, it counts in the order's cost (and so the budget, history and report);
    rejected, it stays on the order uncounted. The approver's `limit` (None: any) holds for
    what approvals by anyone brought into count on the order, with this line and the
    approver's own lines counted without approval (review 19g M2; 19f M1); nobody approves
    their own line (OwnLine 403). NotPending (409) for a line not awaiting; NoSuchBooking 404.
    A rejection needs the `reason` (at most REJECT_REASON_MAX characters; InvalidRecord
    `reason`), kept on the line and in the timeline for its booker (review 19h L7)."""
    order = get_order(session, order_id, for_update=True)
    # one decision at a time per site, as bookings (the order's total is a sum over lines)
    session.get(SiteRow, order.site, with_for_update=True)
    row: CostLine | None = session.get(  # type: ignore[assignment]
        LINE_KINDS[kind], booking_id, with_for_update=True
    )
    params = {"id": str(booking_id), "order": str(order_id)}
    if row is None or row.work_order_id != order.id:
        missing = "error.work_log.no_booking" if kind == "parts" else f"error.work_log.no_{kind}"
        raise NoSuchBooking(CatalogueMessage(missing.replace("charges", "charge"), params))
    if row.approval != PENDING:
        raise NotPending(CatalogueMessage("error.work_log.not_pending", params))
    why = "" if approve else _reject_reason(reason, params)
    if approve:
        _may_approve(order, row, actor, params)
    amount = line_amount(row)
    if approve and limit is not None:
        total = (
            amount + approved_on_order(session, order.id) + own_counted(session, order.id, actor)
        )
        # and over orders: what this approver approved for the booker that site-local day
        start, end = _site_day(session, order, at)
        across = amount + approved_for_booker(
            session, order.site, actor, booker=row.actor or "", start=start, end=end
        )
        by_day = across > total
        total = max(total, across)
        if total > limit + 0.005:
            if isinstance(row, WorkOrderPartRow):
                raise SpotOverLimit(row, total, limit)
            raise LineOverLimit(amount, total, limit, booker=(row.actor or "") if by_day else None)
    row.approval = APPROVED if approve else REJECTED
    row.decided_by, row.decided_at = actor[:64], at
    row.decided_reason = why or None
    if approve:
        order.cost = round(order.cost + amount, COST_PLACES)
        if isinstance(row, WorkOrderLabourRow):
            order.labour_hours += row.hours
    verdict = "approved" if approve else "rejected_why"
    said = {"reason": why} if why else {}
    if isinstance(row, WorkOrderPartRow):
        message, what = Message(f"note.part_{verdict}", _part_note(row) | said), "part"
    elif isinstance(row, WorkOrderLabourRow):
        note = {"hours": row.hours, "rate": row.rate, "technician": row.technician, **said}
        message, what = Message(f"note.labour_{verdict}", {**note, "booker": row.actor}), "labour"
    else:
        note = {"contractor": row.contractor, "amount": row.amount, "booker": row.actor, **said}
        message, what = Message(f"note.charge_{verdict}", note), "charge"
    _log(session, order, actor=actor, at=at, kind=what, message=message)
    return row


class NotYourBooking(MaintenanceError):  # noqa: N818
    """A hand booking reversed by someone other than a supervisor or, while the order is not
    yet resolved, its booker (HTTP 403)."""


FINISHED = frozenset({"resolved", "verified", "closed", "cancelled"})
"""Statuses after which only a supervisor reverses a booking."""


def reverse_part(
    session: Session,
    order_id: int,
    booking_id: int,
    *,
    reason: str,
    supervisor: bool,
    actor: str,
    at: datetime,
) -> WorkOrderPartRow:
    """Reverse a mistyped hand booking (review 19e M5): a reversing row of `-quantity` at its
    unit cost naming it (`reverses`) and the reason, so the order's cost, its history file and
    the budget follow; noted on the timeline. A supervisor reverses any (a closed order's
    flagged late); the booker only while the order is not resolved (NotYourBooking 403). A
    booking made by a store issue (returned to the store instead), not counted, a reversal
    or already reversed is InvalidWorkLog 409 (a missing one NoSuchBooking 404); no visible
    reason InvalidRecord `reason`."""
    order = get_order(session, order_id, for_update=True)
    row = session.get(WorkOrderPartRow, booking_id)
    params = {"id": str(booking_id), "order": str(order_id)}
    if row is None or row.work_order_id != order.id:
        raise NoSuchBooking(CatalogueMessage("error.work_log.no_booking", params))
    if not supervisor and (row.actor != actor or order.status in FINISHED):
        raise NotYourBooking(CatalogueMessage("error.work_log.reverse_not_yours", params))
    issued = session.scalar(
        select(StockMovementRow.id).where(StockMovementRow.booking_id == row.id).limit(1)
    )
    reversed_ = session.scalar(
        select(WorkOrderPartRow.id).where(WorkOrderPartRow.reverses == row.id).limit(1)
    )
    if issued is not None:
        raise InvalidWorkLog(CatalogueMessage("error.work_log.reverse_issued", params))
    _not_pending(row, "part", params)
    if row.quantity <= 0 or reversed_ is not None:
        raise InvalidWorkLog(CatalogueMessage("error.work_log.not_reversible", params))
    why = reason.strip()
    if not why or first_hidden(why, lines=False) is not None:
        raise InvalidRecord("reason", CatalogueMessage("error.work_log.reverse_reason", params))
    back = WorkOrderPartRow(
        work_order_id=order.id,
        part_no=row.part_no,
        description=f"{row.description} ({why})"[:200],
        quantity=-row.quantity,
        unit_cost=row.unit_cost,
        at=at,
        actor=actor[:64],
        unit=row.unit,
        late=is_late(order),
        reverses=row.id,
    )
    session.add(back)
    order.cost = round(order.cost - row.quantity * row.unit_cost, COST_PLACES)
    note = {**_part_note(row), "reason": why}
    _log(
        session, order, actor=actor, at=at, kind="part", message=Message("note.part_reversed", note)
    )
    return back


def _not_pending(row: CostLine, kind: str, params: dict[str, str]) -> None:
    """A line awaiting approval or rejected is not counted: nothing to reverse (review 19g);
    the refusal says so and what to do instead (review 19h L1: it said "a reversal or
    reversed already")."""
    if row.approval == PENDING:
        raise InvalidWorkLog(CatalogueMessage(f"error.work_log.{kind}_pending", params))
    if row.approval not in COUNTED:
        raise InvalidWorkLog(CatalogueMessage(f"error.work_log.{kind}_rejected", params))


def _reversible(
    session: Session,
    order: WorkOrderRow,
    row: WorkOrderLabourRow | WorkOrderChargeRow | None,
    kind: str,
    *,
    booking_id: int,
    reason: str,
    supervisor: bool,
    actor: str,
) -> str:
    """The checks of a labour or charge reversal (review 19f H2), as `reverse_part`'s: the
    reason given (stripped); NoSuchBooking 404 for a missing line, InvalidWorkLog 409 for a
    reversal or one reversed already; NotYourBooking 403 for someone else's or, once
    resolved, a booker's own; InvalidRecord `reason` without a visible reason."""
    params = {"id": str(booking_id), "order": str(order.id)}
    if row is None or row.work_order_id != order.id:
        raise NoSuchBooking(CatalogueMessage(f"error.work_log.no_{kind}", params))
    booker = row.actor or getattr(row, "technician", None)
    if not supervisor and (booker != actor or order.status in FINISHED):
        raise NotYourBooking(CatalogueMessage(f"error.work_log.{kind}_not_yours", params))
    table = type(row)
    again = session.scalar(select(table.id).where(table.reverses == row.id).limit(1))
    _not_pending(row, kind, params)
    if row.reverses is not None or again is not None:
        raise InvalidWorkLog(CatalogueMessage(f"error.work_log.{kind}_not_reversible", params))
    why = reason.strip()
    if not why or first_hidden(why, lines=False) is not None:
        raise InvalidRecord("reason", CatalogueMessage(f"error.work_log.{kind}_reason", params))
    return why


def reverse_labour(
    session: Session,
    order_id: int,
    booking_id: int,
    *,
    reason: str,
    supervisor: bool,
    actor: str,
    at: datetime,
) -> WorkOrderLabourRow:
    """Reverse a mistyped labour line (80 h for 8, rate 800 for 80; review 19f H2): a row of
    `-hours` at its rate naming it (`reverses`) and the reason, so the order's hours, cost,
    history and budget follow; noted on the timeline. Who may, and the refusals: `_reversible`."""
    order = get_order(session, order_id, for_update=True)
    row = session.get(WorkOrderLabourRow, booking_id)
    why = _reversible(
        session,
        order,
        row,
        "labour",
        booking_id=booking_id,
        reason=reason,
        supervisor=supervisor,
        actor=actor,
    )
    assert row is not None  # _reversible refuses a missing line
    back = WorkOrderLabourRow(
        work_order_id=order.id,
        technician=row.technician,
        hours=-row.hours,
        rate=row.rate,
        at=at,
        note=f"{row.note} ({why})".strip(),
        actor=actor[:64],
        late=is_late(order),
        reverses=row.id,
    )
    session.add(back)
    order.labour_hours -= row.hours
    order.cost = round(order.cost - row.hours * row.rate, COST_PLACES)
    note = {"hours": row.hours, "rate": row.rate, "technician": row.technician, "reason": why}
    message = Message("note.labour_reversed", note)
    _log(session, order, actor=actor, at=at, kind="labour", message=message)
    return back


def reverse_charge(
    session: Session,
    order_id: int,
    booking_id: int,
    *,
    reason: str,
    supervisor: bool,
    actor: str,
    at: datetime,
) -> WorkOrderChargeRow:
    """Reverse a mistyped contractor's charge (review 19f H2): a row of `-amount` naming it
    (`reverses`) and the reason; the order's cost follows. Who may: `_reversible`."""
    order = get_order(session, order_id, for_update=True)
    row = session.get(WorkOrderChargeRow, booking_id)
    why = _reversible(
        session,
        order,
        row,
        "charge",
        booking_id=booking_id,
        reason=reason,
        supervisor=supervisor,
        actor=actor,
    )
    assert row is not None  # _reversible refuses a missing line
    back = WorkOrderChargeRow(
        work_order_id=order.id,
        contractor=row.contractor,
        amount=-row.amount,
        note=f"{row.note} ({why})".strip(),
        at=at,
        actor=actor[:64],
        late=is_late(order),
        reverses=row.id,
    )
    session.add(back)
    order.cost = round(order.cost - row.amount, COST_PLACES)
    note = {"contractor": row.contractor, "amount": row.amount, "reason": why}
    message = Message("note.charge_reversed", note)
    _log(session, order, actor=actor, at=at, kind="charge", message=message)
    return back
