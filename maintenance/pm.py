"""Preventive orders in the store, and the APScheduler jobs that wake the plans.

`PlanRunner` opens the orders. Per plan and equipment it keeps where the plan stands
(`pm_plan_state`: the last due point or counter step) and opens at most one order per due
point: the order's `pm_key` (plan/site/equipment/due) is unique, the state moves in the same
transaction, so a restart neither loses nor duplicates a due order, and due points missed while
the service was down collapse into one. The first look at a plan and equipment only sets the
baseline (due from then on). Time comes from the runner's clock.

Calendar plans fall due on their trigger in each site's time zone (a crontab or every N days
from local midnight), so an elevator's half-monthly order opens at the site's midnight.

`PmScheduler` keeps one APScheduler 3 job per plan in a persistent SQLAlchemy job store (table
`pm_scheduler_jobs`, created by migration 0004_maintenance): each looks every
`check_interval_s` (a plan's sites may lie in several time zones; the runner computes each
site's due points); coalescing with no misfire grace runs a job missed while down once at
start. A job only asks the runner to look, so a stray or doubled run changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core.clock import Clock
from bldgwatch.core.tsdb.base import TimeSeriesStore
from bldgwatch.maintenance.checklists import put_checklist
from bldgwatch.maintenance.config import CalendarPlan, CounterPlan, PlanSettings
from bldgwatch.maintenance.contractors import dispatch_to
from bldgwatch.maintenance.events import CREATED, order_event
from bldgwatch.maintenance.incidents import IncidentPolicy
from bldgwatch.maintenance.models import (
    EquipmentRow,
    PlanStateRow,
    PmPlanRow,
    SchedulerJobRow,
    SiteRow,
    WorkOrderKind,
)
from bldgwatch.maintenance.outbox import enqueue
from bldgwatch.maintenance.plans import (
    calendar_due,
    counter_due,
    counter_step,
    describe_schedule,
    pm_key,
    schedule_rule,
)
from bldgwatch.maintenance.plantexts import PLAN_TITLE, plan_text, tasks_message, title_params
from bldgwatch.maintenance.sla import compute_due
from bldgwatch.maintenance.stage import assess_stage
from bldgwatch.maintenance.texts import english
from bldgwatch.maintenance.workorders import OrderDraft, insert_order

logger = logging.getLogger(__name__)

ACTOR = "pm"
JOB_TABLE = SchedulerJobRow.__tablename__
CounterReader = Callable[[str, str, str], dict[str, float]]  # (type, field, site) → values
Sessions = Callable[[], Session]


def _quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influx_counters(store: TimeSeriesStore) -> CounterReader:
    """Read the last value of a counter field per equipment of one site from InfluxDB."""

    def read(equipment_type: str, field: str, site: str) -> dict[str, float]:
        measurement, value = _quote_ident(equipment_type), _quote_ident(field)
        where = f'"site" = {_quote_str(site)}'
        query = (
            f'SELECT last({value}) AS value FROM {measurement} WHERE {where} GROUP BY "equipment"'  # noqa: S608 - quoted
        )
        rows = store.query(query)
        return {
            str(r["equipment"]): float(r["value"])
            for r in rows
            if r.get("equipment") and r.get("value") is not None
        }

    return read


class PlanRunner:
    """Opens preventive orders when plans fall due; one transaction per plan and equipment."""

    def __init__(
        self,
        sessions: Sessions,
        settings: PlanSettings,
        *,
        clock: Clock,
        policy: IncidentPolicy | None = None,
        counters: CounterReader | None = None,
    ) -> None:
        self._sessions = sessions
        self.settings = settings
        self._clock = clock
        self._policy = policy or IncidentPolicy()
        self._counters = counters
        self._lock = threading.Lock()

    def plan_ids(self) -> list[str]:
        """Ids of every configured plan."""
        return [p.id for p in self.settings.calendar] + [p.id for p in self.settings.counters]

    def run_all(self) -> list[int]:
        """Look at every plan now; ids of the orders opened."""
        return [oid for pid in self.plan_ids() for oid in self.run_plan(pid)]

    def run_plan(self, plan_id: str) -> list[int]:
        """Look at one plan now (what a scheduler job calls); ids of the orders opened."""
        with self._lock:  # one look at a time: jobs may overlap with the start-up catch-up
            now = self._clock.now()
            for cal in self.settings.calendar:
                if cal.id == plan_id:
                    return self._run_calendar(cal, now)
            for cnt in self.settings.counters:
                if cnt.id == plan_id:
                    return self._run_counter(cnt, now)
        logger.warning("no plan %r configured; ignoring its job", plan_id)
        return []

    def _units(self, equipment_type: str) -> list[tuple[str, str, str]]:
        """(site, equipment, the site's time zone) of every unit of the type."""
        with self._sessions() as session:
            rows = session.execute(
                select(EquipmentRow.site, EquipmentRow.id, SiteRow.timezone)
                .join(SiteRow, SiteRow.id == EquipmentRow.site)
                .where(EquipmentRow.type == equipment_type)
                .order_by(EquipmentRow.site, EquipmentRow.id)
            ).all()
        return [(site, eq, tz) for site, eq, tz in rows]

    def _run_calendar(self, plan: CalendarPlan, now: datetime) -> list[int]:
        triggers: dict[str, BaseTrigger] = {}
        opened = []
        for site, equipment, tz in self._units(plan.equipment_type):
            trigger = triggers.setdefault(tz, plan.trigger(tz))
            with self._sessions() as session:
                state = self._state(session, plan.id, site, equipment, now)
                if state.last_due is None:  # first look: due from now on
                    state.last_due = now
                    session.commit()
                    continue
                rhythm, since = self._rhythm(
                    session, plan, site, equipment, tz=tz, trigger=trigger, since=state.last_due,
                    now=now,
                )  # fmt: skip
                due = calendar_due(rhythm, since, now)
                if due is None:
                    session.rollback()
                    continue
                state.last_due, state.updated_at = due, now
                if self._included_that_day(session, plan, site, equipment, tz=tz, due=due):
                    session.commit()  # the higher level's order carries these items
                    continue
                oid = self._open(session, plan, site, equipment, due=due, key=due, now=now)
            if oid is not None:
                opened.append(oid)
        return opened

    def _run_counter(self, plan: CounterPlan, now: datetime) -> list[int]:
        if self._counters is None:
            return []
        opened = []
        units = self._units(plan.equipment_type)
        for site in sorted({s for s, _, _ in units}):
            values = self._counters(plan.equipment_type, plan.field, site)
            for equipment in (eq for s, eq, _ in units if s == site and eq in values):
                oid = self._counter_one(plan, site, equipment, values[equipment], now)
                if oid is not None:
                    opened.append(oid)
        return opened

    def _counter_one(
        self, plan: CounterPlan, site: str, equipment: str, value: float, now: datetime
    ) -> int | None:
        with self._sessions() as session:
            state = self._state(session, plan.id, site, equipment, now)
            step = counter_due(value, plan.every, state.last_step)
            if step is None:  # baseline, nothing new, or a counter that went backwards
                if state.last_step != counter_step(value, plan.every):
                    state.last_step, state.updated_at = counter_step(value, plan.every), now
                    session.commit()
                return None
            state.last_step, state.updated_at = step, now
            return self._open(session, plan, site, equipment, due=now, key=step, now=now)

    def _rhythm(
        self,
        session: Session,
        plan: CalendarPlan,
        site: str,
        equipment: str,
        *,
        tz: str,
        trigger: BaseTrigger,
        since: datetime,
        now: datetime,
    ) -> tuple[BaseTrigger, datetime]:
        """The trigger and point a plan with a rhythm of days runs on at this unit: its own,
        or, after a later visit of a plan whose visit includes it (the quarterly carries the
        half-monthly items), the rhythm restarted from that visit, so no two visits are more
        than `every_days` apart (TSG T5002: half-monthly at most 15 days, review 19e M3); the
        restarted rhythm holds until the next higher visit (review 19f M5)."""
        if plan.every_days is None:
            return trigger, since
        latest: datetime | None = None
        for other in self.settings.calendar:
            if other.id not in self.settings.including(plan.id):
                continue
            state = session.get(PlanStateRow, (other.id, site, equipment))
            visit = None if state is None else state.last_due
            if visit is None or visit > now or (latest is not None and visit <= latest):
                continue
            if other.trigger(tz).get_next_fire_time(None, visit) != visit:
                continue  # its first look (a baseline), not a visit
            latest = visit
        if latest is None:
            return trigger, since
        # anchored on the latest higher visit for good, not only until its next point
        # (review 19f M5: the plan's own rhythm took over again days later, two orders
        # 1–5 days apart four times a year)
        zone = ZoneInfo(tz)
        rhythm = IntervalTrigger(days=plan.every_days, start_date=latest, timezone=zone)
        return rhythm, max(since, latest)

    def _included_that_day(
        self,
        session: Session,
        plan: CalendarPlan,
        site: str,
        equipment: str,
        *,
        tz: str,
        due: datetime,
    ) -> bool:
        """Whether a plan whose visit includes this one (TSG T5002: the yearly includes the
        half-yearly …) falls due at this unit on the same local day: then that visit's one
        order carries these items too (review 19c-r M9). Only that day: a half-monthly point
        folded into a visit days before or after it left up to 22 days between visits
        (review 19e M3); instead the rhythm restarts from the higher visit (`_rhythm`), so
        the items are not due again within 15 days after it."""
        zone = ZoneInfo(tz)
        day = datetime.combine(due.astimezone(zone).date(), time(), zone)
        for other in self.settings.calendar:
            if other.id not in self.settings.including(plan.id):
                continue
            state = session.get(PlanStateRow, (other.id, site, equipment))
            if state is None:
                continue  # not looked at yet on this unit: it opens nothing for that day
            fires = other.trigger(tz).get_next_fire_time(None, day)
            if fires is not None and fires < day + timedelta(days=1):
                return True
        return False

    def plan_tasks(self, plan: CalendarPlan | CounterPlan) -> list[str]:
        """The checklist of a plan's order: its items, then those of the plans its visit
        includes (each item once)."""
        tasks = list(plan.tasks)
        if isinstance(plan, CalendarPlan):
            by_id = {p.id: p for p in self.settings.calendar}
            for pid in self.settings.included(plan.id):
                tasks.extend(t for t in by_id[pid].tasks if t not in tasks)
        return tasks

    @staticmethod
    def _state(
        session: Session, plan_id: str, site: str, equipment: str, now: datetime
    ) -> PlanStateRow:
        state = session.get(PlanStateRow, (plan_id, site, equipment), with_for_update=True)
        if state is None:
            state = PlanStateRow(plan_id=plan_id, site=site, equipment=equipment, updated_at=now)
            session.add(state)
        return state

    def _open(
        self,
        session: Session,
        plan: CalendarPlan | CounterPlan,
        site: str,
        equipment: str,
        *,
        due: datetime,
        key: datetime | int,
        now: datetime,
    ) -> int | None:
        """Insert the order and commit with the state; None when it exists already."""
        asset = session.get(EquipmentRow, (site, equipment))
        equipment_type = asset.type if asset is not None else plan.equipment_type
        stage = assess_stage(
            session,
            site=site,
            equipment=equipment,
            equipment_type=equipment_type,
            as_of=now,
            config=self._policy.stage,
            fits=self._policy.fits,
            condition=self._policy.condition,
        )
        sla = compute_due(self._policy.sla, priority=plan.priority, fault_code=None, started_at=due)
        tasks = self.plan_tasks(plan)
        described = tasks_message(tasks)
        draft = OrderDraft(
            site=site,
            equipment=equipment,
            kind=WorkOrderKind.PREVENTIVE,
            priority=plan.priority,
            title=f"{plan_text(plan.title, 'en')}: {equipment}",
            description="" if described is None else english(described),
            pm_key=pm_key(plan.id, site, equipment, key),
            texts={} if described is None else {"description": described.as_dict()},
            title_key=PLAN_TITLE,  # read in the reader's language (review 19r M6)
            title_params=title_params(plan.title, equipment),
        )
        try:
            order = insert_order(session, draft, due=sla, stage=stage, at=now, actor=ACTOR)
            put_checklist(session, order.id, tasks)
            enqueue(
                session,
                order_event(order, change=CREATED, cause=draft.pm_key or "", at=now, actor=ACTOR),
            )
            if plan.contractor is not None:
                dispatch_to(session, order, plan.contractor, equipment_type, at=now, actor=ACTOR)
            session.commit()
        except IntegrityError:
            session.rollback()
            logger.info("preventive order %s exists already", draft.pm_key)
            return None
        logger.info("opened preventive order %d (%s)", order.id, draft.pm_key)
        return order.id


# -- the APScheduler shell ----------------------------------------------------------------------
_RUNNERS: dict[str, PlanRunner] = {}


def run_job(runner_id: str, plan_id: str) -> None:
    """The scheduler's job function (referenced by name in the persistent job store)."""
    # Another instance sharing the job store may have written the job: any runner will do.
    runner = _RUNNERS.get(runner_id) or next(iter(_RUNNERS.values()), None)
    if runner is None:
        logger.warning("job for plan %s: runner %s not running", plan_id, runner_id)
        return
    runner.run_plan(plan_id)


class PmScheduler:
    """One persistent APScheduler job per plan, calling `PlanRunner.run_plan`."""

    def __init__(self, engine: Engine, runner: PlanRunner, *, runner_id: str) -> None:
        self._runner = runner
        self._id = runner_id
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone="UTC",
        )

    def _trigger(self, plan_id: str) -> BaseTrigger:
        # Every plan's job looks every `check_interval_s`: the due points themselves are
        # computed per site, in its time zone (sites of one plan may be in several zones).
        return IntervalTrigger(seconds=self._runner.settings.check_interval_s, timezone="UTC")

    def start(self) -> None:
        """Register the runner, reconcile the stored jobs with the plans and start."""
        _RUNNERS[self._id] = self._runner
        self.scheduler.start(paused=True)
        wanted = {f"pm:{pid}": pid for pid in self._runner.plan_ids()}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for job_id, plan_id in wanted.items():
            trigger = self._trigger(plan_id)
            job = self.scheduler.get_job(job_id)
            if job is not None and str(job.trigger) == str(trigger):
                continue  # kept: a run missed while down fires once (coalesced)
            self.scheduler.add_job(
                run_job, trigger, args=[self._id, plan_id], id=job_id, replace_existing=True
            )
        self.scheduler.resume()
        logger.info("PM scheduler started with %d plans", len(wanted))

    def stop(self) -> None:
        """Stop without waiting for new runs; jobs stay in the store."""
        self.scheduler.shutdown(wait=True)
        _RUNNERS.pop(self._id, None)


def register_plans(session: Session, settings: PlanSettings, at: datetime) -> int:
    """Write the plans this service runs into `pm_plans` (upsert by id), so that the console
    can show them; plans no longer configured are kept but marked disabled. The caller commits."""
    configured: dict[str, PmPlanRow] = {}
    plans: list[CalendarPlan | CounterPlan] = [*settings.calendar, *settings.counters]
    for plan in plans:
        configured[plan.id] = PmPlanRow(
            id=plan.id,
            kind="counter" if isinstance(plan, CounterPlan) else "calendar",
            equipment_type=plan.equipment_type,
            title=plan.title,
            schedule=describe_schedule(plan),
            rule=schedule_rule(plan),
            tasks=list(plan.tasks),
            priority=plan.priority,
            enabled=settings.enabled,
            updated_at=at,
        )
    for row in session.scalars(select(PmPlanRow)):
        if row.id not in configured and row.enabled:
            row.enabled = False
            row.updated_at = at
    for row in configured.values():
        session.merge(row)
    session.flush()
    return len(configured)
