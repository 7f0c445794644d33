"""Parts on work orders after review 19s: a return is credited at the cost its units were
issued at (newest issue first), so the order's parts cost matches its bookings and never
goes negative; closing or cancelling an order lets its reservations go, noted on the order;
an open order takes no stock (in the reader's language); a withdrawn part still goes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    StockRefused,
    StockShort,
    UnknownPart,
    quantity_text,
)
from bldgwatch.maintenance.followup import FollowUp, Outcome
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderPartRow, WorkOrderRow
from bldgwatch.maintenance.partslist import save_part
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stock import Move, StockDesk, released_reason
from bldgwatch.maintenance.stockmodels import StockMovementRow, StockRow
from bldgwatch.maintenance.stockorders import OrderStockDesk, store_reservations
from bldgwatch.maintenance.worklog import InvalidWorkLog, return_part
from tests.maintenance.conftest import T0
from tests.maintenance.test_stock import _setup

pytestmark = pytest.mark.services


def _price(sessions: sessionmaker[Session], cost: float, unit: str = "pc") -> None:
    with sessions() as s:
        save_part(s, part_no="6205", name="bearing", unit=unit, unit_cost=cost, actor="sup",
                  at=T0)  # fmt: skip
        s.commit()


def _booked(sessions: sessionmaker[Session], order: int) -> tuple[float, float, list[float]]:
    """(the order's cost, the sum of its part bookings, the unit costs of its returns)."""
    with sessions() as s:
        row = s.get(WorkOrderRow, order)
        assert row is not None
        total = s.scalar(
            select(func.sum(WorkOrderPartRow.quantity * WorkOrderPartRow.unit_cost)).where(
                WorkOrderPartRow.work_order_id == order
            )
        )
        returns = s.scalars(
            select(WorkOrderPartRow.unit_cost)
            .where(WorkOrderPartRow.work_order_id == order, WorkOrderPartRow.quantity < 0)
            .order_by(WorkOrderPartRow.id)
        )
        return round(row.cost, 2), round(float(total), 2), list(returns)


def test_a_return_is_credited_at_the_cost_it_was_issued_at(sqlite_db: Engine) -> None:
    """Review 19s M1: 1 at 45.5, the list price raised to 100, 1 more: returning both
    credited 2 × 100 and left the order at -9.0."""
    sessions = session_factory(sqlite_db)
    store, order = _setup(sessions)
    desk, at = OrderStockDesk(sessions), T0 + timedelta(hours=1)
    StockDesk(sessions).receive(Move(store, "6205", 5, reason="到货"), at=at, actor="sup")
    desk.issue(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    _price(sessions, 100)
    desk.issue(Move(store, "6205", 2, work_order_id=order), at=at, actor="li")
    assert _booked(sessions, order) == (245.5, 245.5, [])
    desk.give_back(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    assert _booked(sessions, order) == (145.5, 145.5, [100])  # the newest issue first
    desk.give_back(Move(store, "6205", 2, work_order_id=order), at=at, actor="li")
    assert _booked(sessions, order) == (0.0, 0.0, [100, 100, 45.5])  # one row per cost
    with sessions() as s:
        kinds = s.scalars(select(StockMovementRow.kind).order_by(StockMovementRow.id))
        assert list(kinds)[-3:] == ["return", "return", "return"]
        assert s.get(StockRow, (store, "6205")).on_hand == 5  # type: ignore[union-attr]


def test_closing_or_cancelling_an_order_lets_its_reservations_go(db: Engine) -> None:
    """Review 19s M2: a cancelled order kept its reserved bearing for ever (on SQLite and
    PostgreSQL: the list of reservations groups by order and part)."""
    sessions = session_factory(db)
    store, order = _setup(sessions)
    desk, work, at = OrderStockDesk(sessions), WorkDesk(sessions), T0 + timedelta(hours=1)
    StockDesk(sessions).receive(Move(store, "6205", 3, reason="到货"), at=at, actor="sup")
    desk.reserve(Move(store, "6205", 2, work_order_id=order), at=at, actor="li")
    other = work.request(site="demo", equipment="P-01", title="leak", at=at, actor="desk")
    work.assign(other.id, at=at, actor="sup", technician="li")
    desk.reserve(Move(store, "6205", 1, work_order_id=other.id), at=at, actor="li")
    with sessions() as s:
        held = [(o.id, p.part_no, n) for o, p, n in store_reservations(s, store)]
        assert held == [(order, "6205", 2), (other.id, "6205", 1)]
    work.cancel(order, "duplicate", at=at, actor="sup")
    desk.reserve(Move(store, "6205", 2, work_order_id=other.id), at=at, actor="li")  # free
    with sessions() as s:
        assert s.get(StockRow, (store, "6205")).reserved == 3  # type: ignore[union-attr]
        note = s.scalars(
            select(WorkOrderEventRow)
            .where(WorkOrderEventRow.work_order_id == order)
            .order_by(WorkOrderEventRow.id)
        ).all()[-2]
        assert (note.kind, note.to_status) == ("part", "assigned")  # before the cancel
        assert "6205 × 2" in note.note and "went back to the store" in note.note
    work.move(other.id, "in_progress", at=at, actor="li")
    work.resolve(other.id, "fixed", at=at, actor="li")
    work.follow_up(other.id, FollowUp(Outcome.SATISFIED), at=at, actor="sup")
    work.move(other.id, "closed", at=at, actor="sup")
    with sessions() as s:
        assert s.get(StockRow, (store, "6205")).reserved == 0  # type: ignore[union-attr]
        assert store_reservations(s, store) == []
    with pytest.raises(InvalidWorkLog, match="cancelled"):  # and none is taken again
        desk.reserve(Move(store, "6205", 1, work_order_id=order), at=at, actor="sup")


def test_an_open_order_takes_no_stock_and_a_withdrawn_part_goes_back(sqlite_db: Engine) -> None:
    """Review 19s L1 (a reserve on an open order passed, its issue then failed in English
    only) and L2 (a withdrawn part could not even be released or returned)."""
    sessions = session_factory(sqlite_db)
    store, order = _setup(sessions)
    desk, work, at = OrderStockDesk(sessions), WorkDesk(sessions), T0 + timedelta(hours=1)
    StockDesk(sessions).receive(Move(store, "6205", 3, reason="到货"), at=at, actor="sup")
    fresh = work.request(site="demo", equipment="P-01", title="leak", at=at, actor="desk")
    with pytest.raises(InvalidWorkLog) as refused:
        desk.reserve(Move(store, "6205", 1, work_order_id=fresh.id), at=at, actor="sup")
    assert refused.value.message is not None
    assert "尚无人接单" in refused.value.message.render("zh-CN")
    desk.reserve(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    desk.issue(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    desk.reserve(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    with sessions() as s:
        save_part(s, part_no="6205", name="bearing", unit="pc", unit_cost=45.5, actor="sup",
                  at=at, active=False)  # fmt: skip
        s.commit()
    with pytest.raises(UnknownPart):
        desk.reserve(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    desk.unreserve(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    desk.give_back(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    with sessions() as s:
        row = s.get(StockRow, (store, "6205"))
        assert row is not None and (row.on_hand, row.reserved) == (3, 0)
    with pytest.raises(StockRefused):  # nothing more than was issued, withdrawn or not
        desk.give_back(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")


@pytest.mark.parametrize(
    ("quantity", "text"),
    [(1_500_000, "1500000"), (0.1 + 0.2, "0.3"), (3.0, "3"), (2.5, "2.5"), (0.0, "0")],
)
def test_quantities_read_as_people_write_them(quantity: float, text: str) -> None:
    """Review 19s L4: 1 500 000 read "1.5e+06" in a refusal, sums showed 0.30000000000000004."""
    assert quantity_text(quantity) == text
    assert f"only {text} available" in str(StockShort("6205", quantity + 1, quantity))


def test_quantities_are_kept_to_a_thousandth(db: Engine) -> None:
    """Review 19b-s H1: a return of 1e-10 was a 500 (IndexError); L1: a return split over two
    prices left 0.09999999999999998 and a cost of 1.7e-15; L8: the release on cancel had no
    reason and carried the same dust (on SQLite and PostgreSQL: sums come from SQL)."""
    sessions = session_factory(db)
    store, order = _setup(sessions)
    with sessions() as s:  # measured: a part counted in pieces takes no fraction (TASK-A8)
        s.execute(update(PartRow).where(PartRow.part_no == "6205").values(unit="m"))
        s.commit()
    desk, work, at = OrderStockDesk(sessions), WorkDesk(sessions), T0 + timedelta(hours=1)
    StockDesk(sessions).receive(Move(store, "6205", 5, reason="到货"), at=at, actor="sup")
    desk.issue(Move(store, "6205", 0.1, work_order_id=order), at=at, actor="li")
    for below in (desk.give_back, desk.reserve, desk.unreserve, desk.issue):
        with pytest.raises(InvalidRecord) as refused:
            below(Move(store, "6205", 1e-10, work_order_id=order), at=at, actor="li")
        assert refused.value.field == "quantity"
    _price(sessions, 200, unit="m")
    desk.issue(Move(store, "6205", 0.2, work_order_id=order), at=at, actor="li")
    desk.give_back(Move(store, "6205", 0.3, work_order_id=order), at=at, actor="li")
    assert _booked(sessions, order) == (0.0, 0.0, [200, 45.5])
    with sessions() as s:
        returned = s.scalars(
            select(StockMovementRow.quantity).where(StockMovementRow.kind == "return")
        )
        assert list(returned) == [0.2, 0.1]
        assert s.get(WorkOrderRow, order).cost == 0.0  # type: ignore[union-attr]
    desk.reserve(Move(store, "6205", 0.3, work_order_id=order), at=at, actor="li")
    desk.issue(Move(store, "6205", 0.1, work_order_id=order), at=at, actor="li")
    work.cancel(order, "duplicate", at=at, actor="sup")
    with sessions() as s:
        released = s.scalars(
            select(StockMovementRow).where(StockMovementRow.kind == "unreserve")
        ).one()
        why = released_reason(released)
        assert released.quantity == 0.2 and why is not None
        assert why.render("zh-CN") == f"工单 #{order} 已取消"
        assert why.render("en") == f"order #{order} was cancelled"


def test_a_return_on_a_finished_order_is_refused_in_words(sqlite_db: Engine) -> None:
    """Review 19b-s L11: the refusal printed "work order 1 is Message(key='error.status_word…"
    in both languages; the refusal on an open order was English only."""
    sessions = session_factory(sqlite_db)
    store, order = _setup(sessions)
    desk, work, at = OrderStockDesk(sessions), WorkDesk(sessions), T0 + timedelta(hours=1)
    StockDesk(sessions).receive(Move(store, "6205", 2, reason="到货"), at=at, actor="sup")
    desk.issue(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    work.cancel(order, "duplicate", at=at, actor="sup")
    with pytest.raises(InvalidWorkLog) as refused:
        desk.give_back(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    said = refused.value.message
    assert said is not None
    assert said.render("zh-CN") == f"工单 {order} 已取消：不能再登记工作"
    assert said.render("en") == f"work order {order} is cancelled: no more work on it"
    with sessions() as s:
        fresh = work.request(site="demo", equipment="P-01", title="leak", at=at, actor="desk")
        with pytest.raises(InvalidWorkLog) as refused:
            return_part(s, fresh.id, part_no="6205", quantity=1, unit_cost=1, at=at, actor="li")
    said = refused.value.message
    assert said is not None and "尚无人接单" in said.render("zh-CN")
    assert said.render("en").startswith(f"work order {fresh.id} is open")
