"""Spare parts in stock (材料备品): stores per site, stock per store and part, and every change
of stock as a movement — receive, reserve, unreserve, issue, return, adjust (stocktake).

Each change writes its movement and changes the stock row in the same transaction, through
one conditional UPDATE that refuses to take what is not there (`StockShort`, 409): two
technicians issuing the last bearing at the same time cannot both have it, on SQLite
(writes are serialised) and on PostgreSQL (the second UPDATE re-reads the row it waited for).

Parts moved on a work order (reserve, issue, return) are `maintenance.stockorders`'.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core.db import Keyset, newest_first
from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import first_hidden
from bldgwatch.core.site import DEFAULT_TIMEZONE
from bldgwatch.maintenance.csvcells import spreadsheet_safe
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    StockOverLimit,
    StockRefused,
    StockShort,
    StoreNotFound,
)
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.partslist import (
    counted,
    known_part,
    listed_part,
    part_number,
    plain,
)
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stockmodels import StockMovementRow, StockRow, StoreRow

logger = logging.getLogger(__name__)

EPSILON = 1e-9
"""Quantities are floats (metres, litres): what is left may be this much below zero."""
QUANTITY_PLACES = 3
"""Quantities are kept to a thousandth of the part's unit (a gram of a kilogram, a millimetre
of a metre): each quantity asked for is rounded to it and one below it is refused, so returns
split over lots and releases leave no float dust (0.09999999999999998; review 19b-s H1, L1)."""
SMALLEST = 10.0**-QUANTITY_PLACES
"""The smallest quantity a movement takes."""


def in_units(quantity: float) -> float:
    """`quantity` rounded to the kept places (never -0.0)."""
    return round(quantity, QUANTITY_PLACES) + 0.0


class MovementKind(StrEnum):
    """What a stock movement did."""

    RECEIVE = "receive"
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    ISSUE = "issue"
    RETURN = "return"
    ADJUST = "adjust"


@dataclass(frozen=True, slots=True)
class Move:
    """One stock change asked for: the part, how many, why, and the order it is for."""

    store_id: int
    part_no: str
    quantity: float
    reason: str = ""
    work_order_id: int | None = None
    given: float = field(init=False, compare=False)
    """The quantity as asked, before rounding: a counted part refuses 1e-9 as well as 0.5."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "given", self.quantity)
        # The parts list knows a number without the spaces around it (`listed_part`); the
        # stock and its movements must name it the same way (review 19s H2).
        object.__setattr__(self, "part_no", part_number(self.part_no))
        object.__setattr__(self, "reason", plain("reason", self.reason))
        object.__setattr__(self, "quantity", in_units(self.quantity))


def positive(quantity: float) -> float:
    """The quantity if it is a finite number of at least the smallest unit (InvalidRecord 422
    naming `quantity` otherwise)."""
    if not SMALLEST <= quantity < 1e9:
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
    if row is not None:
        return row
    row = StockRow(store_id=store_id, part_no=part_no, on_hand=0.0, reserved=0.0)
    row.minimum, row.reorder_level, row.updated_at = 0.0, 0.0, at
    row.suggested_from = None
    try:
        with session.begin_nested():  # another transaction may create it at the same time
            session.add(row)
    except IntegrityError:
        logger.debug("stock row %s/%s created meanwhile", store_id, part_no)
        found = session.get(StockRow, (store_id, part_no), populate_existing=True)
        if found is None:  # not the other transaction's row after all
            raise
        return found
    return row


def _changed(session: Session, move: Move, on_hand: float, reserved: float, at: datetime) -> bool:
    """One conditional UPDATE of the stock row: False when it would take what is not there."""
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
    return cast(CursorResult[Any], session.execute(stmt)).rowcount == 1


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
    if not _changed(session, move, on_hand, reserved, at):
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
    return in_units(float(reserved)), in_units(-float(on_hand))


def ledger(
    session: Session,
    store_id: int,
    *,
    part_no: str | None = None,
    kind: MovementKind | None = None,
    limit: int = 100,
    after: Keyset | None = None,
) -> list[tuple[StockMovementRow, PartRow]]:
    """The store's movements, newest first (by time, then number), with their part; one
    part's or kind's if given; the `limit` after the keyset `after` (a page's last row)."""
    stmt = (
        select(StockMovementRow, PartRow)
        .join(PartRow, PartRow.part_no == StockMovementRow.part_no)
        .where(StockMovementRow.store_id == store_id)
    )
    if part_no is not None:  # as the parts list names it: Ｐ1 is P1 (review 19b-s L2)
        stmt = stmt.where(StockMovementRow.part_no == part_number(part_no))
    if kind is not None:
        stmt = stmt.where(StockMovementRow.kind == kind.value)
    stmt = newest_first(stmt, StockMovementRow.at, StockMovementRow.id, after=after, limit=limit)
    return [(movement, part) for movement, part in session.execute(stmt)]


def movement_reason(movement: StockMovementRow, lang: str) -> str:
    """The reason shown for a movement: a release by the order's close or cancel in `lang`,
    else as the person wrote it."""
    why = released_reason(movement)
    return movement.reason if why is None else why.render(lang)


LEDGER_COLUMNS = (
    "at",
    "kind",
    "part_no",
    "name",
    "on_hand",
    "reserved",
    "unit",
    "work_order",
    "actor",
    "reason",
)
LEDGER_BATCH = 1000
"""Movements read per query while a ledger is written out (each in its own short session)."""


def ledger_csv(
    sessions: Callable[[], Session],
    store_id: int,
    *,
    part_no: str | None,
    kind: MovementKind | None,
    lang: str,
    zone: tzinfo,
) -> Iterator[str]:
    """The whole filtered ledger as CSV text, newest first, a batch of rows at a time: a
    byte-order mark and the heading (`lang`), then every movement with its time in the
    site's `zone` (ISO 8601 with the offset) and its kind and reason in `lang`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([Message(f"stock.csv.{c}").render(lang) for c in LEDGER_COLUMNS])
    yield "\ufeff" + _taken(out)
    after: Keyset | None = None
    while True:
        with sessions() as session:
            rows = ledger(
                session, store_id, part_no=part_no, kind=kind, limit=LEDGER_BATCH, after=after
            )
            for m, part in rows:
                cells = [
                    m.at.astimezone(zone).isoformat(),
                    Message(f"stock.kind.{m.kind}").render(lang, default=m.kind),
                    m.part_no,
                    part.name,
                    _cell(in_units(m.on_hand)),
                    _cell(in_units(m.reserved)),
                    part.unit,
                    m.work_order_id or "",
                    m.actor,
                    movement_reason(m, lang),
                ]
                writer.writerow([spreadsheet_safe(c) for c in cells])
        if rows:
            yield _taken(out)
        if len(rows) < LEDGER_BATCH:
            return
        last = rows[-1][0]
        after = Keyset(last.at, last.id)


def _cell(quantity: float) -> float | int:
    """A quantity as a spreadsheet shows it: 2, not 2.0."""
    return int(quantity) if quantity.is_integer() else quantity


def _taken(out: io.StringIO) -> str:
    """What `out` holds, emptying it."""
    found = out.getvalue()
    out.seek(0)
    out.truncate()
    return found


MOST_BY_HAND = 100_000.0
"""Most of a part (in its unit) one receipt by hand holds, or one stocktake count changes either
way (review 19h H1: 1,000,000 rollers were received by hand; 19i M1: the bound is the count's
change, not the count, so a store holding more can still be counted)."""


def _by_hand(quantity: float) -> float:
    """InvalidRecord `quantity` (422) above `MOST_BY_HAND`."""
    if quantity > MOST_BY_HAND:
        params = {"quantity": f"{quantity:,g}", "most": f"{MOST_BY_HAND:,.0f}"}
        raise InvalidRecord("quantity", Message("error.stock.by_hand_most", params))
    return quantity


def made_by_hand(session: Session, store: StoreRow, actor: str, at: datetime) -> float:
    """What stock `actor` changed by hand on the store's site in the site-local day of `at`:
    the value (on hand × the part's unit cost) of their receipts not against a purchase request
    and of their stocktake gains and losses (a loss is money leaving the store as a gain is
    money coming in; review 19i M5)."""
    site = session.get(SiteRow, store.site)
    zone = ZoneInfo(site.timezone if site is not None else DEFAULT_TIMEZONE)
    local = at.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    end = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    M = StockMovementRow  # noqa: N806
    made = session.scalar(
        select(func.sum(func.abs(M.on_hand) * PartRow.unit_cost))
        .select_from(M)
        .join(PartRow, PartRow.part_no == M.part_no)
        .join(StoreRow, StoreRow.id == M.store_id)
        .where(
            StoreRow.site == store.site,
            M.actor == actor[:64],
            M.at >= start.astimezone(UTC),
            M.at < end.astimezone(UTC),
            or_(
                and_(M.kind == MovementKind.RECEIVE.value, M.purchase_line_id.is_(None)),
                M.kind == MovementKind.ADJUST.value,
            ),
        )
    )
    return float(made or 0.0)


def check_made_by_hand(
    session: Session,
    store: StoreRow,
    part: PartRow,
    quantity: float,
    *,
    limit: float | None,
    actor: str,
    at: datetime,
    key: str,
) -> None:
    """StockOverLimit (403) when `quantity` of `part` made (or written off) by hand, with what
    `actor` changed by hand that site-local day, is above their approval `limit` (None: a
    manager's, any): stock is money, a receipt or a count up by hand is a purchase by another
    name (review 19h H1) and a count down a write-off (review 19i M5)."""
    if limit is None:
        return
    amount = quantity * part.unit_cost
    made = made_by_hand(session, store, actor, at)
    if made + amount > limit + 0.005:
        params = {
            "part_no": part.part_no,
            "quantity": f"{quantity:,g}",
            "unit": part.unit or "",
            "amount": f"{amount:,.2f}",
            "made": f"{made:,.2f}",
            "total": f"{made + amount:,.2f}",
            "limit": f"{limit:,.2f}",
        }
        raise StockOverLimit(Message(key, params))


class StockDesk:
    """Every change of stock, one transaction each (with the order's booking and event when
    the change is on a work order)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def add_store(self, site: str, code: str, name: str) -> StoreRow:
        """A new store of the site (InvalidRecord 422 for an empty code or name, StockRefused
        409 for a code the site has, also when two desks add it at once)."""
        code, name = code.strip(), plain("name", name)
        if not code or len(code) > 32:
            raise InvalidRecord("code", Message("error.record.length", {"low": 1, "high": 32}))
        if not name:
            raise InvalidRecord("name", Message("error.stock.store_name"))
        taken = StockRefused(Message("error.stock.store_taken", {"code": code}))
        with self._sessions() as session:
            if session.scalar(
                select(StoreRow.id).where(StoreRow.site == site, StoreRow.code == code)
            ):
                raise taken
            row = StoreRow(site=site, code=code, name=name[:200])
            session.add(row)
            try:
                session.commit()
            except IntegrityError as err:  # uq_stores_site_code: the other desk came first
                raise taken from err
        return row

    def set_levels(
        self,
        store_id: int,
        part_no: str,
        *,
        minimum: float,
        reorder_level: float,
        at: datetime,
        suggested_from: float | None = None,
    ) -> StockRow:
        """The store's minimum and reorder level of the part (both ≥ 0, minimum ≤ reorder);
        `suggested_from`: the level an accepted suggestion raised (None: set by hand, the base
        later suggestions start from). A save by hand that keeps the reorder level keeps the
        basis of an accepted suggestion: only a changed level is set by hand (review 19b-s M1)."""
        if not 0 <= minimum <= reorder_level < 1e9:
            raise InvalidRecord("reorder_level", Message("error.stock.levels"))
        with self._sessions() as session:
            get_store(session, store_id)
            row = stock_row(session, store_id, known_part(session, part_no).part_no, at)
            if suggested_from is None and abs(row.reorder_level - reorder_level) <= EPSILON:
                suggested_from = row.suggested_from
            row.minimum, row.reorder_level, row.updated_at = minimum, reorder_level, at
            row.suggested_from = suggested_from
            session.commit()
        return row

    def receive(
        self, move: Move, *, at: datetime, actor: str, limit: float | None = None
    ) -> StockMovementRow:
        """Parts come into the store by hand (purchase lines go through `purchasing`), with
        a reason (a delivery note, an opening count), at most `MOST_BY_HAND`, and within the
        receiver's approval `limit` (None: a manager's, any) for what they made by hand that
        site-local day (StockOverLimit 403: receive it on an approved purchase request; review
        19h H1)."""
        _by_hand(positive(move.quantity))
        if not move.reason.strip() or first_hidden(move.reason, lines=False) is not None:
            raise InvalidRecord("reason", Message("error.stock.receipt_reason"))
        with self._sessions() as session:
            store = get_store(session, move.store_id)
            part = listed_part(session, move.part_no)
            counted(part, move.given)
            session.get(SiteRow, store.site, with_for_update=True)  # one at a time per site
            check_made_by_hand(
                session,
                store,
                part,
                move.quantity,
                limit=limit,
                actor=actor,
                at=at,
                key="error.stock.receipt_over_limit",
            )
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

    def stocktake(
        self, move: Move, *, at: datetime, actor: str, limit: float | None = None
    ) -> StockMovementRow | None:
        """The counted quantity (`move.quantity`, ≥ 0, changing on hand by at most
        `MOST_BY_HAND` either way; review 19i M1) replaces on hand, with a reason (required);
        None when the count agrees with the books. A gain is stock made by hand: within the
        counter's approval `limit` (None: any) for the site-local day (StockOverLimit 403;
        review 19h H1), and so is a loss, by its value (review 19i M5): one rule for both."""
        if not 0 <= move.quantity < 1e9:
            raise InvalidRecord("quantity", Message("error.stock.quantity"))
        if not move.reason.strip():
            raise InvalidRecord("reason", Message("error.stock.reason"))
        with self._sessions() as session:
            store = get_store(session, move.store_id)
            session.get(SiteRow, store.site, with_for_update=True)  # one at a time per site
            part = known_part(session, move.part_no)  # a withdrawn part's leftovers go
            counted(part, move.given, "counted")
            stock_row(session, move.store_id, move.part_no, at)
            row = session.scalars(  # locked: an issue meanwhile would make the delta wrong
                select(StockRow)
                .where(StockRow.store_id == move.store_id, StockRow.part_no == move.part_no)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).one()
            delta = move.quantity - row.on_hand
            if abs(delta) <= EPSILON:
                return None
            if abs(delta) > MOST_BY_HAND:  # the change, not the count (review 19i M1)
                params = {
                    "counted": f"{move.quantity:,g}",
                    "change": f"{abs(delta):,g}",
                    "most": f"{MOST_BY_HAND:,.0f}",
                }
                raise InvalidRecord("counted", Message("error.stock.count_change_most", params))
            check_made_by_hand(
                session,
                store,
                part,
                abs(delta),
                limit=limit,
                actor=actor,
                at=at,
                key="error.stock.stocktake_over_limit"
                if delta > 0
                else "error.stock.stocktake_loss_over_limit",
            )
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


RELEASED_BY_ORDER = "order:{status}"
"""The reason of a release made because the order was closed or cancelled; the ledger shows it
as a catalogue text in the reader's language (`released_reason`; review 19b-s L8)."""


def released_reason(movement: StockMovementRow) -> Message | None:
    """The catalogue text of a release made by the order's close or cancel, else None."""
    if movement.kind != MovementKind.UNRESERVE.value or movement.work_order_id is None:
        return None
    for status in ("closed", "cancelled"):
        if movement.reason == RELEASED_BY_ORDER.format(status=status):
            params = {"id": str(movement.work_order_id)}
            return Message(f"stock.reason.order_{status}", params)
    return None


def release_reservations(
    session: Session, order_id: int, *, at: datetime, actor: str, status: str
) -> list[StockMovementRow]:
    """Let go of every part still reserved for the order (it is closed or cancelled: the work
    that wanted them is over), one unreserve movement naming the order and why (`status`) per
    store and part; the caller notes them on the order and commits (review 19s M2)."""
    held = session.execute(
        select(
            StockMovementRow.store_id,
            StockMovementRow.part_no,
            func.sum(StockMovementRow.reserved),
        )
        .where(StockMovementRow.work_order_id == order_id)
        .group_by(StockMovementRow.store_id, StockMovementRow.part_no)
        .having(func.sum(StockMovementRow.reserved) > EPSILON)
        .order_by(StockMovementRow.store_id, StockMovementRow.part_no)
    ).all()
    released = []
    for store_id, part_no, reserved in held:
        reason = RELEASED_BY_ORDER.format(status=status)
        move = Move(store_id, part_no, float(reserved), reason=reason, work_order_id=order_id)
        released.append(
            apply_move(
                session,
                move,
                MovementKind.UNRESERVE,
                on_hand=0.0,
                reserved=-move.quantity,
                at=at,
                actor=actor,
            )
        )
    if released:
        logger.info("work order %d: %d reservations released", order_id, len(released))
    return released
