"""The service's clockwork besides alarms: preventive plans, escalation, missed rounds told
(`maintenance.roundnotices`), auto-assignment, and the monthly reports (`maintenance.monthly`).

`Housekeeper.build` makes the plan runner (counters from InfluxDB when configured), the
persistent APScheduler jobs and the work desk from the service config (their events and
notices go through the work-order outbox, which the service relays). At start
every plan is looked at once (catching up what fell due while the service was down); the
service loop calls `tick(now)`; overdue orders are escalated and missed rounds told every
`escalation_check_s`; every hour each pump's early baseline is kept once its first days
since install or overhaul are read (`maintenance.pumpstore.keep_baselines`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bldgwatch.core.clock import Clock
from bldgwatch.core.db import session_factory
from bldgwatch.core.site import site_zone
from bldgwatch.core.tsdb.base import TimeSeriesStore, TsdbError
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.incidents import IncidentPolicy
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.monthly import MonthlyReports
from bldgwatch.maintenance.pm import CounterReader, PlanRunner, PmScheduler, influx_counters
from bldgwatch.maintenance.pumpstore import keep_baselines
from bldgwatch.maintenance.roundnotices import flag_missed

logger = logging.getLogger(__name__)
PUMP_BASELINES_EVERY = timedelta(hours=1)


def _guarded(read: CounterReader) -> CounterReader:
    def guarded(equipment_type: str, field: str, site: str) -> dict[str, float]:
        try:
            return read(equipment_type, field, site)
        except TsdbError as err:
            logger.warning("counters %s.%s of %s not read: %s", equipment_type, field, site, err)
            return {}

    return guarded


class Housekeeper:
    """Plans, escalation and auto-assignment of one service instance."""

    def __init__(
        self,
        *,
        desk: WorkDesk,
        runner: PlanRunner,
        scheduler: PmScheduler | None,
        escalation_every: timedelta,
        store: TimeSeriesStore | None = None,
        clock: Clock,
        reports: MonthlyReports | None = None,
        reports_every: timedelta = timedelta(minutes=5),
        sessions: Callable[[], Session] | None = None,
    ) -> None:
        self.desk = desk
        self._sessions = sessions
        self.runner = runner
        self._scheduler = scheduler
        self._every = escalation_every
        self._store = store
        self._clock = clock
        self._next_check: datetime | None = None
        self.reports = reports
        self._reports_every = reports_every
        self._next_reports: datetime | None = None
        self._next_pumps: datetime | None = None

    @classmethod
    def build(
        cls,
        cfg: MaintenanceConfig,
        engine: Engine,
        *,
        policy: IncidentPolicy,
        clock: Clock,
        store: TimeSeriesStore | None = None,
    ) -> Housekeeper:
        """Everything from the service config; `store` (closed by `stop`) holds the counters."""
        sessions = session_factory(engine)
        desk = WorkDesk(sessions, roster=cfg.roster, sla=cfg.sla, stage=cfg.stage)
        counters = _guarded(influx_counters(store)) if store is not None else None
        if cfg.plans.counter_source == "none":
            counters = None
        runner = PlanRunner(
            sessions,
            cfg.plans,
            clock=clock,
            policy=policy,
            counters=counters,
        )
        scheduler = (
            PmScheduler(engine, runner, runner_id=cfg.instance) if cfg.plans.enabled else None
        )
        return cls(
            desk=desk,
            runner=runner,
            scheduler=scheduler,
            escalation_every=timedelta(seconds=cfg.escalation_check_s),
            store=store,
            clock=clock,
            reports=MonthlyReports(sessions, cfg.reports, cfg.notify, stage=cfg.stage, store=store),
            reports_every=timedelta(seconds=cfg.reports.check_interval_s),
            sessions=sessions,
        )

    def start(self) -> None:
        """Catch up the plans once, then let the scheduler wake them."""
        if self._scheduler is None:
            return
        try:
            opened = self.runner.run_all()
        except SQLAlchemyError as err:
            logger.error("plan catch-up failed (the scheduler retries): %s", err)
            opened = []
        logger.info("plans caught up: %d preventive orders opened", len(opened))
        self._scheduler.start()

    def tick(self, now: datetime) -> None:
        """Escalate overdue orders, tell missed rounds and send the monthly reports when their
        checks are due (called by the service loop)."""
        self._send_reports(now)
        self._keep_pump_baselines(now)
        if self._next_check is not None and now < self._next_check:
            return
        self._next_check = now + self._every
        try:
            self.desk.escalate(now)
        except SQLAlchemyError as err:
            logger.error("escalation check failed, retrying next time: %s", err)
        self._tell_missed(now)

    def _tell_missed(self, now: datetime) -> None:
        if self._sessions is None:
            return
        try:
            with self._sessions() as session:
                told = flag_missed(session, now)
                session.commit()
        except SQLAlchemyError as err:
            logger.error("missed-rounds check failed, retrying next time: %s", err)
            return
        if told:
            logger.info("%d missed round points to tell their supervisors", len(told))

    def _keep_pump_baselines(self, now: datetime) -> None:
        """Hourly: keep each pump's early baseline once its first days are read (they leave
        the raw readings after 30 days)."""
        if self._sessions is None or self._store is None:
            return
        if self._next_pumps is not None and now < self._next_pumps:
            return
        self._next_pumps = now + PUMP_BASELINES_EVERY
        try:
            with self._sessions() as session:
                sites = session.scalars(select(SiteRow)).all()
                for site in sites:
                    made = keep_baselines(
                        session, self._store, site.id, site_zone(site.timezone), now
                    )
                    if made:
                        logger.info("pump baselines kept for %s: %s", site.id, made)
                session.commit()
        except (SQLAlchemyError, TsdbError) as err:
            logger.error("pump baselines not kept, retrying next time: %s", err)

    def _send_reports(self, now: datetime) -> None:
        if self.reports is None or (self._next_reports is not None and now < self._next_reports):
            return
        self._next_reports = now + self._reports_every
        try:
            self.reports.run_due(now)
        except SQLAlchemyError as err:
            logger.error("monthly reports check failed, retrying next time: %s", err)

    def on_created(self, order_id: int) -> None:
        """A new reactive order: assign it by the roster when configured."""
        try:
            self.desk.auto_assign(order_id, at=self._clock.now())
        except SQLAlchemyError as err:
            logger.error("auto-assignment of order %d failed: %s", order_id, err)

    def stop(self) -> None:
        """Stop the scheduler (jobs stay stored) and release connections."""
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._store is not None:
            self._store.close()
