"""Inspection rounds: due points in the site's zone, late and missed, entries from a phone
(idempotent on the client's id, presence by the QR code, a batch's bad entry alone refused), a
fault that opens one order and joins it after, live values, and a preventive order's checklist."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.checklists import (
    ChecklistItem,
    TemplateIn,
    judge,
    order_checklist,
    save_template,
    tick,
)
from bldgwatch.maintenance.config import CalendarPlan, PlanSettings, SlaPolicy, StageConfig
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import kpis_for
from bldgwatch.maintenance.models import SiteRow, WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.pm import PlanRunner
from bldgwatch.maintenance.publicrequests import NewPoint, add_point
from bldgwatch.maintenance.roundentries import (
    EntryIn,
    EntryRefused,
    RoundPolicy,
    record,
)
from bldgwatch.maintenance.roundmodels import RoundEntryRow, RoundScanRow
from bldgwatch.maintenance.rounds import (
    NoRoundDue,
    RoundIn,
    Stop,
    counts,
    history,
    save_round,
    start_run,
)
from bldgwatch.maintenance.texts import order_title
from tests.maintenance.conftest import demo_site

AT = datetime(2026, 3, 2, 0, 10, tzinfo=UTC)  # 08:10 in Shanghai
POLICY = RoundPolicy(sla=SlaPolicy(), stage=StageConfig())
ITEMS = [
    {"key": "door", "kind": "check", "label": "Door locked"},
    {
        "key": "l1",
        "kind": "reading",
        "label": "L1 current",
        "unit": "A",
        "low": 0,
        "high": 80,
        "point": "current_l1_a",
        "tolerance": 5,
    },
    {
        "key": "smell",
        "kind": "choice",
        "label": "Smell",
        "options": ["none", "burnt"],
        "bad_options": ["burnt"],
    },
]


@pytest.fixture
def sessions(db: Engine) -> Iterator[Any]:
    """The demo site on the Shanghai clock (SQLite and PostgreSQL); SP-01 carries a QR label."""
    factory = session_factory(db)
    with factory() as s:
        import_site(s, demo_site())
        site = s.get(SiteRow, "demo")
        assert site is not None
        site.timezone = "Asia/Shanghai"
        add_point(
            s,
            NewPoint(site="demo", kind="equipment", label="SP-01", equipment="SP-01"),
            at=AT,
            actor="t",
        )
        s.commit()
    yield factory


def _code(s: Session) -> str:
    from bldgwatch.maintenance.rounds import equipment_code

    code = equipment_code(s, "demo", "SP-01")
    assert code is not None
    return code


def _round(s: Session, **changes: Any) -> Any:
    template = save_template(
        s,
        "demo",
        TemplateIn(name="Shaft panel", equipment_type="shaft_panel", items=ITEMS),  # type: ignore[arg-type]
        template_id=None,
        at=AT,
        actor="sup",
    )
    body = RoundIn(
        name="Shaft rounds",
        times=["08:00", "20:00"],
        stops=[Stop(equipment="SP-01", template_id=template.id)],
        **changes,
    )
    row = save_round(s, "demo", body, round_id=None, at=AT, actor="sup")
    s.commit()
    return row


def _entry(code: str, item: str, value: Any, at: datetime = AT, **kw: Any) -> EntryIn:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "stop": 0,
        "item": item,
        "value": value,
        "code": code,
        "recorded_at": at,
        **kw,
    }
    return EntryIn(**fields)


def test_due_points_are_the_site_local_times_and_late_and_missed_are_counted(sessions: Any) -> None:
    with sessions() as s:
        rnd = _round(s, late_after_min=30, missed_after_min=120)
        run = start_run(s, rnd, at=AT, actor="tech")
        assert run.due_at == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 Asia/Shanghai
        assert start_run(s, rnd, at=AT + timedelta(minutes=5), actor="tech2").id == run.id
        code = _code(s)
        for item, value in (("door", True), ("l1", 40.0), ("smell", "none")):
            record(
                s,
                run,
                _entry(code, item, value, AT + timedelta(minutes=40)),
                policy=POLICY,
                at=AT + timedelta(minutes=41),
                actor="tech",
            )
        s.commit()
        assert run.done_at == AT + timedelta(minutes=40)  # 08:50: 50 min after due, late
        now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)  # 20:00 on the 3rd, local
        points = history(s, rnd, datetime(2026, 3, 1, 16, tzinfo=UTC), now, now)
        assert [p.state for p in points] == ["late", "missed", "missed", "open"]
        assert counts(points) == {"on_time": 0, "late": 1, "missed": 2, "open": 1, "upcoming": 0}
        with pytest.raises(NoRoundDue):
            start_run(s, rnd, at=datetime(2026, 3, 2, 6, 0, tzinfo=UTC), actor="tech")  # 14:00


def test_a_failed_item_opens_one_order_and_the_next_fault_joins_it(sessions: Any) -> None:
    with sessions() as s:
        rnd = _round(s)
        run = start_run(s, rnd, at=AT, actor="tech")
        code = _code(s)
        door = _entry(code, "door", False)
        row, seen = record(s, run, door, policy=POLICY, at=AT, actor="tech")
        s.commit()
        assert (row.ok, seen) == (False, False)
        again, seen = record(s, run, door, policy=POLICY, at=AT, actor="tech")
        assert (again.id, again.work_order_id, seen) == (row.id, row.work_order_id, True)
        hot, _ = record(s, run, _entry(code, "l1", 95.5), policy=POLICY, at=AT, actor="tech")
        s.commit()
        assert hot.ok is False
        assert hot.work_order_id == row.work_order_id
        orders = s.scalars(select(WorkOrderRow).where(WorkOrderRow.equipment == "SP-01")).all()
        assert [(o.kind, o.incident_key) for o in orders] == [("reactive", "demo/SP-01/round")]
        notes = s.scalar(
            select(func.count()).where(
                WorkOrderEventRow.work_order_id == orders[0].id, WorkOrderEventRow.kind == "round"
            )
        )
        assert notes == 2
        assert s.scalar(select(func.count()).select_from(RoundEntryRow)) == 2
        # Its title is read in the reader's language (review 19r M11).
        assert orders[0].title_key == "maintenance.title.round_fault"
        assert order_title(orders[0], "zh-CN") != order_title(orders[0], "en")
        # Resolved, the repair is done: the next fault is a new repair (review 19r H4).
        orders[0].status = "resolved"
        evening = start_run(s, rnd, at=AT + timedelta(hours=12), actor="tech")
        later = _entry(code, "door", False, AT + timedelta(hours=12))
        fresh, _ = record(s, evening, later, policy=POLICY, at=later.recorded_at, actor="tech")
        s.commit()
        assert fresh.work_order_id not in (None, row.work_order_id)
        keys = dict(s.execute(select(WorkOrderRow.id, WorkOrderRow.incident_key)).all())
        assert keys == {row.work_order_id: None, fresh.work_order_id: "demo/SP-01/round"}


def test_an_entry_without_the_stops_code_is_refused_and_a_taken_item_too(sessions: Any) -> None:
    with sessions() as s:
        rnd = _round(s)
        run = start_run(s, rnd, at=AT, actor="tech")
        with pytest.raises(EntryRefused) as refused:
            record(s, run, _entry("not-the-code", "door", True), policy=POLICY, at=AT, actor="t")
        assert refused.value.reason == "not_scanned"
        assert s.scalar(select(func.count()).select_from(RoundScanRow)) == 0
        record(s, run, _entry(_code(s), "door", True), policy=POLICY, at=AT, actor="t")
        with pytest.raises(EntryRefused) as twice:
            record(s, run, _entry(_code(s), "door", False), policy=POLICY, at=AT, actor="t")
        assert twice.value.reason == "answered"
        with pytest.raises(InvalidRecord):
            record(s, run, _entry(_code(s), "l1", "hot"), policy=POLICY, at=AT, actor="t")
        with pytest.raises(InvalidRecord):
            late = AT + timedelta(hours=1)
            record(s, run, _entry(_code(s), "l1", 3.0, late), policy=POLICY, at=AT, actor="t")
        assert s.scalar(select(func.count()).select_from(RoundScanRow)) == 1


def test_the_live_value_is_kept_and_a_disagreement_flagged(sessions: Any) -> None:
    with sessions() as s:
        rnd = _round(s)
        run = start_run(s, rnd, at=AT, actor="tech")
        live = {("shaft_panel", "SP-01"): {"current_l1_a": 42.0}}
        row, _ = record(
            s,
            run,
            _entry(_code(s), "l1", 30.0),
            policy=POLICY,
            at=AT,
            actor="t",
            live=lambda kind, eq, points: live[(kind, eq)],
        )
        assert (row.live_value, row.disagrees, row.ok) == (42.0, True, True)


@pytest.mark.parametrize(
    ("item", "value", "ok"),
    [
        ({"kind": "check"}, True, True),
        ({"kind": "check"}, False, False),
        ({"kind": "reading", "low": 1, "high": 2}, 2.0, True),
        ({"kind": "reading", "low": 1, "high": 2}, 0.5, False),
        ({"kind": "choice", "options": ["a", "b"], "bad_options": ["b"]}, "b", False),
        ({"kind": "note"}, "all fine", True),
    ],
)
def test_judging_an_answer(item: dict[str, Any], value: Any, ok: bool) -> None:
    assert judge(ChecklistItem.model_validate({"key": "k", "label": "K", **item}), value) is ok


def test_items_that_do_not_fit_their_kind_are_refused() -> None:
    for bad in (
        {"kind": "check", "unit": "A"},
        {"kind": "reading", "low": 3, "high": 2},
        {"kind": "reading", "point": "x"},
        {"kind": "choice", "options": ["a"]},
        {"kind": "choice", "options": ["a", "b"], "bad_options": ["c"]},
    ):
        with pytest.raises(ValidationError):
            ChecklistItem.model_validate({"key": "k", "label": "K", **bad})


def test_a_preventive_order_carries_its_plans_tasks_as_a_checklist(sessions: Any) -> None:
    plan = CalendarPlan(
        id="lift-half-monthly",
        equipment_type="elevator",
        every_days=15,
        title="Half-monthly",
        tasks=["Machine room clean", "Brake checked"],
    )
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    runner = PlanRunner(sessions, PlanSettings(calendar=[plan]), clock=clock)
    runner.run_all()
    clock.advance(timedelta(days=19))
    [order_id] = runner.run_all()
    with sessions() as s:
        assert [c.text for c in order_checklist(s, order_id)] == plan.tasks
        assert [c.done_at for c in order_checklist(s, order_id)] == [None, None]
        tick(s, order_id, 1, done=True, at=clock.now(), actor="tech")
        s.commit()
        assert [c.done_by for c in order_checklist(s, order_id)] == [None, "tech"]
        month = Period(2026, 1)
        figures = kpis_for(s, "demo", month, as_of=datetime(2026, 2, 1, tzinfo=UTC))
    # The order is not closed: the orders' compliance is 0, its items' is 1 of 2.
    assert (figures.pm_compliance, figures.pm_item_compliance) == (0.0, 0.5)
    assert (figures.pm_items_done, figures.pm_items_due) == (1, 2)
