"""Preventive plans: a year of calendar plans in seconds, restarts, catch-up, counters, jobs."""

from __future__ import annotations

import pickle
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.db import session_factory
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance import catalogue
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.checklists import order_checklist
from bldgwatch.maintenance.config import DEFAULT_CALENDAR, CalendarPlan, CounterPlan, PlanSettings
from bldgwatch.maintenance.contractormodels import ContractorRow, ContractRow
from bldgwatch.maintenance.models import PlanStateRow, SchedulerJobRow, WorkOrderRow
from bldgwatch.maintenance.plans import calendar_due, counter_due, fire_times, pm_key
from bldgwatch.maintenance.plantexts import plan_text
from bldgwatch.maintenance.pm import PlanRunner, PmScheduler, influx_counters
from tests.maintenance.conftest import demo_site
from tests.waiting import wait_for

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)


def _orders(sessions: sessionmaker[Session]) -> list[WorkOrderRow]:
    with sessions() as s:
        return list(s.scalars(select(WorkOrderRow).order_by(WorkOrderRow.id)).all())


@pytest.fixture
def site(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    return sessions


@pytest.mark.parametrize(
    ("trigger", "after", "until", "expected"),
    [
        (IntervalTrigger(days=15, start_date=JAN1), JAN1, JAN1 + timedelta(days=45), 3),
        (
            CronTrigger.from_crontab("0 0 1 1,4,7,10 *", timezone=UTC),
            JAN1,
            datetime(2027, 1, 1, tzinfo=UTC),
            4,
        ),
        (
            CronTrigger.from_crontab("0 0 1 1 *", timezone=UTC),
            JAN1,
            datetime(2026, 12, 31, tzinfo=UTC),
            0,
        ),
    ],
)
def test_fire_times(
    trigger: IntervalTrigger, after: datetime, until: datetime, expected: int
) -> None:
    assert len(fire_times(trigger, after, until)) == expected


def test_due_points_coalesce_and_counters_step() -> None:
    half_monthly = IntervalTrigger(days=15, start_date=JAN1)
    assert calendar_due(half_monthly, JAN1, JAN1 + timedelta(days=40)) == JAN1 + timedelta(days=30)
    assert calendar_due(half_monthly, JAN1, JAN1 + timedelta(days=10)) is None
    assert counter_due(2100, 2000, None) is None  # first reading: baseline
    assert counter_due(3999, 2000, 1) is None
    assert counter_due(6100, 2000, 1) == 3  # two steps passed while away: one order
    assert counter_due(100, 2000, 3) is None  # meter replaced
    assert pm_key("p", "s", "e", JAN1) == "p/s/e/2026-01-01T00:00Z"
    with pytest.raises(ValueError, match="exactly one"):
        CalendarPlan(id="x", equipment_type="pump", title="x")


def test_a_year_of_elevator_plans_in_seconds(site: sessionmaker[Session]) -> None:
    clock = ManualClock(JAN1)
    runner = PlanRunner(site, PlanSettings(counters=[]), clock=clock)
    assert runner.run_all() == []  # first look: baseline
    while clock.now() < datetime(2027, 1, 1, tzinfo=UTC):
        clock.advance(timedelta(days=1))  # each plan is due on a day (00:00 in the site's zone)
        runner.run_all()
    counts = Counter(o.title.split(":")[0] for o in _orders(site))
    # Coinciding levels make one visit, the highest level's (19c-r M9): 1 April carries the
    # half-monthly items (day 90 = 6 × 15) on the quarterly order, 1 July the quarterly items
    # on the half-yearly one, 1 January 2027 both on the yearly one. The half-monthly rhythm
    # restarts from each such visit (review 19e M3: never more than 15 days apart), so 30
    # June, 28 September and 27 December are visits of their own again (23, not 20).
    assert counts == {
        "Elevator half-monthly maintenance": 23,
        "Elevator quarterly maintenance": 2,
        "Elevator half-yearly maintenance": 1,
        "Elevator yearly maintenance": 1,
        "Electrical-shaft panel monthly maintenance": 12,
        "Electrical-shaft panel yearly maintenance": 1,
    }
    first = _orders(site)[0]
    assert first.kind == "preventive" and first.equipment == "E-01" and first.priority == 4
    assert first.pm_key == "elevator.half_monthly/demo/E-01/2026-01-16T00:00Z"
    assert "Brake clearance" in first.description and first.stage in {"early", "mid", "late"}


def test_restart_neither_loses_nor_duplicates_and_catches_up_once(
    site: sessionmaker[Session],
) -> None:
    settings = PlanSettings(calendar=DEFAULT_CALENDAR[:1], counters=[])
    clock = ManualClock(JAN1)
    PlanRunner(site, settings, clock=clock).run_all()
    clock.advance(timedelta(days=16))
    [oid] = PlanRunner(site, settings, clock=clock).run_all()
    # a second process (or a restart) at the same time opens nothing more
    assert PlanRunner(site, settings, clock=clock).run_all() == []
    # down for 40 days: due on Jan 31, Feb 15 and Mar 2 — caught up once, for the latest
    clock.advance(timedelta(days=45))
    opened = PlanRunner(site, settings, clock=clock).run_all()
    assert len(opened) == 1
    orders = _orders(site)
    assert [o.pm_key for o in orders] == [
        "elevator.half_monthly/demo/E-01/2026-01-16T00:00Z",
        "elevator.half_monthly/demo/E-01/2026-03-02T00:00Z",
    ]
    assert orders[0].id == oid


def test_a_lost_state_update_does_not_duplicate_an_order(site: sessionmaker[Session]) -> None:
    settings = PlanSettings(calendar=DEFAULT_CALENDAR[:1], counters=[])
    clock = ManualClock(JAN1)
    runner = PlanRunner(site, settings, clock=clock)
    runner.run_all()
    clock.advance(timedelta(days=16))
    runner.run_all()
    with site() as s:  # as if the state had not moved: the idempotency key still holds
        state = s.get(PlanStateRow, ("elevator.half_monthly", "demo", "E-01"))
        assert state is not None
        state.last_due = JAN1
        s.commit()
    assert runner.run_all() == []
    assert len(_orders(site)) == 1


@pytest.mark.services
def test_counter_plans_read_run_hours_from_influxdb(
    influx_settings: InfluxSettings, site: sessionmaker[Session]
) -> None:
    store = open_store(influx_settings)
    store.ensure_database()
    plan = CounterPlan(
        id="pump.run_hours", equipment_type="pump", field="run_hours", every=2000, title="Pump PM"
    )
    clock = ManualClock(JAN1)
    runner = PlanRunner(
        site,
        PlanSettings(calendar=[], counters=[plan]),
        clock=clock,
        counters=influx_counters(store),
    )

    def hours(value: float, minute: int) -> None:
        ts = int((JAN1 + timedelta(minutes=minute)).timestamp() * 1000)
        store.write(
            f"pump,site=demo,building=B1,equipment=P-01,gateway=gw run_hours={value} {ts}".encode()
        )

    hours(1900, 1)
    assert runner.run_all() == []  # baseline
    hours(2050, 2)
    [oid] = runner.run_all()
    assert runner.run_all() == []
    hours(6100, 3)  # two steps while away: one order
    assert len(runner.run_all()) == 1
    keys = [o.pm_key for o in _orders(site)]
    assert keys == ["pump.run_hours/demo/P-01/1", "pump.run_hours/demo/P-01/3"]
    assert _orders(site)[0].id == oid
    store.close()


class Recorder:
    """Stands in for the runner: records which plans the scheduler asked for."""

    def __init__(self, settings: PlanSettings) -> None:
        self.settings = settings
        self.calls: list[str] = []

    def plan_ids(self) -> list[str]:
        return [p.id for p in self.settings.calendar]

    def run_plan(self, plan_id: str) -> list[int]:
        self.calls.append(plan_id)
        return []


def test_scheduler_jobs_persist_and_a_missed_run_fires_once(sqlite_db: Engine) -> None:
    elevator = [p for p in DEFAULT_CALENDAR if p.equipment_type == "elevator"]
    settings = PlanSettings(calendar=elevator, counters=[])
    first = Recorder(settings)
    sched = PmScheduler(sqlite_db, first, runner_id="t1")  # type: ignore[arg-type]
    sched.start()
    assert len(sched.scheduler.get_jobs()) == 4
    sched.stop()
    with session_factory(sqlite_db)() as s:  # down while the half-monthly job's time passes
        rows = s.scalars(select(SchedulerJobRow)).all()
        assert len(rows) == 4
        row = next(r for r in rows if r.id == "pm:elevator.half_monthly")
        state = pickle.loads(row.job_state)  # noqa: S301 - our own job store
        state["next_run_time"] = JAN1
        row.job_state = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
        row.next_run_time = JAN1.timestamp()
        s.commit()
    second = Recorder(settings)
    again = PmScheduler(sqlite_db, second, runner_id="t1")  # type: ignore[arg-type]
    again.start()
    try:
        wait_for(lambda: second.calls, timeout=10, what="the missed run")
        assert second.calls == ["elevator.half_monthly"]  # once, not once per missed point
        assert len(again.scheduler.get_jobs()) == 4  # restarted: nothing duplicated
        job = again.scheduler.get_job("pm:elevator.half_monthly")
        assert job is not None and job.next_run_time > datetime.now(UTC)
    finally:
        again.stop()
    assert first.calls == []
    sqlite_db.dispose()


def test_calendar_plans_fall_due_at_the_sites_midnight(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        import_site(s, demo_site().model_copy(update={"timezone": "Asia/Shanghai"}))
        s.commit()
    half_monthly, quarterly = DEFAULT_CALENDAR[0], DEFAULT_CALENDAR[1]
    settings = PlanSettings(calendar=[half_monthly, quarterly], counters=[])
    clock = ManualClock(datetime(2025, 12, 31, 12, tzinfo=UTC))  # 20:00 in Shanghai
    runner = PlanRunner(sessions, settings, clock=clock)
    assert runner.run_all() == []  # baseline
    # 1 April 00:00 in Shanghai is 31 March 16:00 UTC: the quarterly order opens then …
    clock.advance(datetime(2026, 3, 31, 16, 1, tzinfo=UTC) - clock.now())
    runner.run_all()
    keys = [o.pm_key for o in _orders(sessions)]
    assert "elevator.quarterly/demo/E-01/2026-03-31T16:00Z" in keys
    # … and the half-monthly rhythm runs from local midnight of 1 January: day 90 = 6 × 15
    # falls on that day too (its missed points coalesce into it), so the quarterly visit
    # carries its items: no second order, the state moved on
    assert not any(k.startswith("elevator.half_monthly/demo/E-01/2026-03-31") for k in keys)
    with sessions() as s:
        state = s.get(PlanStateRow, ("elevator.half_monthly", "demo", "E-01"))
        assert state is not None and state.last_due == datetime(2026, 3, 31, 16, tzinfo=UTC)


def _checklist(sessions: sessionmaker[Session], order_id: int) -> list[str]:
    with sessions() as s:
        return [row.text for row in order_checklist(s, order_id)]


def test_coinciding_tsg_levels_open_one_order_with_every_levels_items(
    sessions: sessionmaker[Session],
) -> None:
    """1 January: the yearly, half-yearly, quarterly and half-monthly levels all fall due on a
    lift; one order opens, the yearly one, whose checklist is the 17 yearly items then the 15
    half-yearly, 13 quarterly and 31 half-monthly ones of TSG T5002 appendix A (19c-r M9). A
    half-monthly due point within 7 days of a higher-level visit is that visit (19d-r M6)."""
    with sessions() as s:
        import_site(s, demo_site().model_copy(update={"timezone": "Asia/Shanghai"}))
        s.commit()
    settings = PlanSettings(calendar=DEFAULT_CALENDAR[:4], counters=[])
    clock = ManualClock(datetime(2025, 12, 20, tzinfo=UTC))
    runner = PlanRunner(sessions, settings, clock=clock)
    assert runner.run_all() == []  # baseline
    clock.advance(datetime(2025, 12, 31, 16, 5, tzinfo=UTC) - clock.now())  # 00:05 local
    opened = runner.run_all()
    orders = [o for o in _orders(sessions) if o.id in opened]
    assert [o.pm_key for o in orders] == ["elevator.yearly/demo/E-01/2025-12-31T16:00Z"]
    items = _checklist(sessions, orders[0].id)
    assert len(items) == 17 + 15 + 13 + 31
    assert items[:17] == list(catalogue.YEARLY)
    assert items[17:32] == list(catalogue.HALF_YEARLY)
    assert items[-31:] == list(catalogue.HALF_MONTHLY)
    texts = {plan_text(t, "zh-CN") for t in items} | {plan_text(t, "en") for t in items}
    assert not any(t.startswith("maintenance.") for t in texts)  # every item in both languages
    # 1 July: the half-yearly visit carries the quarterly and half-monthly items. The
    # half-monthly rhythm's 30 June (day 180), a day before, is a visit of its own: folding it
    # into 1 July would leave 16 days since 15 June (review 19e M3, TSG T5002: at most 15)
    clock.advance(datetime(2026, 6, 29, 16, 5, tzinfo=UTC) - clock.now())
    opened = runner.run_all()  # 30 June (and 1 April's quarterly, which comes late)
    assert sorted(o.pm_key for o in _orders(sessions) if o.id in opened) == [
        "elevator.half_monthly/demo/E-01/2026-06-29T16:00Z",
        "elevator.quarterly/demo/E-01/2026-03-31T16:00Z",
    ]
    clock.advance(datetime(2026, 6, 30, 16, 5, tzinfo=UTC) - clock.now())
    opened = runner.run_all()
    keys = {o.pm_key: o.id for o in _orders(sessions) if o.id in opened}
    assert sorted(keys) == ["elevator.half_yearly/demo/E-01/2026-06-30T16:00Z"]
    half_yearly = keys["elevator.half_yearly/demo/E-01/2026-06-30T16:00Z"]
    assert len(_checklist(sessions, half_yearly)) == 15 + 13 + 31
    # the rhythm restarts from that visit: not 15 July (day 195) but 16 July, 15 days after
    clock.advance(datetime(2026, 7, 14, 16, 5, tzinfo=UTC) - clock.now())
    assert runner.run_all() == []
    clock.advance(datetime(2026, 7, 15, 16, 5, tzinfo=UTC) - clock.now())
    opened = runner.run_all()
    keys = {o.pm_key: o.id for o in _orders(sessions) if o.id in opened}
    assert sorted(keys) == ["elevator.half_monthly/demo/E-01/2026-07-15T16:00Z"]


def _visits_apart(orders: list[WorkOrderRow], unit: str) -> list[tuple[str, str, int]]:
    """Consecutive visits to a lift (every elevator level carries the half-monthly items):
    (from, to, days apart) by due point."""
    points = sorted(
        datetime.strptime(o.pm_key.rsplit("/", 1)[1], "%Y-%m-%dT%H:%MZ")
        for o in orders
        if o.equipment == unit and (o.pm_key or "").startswith("elevator.")
    )
    return [(a.date().isoformat(), b.date().isoformat(), (b - a).days) for a, b in pairwise(points)]


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)  # the scheduler's own
# arithmetic over four years (65 s on PostgreSQL); the store's part runs on both in
# test_a_year_of_elevator_plans_in_seconds
def test_a_lift_is_never_more_than_15_days_without_a_visit(
    sessions: sessionmaker[Session],
) -> None:
    """Review 19e M3: folding a half-monthly point into a higher-level visit up to 7 days
    before or after it left gaps of 16 to 22 days between visits (TSG T5002: half-monthly at
    most 15 days). Review 19f M5: the rhythm restarted from the higher visit for one point
    only, then snapped back to its 1 January 2026 anchor: two half-monthly orders 1–5 days
    apart four times a year from 2028. Four whole years walked day by day on the site's clock:
    every gap between consecutive visits is at most 15 days, no half-monthly order falls within
    15 days after a higher-level visit, no two half-monthly orders are within 10 days, and a
    year has at most 28 visits in all (a quarter of 90–92 days needs at most 7 visits 15 days
    apart; the snapping back gave 29 in 2028; 24–25 would need quarterly visits off the
    calendar's quarters)."""
    with sessions() as s:
        import_site(s, demo_site().model_copy(update={"timezone": "Asia/Shanghai"}))
        s.commit()
    settings = PlanSettings(calendar=DEFAULT_CALENDAR[:4], counters=[])
    clock = ManualClock(datetime(2025, 12, 30, 16, 5, tzinfo=UTC))  # 31 Dec 00:05 local
    runner = PlanRunner(sessions, settings, clock=clock)
    assert runner.run_all() == []  # baseline
    while clock.now() < datetime(2029, 12, 31, 16, 5, tzinfo=UTC):
        clock.advance(timedelta(days=1))
        runner.run_all()
    orders = _orders(sessions)
    gaps = _visits_apart(orders, "E-01")
    assert gaps[0][0] == "2025-12-31" and gaps[-1][1] == "2029-12-31"  # 1 Jan, local
    assert [g for g in gaps if g[2] > 15] == []
    assert len(gaps) >= 4 * 365 // 15

    def due(order: WorkOrderRow) -> datetime:
        return datetime.strptime((order.pm_key or "").rsplit("/", 1)[1], "%Y-%m-%dT%H:%MZ")

    units = [o for o in orders if o.equipment == "E-01" and o.pm_key]
    halves = sorted(due(o) for o in units if o.pm_key.startswith("elevator.half_monthly"))
    higher = sorted(due(o) for o in units if not o.pm_key.startswith("elevator.half_monthly"))
    assert len(higher) == 17  # 1 January 2026 to 1 January 2030, each quarter one visit
    close = [(a, b) for a, b in pairwise(halves) if b - a < timedelta(days=10)]
    assert close == []
    for visit in higher:
        soon = [h for h in halves if visit < h < visit + timedelta(days=15)]
        assert soon == [], (visit, soon)
    for year in (2026, 2027, 2028, 2029):
        visits = [v for v in halves + higher if (v + timedelta(hours=8)).year == year]
        assert 24 <= len(visits) <= 28, (year, len(visits))


def test_a_plan_including_an_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="no calendar plan"):
        PlanSettings(
            calendar=[DEFAULT_CALENDAR[3].model_copy(update={"includes": ["lift.none"]})],
            counters=[],
        )


def test_a_plan_naming_a_contractor_dispatches_its_orders_to_it(
    site: sessionmaker[Session],
) -> None:
    """TSG T5002 half-monthly maintenance done by the elevator company: each order is
    recorded as the company's (dispatched under its contract, on its plan's clocks); without a
    covering contract the order stays the team's."""
    with site() as s:
        s.add(
            ContractorRow(
                id="liftco",
                name="Lift Co",
                licence="TS-1",
                contact="W",
                phone="12345",
                on_call="12345",
                updated_at=JAN1,
                updated_by="t",
            )
        )
        s.flush()  # the contract refers to it
        s.add(
            ContractRow(
                contractor="liftco",
                site="demo",
                equipment_type="elevator",
                scope="T5002",
                valid_from=date(2026, 1, 1),
                valid_to=date(2026, 1, 31),
                response_min=120,
                resolution_h=48.0,
                updated_at=JAN1,
                updated_by="t",
            )
        )
        s.commit()
    plan = DEFAULT_CALENDAR[0].model_copy(update={"contractor": "liftco"})
    settings = PlanSettings(calendar=[plan], counters=[])
    clock = ManualClock(JAN1)
    PlanRunner(site, settings, clock=clock).run_all()  # the rhythm starts
    clock.advance(timedelta(days=16))
    [covered] = PlanRunner(site, settings, clock=clock).run_all()
    clock.advance(timedelta(days=15))  # Feb 1 at the site: the contract has ended
    [uncovered] = PlanRunner(site, settings, clock=clock).run_all()
    with site() as s:
        first, second = s.get(WorkOrderRow, covered), s.get(WorkOrderRow, uncovered)
        assert first is not None and second is not None
        assert (first.contractor, first.status, first.assigned_to) == (
            "liftco",
            "assigned",
            "liftco",
        )
        # A planned visit keeps its plan's clocks, not the contract's 2-hour call-out (review
        # 18e M3: every visit had counted as a late response on the scorecard).
        plan_clock = second.response_due - second.created_at
        assert first.response_due - first.created_at == plan_clock != timedelta(minutes=120)
        assert (second.contractor, second.status) == (None, "open")
