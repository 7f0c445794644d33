"""Review 19c-d: a drill held late counts when it was held; the rescue target is the plan's,
from the alarm, whatever the order's response clock says; phones, desks and supervisors
writing one drill or plan at once; step times in the drill and in any order after step 1."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.maintenance import drills, emergency, entrapments
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import DEFAULT_FAULT_CODES
from bldgwatch.maintenance.emergencymodels import DrillRow, DrillStatus, EmergencyPlanRow
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.models import (
    SiteRow,
    WorkOrderEventRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.report import render_html, report_data
from bldgwatch.maintenance.workorders import transition
from tests.maintenance.conftest import EventFactory, demo_site

JUNE = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DEC = datetime(2026, 12, 7, 5, 53, tzinfo=UTC)


def _site(sessions: sessionmaker[Session], kind: str = "entrapment") -> int:
    with sessions() as s:
        import_site(s, demo_site(), at=datetime(2025, 1, 1, tzinfo=UTC))
        row = emergency.create_plan(
            s, site="demo", kind=kind, plan=emergency.template("en"), at=JUNE, actor="sup"
        )
        s.commit()
        return row.id


def _shanghai(sessions: sessionmaker[Session]) -> None:
    """The site on the Chinese sites' clock (CST), as the refusals are checked on it."""
    with sessions() as s:
        site = s.get(SiteRow, "demo")
        assert site is not None
        site.timezone = "Asia/Shanghai"
        s.commit()


def _drill(sessions: sessionmaker[Session], plan_id: int, when: datetime) -> int:
    with sessions() as s:
        plan = s.get(EmergencyPlanRow, plan_id)
        assert plan is not None
        row = drills.schedule(s, plan, when, at=JUNE - timedelta(days=1), actor="sup")
        s.commit()
        return row.id


def _all(sessions: sessionmaker[Session], work: list[Callable[[Session], Any]]) -> list[str]:
    """Each piece of work in its own session, all released at once; what each answered."""
    barrier, answers = threading.Barrier(len(work)), [""] * len(work)

    def desk(i: int) -> None:
        with sessions() as s:
            barrier.wait()
            try:
                work[i](s)
                s.commit()
                answers[i] = "200"
            except MaintenanceError as err:
                s.rollback()
                answers[i] = type(err).__name__

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _record(times: list[datetime | None]) -> drills.DrillRecord:
    return drills.DrillRecord(["Li"], times, "intercom weak\nin car 2", ["fix intercom"])


def test_a_drill_held_late_counts_when_it_was_held(sessions: sessionmaker[Session]) -> None:
    """H1: a June drill held and recorded in December left the plan "drill overdue" from June
    and was reported in June, not December."""
    plan_id = _site(sessions)
    drill_id = _drill(sessions, plan_id, JUNE)
    steps = [DEC + timedelta(minutes=n) for n in (0, 2, 3, 20, 25, 30)]
    with sessions() as s:
        row = drills.record(
            s, drill_id, _record(list(steps)), at=DEC + timedelta(hours=1), actor="sup"
        )
        s.commit()
        assert row.held_at == DEC
        assert drills.last_held(s, [plan_id]) == {plan_id: DEC}
        december = render_html(report_data(s, "demo", Period(2026, 12), as_of=DEC), "en")
        june = render_html(report_data(s, "demo", Period(2026, 6), as_of=DEC), "en")
    assert "2026-12-07 05:53" in december and "fix intercom" in december
    assert "No drill scheduled this month" in june and "fix intercom" not in june


def test_step_times_lie_in_the_drill_and_count_from_step_1_in_any_order(
    sessions: sessionmaker[Session],
) -> None:
    """M1: a step timed years or a day before the drill was kept; M2: steps reached out of
    plan order could not be recorded; M7: "now" to the minute was before a phone's step 1
    timed seconds earlier; L6: the refusal named no step."""
    plan_id = _site(sessions)
    start = DEC + timedelta(seconds=10)
    drill_id = _drill(sessions, plan_id, DEC)
    with sessions() as s:
        for wrong in (datetime(2001, 1, 1, tzinfo=UTC), DEC - timedelta(days=1)):
            with pytest.raises(InvalidRecord) as early:
                drills.time_step(s, drill_id, 2, wrong, at=DEC, actor="tech")
            assert early.value.field == "at"
            assert "step 2's time" in str(early.value)
        drills.time_step(s, drill_id, 1, start, at=start, actor="tech")
        drills.time_step(s, drill_id, 3, start + timedelta(minutes=1), at=start, actor="tech")
        drills.time_step(s, drill_id, 2, start + timedelta(minutes=2), at=start, actor="tech")
        s.commit()
        before = [None, None, None, DEC - timedelta(minutes=1), None, None]
        with pytest.raises(InvalidRecord) as order:
            drills.record(s, drill_id, _record(before), at=DEC + timedelta(hours=1), actor="sup")
        assert "step 4's time is before step 1's" in str(order.value)
        s.rollback()
        typed = [None, None, None, DEC, None, None]  # "now" to the minute, before step 1
        row = drills.record(s, drill_id, _record(typed), at=DEC + timedelta(hours=1), actor="sup")
        s.commit()
        assert [t.minutes for t in drills.timings(row.steps)][:4] == [0.0, 2.0, 1.0, 0.0]


def test_a_plan_has_one_drill_at_a_time_however_often_it_is_asked(
    sessions: sessionmaker[Session],
) -> None:
    """M10: a double tap (two requests at once) scheduled the drill twice."""
    plan_id = _site(sessions)
    when = DEC + timedelta(days=13)

    def schedule(s: Session) -> None:
        plan = s.get(EmergencyPlanRow, plan_id)
        assert plan is not None
        drills.schedule(s, plan, when, at=DEC, actor="sup")

    assert sorted(_all(sessions, [schedule, schedule])) == ["200", "DrillTwice"]
    with sessions() as s:
        assert len(drills.drills(s, {"demo"})) == 1


def test_phones_timing_one_drill_at_once_keep_every_time(sessions: sessionmaker[Session]) -> None:
    """H2 (fixed by the lock on main): six phones pressing "now" for their own step at once
    lost up to five of the six times."""
    plan_id = _site(sessions)
    for trial in range(2):
        drill_id = _drill(sessions, plan_id, DEC - timedelta(minutes=trial))

        def press(number: int, drill_id: int = drill_id) -> Callable[[Session], Any]:
            at = DEC + timedelta(minutes=number)
            return lambda s: drills.time_step(s, drill_id, number, at, at=at, actor="tech")

        assert _all(sessions, [press(n) for n in range(1, 7)]) == ["200"] * 6
        with sessions() as s:
            row = s.get(DrillRow, drill_id)
            assert row is not None
            assert [step["at"] is not None for step in row.steps] == [True] * 6


def test_two_saves_of_one_plan_version_and_record_against_cancel(
    sessions: sessionmaker[Session],
) -> None:
    """H3 (fixed by the lock on main): two supervisors saving version 1 both won; a record and
    a cancel of one drill both won, the held drill showing the cancel's reason."""
    plan_id = _site(sessions)

    def save(title: str) -> Callable[[Session], Any]:
        plan = emergency.template("en").model_copy(update={"title": title})
        return lambda s: emergency.update_plan(
            s, plan_id, plan=plan, version=1, at=DEC, actor=title
        )

    assert sorted(_all(sessions, [save("a"), save("b")])) == ["200", "PlanChanged"]
    with sessions() as s:
        assert [r.version for r in emergency.revisions(s, plan_id)] == [2, 1]
    drill_id = _drill(sessions, plan_id, DEC)
    times: list[datetime | None] = [DEC, None, None, None, None, None]

    def held(s: Session) -> None:
        drills.record(s, drill_id, _record(times), at=DEC + timedelta(hours=1), actor="sup")

    def cancel(s: Session) -> None:
        drills.cancel(s, drill_id, "rain", at=DEC + timedelta(hours=1), actor="sup2")

    answers = _all(sessions, [held, cancel])
    assert sorted(answers) == ["200", "DrillClosed"]
    with sessions() as s:
        row = s.get(DrillRow, drill_id)
        assert row is not None
        if answers[0] == "200":
            assert row.status == DrillStatus.RECORDED and row.note == ""
        else:
            assert row.status == DrillStatus.CANCELLED and row.held_at is None


def _trapped(sessions: sessionmaker[Session], make_event: EventFactory, at: datetime) -> int:
    event = make_event(
        equipment="E-01", equipment_type="elevator", family="entrapment",
        fault_code="ELEV_ENTRAPMENT_BETWEEN_FLOORS", rule="elevator.entrapment", at=at,
    )  # fmt: skip
    order_id = process_event(sessions, event).work_order_id
    assert order_id is not None
    return order_id


def test_the_rescue_target_is_the_plans_in_force_at_the_alarm(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    """H4: a dispatch restarting the order's response clock with the contract's 60 min made a
    rescue arriving at 50 min "on time" (target 64.35); M4: a plan edited afterwards (on
    site 30 → 15) re-judged the past rescue."""
    plan_id = _site(sessions)
    order_id = _trapped(sessions, make_event, DEC)
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None
        order.response_due = DEC + timedelta(minutes=64.35)  # what the dispatch does
        transition(s, order_id, WorkOrderStatus.ASSIGNED, actor="d", at=DEC, assigned_to="t")
        transition(
            s, order_id, WorkOrderStatus.IN_PROGRESS, actor="t", at=DEC + timedelta(minutes=50)
        )
        stricter = emergency.template("en")
        steps = [
            step.model_copy(update={"target_min": 15}) if step.milestone == "on_site" else step
            for step in stricter.steps
        ]
        emergency.update_plan(
            s, plan_id, plan=stricter.model_copy(update={"steps": steps}), version=1,
            at=DEC + timedelta(hours=2), actor="sup",
        )  # fmt: skip
        s.commit()
        now = DEC + timedelta(hours=3)
        [found] = entrapments.entrapments(s, {"demo"}, since=DEC, until=now, now=now)
        assert found.rescue_target_min == 30.0 and found.arrival_late
        assert found.plan_version == 1
        assert [m.target_min for m in found.moments if m.milestone == "on_site"] == [30]
        entrapments.record_release(s, order_id, now, at=now, actor="t")
        s.commit()
    assert _trapped(sessions, make_event, now + timedelta(minutes=1)) == order_id
    with sessions() as s:
        until = now + timedelta(hours=1)
        [after, _] = entrapments.entrapments(s, {"demo"}, since=DEC, until=until, now=until)
        assert after.rescue == 2 and after.plan_on_site_min == 15
        assert after.rescue_target_min == 30.0  # the statutory target judges (19d-d M3)
        assert after.plan_version == 2


def _event(status_from: str, status_to: str, minute: float) -> WorkOrderEventRow:
    at = DEC + timedelta(minutes=minute)
    return WorkOrderEventRow(from_status=status_from, to_status=status_to, at=at, actor="x")


def test_on_site_is_at_the_latest_the_release_and_the_alarm_during_work_on_site() -> None:
    """M12: released at 12 min while the order was still assigned, work started at 45: "a late
    arrival"; a second alarm while the technician was working at the lift: "nobody on site"."""
    order = WorkOrderRow(
        id=1, status="in_progress", created_at=DEC, response_due=DEC + timedelta(minutes=30),
        stage_detail={}, dispatched_at=None, resolved_at=None,
    )  # fmt: skip
    targets = {"alarm": 0, "notified": 5, "on_site": 30, "released": None}
    events = [_event("open", "assigned", 3), _event("assigned", "in_progress", 45)]
    rescue = entrapments.first_rescue(order, events)
    rescue.released_at = DEC + timedelta(minutes=12)
    freed = entrapments.timed(order, rescue, events, targets, DEC + timedelta(hours=2))
    assert [m.minutes for m in freed.moments] == [0.0, 3.0, 12.0, 12.0]
    assert not freed.arrival_late
    second = entrapments.first_rescue(order, events)
    second.alarm_at, second.released_at = DEC + timedelta(minutes=50), None
    working = entrapments.timed(order, second, events, targets, DEC + timedelta(hours=2))
    assert [m.minutes for m in working.moments] == [0.0, 0.0, 0.0, None]
    assert not working.arrival_late and not any(m.over for m in working.moments)


def test_a_plans_laxer_on_site_target_does_not_relax_the_30_minute_rescue_target() -> None:
    """Review 19d-d M3: a plan's "On site" of 45 min made a 40-minute arrival "on time". The
    statutory 30 minutes judge the arrival; the plan's target is kept beside (its on-site
    milestone is within it)."""
    order = WorkOrderRow(
        id=1, status="in_progress", created_at=DEC, response_due=DEC + timedelta(minutes=30),
        stage_detail={}, dispatched_at=None, resolved_at=None,
    )  # fmt: skip
    targets = {"alarm": 0, "notified": 5, "on_site": 45, "released": None}
    events = [_event("open", "assigned", 3), _event("assigned", "in_progress", 40)]
    rescue = entrapments.first_rescue(order, events)
    found = entrapments.timed(order, rescue, events, targets, DEC + timedelta(hours=1))
    assert (found.rescue_target_min, found.plan_on_site_min) == (30.0, 45)
    assert found.arrival_late
    on_site = next(m for m in found.moments if m.milestone == "on_site")
    assert (on_site.minutes, on_site.target_min, on_site.over) == (40.0, 45, False)


def test_the_rescue_target_without_a_plan_is_the_entrapment_fault_codes() -> None:
    assert DEFAULT_FAULT_CODES["ELEV_ENTRAPMENT"].response_min == entrapments.RESCUE_MIN


def test_todays_drill_comes_first_however_many_are_planned_ahead(
    sessions: sessionmaker[Session],
) -> None:
    """M14: with 500 drills planned ahead, today's drill was not on the page at all."""
    plan_id = _site(sessions)
    today = _drill(sessions, plan_id, DEC)
    with sessions() as s:
        plan = s.get(EmergencyPlanRow, plan_id)
        assert plan is not None
        for day in range(2, 1010, 2):  # 504 drills, every other day for almost three years
            drills.schedule(s, plan, DEC + timedelta(days=day), at=DEC, actor="sup")
        s.commit()
        listed = drills.drills(s, {"demo"}, now=DEC + timedelta(minutes=5))
        assert len(listed) == 500 and listed[0].id == today
        assert listed[1].scheduled_at == DEC + timedelta(days=1008)  # then latest first
        assert today not in [d.id for d in drills.drills(s, {"demo"})]


def test_a_step_before_step_1_or_the_drill_is_refused_with_both_times_on_the_sites_clock(
    sessions: sessionmaker[Session],
) -> None:
    """Review 19e M4 and L2: a phone's step timed before step 1 was kept (only the record form
    checked the order); the refusals gave raw UTC ISO times. Now each names both times on the
    site's clock with its zone."""
    plan_id = _site(sessions)
    _shanghai(sessions)
    drill_id = _drill(sessions, plan_id, DEC)
    start = DEC + timedelta(minutes=5)  # 13:58 CST
    with sessions() as s:
        drills.time_step(s, drill_id, 1, start, at=start, actor="tech")
        s.commit()
        with pytest.raises(InvalidRecord) as early:
            drills.time_step(s, drill_id, 3, start - timedelta(minutes=2), at=start, actor="tech")
        said = str(early.value)
        assert early.value.field == "at"
        assert "2026-12-07 13:56:00 CST is before 2026-12-07 13:58:00 CST" in said, said
        s.rollback()
        drills.time_step(s, drill_id, 3, start + timedelta(minutes=1), at=start, actor="tech")
        s.commit()
        with pytest.raises(InvalidRecord) as later:  # step 1 re-timed after step 3
            drills.time_step(s, drill_id, 1, start + timedelta(minutes=3), at=start, actor="tech",
                             reason="误点")  # fmt: skip
        assert "2026-12-07 13:59:00 CST is before 2026-12-07 14:01:00 CST" in str(later.value)
        s.rollback()
        with pytest.raises(InvalidRecord) as before_drill:
            drills.time_step(s, drill_id, 2, DEC - timedelta(hours=1), at=start, actor="tech")
        said = str(before_drill.value)
        assert "2026-12-07 12:53:00 CST" in said and "2026-12-07 13:53:00 CST" in said, said
        s.rollback()
        with pytest.raises(InvalidRecord) as ahead:
            drills.time_step(s, drill_id, 2, start + timedelta(hours=2), at=start, actor="tech")
        said = str(ahead.value)
        assert "2026-12-07 15:58:00 CST" in said and "+00:00" not in said, said


def test_the_record_form_re_times_live_steps_only_with_a_reason(
    sessions: sessionmaker[Session],
) -> None:
    """Review 19e M4: the supervisor's record form moved step 1 back 20 s (its minute input)
    and cleared step 3 of a running drill, both timed on phones, with no reason and no trace.
    Now a time in the minute of the one held keeps it to the second; moving or clearing a
    timed step needs the reason and is kept as a re-time."""
    plan_id = _site(sessions)
    _shanghai(sessions)
    drill_id = _drill(sessions, plan_id, DEC)
    start = DEC + timedelta(minutes=5, seconds=20)
    with sessions() as s:
        drills.time_step(s, drill_id, 1, start, at=start, actor="tech1")
        drills.time_step(s, drill_id, 3, start + timedelta(minutes=1), at=start, actor="tech2")
        s.commit()
        minute = start.replace(second=0)  # what the form shows and sends back
        same = drills.DrillRecord(["Li"], [minute, None, None, None, None, None], "", [])
        row = drills.record(s, drill_id, same, at=start + timedelta(hours=1), actor="sup")
        assert row.steps[0]["at"] == start.isoformat() and row.corrections == 0
        s.rollback()
        moved = [minute - timedelta(minutes=1), None, None, None, None, None]
        for held in (
            drills.DrillRecord(["Li"], moved, "", []),
            drills.DrillRecord(["Li"], [None] * 6, "", [], cleared=[3]),
            drills.DrillRecord(["Li"], [None] * 6, "", [], cleared=[3], reason="  "),
        ):
            with pytest.raises(InvalidRecord) as refused:
                drills.record(s, drill_id, held, at=start + timedelta(hours=1), actor="sup")
            assert refused.value.field == "reason"
            s.rollback()
        said = str(refused.value)
        assert "3 (2026-12-07 13:59:20 CST, tech2)" in said, said
        held = drills.DrillRecord(["Li"], moved, "", [], cleared=[3], reason="第二部手机误点")
        row = drills.record(s, drill_id, held, at=start + timedelta(hours=1), actor="sup")
        s.commit()
        assert row.steps[0]["at"] == (minute - timedelta(minutes=1)).isoformat()
        assert row.steps[2]["at"] is None and row.corrections == 1
        (kept,) = drills.corrections_of(s, [drill_id])[drill_id]
        assert (kept.kind, kept.actor, kept.reason) == ("retimed", "sup", "第二部手机误点")
        times = kept.changes["step_times"]
        assert times["from"][0] == start.isoformat() and times["from"][2] is not None
        assert times["to"][2] is None


def test_the_report_says_a_drills_steps_were_re_timed_not_corrected(
    sessions: sessionmaker[Session],
) -> None:
    """Review 19e L4: two step re-times read "corrected 2×" / "已更正 2 次" in the monthly
    report; the drills page says "re-timed". Re-times and corrections are counted apart."""
    from bldgwatch.maintenance.emergencyreport import emergency_section, render_emergency

    plan_id = _site(sessions)
    drill_id = _drill(sessions, plan_id, DEC)
    start = DEC + timedelta(minutes=1)
    with sessions() as s:
        drills.time_step(s, drill_id, 1, start, at=start, actor="tech")
        for n, why in ((1, "误点"), (2, "改")):
            when = start + timedelta(seconds=n)
            drills.time_step(s, drill_id, 1, when, at=when, actor="tech", reason=why)
        drills.record(s, drill_id, _record([None] * 6), at=start + timedelta(hours=1), actor="sup")
        s.commit()
        section = emergency_section(s, "demo", Period(2026, 12), start + timedelta(hours=2))
    en, zh = render_emergency(section, "UTC", "en"), render_emergency(section, "UTC", "zh-CN")
    assert "steps re-timed 2×, last by tech" in en and "corrected" not in en
    assert "步骤重新计时 2 次" in zh and "已更正" not in zh
