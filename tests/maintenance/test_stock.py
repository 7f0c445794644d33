"""Spare parts in stock: movements keep on hand and reserved, issue books on the order (its
cost), a return reverses it, a stocktake needs its reason, nothing is oversold — also by two
sessions at once on PostgreSQL — and purchase requests are approved by amount and received."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance import stockorders
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import RosterSettings, StageConfig, StockSettings, Technician
from bldgwatch.maintenance.errors import InvalidRecord, StockRefused, StockShort
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import booked_costs
from bldgwatch.maintenance.models import WorkOrderLabourRow, WorkOrderPartRow, WorkOrderRow
from bldgwatch.maintenance.partslist import fits_of, save_part
from bldgwatch.maintenance.purchasing import (
    LineIn,
    OverApprovalLimit,
    PurchaseDesk,
    reorder_list,
    stock_lines,
)
from bldgwatch.maintenance.stock import (
    Move,
    MovementKind,
    StockDesk,
    apply_move,
)
from bldgwatch.maintenance.stockmodels import PurchaseLineRow, StockMovementRow, StockRow
from bldgwatch.maintenance.stockorders import OrderStockDesk
from bldgwatch.maintenance.stocksuggest import ClassTrend, suggestions
from tests.maintenance.conftest import T0, EventFactory, demo_site
from tests.maintenance.desks import seeded_desk

pytestmark = pytest.mark.services


def _setup(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """The demo site with a store holding bearings, and an order assigned to li: (store, order)."""
    with sessions() as s:
        import_site(s, demo_site(), at=T0)
        save_part(s, part_no="6205", name="bearing", unit="pc", unit_cost=45.5, actor="sup",
                  at=T0, critical=True, fits=[("pump", ""), ("pump", "KQL")])  # fmt: skip
        s.commit()
    store = StockDesk(sessions).add_store("demo", "main", "Main store").id
    desk = seeded_desk(
        sessions,
        RosterSettings(technicians=[Technician(id="li", sites=["demo"], skills=["mechanical"])]),
    )
    order = desk.request(site="demo", equipment="P-01", title="noise", at=T0, actor="desk")
    desk.assign(order.id, at=T0, actor="sup", technician="li")
    return store, order.id


def book_on_newest_order(
    sessions: sessionmaker[Session], part_no: str, quantity: float, *, at: datetime
) -> None:
    """Book `quantity` of a part on the newest work order (what its repair used)."""
    with sessions() as s:
        order = s.scalars(select(WorkOrderRow).order_by(WorkOrderRow.id.desc())).first()
        assert order is not None
        s.add(
            WorkOrderPartRow(
                work_order_id=order.id,
                part_no=part_no,
                quantity=quantity,
                unit_cost=45.5,
                at=at,
                actor="li",
            )
        )
        s.commit()


def _cost(sessions: sessionmaker[Session], order_id: int) -> float:
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None
        return round(order.cost, 2)


def _stock(sessions: sessionmaker[Session], store: int) -> tuple[float, float, float, float]:
    """(on hand, reserved, and the same two summed from the movements)."""
    with sessions() as s:
        row = s.get(StockRow, (store, "6205"))
        assert row is not None
        moved = s.execute(
            select(func.sum(StockMovementRow.on_hand), func.sum(StockMovementRow.reserved))
        ).one()
        return row.on_hand, row.reserved, float(moved[0]), float(moved[1])


def test_reserve_issue_return_and_stocktake(db: Engine) -> None:
    sessions = session_factory(db)
    store, order = _setup(sessions)
    stock, at = OrderStockDesk(sessions), T0 + timedelta(hours=1)
    StockDesk(sessions).receive(Move(store, "6205", 5, reason="opening"), at=at, actor="sup")
    stock.reserve(Move(store, "6205", 2, work_order_id=order), at=at, actor="li")
    assert _stock(sessions, store) == (5, 2, 5, 2)
    with pytest.raises(
        StockShort, match=r"6205.*only 3 available"
    ) as short:  # 5 on hand, 2 reserved
        stock.reserve(Move(store, "6205", 4, work_order_id=order), at=at, actor="li")
    assert short.value.available == 3
    stock.issue(Move(store, "6205", 3, work_order_id=order), at=at, actor="li")
    assert _stock(sessions, store) == (2, 0, 2, 0)  # the reservation was used first
    assert _cost(sessions, order) == 136.5
    stock.give_back(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    assert _stock(sessions, store) == (3, 0, 3, 0)
    assert _cost(sessions, order) == 91.0
    with sessions() as s:  # the budget figures read the same bookings
        costs = booked_costs(s, "demo", Period.of(at))
        assert sum(c for _, c, kind in costs if kind == "parts") == 91.0
        quantities = s.scalars(select(WorkOrderPartRow.quantity).order_by(WorkOrderPartRow.id))
        assert list(quantities) == [3, -1]
        assert fits_of(s, ["6205"]) == {"6205": [("pump", ""), ("pump", "KQL")]}
    with pytest.raises(StockRefused, match="6205"):  # only 2 are still out on the order
        stock.give_back(Move(store, "6205", 3, work_order_id=order), at=at, actor="li")
    with pytest.raises(StockRefused):  # nothing reserved any more
        stock.unreserve(Move(store, "6205", 1, work_order_id=order), at=at, actor="li")
    with pytest.raises(StockShort, match="6205"):
        stock.issue(Move(store, "6205", 4, work_order_id=order), at=at, actor="li")
    assert _cost(sessions, order) == 91.0  # a refused issue books nothing
    with pytest.raises(InvalidRecord, match="reason"):
        StockDesk(sessions).stocktake(Move(store, "6205", 2), at=at, actor="sup")
    adjusted = StockDesk(sessions).stocktake(
        Move(store, "6205", 2, reason="one broken"), at=at, actor="sup"
    )
    assert adjusted is not None and (adjusted.kind, adjusted.on_hand) == ("adjust", -1)
    assert _stock(sessions, store) == (2, 0, 2, 0)


def test_purchase_request_from_the_reorder_list(db: Engine) -> None:
    sessions = session_factory(db)
    store, _ = _setup(sessions)
    stock, buy, at = StockDesk(sessions), PurchaseDesk(sessions), T0
    stock.receive(Move(store, "6205", 1, reason="到货"), at=at, actor="sup")
    stock.set_levels(store, "6205", minimum=1, reorder_level=4, at=at)
    with sessions() as s:
        assert [line.part.part_no for line in reorder_list(s, store)] == ["6205"]
    request = buy.request(store, [], from_reorder_list=True, note="", at=at, actor="sup")
    assert request.amount == 7 * 45.5  # up to twice the level: 8 - 1
    with pytest.raises(OverApprovalLimit, match=r"318\.50"):
        buy.decide(store, request.id, approve=True, limit=300, at=at, actor="sup")
    buy.decide(store, request.id, approve=True, limit=None, at=at, actor="admin")
    with sessions() as s:
        assert reorder_list(s, store) == []  # 1 on hand + 7 on order > 4
        (line,) = stock_lines(s, store)
        assert line.on_order == 7
        line_id = s.scalars(select(PurchaseLineRow.id)).one()
    buy.receive(store, request.id, line_id, 3, at=at, actor="sup")
    done = buy.receive(store, request.id, line_id, 4, at=at, actor="sup")
    assert done.status == "received"
    assert _stock(sessions, store)[:2] == (8, 0)
    with pytest.raises(InvalidRecord):
        buy.request(store, [LineIn("6205", 0)], from_reorder_list=False, note="", at=at,
                    actor="sup")  # fmt: skip


@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
def test_two_sessions_cannot_oversell(db: Engine) -> None:
    sessions = session_factory(db)
    store, order = _setup(sessions)
    StockDesk(sessions).receive(Move(store, "6205", 3, reason="到货"), at=T0, actor="sup")
    first, second = sessions(), sessions()
    issue = Move(store, "6205", 2, work_order_id=order)
    apply_move(first, issue, MovementKind.ISSUE, on_hand=-2, reserved=0, at=T0, actor="li")
    refused: list[BaseException] = []

    def other() -> None:  # waits on the first session's row lock, then finds 1 left
        try:
            apply_move(
                second, issue, MovementKind.ISSUE, on_hand=-2, reserved=0, at=T0, actor="wang"
            )
        except StockShort as err:
            refused.append(err)

    thread = threading.Thread(target=other)
    thread.start()
    first.commit()
    thread.join(timeout=30)
    second.rollback()
    first.close(), second.close()
    assert [str(e) for e in refused] == [str(StockShort("6205", 2, 1))]
    assert _stock(sessions, store)[:2] == (1, 0)


def test_rising_use_by_early_life_pumps_suggests_more_bearings(
    sqlite_db: Engine, make_event: EventFactory
) -> None:
    sessions = session_factory(sqlite_db)
    with sessions() as s:  # a pump two months old: early life by its age band (0.5 years)
        import_site(s, demo_site(pump_installed=date(2026, 1, 1)), at=T0)
        save_part(s, part_no="6205", name="bearing", unit="pc", unit_cost=45.5, actor="sup",
                  at=T0, fits=[("pump", "")])  # fmt: skip
        save_part(s, part_no="EL-1", name="door roller", unit="pc", unit_cost=9, actor="sup",
                  at=T0, fits=[("elevator", "")])  # fmt: skip
        s.commit()
    stock = StockDesk(sessions)
    store = stock.add_store("demo", "main", "Main store").id
    stock.set_levels(store, "6205", minimum=1, reorder_level=2, at=T0)
    process_event(sessions, make_event(at=T0 - timedelta(days=20)))  # one failure, none before
    book_on_newest_order(sessions, "6205", 1, at=T0 - timedelta(days=20))  # its bearing
    with sessions() as s:
        found = suggestions(s, store, as_of=T0, stage=StageConfig(), settings=StockSettings())
    assert [(x.part_no, x.current, x.suggested) for x in found] == [
        ("6205", 2.0, 3.0)
    ]  # one more at least
    assert "水泵" in found[0].reason.render("zh-CN") and "rising" in found[0].reason.render("en")
    with sessions() as s:
        assert s.get(StockRow, (store, "6205")).reorder_level == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stages", "failures", "current", "suggested"),
    [
        ((1, 0), (4, 2), 3.0, 6.0),  # twice the failures: twice the level
        ((0, 2), (3, 0), 0.0, 1.0),  # not kept yet: at least one
        ((0, 1), (2, 2), 3.0, None),  # not rising
        ((0, 0), (5, 1), 3.0, None),  # every unit in mid life
    ],
)
def test_class_trend(
    stages: tuple[int, int], failures: tuple[int, int], current: float, suggested: float | None
) -> None:
    trend = ClassTrend("pump", 3, *stages, *failures, days=180)
    assert (trend.suggested(current) if trend.qualifies else None) == suggested


@pytest.mark.parametrize("action", ["give_back", "unreserve"])
def test_two_desks_cannot_return_or_release_one_unit_twice(
    db: Engine, action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 19s H3: on SQLite (FOR UPDATE is nothing there) both returns of the order's one
    unit passed the check of what it held; held together right after that check, one of two
    desks now gets its 409 (the other waits on the order's row until the first commits)."""
    sessions = session_factory(db)
    store, order = _setup(sessions)
    desk = OrderStockDesk(sessions)
    StockDesk(sessions).receive(Move(store, "6205", 5, reason="到货"), at=T0, actor="sup")
    first = desk.issue if action == "give_back" else desk.reserve
    first(Move(store, "6205", 1, work_order_id=order), at=T0, actor="li")
    together = threading.Barrier(2, timeout=2)
    what = "issued_lots" if action == "give_back" else "order_position"  # what each checks
    checked = getattr(stockorders, what)

    def held_after_the_check(*args: Any, **kwargs: Any) -> Any:
        position = checked(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits on the lock
            together.wait()
        return position

    monkeypatch.setattr(stockorders, what, held_after_the_check)
    answers: list[str] = []

    def once() -> None:
        try:
            getattr(desk, action)(Move(store, "6205", 1, work_order_id=order), at=T0, actor="li")
            answers.append("done")
        except StockRefused:
            answers.append("409")

    threads = [threading.Thread(target=once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == ["409", "done"]
    on_hand, reserved = _stock(sessions, store)[:2]
    assert (on_hand, reserved) == (5, 0)  # the unit issued came back once / was let go once


def test_a_stocktake_beside_an_issue_keeps_the_stock_the_sum_of_its_movements(
    db: Engine,
) -> None:
    """Review 19c-s H2: a stocktake computed its adjustment from a count of on hand that an
    issue changed before the stocktake wrote (SQLite had no lock): on hand drifted from the
    sum of the movements. The issue, started right after the stocktake's locked read, now
    waits for the stocktake and is applied after it."""
    sessions = session_factory(db)
    store, order = _setup(sessions)
    StockDesk(sessions).receive(Move(store, "6205", 10, reason="到货"), at=T0, actor="sup")
    issues: list[threading.Thread] = []

    def issue() -> None:
        OrderStockDesk(sessions).issue(Move(store, "6205", 1, work_order_id=order), at=T0,
                                       actor="li")  # fmt: skip

    def meanwhile(conn: object, cursor: object, statement: str, *_: object) -> None:
        # right before the stocktake writes the count it computed from its (locked) read
        if statement.startswith("UPDATE stock ") and not issues:
            issues.append(threading.Thread(target=issue))
            issues[0].start()
            issues[0].join(timeout=1.0)  # it cannot get in before the stocktake is written

    event.listen(db, "before_cursor_execute", meanwhile)
    try:
        StockDesk(sessions).stocktake(Move(store, "6205", 7, reason="counted"), at=T0,
                                      actor="sup")  # fmt: skip
    finally:
        event.remove(db, "before_cursor_execute", meanwhile)
    assert issues
    issues[0].join(timeout=30)
    on_hand, reserved, moved_on_hand, moved_reserved = _stock(sessions, store)
    assert (on_hand, reserved) == (moved_on_hand, moved_reserved) == (6, 0)


def test_an_approved_line_counts_in_the_month_it_is_approved(db: Engine) -> None:
    """Review 19h L8: a line booked on 30 November at 23:00 (Shanghai), awaiting approval, and
    approved on 2 December was missing from the November report made on 1 December, then
    silently entered November. Now it counts in December, the month of its approval; a line
    counted at once stays in the month it was booked."""
    sessions = session_factory(db)
    _store, order = _setup(sessions)
    booked = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    with sessions() as s, s.begin():
        s.add_all(
            [
                WorkOrderLabourRow(work_order_id=order, technician="li", hours=8, rate=80,
                                   at=booked, note="", actor="sup", approval="approved",
                                   decided_by="mgr", decided_at=booked + timedelta(days=2)),
                WorkOrderLabourRow(work_order_id=order, technician="li", hours=1, rate=80,
                                   at=booked, note="", actor="li"),
            ]
        )  # fmt: skip
    with sessions() as s:
        november = booked_costs(s, "demo", Period(2026, 11, "Asia/Shanghai"))
        december = booked_costs(s, "demo", Period(2026, 12, "Asia/Shanghai"))
    assert [c for _, c, _ in november] == [80.0]
    assert [c for _, c, _ in december] == [640.0]
