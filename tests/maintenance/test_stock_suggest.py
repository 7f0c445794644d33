"""Suggested stock after review 19 (first review L6, L7): a part's use counts on orders of
every kind — a PM replacing wear parts above all — returns deducted, cancelled orders
excepted; and the site's stages are kept between requests (`StageTally`), scored again only
when the register, the failures or the stage settings changed, or `refit_hours` passed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance import stocksuggest
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import StageConfig, StockSettings
from bldgwatch.maintenance.models import WorkOrderPartRow
from bldgwatch.maintenance.partslist import save_part
from bldgwatch.maintenance.stock import StockDesk
from bldgwatch.maintenance.stocksuggest import StageTally, suggestions
from tests.console.seed import add, work_order
from tests.maintenance.conftest import T0, demo_site

pytestmark = pytest.mark.services


@pytest.fixture
def sessions(sqlite_db: Engine) -> sessionmaker[Session]:
    """The demo site with its pump two months old (early life by its age band) and the
    elevator eight years old (mid life), a bearing fitting pumps and a door roller fitting
    elevators, and store 1 keeping two bearings and two rollers by hand."""
    made = session_factory(sqlite_db)
    with made() as s:
        import_site(s, demo_site(pump_installed=date(2026, 1, 1)), at=T0)
        save_part(s, part_no="6205", name="bearing", unit="pc", unit_cost=45.5, actor="sup",
                  at=T0, fits=[("pump", "")])  # fmt: skip
        save_part(s, part_no="EL-1", name="door roller", unit="pc", unit_cost=9, actor="sup",
                  at=T0, fits=[("elevator", "")])  # fmt: skip
        s.commit()
    stock = StockDesk(made)
    store = stock.add_store("demo", "main", "Main store").id
    assert store == 1
    stock.set_levels(store, "6205", minimum=1, reorder_level=2, at=T0)
    stock.set_levels(store, "EL-1", minimum=1, reorder_level=2, at=T0)
    return made


def _used(
    engine: Engine,
    *,
    part_no: str,
    quantities: list[float],
    at: datetime,
    kind: str = "preventive",
    equipment: str = "P-01",
    status: str = "closed",
) -> None:
    """An order of `kind` on `equipment` at `at` with bookings of `part_no` (negative: a
    return reversing one)."""
    order = work_order(0, kind=kind, equipment=equipment, status=status, created_at=at)
    with Session(engine) as session, session.begin():
        session.add(order)
        session.flush()
        for q in quantities:
            session.add(
                WorkOrderPartRow(
                    work_order_id=order.id,
                    part_no=part_no,
                    quantity=q,
                    unit_cost=1.0,
                    at=at,
                    actor="li",
                )
            )


def _suggested(
    sessions: sessionmaker[Session], tally: StageTally | None = None, as_of: datetime = T0
) -> list[tuple[str, float, float]]:
    with sessions() as s:
        found = suggestions(
            s, 1, as_of=as_of, stage=StageConfig(), settings=StockSettings(), tally=tally
        )
    return [(x.part_no, x.current, x.suggested) for x in found]


def test_parts_a_pm_replaced_count_though_nothing_failed(
    sessions: sessionmaker[Session], sqlite_db: Engine
) -> None:
    """No reactive order at all: the PM orders' bearings alone rise from 1 to 4 (ignored
    before: only reactive orders were counted, and never their parts)."""
    _used(sqlite_db, part_no="6205", quantities=[1], at=T0 - timedelta(days=250))
    _used(sqlite_db, part_no="6205", quantities=[2, 2], at=T0 - timedelta(days=20))
    assert _suggested(sessions) == [("6205", 2.0, 8.0)]  # four times the use: 2 → 8
    with sessions() as s:
        (found,) = suggestions(s, 1, as_of=T0, stage=StageConfig(), settings=StockSettings())
    assert "used 4 of 6205" in found.reason.render("en")
    assert "各类工单共用 6205 4" in found.reason.render("zh-CN")


def test_returns_are_deducted_and_cancelled_orders_do_not_count(
    sessions: sessionmaker[Session], sqlite_db: Engine
) -> None:
    _used(sqlite_db, part_no="6205", quantities=[2], at=T0 - timedelta(days=250))
    # two issued and one returned on a repair: one used, fewer than before
    _used(
        sqlite_db, part_no="6205", quantities=[2, -1], at=T0 - timedelta(days=10), kind="reactive"
    )
    _used(sqlite_db, part_no="6205", quantities=[5], at=T0 - timedelta(days=9), status="cancelled")
    assert _suggested(sessions) == []
    _used(sqlite_db, part_no="6205", quantities=[2], at=T0 - timedelta(days=5), kind="request")
    assert _suggested(sessions) == [("6205", 2.0, 3.0)]  # 3 against 2: at least one more


def test_a_part_used_only_by_mid_life_units_is_not_suggested(
    sessions: sessionmaker[Session], sqlite_db: Engine
) -> None:
    _used(sqlite_db, part_no="EL-1", quantities=[6], at=T0 - timedelta(days=3), equipment="E-01")
    assert _suggested(sessions) == []  # the elevator is in mid life: no suggestion
    _used(sqlite_db, part_no="EL-1", quantities=[6], at=T0 - timedelta(days=3))
    assert _suggested(sessions) == []  # the pump is early but the roller does not fit pumps


def test_the_stages_are_kept_until_what_they_come_from_changes(
    sessions: sessionmaker[Session], sqlite_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored: list[str] = []
    real = stocksuggest.assess_stage

    def counting(*args: object, **kwargs: object) -> object:
        scored.append(str(kwargs["equipment"]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stocksuggest, "assess_stage", counting)
    _used(sqlite_db, part_no="6205", quantities=[3], at=T0 - timedelta(days=20))
    tally = StageTally()
    assert _suggested(sessions, tally) == [("6205", 2.0, 6.0)]
    assert sorted(scored) == ["E-01", "P-01", "SP-01", "TS-01"]  # every unit, once
    assert _suggested(sessions, tally, T0 + timedelta(hours=1)) == [("6205", 2.0, 6.0)]
    assert len(scored) == 4 and tally.scored == 1  # kept: nothing changed
    add(sqlite_db, work_order(0, created_at=T0 - timedelta(days=1)))  # a failure of P-01
    _suggested(sessions, tally, T0 + timedelta(hours=2))
    assert len(scored) == 8 and tally.scored == 2  # scored again: the failures changed
    _suggested(sessions, tally, T0 + timedelta(hours=2 + 24))
    assert len(scored) == 12 and tally.scored == 3  # refit_hours (24) later: aged
    with sessions() as s:
        tally.classes(s, "demo", as_of=T0 + timedelta(hours=26), stage=StageConfig(model="mle"))
    assert tally.scored == 4  # other stage settings
    with sessions() as s:
        import_site(s, demo_site(pump_installed=date(2025, 12, 1)), at=T0)
        s.commit()
    with sessions() as s:
        tally.classes(s, "demo", as_of=T0 + timedelta(hours=26), stage=StageConfig(model="mle"))
    assert tally.scored == 5  # the register changed: the pump's install date
