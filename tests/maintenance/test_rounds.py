"""Inspection rounds: due points in the site's zone, late and missed, entries from a phone
(idempotent on the client's id, presence by the QR code, a batch's bad entry alone refused), a
fault that opens one order and joins it after, live values, and a preventive order's checklist."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.checklists import (
    ChangedMeanwhile,
    ChecklistItem,
    TemplateIn,
    TemplateMisfit,
    judge,
    open_items,
    order_checklist,
    save_template,
    tick,
)
from bldgwatch.maintenance.config import CalendarPlan, PlanSettings, SlaPolicy, StageConfig
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.i18n import render
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import kpis_for
from bldgwatch.maintenance.models import EquipmentRow, SiteRow, WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.pm import PlanRunner
from bldgwatch.maintenance.publicrequests import NewPoint, add_point
from bldgwatch.maintenance.roundbatch import record_batch
from bldgwatch.maintenance.roundentries import (
    LIVE_MAX_AGE,
    EntryIn,
    EntryRefused,
    RoundPolicy,
    record,
)
from bldgwatch.maintenance.roundmodels import (
    ChecklistTemplateRow,
    InspectionRoundRow,
    RoundEntryRow,
    RoundRunRow,
    RoundScanRow,
)
from bldgwatch.maintenance.rounds import (
    NoRoundDue,
    RoundIn,
    Stop,
    counts,
    history,
    outcome,
    run_route,
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
        times=changes.pop("times", ["08:00", "20:00"]),
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
                at=AT + timedelta(minutes=40),  # done: the phone's time of the last entry
                actor="tech",
            )
        s.commit()
        assert run.done_at == AT + timedelta(minutes=40)  # 08:50: 50 min after due, late
        now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)  # 20:00 on the 3rd, local
        points = history(s, rnd, datetime(2026, 3, 1, 16, tzinfo=UTC), now, now)
        assert [p.state for p in points] == ["late", "missed", "missed", "open"]
        assert counts(points) == {"on_time": 0, "late": 1, "missed": 2, "open": 1, "upcoming": 0}
        with pytest.raises(NoRoundDue) as none:
            start_run(s, rnd, at=datetime(2026, 3, 2, 6, 0, tzinfo=UTC), actor="tech")  # 14:00
        assert none.value.message is not None  # named, with when it opens (19c-r L6)
        said = none.value.message.render("zh-CN")
        assert "Shaft rounds" in said and "2026-03-02 19:00 (Asia/Shanghai)" in said


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
        # the fault that joined is an open item the resolution must answer (review 19c-r L7)
        items = [(c.text, c.done_at) for c in order_checklist(s, orders[0].id)]
        assert items == [(f"L1 current = 95.5 A (#{run.id})", None)]
        assert open_items(s, orders[0].id) == [1]
        first = s.scalars(
            select(WorkOrderEventRow).where(WorkOrderEventRow.kind == "round")
        ).first()
        assert first is not None and first.message is not None
        assert "不合格" in render(first.message, "zh-CN")  # not "False" (review 19r L4)
        assert "failed" in render(first.message, "en")
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
        # Any label of the equipment in use proves presence (review 19r M8).
        second = NewPoint(site="demo", kind="equipment", label="SP-01 b", equipment="SP-01")
        code = add_point(s, second, at=AT, actor="t").code
        row, _ = record(s, run, _entry(code, "smell", "none"), policy=POLICY, at=AT, actor="t")
        assert row.ok is True


def test_the_live_value_is_kept_and_a_disagreement_flagged(sessions: Any) -> None:
    with sessions() as s:
        rnd = _round(s)
        run = start_run(s, rnd, at=AT, actor="tech")
        live = {("shaft_panel", "SP-01"): {"current_l1_a": (42.0, AT - timedelta(minutes=1))}}
        row, _ = record(
            s,
            run,
            _entry(_code(s), "l1", 30.0),
            policy=POLICY,
            at=AT,
            actor="t",
            live=lambda kind, eq, points, at: live[(kind, eq)],
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
        {"kind": "choice", "options": ["正常, 无异响", "异响"]},  # 19b-r L7: the page splits it
        {"kind": "choice", "options": ["正常，无异响", "异响"]},
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


def test_the_same_batch_sent_twice_at_once_is_stored_once_and_both_are_answered(
    db: Engine, sessions: Any
) -> None:
    """A phone's retry while its first request still runs (review 19r M1): the second batch
    waits for the first to commit and finds its entries, on SQLite and PostgreSQL."""
    with sessions() as s:
        rnd = _round(s)
        run_id, code = start_run(s, rnd, at=AT, actor="tech").id, _code(s)
    batch = [_entry(code, "door", False), _entry(code, "l1", 40.0), _entry(code, "smell", "none")]
    answers: dict[str, list[str]] = {}
    waiting = threading.Event()

    def spy(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "retry" and statement.startswith("UPDATE round_runs"):
            waiting.set()  # the retry takes the run while the first request holds it

    def send(name: str, *, commit: bool) -> Session:
        s = sessions()
        run = s.get(RoundRunRow, run_id)
        got = record_batch(s, run, batch, policy=POLICY, at=AT, actor="tech")
        answers[name] = [a.status for a in got]
        if commit:
            s.commit()
            s.close()
        return s

    event.listen(db, "before_cursor_execute", spy)
    first = send("first", commit=False)
    retry = threading.Thread(target=send, args=("retry",), kwargs={"commit": True}, name="retry")
    retry.start()
    assert waiting.wait(20)
    first.commit()
    first.close()
    retry.join(30)
    assert answers == {"first": ["stored"] * 3, "retry": ["duplicate"] * 3}
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RoundEntryRow)) == 3
        assert s.scalar(select(func.count()).select_from(WorkOrderRow)) == 1
        run = s.get(RoundRunRow, run_id)
        assert run is not None and run.done_at == AT


def test_done_at_the_phones_time_within_the_run_so_offline_on_time_counts_and_back_dating_not(
    sessions: Any,
) -> None:
    """Review 19r M2, 19b-r M1: the phone's time is kept only between the run's start and the
    server's receipt (each with CLOCK_SKEW); the run is done at the phone's time of its last
    entry (a round done offline on time counts on time) and keeps when it was synced."""
    with sessions() as s:
        rnd = _round(s)  # late after 60 min, missed after 240
        run = start_run(s, rnd, at=AT, actor="tech")
        code = _code(s)
        for when in (AT - timedelta(minutes=10), AT + timedelta(minutes=10)):
            with pytest.raises(InvalidRecord):
                record(s, run, _entry(code, "door", True, when), policy=POLICY, at=AT, actor="t")
        days_later = AT + timedelta(days=3)
        for n, (item, value) in enumerate((("door", True), ("l1", 40.0), ("smell", "none"))):
            entry = _entry(code, item, value, AT + timedelta(minutes=1 + n))
            record(s, run, entry, policy=POLICY, at=days_later, actor="tech")
        s.commit()
        assert (run.done_at, run.synced_at) == (AT + timedelta(minutes=3), days_later)
        assert outcome(rnd, run.due_at, run, days_later) == "on_time"
        point = history(s, rnd, AT - timedelta(hours=1), AT, days_later)[-1]
        assert (point.state, point.done_at, point.synced_at) == ("on_time", run.done_at, days_later)
        evening = start_run(s, rnd, at=AT + timedelta(hours=12), actor="tech")  # 20:10
        sent = AT + timedelta(hours=13, minutes=20)  # 21:30: 90 minutes after due
        for item, value in (("door", True), ("l1", 40.0), ("smell", "none")):
            entry = _entry(code, item, value, AT + timedelta(hours=13, minutes=15))
            record(s, evening, entry, policy=POLICY, at=sent, actor="tech")
        assert outcome(rnd, evening.due_at, evening, sent) == "late"
        with pytest.raises(InvalidRecord):  # a phone time after the receipt + CLOCK_SKEW
            late = _entry(code, "door", True, sent + timedelta(minutes=6))
            record(s, evening, late, policy=POLICY, at=sent, actor="tech")


def test_a_batchs_live_values_are_read_before_the_run_is_held(db: Engine, sessions: Any) -> None:
    """Review 19b-r M2: a slow time series must not hold the run (SQLite's write lock)."""
    with sessions() as s:
        rnd = _round(s)
        run, code = start_run(s, rnd, at=AT, actor="tech"), _code(s)
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        asked: list[int] = []

        def live(kind: str, eq: str, points: list[str], at: datetime) -> dict[str, Any]:
            asked.append(sum(st.startswith("UPDATE round_runs") for st in statements))
            return {"current_l1_a": (42.0, at)}

        event.listen(db, "before_cursor_execute", listener)
        try:
            batch = [_entry(code, "l1", 30.0), _entry(code, "door", True)]
            got = record_batch(s, run, batch, policy=POLICY, at=AT, actor="tech", live=live)
        finally:
            event.remove(db, "before_cursor_execute", listener)
        assert asked == [0]  # once, for the one monitored reading, before the run was held
        assert got[0].row is not None and (got[0].row.live_value, got[0].row.disagrees) == (
            42.0,
            True,
        )


def test_a_started_run_stays_the_technicians_when_the_next_point_opens(sessions: Any) -> None:
    """Review 19b-r M7: opened again an hour before the next point, the page gets the run the
    technician started and has not finished, while it is not missed yet."""
    with sessions() as s:
        rnd = _round(s, missed_after_min=240)
        rnd.times = ["08:00", "10:00"]
        rnd.schedule = None
        s.commit()
        first = start_run(s, rnd, at=AT, actor="tech")  # 08:10, due 08:00
        nine = AT + timedelta(hours=1)  # 09:10: 10:00 has opened
        assert start_run(s, rnd, at=nine, actor="tech").id == first.id
        other = start_run(s, rnd, at=nine, actor="tech2")
        assert other.id != first.id and other.due_at == AT + timedelta(minutes=110)
        first.done_at = nine
        s.commit()
        assert start_run(s, rnd, at=nine, actor="tech").id == other.id


def test_a_run_keeps_its_route_when_the_template_or_the_round_changes(sessions: Any) -> None:
    """Review 19r M3: a run answers the items it started with."""
    with sessions() as s:
        rnd = _round(s)
        run = start_run(s, rnd, at=AT, actor="tech")
        code = _code(s)
        record(s, run, _entry(code, "door", True), policy=POLICY, at=AT, actor="t")
        template = s.get(ChecklistTemplateRow, rnd.stops[0]["template_id"])
        assert template is not None
        new_items = [{"key": f"a{n}", "kind": "check", "label": f"A{n}"} for n in (1, 2, 3)]
        body = TemplateIn(name="New", equipment_type="shaft_panel", items=new_items)  # type: ignore[arg-type]
        save_template(s, "demo", body, template_id=template.id, at=AT, actor="sup")
        rnd.stops = []  # even a route emptied under it
        s.commit()
        with pytest.raises(InvalidRecord):
            record(s, run, _entry(code, "a1", True), policy=POLICY, at=AT, actor="t")
        record(s, run, _entry(code, "l1", 40.0), policy=POLICY, at=AT, actor="t")
        assert run.done_at is None  # two of its three items answered
        record(s, run, _entry(code, "smell", "none"), policy=POLICY, at=AT, actor="t")
        assert run.done_at == AT
        assert [[i.key for i in items] for _, items in run_route(s, run)] == [
            ["door", "l1", "smell"]
        ]


def test_due_points_follow_the_times_and_activity_in_force_when_they_fell_due(
    sessions: Any,
) -> None:
    """Review 19r M3 (times changed), M4 (inactive), L3 (made late in a due point's window)."""
    with sessions() as s:
        rnd = _round(s, missed_after_min=120)  # 08:00 and 20:00, made 03-02 08:10 local

        def change(at: datetime, times: list[str], active: bool) -> None:
            stops = [Stop.model_validate(stop) for stop in rnd.stops]
            body = RoundIn(
                name=rnd.name, times=times, stops=stops, active=active, missed_after_min=120
            )
            save_round(s, "demo", body, round_id=rnd.id, at=at, actor="sup")

        change(datetime(2026, 3, 3, 4, tzinfo=UTC), ["08:00", "20:00"], False)  # 03-03 12:00
        change(datetime(2026, 3, 5, 4, tzinfo=UTC), ["08:00", "14:00", "20:00"], True)
        s.commit()
        now = datetime(2026, 3, 5, 16, tzinfo=UTC)  # 03-06 00:00 local
        points = history(s, rnd, datetime(2026, 3, 1, 16, tzinfo=UTC), now, now)
        local = [(p.due_at + timedelta(hours=8)).strftime("%d %H:%M") for p in points]
        # 02 08:00 was due before the round was made: not missed; 03 20:00 to 05 08:00 the
        # round was inactive; 05 14:00 is the new time, from its change on.
        assert local == ["02 20:00", "03 08:00", "05 14:00", "05 20:00"]
        assert {p.state for p in points} == {"missed"}
        row = s.get(InspectionRoundRow, rnd.id)
        assert row is not None and len(row.schedule or []) == 3
        figures = kpis_for(s, "demo", Period(2026, 3), as_of=now)  # the month's KPIs too
        assert (figures.rounds_missed, figures.rounds_late) == (4, 0)


def test_a_stale_live_value_is_not_shown_nor_compared(sessions: Any) -> None:
    """Review 19r M5: a live value older than LIVE_MAX_AGE before the reading is no live
    value; one within it is kept with its time."""
    with sessions() as s:
        rnd = _round(s)
        code = _code(s)
        measured = {"current_l1_a": (80.0, AT - LIVE_MAX_AGE - timedelta(minutes=1))}
        run = start_run(s, rnd, at=AT, actor="tech")
        row, _ = record(
            s,
            run,
            _entry(code, "l1", 30.0),
            policy=POLICY,
            at=AT,
            actor="t",
            live=lambda kind, eq, points, at: measured,
        )
        assert (row.live_value, row.live_at, row.disagrees) == (None, None, None)
        measured["current_l1_a"] = (31.0, AT - timedelta(minutes=14))
        evening = start_run(s, rnd, at=AT + timedelta(hours=12), actor="tech")
        measured["current_l1_a"] = (31.0, AT + timedelta(hours=12) - timedelta(minutes=14))
        later = _entry(code, "l1", 30.0, AT + timedelta(hours=12))
        row, _ = record(
            s,
            evening,
            later,
            policy=POLICY,
            at=later.recorded_at,
            actor="t",
            live=lambda kind, eq, points, at: measured,
        )
        assert (row.live_value, row.disagrees) == (31.0, False)
        assert row.live_at == AT + timedelta(hours=12) - timedelta(minutes=14)


def test_two_rounds_faults_on_one_equipment_at_once_open_one_order(
    db: Engine, sessions: Any
) -> None:
    """Two rounds find a fault on SP-01 at the same moment: the second joins the order the
    first opened (on PostgreSQL it meets the order's unique incident key and tries again)."""
    with sessions() as s:
        runs = [start_run(s, _round(s), at=AT, actor="tech").id for _ in range(2)]
        code = _code(s)
    first_insert = "INSERT INTO work_orders" if db.dialect.name == "postgresql" else "UPDATE"
    waiting = threading.Event()

    def spy(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "second" and statement.startswith(first_insert):
            waiting.set()

    answers: list[list[Any]] = []

    def send(run_id: int, *, commit: bool) -> Session:
        s = sessions()
        run = s.get(RoundRunRow, run_id)
        got = record_batch(s, run, [_entry(code, "door", False)], policy=POLICY, at=AT, actor="t")
        answers.append([(a.status, a.row.work_order_id if a.row else None) for a in got])
        if commit:
            s.commit()
            s.close()
        return s

    event.listen(db, "before_cursor_execute", spy)
    first = send(runs[0], commit=False)
    second = threading.Thread(target=send, args=(runs[1],), kwargs={"commit": True}, name="second")
    second.start()
    assert waiting.wait(20)
    first.commit()
    first.close()
    second.join(30)
    assert [a[0][0] for a in answers] == ["stored", "stored"]
    assert answers[0][0][1] == answers[1][0][1] is not None
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrderRow)) == 1


def test_a_template_is_for_a_class_and_place_the_site_has(sessions: Any) -> None:
    """Review 19c-r L1: a template for a class the site has no equipment of ("toaster", or a
    64-character class no equipment can have) or a location none of the class is at would make
    every stop using it refused: refused when saved, naming what the site has. Review 19b-r
    H2's 64 characters are refused cleanly, never a database error."""
    items = [{k: v for k, v in i.items() if k not in ("point", "tolerance")} for i in ITEMS]
    with sessions() as s:
        for kind in ("toaster", "c" * 64):
            body = TemplateIn(name="x", equipment_type=kind, items=items)  # type: ignore[arg-type]
            with pytest.raises(TemplateMisfit) as err:
                save_template(s, "demo", body, template_id=None, at=AT, actor="sup")
            assert "toaster" not in kind or "没有“toaster”类设备" in render_core(err.value, "zh-CN")
        nowhere = TemplateIn(
            name="x",
            equipment_type="shaft_panel",
            location="NOWHERE",
            items=items,  # type: ignore[arg-type]
        )
        with pytest.raises(TemplateMisfit) as err:
            save_template(s, "demo", nowhere, template_id=None, at=AT, actor="sup")
        assert "NOWHERE" in render_core(err.value, "en")
        panel = s.get(EquipmentRow, ("demo", "SP-01"))
        assert panel is not None
        here = TemplateIn(
            name="x",
            equipment_type="shaft_panel",
            location=panel.building,
            items=items,  # type: ignore[arg-type]
        )
        assert save_template(s, "demo", here, template_id=None, at=AT, actor="sup").id
    with pytest.raises(ValidationError):
        TemplateIn(name="Long", equipment_type="c" * 65, items=items)  # type: ignore[arg-type]


def render_core(err: TemplateMisfit, lang: str) -> str:
    assert err.message is not None
    return str(err.message.render(lang))


def test_a_change_of_times_or_activity_does_not_take_back_a_point_already_due(
    sessions: Any,
) -> None:
    """Review 19b-r M6: deactivated and activated again (or given a new time) at 11:00, the
    08:00 point nobody did is still missed."""
    with sessions() as s:
        rnd = _round(s)  # 08:00 and 20:00, missed after 240, made 03-02 08:10 local
        stops = [Stop.model_validate(stop) for stop in rnd.stops]
        eleven = datetime(2026, 3, 3, 3, tzinfo=UTC)  # 03-03 11:00 local
        for active in (False, True):
            body = RoundIn(name=rnd.name, times=["08:00", "20:00"], stops=stops, active=active)
            save_round(s, "demo", body, round_id=rnd.id, at=eleven, actor="sup")
        body = RoundIn(name=rnd.name, times=["08:00", "14:00", "20:00"], stops=stops)
        save_round(s, "demo", body, round_id=rnd.id, at=eleven, actor="sup")
        s.commit()
        now = datetime(2026, 3, 3, 13, tzinfo=UTC)  # 03-03 21:00 local
        points = history(s, rnd, datetime(2026, 3, 2, 16, tzinfo=UTC), now, now)
        local = [((p.due_at + timedelta(hours=8)).strftime("%d %H:%M"), p.state) for p in points]
        assert local == [("03 08:00", "missed"), ("03 14:00", "missed"), ("03 20:00", "open")]


def test_an_edit_from_a_version_saved_over_since_is_refused_naming_who_saved_it(
    sessions: Any,
) -> None:
    """Review 19b-r M4: two supervisors edit one round (and its template) from the same page
    load; the later save was silently undoing the earlier one's new 14:00 time."""
    with sessions() as s:
        rnd = _round(s)
        round_id, seen_round, stops = rnd.id, rnd.updated_at, list(rnd.stops)
        template_id = stops[0]["template_id"]
        template = s.get(ChecklistTemplateRow, template_id)
        assert template is not None
        seen_items = template.updated_at
    later = AT + timedelta(minutes=5)
    body = RoundIn(name="Shaft rounds", times=["08:00", "14:00", "20:00"], stops=stops)
    with sessions() as first:  # the first supervisor adds 14:00
        save_round(first, "demo", body, round_id=round_id, at=later, actor="wang", seen=seen_round)
        first.commit()
    stale = RoundIn(name="Shaft rounds (B)", times=["08:00", "20:00"], stops=stops)
    with sessions() as second, pytest.raises(ChangedMeanwhile) as refused:
        save_round(second, "demo", stale, round_id=round_id, at=later, actor="li", seen=seen_round)
    assert refused.value.message is not None
    assert refused.value.message.render("zh-CN") == (
        "在您编辑期间，wang 已保存了这条巡检路线：请刷新后重新修改。"
    )
    with sessions() as s:
        kept = s.get(InspectionRoundRow, round_id)
        assert kept is not None
        assert (kept.times, kept.name, kept.updated_by) == (body.times, "Shaft rounds", "wang")
        renamed = RoundIn(name="Shaft rounds (B)", times=kept.times, stops=stops)
        save_round(
            s, "demo", renamed, round_id=round_id, at=later, actor="li", seen=kept.updated_at
        )
        s.commit()  # from the version now saved, the second supervisor's change goes through
        items = TemplateIn(name="Panel", equipment_type="shaft_panel", items=ITEMS)  # type: ignore[arg-type]
        save_template(
            s, "demo", items, template_id=template_id, at=later, actor="wang", seen=seen_items
        )
        s.commit()
        with pytest.raises(ChangedMeanwhile) as again:
            save_template(
                s, "demo", items, template_id=template_id, at=later, actor="li", seen=seen_items
            )
        assert again.value.message is not None
        assert "wang saved this checklist template" in again.value.message.render("en")


def test_a_missed_point_is_told_to_the_sites_supervisors_once_in_its_language(
    sessions: Any,
) -> None:
    """Missed-round alert: a point whose missed time passes without a completed run is told
    to the site's supervisors once (however often the housekeeping looks), in the site's
    language with the due time on its clock."""
    from bldgwatch.maintenance.config import RosterSettings
    from bldgwatch.maintenance.desk import WorkDesk
    from bldgwatch.maintenance.housekeeping import Housekeeper
    from bldgwatch.maintenance.notify import Notifier, NotifySettings, WebhookTarget
    from bldgwatch.maintenance.outbox import OutboxRelay
    from bldgwatch.maintenance.roundmodels import RoundMissedRow
    from tests.maintenance.servers import HttpSink, http_sink

    clock = ManualClock(AT)  # 08:10 on the 2nd, Shanghai (the round is made now)
    with sessions() as s:
        rnd = _round(s, late_after_min=30, missed_after_min=120)
        rnd_id = rnd.id
        site = s.get(SiteRow, "demo")
        site.language = "zh-CN"
        s.commit()
    settings = NotifySettings(site_supervisors={"demo": ["wang@x.org"]}, supervisors=["hq@x.org"])
    keeper = Housekeeper(
        desk=WorkDesk(sessions, roster=RosterSettings()),
        runner=PlanRunner(sessions, PlanSettings(), clock=clock),
        scheduler=None,
        escalation_every=timedelta(minutes=5),
        clock=clock,
        reports=None,
        sessions=sessions,
    )

    def look(hook: HttpSink, relay: OutboxRelay, advance: timedelta) -> list[dict[str, Any]]:
        """The notices sent after the clock moved on and the service looked."""
        before = len(hook.bodies)
        clock.advance(advance)
        keeper.tick(clock.now())
        relay.relay()
        return [orjson.loads(b) for b in hook.bodies[before:]]

    with http_sink() as (hook, url):
        notifier = Notifier(settings.model_copy(update={"webhooks": [WebhookTarget(url=url)]}))
        relay = OutboxRelay(sessions, publish=lambda _t, _p: True, notifier=notifier)
        assert look(hook, relay, timedelta(hours=11, minutes=55)) == []  # 20:05: open
        with sessions() as s:  # started, never finished: missed all the same
            run_id = start_run(s, s.get(InspectionRoundRow, rnd_id), at=clock.now(), actor="t").id
        assert look(hook, relay, timedelta(minutes=110)) == []  # 21:55: not missed until 22:00
        [first] = look(hook, relay, timedelta(minutes=10))  # 22:05: the 20:00 point is missed
        assert look(hook, relay, timedelta(minutes=5)) == []  # looked at again: told once
        notifier.close()
    assert first["kind"] == "round_missed"
    assert (first["round_id"], first["work_order_id"], first["site"]) == (rnd_id, None, "demo")
    assert first["recipients"] == ["wang@x.org", "hq@x.org"]
    assert (first["language"], first["title"]) == ("zh-CN", "Shaft rounds")
    assert "巡检“Shaft rounds”" in first["text"]
    assert "2026-03-02 20:00" in first["text"] and "2026-03-02 22:00" in first["text"]
    assert "GMT+08:00" in first["text"]
    due = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with sessions() as s:
        assert s.get(RoundRunRow, run_id).done_at is None
        claims = s.scalars(select(RoundMissedRow)).all()
        assert [(c.round_id, c.due_at) for c in claims] == [(rnd_id, due)]
        s.get(SiteRow, "demo").language = "en"
        s.commit()
    with http_sink() as (hook, url):  # a restarted service: nothing told again
        notifier = Notifier(settings.model_copy(update={"webhooks": [WebhookTarget(url=url)]}))
        relay = OutboxRelay(sessions, publish=lambda _t, _p: True, notifier=notifier)
        assert look(hook, relay, timedelta(hours=11, minutes=50)) == []  # 09:55 on the 3rd
        [second] = look(hook, relay, timedelta(minutes=10))  # the 08:00 point, in English
        notifier.close()
    assert second["language"] == "en"
    assert 'Round "Shaft rounds"' in second["text"] and "2026-03-03 08:00" in second["text"]


def _complete(s: Session, run: RoundRunRow, when: datetime) -> None:
    code = _code(s)
    for item, value in (("door", True), ("l1", 40.0), ("smell", "none")):
        record(s, run, _entry(code, item, value, when), policy=POLICY, at=when, actor="tech")
    s.commit()


def _save(s: Session, rnd: InspectionRoundRow, at: datetime, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "name": rnd.name,
        "times": rnd.times,
        "stops": [Stop.model_validate(stop) for stop in rnd.stops],
        "active": rnd.active,
        "late_after_min": rnd.late_after_min,
        "missed_after_min": rnd.missed_after_min,
        **changes,
    }
    save_round(s, "demo", RoundIn(**fields), round_id=rnd.id, at=at, actor="sup")
    s.commit()


def test_editing_the_late_and_missed_minutes_does_not_rewrite_past_outcomes(
    sessions: Any,
) -> None:
    """Review 19c-r H1: loosening the clocks for a moment turned a late run on time (and a
    missed point open); tightening them turned past on-time runs late. Each point is judged by
    the minutes in force when it fell due."""
    with sessions() as s:
        rnd = _round(s, late_after_min=0, missed_after_min=30)  # 08:00 and 20:00
        evening = datetime(2026, 3, 2, 12, tzinfo=UTC)  # 20:00 local on the 2nd
        run = start_run(s, rnd, at=evening + timedelta(minutes=1), actor="tech")
        _complete(s, run, evening + timedelta(minutes=2))  # 2 min after due: late
        assert outcome(rnd, run.due_at, run, evening + timedelta(minutes=3)) == "late"
        loose = evening + timedelta(hours=1)
        _save(s, rnd, loose, late_after_min=60, missed_after_min=120)
        assert outcome(rnd, run.due_at, run, loose) == "late"
        now = datetime(2026, 3, 3, 0, 50, tzinfo=UTC)  # 08:50 on the 3rd: 08:00 not done
        points = history(s, rnd, evening - timedelta(seconds=1), now, now)
        assert [p.state for p in points] == ["late", "open"]  # 08:00 by the new 120 min
        morning = start_run(s, rnd, at=now, actor="tech")
        _complete(s, morning, now + timedelta(minutes=5))  # 55 min after due: on time
        tight = now + timedelta(hours=1)
        _save(s, rnd, tight, late_after_min=0, missed_after_min=30)
        points = history(s, rnd, evening - timedelta(seconds=1), tight, tight)
        assert [p.state for p in points] == ["late", "on_time"]
        # the first save's period is stamped with the minutes it had before the edit
        kept = s.get(InspectionRoundRow, rnd.id)
        assert kept is not None and kept.schedule is not None
        assert [(p["late_after_min"], p["missed_after_min"]) for p in kept.schedule] == [
            (0, 30),
            (60, 120),
            (0, 30),
        ]


def test_start_takes_the_oldest_point_due_and_open_before_the_next_one(sessions: Any) -> None:
    """Review 19c-r H3: 65 minutes late for 14:00 on a 14:00/16:00 round, the technician got
    the 16:00 run (14:00 then missed, 16:00 'on time'); hourly rounds were always recorded
    against the following hour."""
    with sessions() as s:
        rnd = _round(s, late_after_min=30, missed_after_min=120)
        _save(s, rnd, AT, times=["14:00", "16:00"])
        late = datetime(2026, 3, 3, 7, 5, tzinfo=UTC)  # 15:05 local on the 3rd
        run = start_run(s, rnd, at=late, actor="tech")
        assert run.due_at == datetime(2026, 3, 3, 6, tzinfo=UTC)  # 14:00
        _complete(s, run, late + timedelta(minutes=5))
        assert outcome(rnd, run.due_at, run, late + timedelta(minutes=6)) == "late"
        after = start_run(s, rnd, at=late + timedelta(minutes=10), actor="tech")
        assert after.due_at == datetime(2026, 3, 3, 8, tzinfo=UTC)  # 16:00, now that 14:00 is done


def test_a_point_still_counted_after_an_edit_took_its_time_out_may_still_be_run(
    sessions: Any,
) -> None:
    """Review 19c-r L2: 14:00 due and open; its time moved to 14:50 (or the round switched
    off) at 14:10: the 14:00 point is still counted, so it can still be started."""
    with sessions() as s:
        rnd = _round(s, late_after_min=30, missed_after_min=120)
        _save(s, rnd, AT, times=["14:00"])
        ten_past = datetime(2026, 3, 2, 6, 10, tzinfo=UTC)
        _save(s, rnd, ten_past, times=["14:50"])
        run = start_run(s, rnd, at=ten_past + timedelta(minutes=5), actor="tech")
        assert run.due_at == datetime(2026, 3, 2, 6, tzinfo=UTC)
        _save(s, rnd, ten_past + timedelta(minutes=6), active=False)
        assert start_run(s, rnd, at=ten_past + timedelta(minutes=7), actor="tech2").id == run.id
        with pytest.raises(NoRoundDue):  # the next day: nothing is due on a round switched off
            start_run(s, rnd, at=ten_past + timedelta(days=1), actor="tech")


def _states(s: Session, rnd: InspectionRoundRow, since: datetime, now: datetime) -> list[str]:
    return [
        f"{p.due_at.astimezone(SHANGHAI):%a %d %H:%M} {p.state}"
        for p in history(s, rnd, since, now, now)
    ]


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_weekly_workday_and_monthly_rounds_fall_due_on_their_days_only(sessions: Any) -> None:
    """Review 19c-r M8: a weekly roof round, an office round on workdays, a monthly fire-pump
    run: due on their local days only, so the other days count nothing missed."""
    monday = datetime(2026, 3, 8, 16, tzinfo=UTC)  # Monday 9 March 00:00 in Shanghai
    week_later = monday + timedelta(days=7)
    with sessions() as s:  # the rounds are made on Monday 2 March
        weekly = _round(s, repeat="weekly", weekdays=[2, 0, 2])  # Wednesday, Monday
        assert (weekly.repeat, weekly.weekdays) == ("weekly", [0, 2])
        assert _states(s, weekly, monday, week_later) == [
            "Mon 09 08:00 missed",
            "Mon 09 20:00 missed",
            "Wed 11 08:00 missed",
            "Wed 11 20:00 missed",
        ]
        workdays = _round(s, repeat="workdays", times=["09:00"])
        days = [p.split()[0] for p in _states(s, workdays, monday, week_later)]
        assert days == ["Mon", "Tue", "Wed", "Thu", "Fri"]
        monthly = _round(s, repeat="monthly", month_days=[31], times=["10:00"])
        until = datetime(2026, 6, 30, tzinfo=UTC)
        months = [
            p.due_at.astimezone(SHANGHAI).date().isoformat()
            for p in history(s, monthly, monday, until, until)
        ]
        # the 31st, or the month's last day when it has none
        assert months == ["2026-03-31", "2026-04-30", "2026-05-31"]
        # a weekly round's missed count is per due day: one missed week is 2 points, not 14
        tally = counts(history(s, weekly, monday, week_later, week_later))
        assert tally["missed"] == 4


def test_a_changed_repeat_keeps_the_days_of_the_points_already_due(sessions: Any) -> None:
    """Each schedule period keeps its own days (as its times and minutes, 19c-r H1): a daily
    round made weekly (Fridays) on Wednesday keeps Tuesday's point (Monday's fell due before the
    round was made)."""
    monday = datetime(2026, 3, 1, 16, tzinfo=UTC)  # the round is made at 08:10 on Monday
    with sessions() as s:
        rnd = _round(s, times=["08:00"], missed_after_min=60)
        _save(s, rnd, monday + timedelta(days=2), repeat="weekly", weekdays=[4])  # Wed 00:00
        now = monday + timedelta(days=7)
        assert [p.split()[0] for p in _states(s, rnd, monday, now)] == ["Tue", "Fri"]
        kept = s.get(InspectionRoundRow, rnd.id)
        assert kept is not None and kept.schedule is not None
        assert [p["repeat"] for p in kept.schedule] == ["daily", "weekly"]
        # a run of a Friday point is started on Friday only
        with pytest.raises(NoRoundDue):
            start_run(s, rnd, at=datetime(2026, 3, 5, 0, 10, tzinfo=UTC), actor="tech")  # Thu
        run = start_run(s, rnd, at=datetime(2026, 3, 6, 0, 10, tzinfo=UTC), actor="tech")
        assert run.due_at == datetime(2026, 3, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"repeat": "weekly"}, "round_weekdays"),
        ({"repeat": "weekly", "weekdays": [7]}, "round_weekdays"),
        ({"repeat": "monthly"}, "round_month_days"),
        ({"repeat": "monthly", "month_days": [32]}, "round_month_days"),
    ],
)
def test_a_repeat_without_its_days_is_refused(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as err:
        RoundIn(
            name="x", times=["08:00"], stops=[Stop(equipment="SP-01", template_id=1)], **changes
        )
    assert err.value.errors()[0]["type"] == key


def test_a_round_is_given_to_a_technician_or_a_team_of_the_site(sessions: Any) -> None:
    from bldgwatch.maintenance.config import RosterSettings, Technician
    from bldgwatch.maintenance.rounds import PersonRefused
    from bldgwatch.maintenance.technicians import import_roster

    roster = RosterSettings(
        technicians=[
            Technician(id="li", sites=["demo"], skills=["electrical"]),
            Technician(id="far", sites=["north"], skills=["mechanical"]),
        ]
    )
    with sessions() as s:
        import_roster(s, roster, at=AT)
        s.commit()
        rnd = _round(s, assignee="li", team="electrical")
        assert (rnd.assignee, rnd.team) == ("li", "electrical")
        for changes in ({"assignee": "far"}, {"assignee": "nobody"}, {"team": "mechanical"}):
            with pytest.raises(PersonRefused):
                _round(s, **changes)


def test_a_workdays_round_follows_the_sites_working_calendar(sessions: Any) -> None:
    """Issue 19/20 (D5): on a site following China's official calendar a workdays round is not
    due in the 2026 National Day week (1–7 October) and is due on Saturday 10 October, the
    make-up workday (调休); the site's own holiday (Friday 9 October) overrides. Missed counts
    and the start of a run agree."""
    from bldgwatch.core.workcal import CalendarSpec

    spec = demo_site().model_copy(
        update={
            "timezone": "Asia/Shanghai",
            "calendar": CalendarSpec.model_validate({"official": "cn", "holidays": ["2026-10-09"]}),
        }
    )
    monday = datetime(2026, 9, 27, 16, tzinfo=UTC)  # Monday 28 September 00:00 in Shanghai
    until = monday + timedelta(days=14)
    with sessions() as s:
        import_site(s, spec)
        s.commit()
        rnd = _round(s, repeat="workdays", times=["09:00"])
        due = [
            p.due_at.astimezone(SHANGHAI).date().isoformat()
            for p in history(s, rnd, monday, until, until)
        ]
        assert due == ["2026-09-28", "2026-09-29", "2026-09-30", "2026-10-08", "2026-10-10"]
        assert counts(history(s, rnd, monday, until, until))["missed"] == 5
        with pytest.raises(NoRoundDue):  # 1 October 09:10: a holiday
            start_run(s, rnd, at=datetime(2026, 10, 1, 1, 10, tzinfo=UTC), actor="tech")
        run = start_run(s, rnd, at=datetime(2026, 10, 10, 1, 10, tzinfo=UTC), actor="tech")
        assert run.due_at == datetime(2026, 10, 10, 1, tzinfo=UTC)  # the make-up Saturday


def test_a_calendar_change_never_rewrites_a_workdays_rounds_past(sessions: Any) -> None:
    """Review 19i M3: the site's calendar decided a workdays round's past points as it is now:
    an own holiday added on a day a run was done dropped the run from the history (on time
    one less), an own workday added on a past Sunday made a point nobody was asked to do
    missed. The verdict on each day is kept when the day is judged; days to come follow the
    new calendar."""
    from bldgwatch.core.workcal import CalendarSpec
    from bldgwatch.maintenance.roundnotices import flag_missed

    def site(calendar: dict[str, Any]) -> Any:
        return demo_site().model_copy(
            update={"timezone": "Asia/Shanghai", "calendar": CalendarSpec.model_validate(calendar)}
        )

    monday = datetime(2026, 9, 27, 16, tzinfo=UTC)  # Monday 28 September 00:00 in Shanghai
    judged = monday + timedelta(days=14)  # Monday 12 October 00:00: the days before are over
    week = judged + timedelta(days=7)
    with sessions() as s:
        import_site(s, site({"official": "cn"}))
        s.commit()
        rnd = _round(s, repeat="workdays", times=["09:00"])
        run = start_run(s, rnd, at=datetime(2026, 9, 30, 1, 5, tzinfo=UTC), actor="tech")
        _complete(s, run, datetime(2026, 9, 30, 1, 20, tzinfo=UTC))  # Wednesday, on time
        before = _states(s, rnd, monday, judged)
        assert [x.split()[1] for x in before] == ["28", "29", "30", "08", "09", "10"]
        flag_missed(s, judged)  # the service's tick: judges the days that are over
        s.commit()
        changed = {
            "official": "cn",
            "holidays": ["2026-09-30", "2026-10-14"],  # a past day off; one to come
            "workdays": ["2026-10-04", "2026-10-17"],  # a past Sunday worked; one to come
        }
        import_site(s, site(changed))
        s.commit()
        assert _states(s, rnd, monday, judged) == before
        assert counts(history(s, rnd, monday, judged, judged)) == {
            "on_time": 1,
            "late": 0,
            "missed": 5,
            "open": 0,
            "upcoming": 0,
        }
        ahead = [
            p.due_at.astimezone(SHANGHAI).date().isoformat()
            for p in history(s, rnd, judged, week, judged)
        ]
        assert ahead == ["2026-10-12", "2026-10-13", "2026-10-15", "2026-10-16", "2026-10-17"]


def test_a_done_run_stays_in_the_history_when_its_day_stops_being_a_workday(
    sessions: Any,
) -> None:
    """Review 19i M3: a run done on a workday dropped out of the history (and the on-time
    count) when the day became a holiday in the site file, even before anyone read it."""
    from bldgwatch.core.workcal import CalendarSpec
    from bldgwatch.maintenance.roundmodels import SiteWorkdayRow

    def site(calendar: dict[str, Any]) -> Any:
        return demo_site().model_copy(
            update={"timezone": "Asia/Shanghai", "calendar": CalendarSpec.model_validate(calendar)}
        )

    with sessions() as s:
        import_site(s, site({"official": "cn"}))
        s.commit()
        rnd = _round(s, repeat="workdays", times=["09:00"])
        run = start_run(s, rnd, at=datetime(2026, 9, 30, 1, 5, tzinfo=UTC), actor="tech")
        _complete(s, run, datetime(2026, 9, 30, 1, 20, tzinfo=UTC))
        kept = s.get(SiteWorkdayRow, ("demo", datetime(2026, 9, 30).date()))
        assert kept is not None and kept.workday  # judged when the run was done
        import_site(s, site({"official": "cn", "holidays": ["2026-09-30"]}))
        s.commit()
        now = datetime(2026, 10, 1, 16, tzinfo=UTC)
        points = history(s, rnd, datetime(2026, 9, 29, 16, tzinfo=UTC), now, now)
        assert [(p.due_at, p.state, p.run_id) for p in points] == [
            (datetime(2026, 9, 30, 1, tzinfo=UTC), "on_time", run.id)
        ]
