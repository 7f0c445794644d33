"""Emergency plans and drills: the plan's checks and versions, a drill scheduled, timed and
recorded against its targets, the drill intervals, and a real entrapment (alarm → order)
timed against the plan and the 30-minute rescue target, in the monthly report."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.models import AlarmState
from bldgwatch.core.runner import EXIT_CONFIG, run_component
from bldgwatch.maintenance import drills, emergency, entrapments
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import DrillSettings, MaintenanceConfig
from bldgwatch.maintenance.emergencymodels import DrillStatus, EntrapmentRescueRow
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite
from bldgwatch.maintenance.incidents import OutcomeKind, process_event
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.report import render_html, report_data
from bldgwatch.maintenance.service import run
from bldgwatch.maintenance.workorders import transition
from tests.maintenance.conftest import T0, EventFactory, demo_site

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _min(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_the_entrapment_template_is_in_both_languages_with_the_30_minute_arrival() -> None:
    zh, en = emergency.template("zh-CN"), emergency.template("en")
    assert zh.title == "电梯困人救援应急预案"
    assert en.title == "Elevator entrapment rescue plan"
    on_site = [s for s in en.steps if s.milestone == "on_site"]
    assert [s.target_min for s in on_site] == [30]
    assert [s.milestone for s in zh.steps if s.milestone] == list(emergency.MILESTONES)


def test_a_plan_refuses_bad_phones_hidden_text_and_steps_out_of_order() -> None:
    good = emergency.template("en").model_dump()
    contact = {"name": "王工", "role": "rescuer", "phone": "１３８ 1234 5678"}
    plan = emergency.PlanDocument.model_validate(good | {"contacts": [contact]})
    assert plan.contacts[0].phone == "138 1234 5678"  # full-width digits made plain
    with pytest.raises(ValidationError, match="not a phone number"):
        emergency.PlanDocument.model_validate(good | {"contacts": [contact | {"phone": "abc"}]})
    fire = emergency.PlanDocument.model_validate(
        good | {"contacts": [contact | {"name": "消防", "phone": " 119 "}]}
    )
    assert fire.contacts[0].phone == "119"  # the emergency services (review 19d M7)
    with pytest.raises(ValidationError, match="not a phone number"):
        emergency.PlanDocument.model_validate(good | {"contacts": [contact | {"phone": "118"}]})
    with pytest.raises(ValidationError, match="hidden character U\\+202E"):
        emergency.PlanDocument.model_validate(good | {"title": "plan\u202e"})
    backwards = [{"text": "a", "target_min": 10}, {"text": "b", "target_min": 5}]
    with pytest.raises(ValidationError, match=r"steps\.2: target_min 5 is before"):
        emergency.PlanDocument.model_validate(good | {"steps": backwards})
    swapped = [{"text": "a", "milestone": "on_site"}, {"text": "b", "milestone": "alarm"}]
    with pytest.raises(ValidationError, match="milestones are in the order"):
        emergency.PlanDocument.model_validate(good | {"steps": swapped})


def test_step_timings_against_targets() -> None:
    steps = [
        {"text": "alarm", "target_min": 0, "at": _min(0).isoformat()},
        {"text": "notified", "target_min": 5, "at": _min(4).isoformat()},
        {"text": "on site", "target_min": 30, "at": _min(31.5).isoformat()},
        {"text": "released", "target_min": None, "at": None},
    ]
    found = drills.timings(steps)
    assert [t.minutes for t in found] == [0.0, 4.0, 31.5, None]
    assert [t.over for t in found] == [False, False, True, False]
    # Without the first step's time nothing can be measured (it was counted from step 2:
    # an arrival 49 minutes in read as 29, review 19d M1).
    unstarted = drills.timings([{**steps[0], "at": None}, *steps[1:]])
    assert [t.minutes for t in unstarted] == [None] * 4


def test_drill_intervals_follow_the_site_calendar() -> None:
    settings = DrillSettings()
    assert settings.interval_months == {"entrapment": 6, "fire": 6}
    held = datetime(2026, 8, 30, 17, tzinfo=UTC)  # 2026-08-31 01:00 in Shanghai
    due = drills.next_due("entrapment", held, settings, SHANGHAI)
    assert due is not None
    assert due.astimezone(SHANGHAI).date().isoformat() == "2027-02-28"  # clipped to February
    for day in (1, 5, 15, 27):  # review 19d H1: any day up to the 27th came out as the 28th
        early = datetime(2026, 1, day, 2, tzinfo=UTC)  # 10:00 in Shanghai
        due = drills.next_due("fire", early, settings, SHANGHAI)
        assert (
            due is not None and due.astimezone(SHANGHAI).date().isoformat() == f"2026-07-{day:02d}"
        )
    assert drills.next_due("flood", held, settings, SHANGHAI) is None
    assert drills.next_due("fire", None, settings, SHANGHAI) == drills.EARLIEST
    with pytest.raises(ValidationError, match="plan kinds must be"):
        DrillSettings(interval_months={"earthquake": 12})


def test_a_bad_drill_interval_stops_the_service_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("drills: {interval_months: {fire: 0}}\n")
    assert run_component(path, MaintenanceConfig, run) == EXIT_CONFIG
    assert "drills.interval_months" in capsys.readouterr().err


def _plan(session: Session) -> int:
    document = emergency.template("zh-CN")
    row = emergency.create_plan(
        session, site="demo", kind="entrapment", plan=document, at=T0, actor="sup"
    )
    session.commit()
    return row.id


def test_plans_drills_and_a_real_entrapment_in_the_report(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    with sessions() as s:
        import_site(s, demo_site(), at=datetime(2025, 1, 1, tzinfo=UTC))
        s.commit()
        plan_id = _plan(s)
        with pytest.raises(UnknownSite):
            emergency.create_plan(
                s, site="nowhere", kind="fire", plan=emergency.template("en"), at=T0, actor="x"
            )
        with pytest.raises(emergency.PlanChanged):
            _plan(s)
        s.rollback()
        edited = emergency.template("en").model_copy(update={"title": "Lift rescue"})
        emergency.update_plan(s, plan_id, plan=edited, version=1, at=_min(1), actor="sup2")
        s.commit()
        with pytest.raises(emergency.PlanChanged):
            emergency.update_plan(s, plan_id, plan=edited, version=1, at=_min(2), actor="x")
        s.rollback()
        assert [(r.version, r.actor) for r in emergency.revisions(s, plan_id)] == [
            (2, "sup2"),
            (1, "sup"),
        ]
        plan = emergency.plan_of(s, "demo", "entrapment")
        assert plan is not None
        assert plan.title == "Lift rescue"
        # a drill: scheduled, moved, timed step by step and recorded
        drill = drills.schedule(s, plan, _min(60), at=_min(0), actor="sup")
        missed = drills.schedule(s, plan, _min(90), at=_min(0), actor="sup")
        s.commit()
        drills.reschedule(s, drill.id, _min(120), "rain", at=_min(10), actor="sup")
        drills.time_step(s, drill.id, 1, _min(120), at=_min(120), actor="tech")
        with pytest.raises(InvalidRecord):
            drills.time_step(s, drill.id, 9, _min(121), at=_min(121), actor="tech")
        drills.time_step(s, drill.id, 6, _min(125), at=_min(125), actor="tech")  # too early
        s.commit()
        times = [None, _min(123), _min(124), _min(155), _min(160), None]
        held = drills.DrillRecord(["王工", "李师傅"], times, "intercom weak in car 2", ["fix it"])
        wrong = dataclasses.replace(held, step_times=[None, _min(119), *times[2:]])
        with pytest.raises(InvalidRecord) as kept:  # step 2 before step 1 (review 19c-d M2)
            drills.record(s, drill.id, wrong, at=_min(170), actor="sup")
        assert kept.value.field == "step_times"
        s.rollback()
        with pytest.raises(InvalidRecord) as why:  # a phone's time cleared: why (review 19e M4)
            drills.record(s, drill.id, dataclasses.replace(held, cleared=[6]), at=_min(170),
                          actor="sup")  # fmt: skip
        assert why.value.field == "reason"
        s.rollback()
        # review 19d L7: cleared, not kept
        held = dataclasses.replace(held, cleared=[6], reason="tapped too early")
        drills.record(s, drill.id, held, at=_min(170), actor="sup")
        s.commit()
        with pytest.raises(drills.DrillClosed):
            drills.cancel(s, drill.id, "late", at=_min(171), actor="sup")
        s.rollback()
        assert drill.status == DrillStatus.RECORDED
        assert drill.plan_version == 2
        timed = drills.timings(drill.steps)
        assert [t.minutes for t in timed] == [0.0, 3.0, 4.0, 35.0, 40.0, None]
        assert [t.over for t in timed] == [False, False, False, True, False, False]
        utc = ZoneInfo("UTC")  # the demo site's zone in these tests
        assert drills.overdue(missed, _min(60 * 16), utc)  # the next day
        assert not drills.overdue(drill, _min(1000), utc)
        # review 19d M8: not overdue while it may still be held (the rest of its day, on the
        # site's calendar), nor while it runs its course (its plan's longest target) past it
        assert not drills.overdue(missed, _min(100), utc)
        assert not drills.overdue(missed, _min(60 * 16 - 1), utc)
        assert drills.overdue(missed, _min(60 * 8), SHANGHAI)  # 00:00 the next day there
        late = drills.schedule(s, plan, _min(60 * 15 + 50), at=_min(0), actor="sup")  # 23:50
        steps = plan.steps  # the rescuer on site at 30 min: it may run until 00:20
        assert not drills.overdue(late, _min(60 * 16 + 19), utc, steps)
        assert drills.overdue(late, _min(60 * 16 + 20), utc, steps)
        s.rollback()
        assert drills.last_held(s, [plan_id]) == {plan_id: _min(120)}

    # a real entrapment: the alarm opens the order; assigned at +3, on site at +34, released
    event = make_event(
        equipment="E-01",
        equipment_type="elevator",
        family="entrapment",
        fault_code="ELEV_ENTRAPMENT_BETWEEN_FLOORS",
        rule="elevator.entrapment",
        at=_min(200),
    )
    order_id = process_event(sessions, event).work_order_id
    assert order_id is not None
    with sessions() as s:
        transition(s, order_id, WorkOrderStatus.ASSIGNED, actor="d", at=_min(203), assigned_to="t")
        transition(s, order_id, WorkOrderStatus.IN_PROGRESS, actor="t", at=_min(234))
        with pytest.raises(InvalidRecord):
            entrapments.record_release(s, order_id, _min(199), at=_min(250), actor="t")
        entrapments.record_release(s, order_id, _min(245), at=_min(250), actor="t")
        s.commit()
        with pytest.raises(entrapments.NotAnEntrapment, match="already"):
            entrapments.record_release(s, order_id, _min(246), at=_min(250), actor="t")
        [found] = entrapments.entrapments(
            s, {"demo"}, since=_min(0), until=_min(300), now=_min(300)
        )
        assert [(m.milestone, m.minutes, m.target_min, m.over) for m in found.moments] == [
            ("alarm", 0.0, 0, False),
            ("notified", 3.0, 5, False),
            ("on_site", 34.0, 30, True),
            ("released", 45.0, None, False),
        ]
        assert found.rescue_target_min == 30.0
        assert found.arrival_late and found.released_by_note and found.plan_id == plan_id
        data = report_data(s, "demo", Period(2026, 3), as_of=_min(60 * 24 * 40))
    html = render_html(data, "zh-CN")
    assert "困人事件按预案计时" in html
    assert f"#{order_id}" in html and "34.0 / ≤30" in html and "超时" in html
    assert "intercom weak in car 2" in html and "已演练" in html and "逾期" in html
    assert "Entrapments timed against the plan" in render_html(data, "en")
    # review 19d L4: one alarm column (its time), the verdict's minutes in the reader's words
    assert "30 分钟：超时" in html and "0.0 / ≤0" not in html
    assert "30 min: late" in render_html(data, "en")


def test_a_called_off_entrapment_is_late_only_for_what_it_reached_late() -> None:
    """Review 19d M5: a false alarm cancelled without anyone going counted as a late rescue
    for ever."""
    due = T0 + timedelta(minutes=30)
    order = WorkOrderRow(
        id=1, status="cancelled", created_at=T0, response_due=due, stage_detail={},
        dispatched_at=None, resolved_at=None,
    )  # fmt: skip
    targets = {"alarm": 0, "notified": 5, "on_site": 30, "released": None}
    later = T0 + timedelta(days=3)
    rescue = entrapments.first_rescue(order, [])
    off = entrapments.timed(order, rescue, [], targets, later)
    assert off.arrival_late is False and not any(m.over for m in off.moments)
    order.status = "open"  # the same rescue still open: late
    still = entrapments.timed(order, rescue, [], targets, later)
    assert still.arrival_late is True
    assert [m.over for m in still.moments] == [False, True, True, False]


def _desks(sessions: sessionmaker[Session], order_id: int, rescue: int) -> list[str]:
    """Two desks recording one rescue's release at the same moment."""
    barrier, answers = threading.Barrier(2), []

    def desk(name: str) -> None:
        with sessions() as s:
            barrier.wait()
            try:
                entrapments.record_release(
                    s, order_id, _min(95), at=_min(96), actor=name, rescue=rescue
                )
                s.commit()
                answers.append("released")
            except entrapments.NotAnEntrapment:
                s.rollback()
                answers.append("409")

    threads = [threading.Thread(target=desk, args=(n,)) for n in ("desk1", "desk2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def test_each_entrapment_alarm_is_a_rescue_of_its_own(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    """Review 19d H3: a second entrapment on the lift while its order was open (or reopened)
    was not timed, and its release was refused as already recorded."""
    with sessions() as s:
        import_site(s, demo_site(), at=datetime(2025, 1, 1, tzinfo=UTC))
        s.commit()
        _plan(s)

    def trapped(minute: float) -> str | None:
        event = make_event(
            equipment="E-01", equipment_type="elevator", family="entrapment",
            fault_code="ELEV_ENTRAPMENT_BETWEEN_FLOORS", rule="elevator.entrapment",
            at=_min(minute),
        )  # fmt: skip
        outcome = process_event(sessions, event)
        return f"{outcome.kind.value}:{outcome.work_order_id}"

    assert trapped(0) == "created:1"
    with sessions() as s:
        transition(s, 1, WorkOrderStatus.ASSIGNED, actor="d", at=_min(3), assigned_to="t")
        transition(s, 1, WorkOrderStatus.IN_PROGRESS, actor="t", at=_min(25))
        with pytest.raises(InvalidRecord) as early:  # before the arrival (L3)
            entrapments.record_release(s, 1, _min(20), at=_min(30), actor="t")
        assert early.value.field == "released_at"
        entrapments.record_release(s, 1, _min(30), at=_min(30), actor="t")
        s.commit()
    assert trapped(50) == f"{OutcomeKind.ATTACHED.value}:1"  # the order is still open
    assert _desks(sessions, 1, rescue=2) == ["409", "released"]
    with sessions() as s:
        with pytest.raises(entrapments.RescueNotFound, match="no rescue number 7"):
            entrapments.record_release(s, 1, _min(99), at=_min(99), actor="t", rescue=7)
        transition(s, 1, WorkOrderStatus.RESOLVED, actor="t", at=_min(100))
        s.commit()
    assert trapped(400) == "attached:1"  # within the window: reopened to its technician
    with sessions() as s:
        with pytest.raises(InvalidRecord) as before:  # before this alarm
            entrapments.record_release(s, 1, _min(399), at=_min(460), actor="t")
        assert before.value.field == "released_at"
        # both times on the site's clock (UTC in these tests) with its zone (review 19e M4)
        assert "2026-03-02 14:39:00 UTC must be after" in str(before.value), str(before.value)
        assert "alarm (2026-03-02 14:40:00 UTC)" in str(before.value)
        entrapments.record_release(s, 1, _min(445), at=_min(460), actor="t")
        s.commit()
        found = entrapments.entrapments(s, {"demo"}, since=_min(0), until=_min(500), now=_min(500))
    assert [(f.rescue, [m.minutes for m in f.moments], f.arrival_late) for f in found] == [
        (3, [0.0, 0.0, 45.0, 45.0], True),  # on site at the latest when released (19c-d M12)
        (2, [0.0, 0.0, 0.0, 45.0], False),  # the technician was there, on the first rescue
        (1, [0.0, 3.0, 25.0, 30.0], False),
    ]
    assert [m.over for m in found[0].moments] == [False, False, True, False]
    assert all(f.released_by_note and f.order.id == 1 for f in found)


def test_a_flapping_alarm_and_the_car_wound_to_a_landing_are_one_rescue(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    """Review 19b-d H2: the alarm clearing and coming back, a second alarm of it, and the
    pack's between-floors alarm giving way to its at-floor one as the technician winds the
    car to a landing (盘车) made two or three "rescues" of one trapped car."""
    with sessions() as s:
        import_site(s, demo_site(), at=datetime(2025, 1, 1, tzinfo=UTC))
        s.commit()
        _plan(s)
    between = "ELEV_ENTRAPMENT_BETWEEN_FLOORS"

    def alarm(minute: float, alarm_id: str, *, code: str = between, **change: object) -> str:
        rule = "elevator.entrapment_" + code.removeprefix("ELEV_ENTRAPMENT_").lower()
        event = make_event(
            equipment="E-01", equipment_type="elevator", family="entrapment",
            fault_code=code, rule=rule, alarm_id=alarm_id, at=_min(minute), **change,
        )  # fmt: skip
        return process_event(sessions, event).kind.value

    back = {"previous_state": AlarmState.RTN_UNACK}
    cleared = {"transition": "clear", "state": AlarmState.RTN_UNACK}
    assert alarm(0, "a1") == "created"
    assert [alarm(0.1, "a1", **cleared), alarm(0.2, "a1", **back)] == ["recorded", "attached"]
    assert alarm(0.25, "a2") == "attached"  # the same alarm again, as a new occurrence
    with sessions() as s:
        transition(s, 1, WorkOrderStatus.ASSIGNED, actor="d", at=_min(3), assigned_to="t")
        transition(s, 1, WorkOrderStatus.IN_PROGRESS, actor="t", at=_min(15))
        s.commit()
    assert alarm(20, "a2", **cleared) == "recorded"  # wound into the door zone …
    assert alarm(20.5, "a3", code="ELEV_ENTRAPMENT_AT_FLOOR") == "attached"  # … at a landing
    with sessions() as s:
        assert [(r.seq, r.alarm_at) for r in entrapments.stored_rescues(s, 1)] == [(1, _min(0))]
        # a second rescue kept open before this fix: one release releases both
        s.add(EntrapmentRescueRow(work_order_id=1, seq=2, alarm_id="old", alarm_at=_min(1)))
        entrapments.record_release(s, 1, _min(22), at=_min(22), actor="t")
        s.commit()
    assert alarm(60, "a4") == "attached"  # after the release: another entrapment
    with sessions() as s:
        found = entrapments.entrapments(s, {"demo"}, since=_min(0), until=_min(61), now=_min(61))
    assert [(f.rescue, f.moments[3].minutes) for f in found] == [(3, None), (2, 21.0), (1, 22.0)]


def test_a_plan_is_overdue_from_the_day_after_its_drill_was_due() -> None:
    """Review 19b-d L6: due 12-07 10:00 (the last drill's time of day) was flagged overdue at
    10:00 on 12-07, while the page says "due by 12/07"."""
    due = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    late_that_day = datetime(2026, 12, 7, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert not drills.interval_overdue(due, late_that_day, SHANGHAI)
    assert drills.interval_overdue(due, late_that_day + timedelta(minutes=1), SHANGHAI)
    assert not drills.interval_overdue(None, late_that_day, SHANGHAI)


def test_the_reports_emergency_times_are_in_the_reports_one_form() -> None:
    """Drills L5: the rescue and drill tables give local times as the rest of the report
    ("2026-03-02 09:30", the zone named once for the whole report), no zone of their own."""
    from bldgwatch.maintenance.emergencymodels import DrillRow
    from bldgwatch.maintenance.emergencyreport import EmergencySection, render_emergency

    drill = DrillRow(
        id=1, plan_id=1, site="demo", kind="fire", status=DrillStatus.RECORDED,
        scheduled_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC), steps=[], participants=[],
        findings="", actions=[], note="",
    )  # fmt: skip
    as_of = datetime(2026, 4, 1, tzinfo=UTC)
    for lang in ("zh-CN", "en"):
        html = render_emergency(EmergencySection([], [drill], as_of, {}), "Asia/Shanghai", lang)
        assert "2026-03-02 09:30" in html  # 01:30 UTC on the site's clock
        for other in ("GMT", "UTC", "+08", "Asia/Shanghai", "北京时间", "CST"):
            assert other not in html, (lang, other)
