"""Reorder list and purchase requests after review 19s: what pending requests ask for counts
as on order, so the reorder list is requested once — also by two desks at once, on SQLite and
PostgreSQL; a part on two lines is refused; the list honours the minimum and the critical
flag; an accepted suggested level is not raised again."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance import purchasing
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import StageConfig, StockSettings
from bldgwatch.maintenance.errors import InvalidRecord, StockRefused
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.partslist import save_part
from bldgwatch.maintenance.purchasing import LineIn, PurchaseDesk, reorder_list, stock_lines
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stock import Move, StockDesk
from bldgwatch.maintenance.stockmodels import PurchaseLineRow, PurchaseRequestRow
from bldgwatch.maintenance.stocksuggest import suggestions
from tests.maintenance.conftest import T0, EventFactory, demo_site
from tests.maintenance.races import hold_after, together
from tests.maintenance.test_stock import _setup, book_on_newest_order

pytestmark = pytest.mark.services


def _requested(sessions: sessionmaker[Session]) -> list[tuple[int, float]]:
    with sessions() as s:
        rows = s.execute(select(PurchaseLineRow.request_id, PurchaseLineRow.quantity))
        return sorted((r, q) for r, q in rows)


def test_the_reorder_list_is_requested_once(sqlite_db: Engine) -> None:
    """Review 19s M3: each click on "request the reorder list" ordered the shortage again."""
    sessions = session_factory(sqlite_db)
    store, _ = _setup(sessions)
    stock, buy = StockDesk(sessions), PurchaseDesk(sessions)
    stock.receive(Move(store, "6205", 1, reason="opening"), at=T0, actor="sup")
    stock.set_levels(store, "6205", minimum=1, reorder_level=4, at=T0)
    first = buy.request(store, [], from_reorder_list=True, note="", at=T0, actor="sup")
    with sessions() as s:
        (line,) = stock_lines(s, store)
        assert (line.on_order, line.requested, line.to_reorder) == (0, 7, False)
    with pytest.raises(StockRefused, match="pending request"):
        buy.request(store, [], from_reorder_list=True, note="", at=T0, actor="sup")
    buy.decide(store, first.id, approve=False, at=T0, actor="admin", limit=None, reason="dup")
    again = buy.request(store, [], from_reorder_list=True, note="", at=T0, actor="sup")
    assert _requested(sessions) == [(first.id, 7), (again.id, 7)]  # rejected: short again
    with pytest.raises(InvalidRecord, match="6205 is on more than one line"):
        buy.request(store, [LineIn("6205", 1), LineIn(" 6205", 5)], from_reorder_list=False,
                    note="", at=T0, actor="sup")  # fmt: skip


def test_two_desks_request_the_reorder_list_once(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two supervisors at once, held together right after reading the reorder list: one
    request, one 409 (the other waited on the store's row), on SQLite and PostgreSQL."""
    sessions = session_factory(db)
    store, _ = _setup(sessions)
    StockDesk(sessions).set_levels(store, "6205", minimum=0, reorder_level=2, at=T0)
    buy, together, read = PurchaseDesk(sessions), threading.Barrier(2, timeout=2), reorder_list

    def held_after_reading(*args: Any, **kwargs: Any) -> Any:
        low = read(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits on the lock
            together.wait()
        return low

    monkeypatch.setattr(purchasing, "reorder_list", held_after_reading)
    answers: list[str] = []

    def once() -> None:
        try:
            buy.request(store, [], from_reorder_list=True, note="", at=T0, actor="sup")
            answers.append("201")
        except StockRefused:
            answers.append("409")

    threads = [threading.Thread(target=once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == ["201", "409"]
    assert [q for _, q in _requested(sessions)] == [4]


def test_the_reorder_list_honours_the_minimum_and_critical_parts(sqlite_db: Engine) -> None:
    """Review 19s L5: a critical part kept at level 0 was never flagged when none was left."""
    sessions = session_factory(sqlite_db)
    store, _ = _setup(sessions)  # 6205 is critical
    stock = StockDesk(sessions)
    stock.receive(Move(store, "6205", 1, reason="opening"), at=T0, actor="sup")
    with sessions() as s:
        assert reorder_list(s, store) == []  # one left, not kept at a level
    stock.stocktake(Move(store, "6205", 0, reason="broken"), at=T0, actor="sup")
    stock.set_levels(store, "6205", minimum=1, reorder_level=1, at=T0)
    with sessions() as s:
        (line,) = reorder_list(s, store)
        assert (line.below_minimum, line.suggested_order) == (True, 2)
    stock.set_levels(store, "6205", minimum=0, reorder_level=0, at=T0)
    with sessions() as s:
        (line,) = reorder_list(s, store)  # critical, none for new work
        assert (line.below_minimum, line.suggested_order) == (False, 1)


def test_an_accepted_suggestion_is_not_raised_again(
    sqlite_db: Engine, make_event: EventFactory
) -> None:
    """Review 19s M4: every accept raised the level once more (2 → 6 → 18 → 54)."""
    sessions = session_factory(sqlite_db)
    with sessions() as s:  # a pump two months old (early life), one bearing used, none before
        import_site(s, demo_site(pump_installed=date(2026, 1, 1)), at=T0)
        save_part(s, part_no="6205", name="bearing", unit="pc", unit_cost=45.5, actor="sup",
                  at=T0, fits=[("pump", "")])  # fmt: skip
        s.commit()
    stock = StockDesk(sessions)
    store = stock.add_store("demo", "main", "Main store").id
    stock.set_levels(store, "6205", minimum=1, reorder_level=2, at=T0)
    process_event(sessions, make_event(at=T0 - timedelta(days=20)))
    book_on_newest_order(sessions, "6205", 1, at=T0 - timedelta(days=20))

    def suggested() -> list[tuple[float, float, float]]:
        with sessions() as s:
            found = suggestions(s, store, as_of=T0, stage=StageConfig(), settings=StockSettings())
        return [(x.current, x.suggested, x.base) for x in found]

    assert suggested() == [(2, 3, 2)]
    stock.set_levels(store, "6205", minimum=1, reorder_level=3, at=T0, suggested_from=2)
    assert suggested() == []  # accepted: the same suggestion is not offered on top of it
    stock.set_levels(store, "6205", minimum=2, reorder_level=3, at=T0)  # only the minimum
    assert suggested() == []  # review 19b-s M1: it reset the base and offered 3 → 9
    stock.set_levels(store, "6205", minimum=1, reorder_level=5, at=T0)  # by hand: a new base
    assert suggested() == [(5, 6, 5)]


def test_an_approved_request_whose_rest_will_not_come_is_closed(sqlite_db: Engine) -> None:
    """Review 19s L9: the lines that never arrived stayed on order for ever."""
    sessions = session_factory(sqlite_db)
    store, _ = _setup(sessions)
    StockDesk(sessions).set_levels(store, "6205", minimum=0, reorder_level=2, at=T0)
    buy = PurchaseDesk(sessions)
    asked = buy.request(store, [], from_reorder_list=True, note="", at=T0, actor="sup")
    with pytest.raises(StockRefused, match="waiting for approval"):  # only an approved one
        buy.close(store, asked.id, at=T0, actor="sup")
    buy.decide(store, asked.id, approve=True, limit=None, at=T0, actor="admin")
    with sessions() as s:
        line_id = s.scalars(select(PurchaseLineRow.id)).one()
    buy.receive(store, asked.id, line_id, 1, at=T0, actor="sup")
    assert buy.close(store, asked.id, at=T0, actor="sup").status == "closed"
    with sessions() as s:
        (line,) = reorder_list(s, store)  # 1 came, 3 never will: short again
        assert (line.stock.on_hand, line.on_order, line.suggested_order) == (1, 0, 3)


def test_a_line_below_the_list_price_is_approved_at_the_list_price(sqlite_db: Engine) -> None:
    """Review 19b-s M3: 1000 bearings listed at 45.5 asked at 0.01 made a request of 10.00,
    inside any supervisor's limit; the approver saw neither the unit cost nor the list's."""
    sessions = session_factory(sqlite_db)
    store, _ = _setup(sessions)
    buy = PurchaseDesk(sessions)
    cheap = buy.request(store, [LineIn("6205", 1000, unit_cost=0.01)], from_reorder_list=False,
                        note="", at=T0, actor="sup")  # fmt: skip
    # another requester's: the cheap one pending beside it would count with it (review 19g M7)
    dear = buy.request(store, [LineIn("6205", 2, unit_cost=50)], from_reorder_list=False,
                       note="", at=T0, actor="sup2")  # fmt: skip
    with sessions() as s:
        lines = purchasing.lines_of(s, [cheap.id, dear.id])
        ((line, part),) = lines[cheap.id]
        assert (cheap.amount, line.unit_cost, part.unit_cost, part.name) == (10, 0.01, 45.5,
                                                                             "bearing")  # fmt: skip
        amounts = [purchasing.approval_amount(lines[x]) for x in (cheap.id, dear.id)]
        assert amounts == [45500, 100]  # the higher of the stated cost and the list's
    with pytest.raises(purchasing.OverApprovalLimit, match=r"45500\.00"):
        buy.decide(store, cheap.id, approve=True, limit=5000, at=T0, actor="boss")
    assert buy.decide(store, dear.id, approve=True, limit=100, at=T0, actor="boss").status == (
        "approved"
    )


def _approved(sessions: sessionmaker[Session], store: int, quantity: float) -> tuple[int, int]:
    """An approved request of `quantity` bearings: (request, line)."""
    buy = PurchaseDesk(sessions)
    made = buy.request(store, [LineIn("6205", quantity)], from_reorder_list=False, note="",
                       at=T0, actor="sup")  # fmt: skip
    buy.decide(store, made.id, approve=True, limit=None, at=T0, actor="manager")
    with sessions() as s:
        line = s.scalars(select(PurchaseLineRow).where(PurchaseLineRow.request_id == made.id))
        return made.id, line.one().id


def test_two_desks_receiving_one_line_count_it_once(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 19c-s H1: two supervisors receiving the same line of 10 at once got +20 in
    the store (or a line 'received 5' after 10 came) on SQLite. Held together right after
    reading the request: one receipt, the other told the request is received."""
    sessions = session_factory(db)
    store, _ = _setup(sessions)
    request, line = _approved(sessions, store, 10)
    hold_after(monkeypatch, purchasing, "_request")
    buy = PurchaseDesk(sessions)

    def receive() -> str:
        return buy.receive(store, request, line, 10, at=T0, actor="sup").status

    assert together(receive, receive) == ["StockRefused", "received"]
    with sessions() as s:
        (stock,) = stock_lines(s, store)
        assert (stock.stock.on_hand, stock.on_order) == (10, 0)


def test_two_desks_receiving_part_of_one_line_count_both(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each receives 5 of 10 at once: both count, the line is received, nothing on order."""
    sessions = session_factory(db)
    store, _ = _setup(sessions)
    request, line = _approved(sessions, store, 10)
    hold_after(monkeypatch, purchasing, "_request")
    buy = PurchaseDesk(sessions)

    def receive() -> str:
        return buy.receive(store, request, line, 5, at=T0, actor="sup").status

    assert together(receive, receive) == ["approved", "received"]
    with sessions() as s:
        (stock,) = stock_lines(s, store)
        assert (stock.stock.on_hand, stock.on_order) == (10, 0)
        assert s.get(PurchaseLineRow, line).received == 10  # type: ignore[union-attr]


def test_an_approve_and_a_reject_at_once_decide_once(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 19c-s H3: both were told 'done' and the last writer won silently."""
    sessions = session_factory(db)
    store, _ = _setup(sessions)
    buy = PurchaseDesk(sessions)
    made = buy.request(store, [LineIn("6205", 2)], from_reorder_list=False, note="", at=T0,
                       actor="sup")  # fmt: skip
    hold_after(monkeypatch, purchasing, "_request")

    def decide(approve: bool) -> Callable[[], str]:
        return lambda: (
            buy.decide(
                store, made.id, approve=approve, limit=None, at=T0, actor="manager", reason="r"
            ).status
        )

    answers = together(decide(True), decide(False))
    assert answers in (["StockRefused", "approved"], ["StockRefused", "rejected"])
    with sessions() as s:
        kept = s.get(PurchaseRequestRow, made.id)
        assert kept is not None and kept.status == answers[1]


def test_a_receipt_is_kept_to_a_thousandth(sqlite_db: Engine) -> None:
    """Review 19c-s L2b: a receipt of 0.0014 moved 0.0014 on hand while its movement said
    0.001; below the smallest unit it is refused."""
    sessions = session_factory(sqlite_db)
    store, _ = _setup(sessions)
    with sessions() as s:  # measured: a part counted in pieces takes no fraction (TASK-A8)
        s.execute(update(PartRow).where(PartRow.part_no == "6205").values(unit="m"))
        s.commit()
    request, line = _approved(sessions, store, 2)
    buy = PurchaseDesk(sessions)
    buy.receive(store, request, line, 1.0004, at=T0, actor="sup")
    with pytest.raises(InvalidRecord, match="quantity"):
        buy.receive(store, request, line, 0.0004, at=T0, actor="sup")
    with sessions() as s:
        (stock,) = stock_lines(s, store)
        assert (stock.stock.on_hand, stock.on_order) == (1.0, 1.0)
        assert s.get(PurchaseLineRow, line).received == 1.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("minimum", "reserved", "below", "reorder"),
    [(0, 4, False, True), (0, 0, False, False), (2, 1, True, True), (1, 0, False, False)],
)
def test_no_minimum_set_is_never_below_it(
    minimum: float, reserved: float, below: bool, reorder: bool
) -> None:
    """Review 19e L5: a part whose minimum is 0 (none set), none on the shelf and 4 reserved
    read "below minimum" beside its shortfall. Now only a minimum set can be undershot; the
    shortfall still puts the part on the reorder list."""
    from bldgwatch.maintenance.recordmodels import PartRow
    from bldgwatch.maintenance.stockmodels import StockRow

    part = PartRow(part_no="CT-32A", critical=False, active=True)
    stock = StockRow(on_hand=1, reserved=reserved, minimum=minimum, reorder_level=0)
    line = purchasing.StockLine(part, stock, on_order=0.0)
    assert (line.below_minimum, line.to_reorder) == (below, reorder)
