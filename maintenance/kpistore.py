"""KPIs and report data from the store: rows for `maintenance.kpis`, per site (or building)
and month, in the site's time zone and never before the site came under management."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.budgets import budget_entries, month_budget
from bldgwatch.maintenance.complaintkpis import complaint_rates
from bldgwatch.maintenance.complaintqueries import complaint_facts
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.errors import MaintenanceError, UnknownSite
from bldgwatch.maintenance.kpis import Cost, FollowUpFacts, OrderFacts, Period, SiteKpis, site_kpis
from bldgwatch.maintenance.models import (
    EquipmentRow,
    SiteRow,
    WorkOrderEventRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
)
from bldgwatch.maintenance.recordmodels import FollowUpRow, WorkOrderChargeRow
from bldgwatch.maintenance.roundmodels import OrderCheckRow
from bldgwatch.maintenance.rounds import counts, history, rounds_of
from bldgwatch.maintenance.stage import FitCache, assess_stage

BACK_TO_WORK = ("assigned", "open")
"""Where a resolved order goes when it is sent back to work (reopened)."""


class NoFigures(MaintenanceError):  # noqa: N818
    """A month outside the site's managed life: before it came under management, or to come
    (HTTP 404, naming the months there are)."""

    def __init__(
        self, site: str, month: str, first: str, last: str, *, since: str | None = None
    ) -> None:
        params = {"site": site, "month": month, "first": first, "last": last, "since": since}
        key = "error.kpi.no_figures" if since is None else "error.kpi.not_managed_yet"
        super().__init__(Message(key, params))
        self.first, self.last = first, last


@dataclass(frozen=True, slots=True)
class SiteClock:
    """A site's time zone and the first instant it is managed (None: no limit)."""

    site: str
    tz: str
    since: datetime | None

    def period(self, month: str | Period) -> Period:
        """The month in the site's time zone."""
        if isinstance(month, Period):
            return Period(month.year, month.month, self.tz)
        return Period.parse(month, self.tz)

    def months(self, now: datetime) -> tuple[Period, Period]:
        """The first and the last month with figures (the current one is the last)."""
        last = Period.of(now, self.tz)
        first = Period.of(self.since, self.tz) if self.since is not None else last
        return (first if first.start <= last.start else last), last

    def check(self, period: Period, now: datetime) -> None:
        """NoFigures unless the month lies in the site's managed life."""
        first, last = self.months(now)
        if self.since is not None and self.since > now:  # managed from a day still to come
            since = self.since.astimezone(ZoneInfo(self.tz)).date().isoformat()
            raise NoFigures(self.site, period.label, first.label, last.label, since=since)
        if (self.since is not None and period.end <= self.since) or period.start > now:
            raise NoFigures(self.site, period.label, first.label, last.label)


def site_clock(session: Session, site: str) -> SiteClock:
    """The site's clock (UnknownSite when it is not registered)."""
    row = session.get(SiteRow, site)
    if row is None:
        raise UnknownSite(site)
    since = row.registered_at
    if row.since is not None:
        since = Period(row.since.year, row.since.month, row.timezone).day_start(row.since)
    return SiteClock(site, row.timezone, since)


def _equipment_ids(session: Session, site: str, building: str | None) -> list[str]:
    stmt = select(EquipmentRow.id).where(EquipmentRow.site == site)
    if building is not None:
        stmt = stmt.where(EquipmentRow.building == building)
    return list(session.scalars(stmt.order_by(EquipmentRow.id)))


def _orders(
    session: Session, site: str, until: datetime, units: list[str] | None
) -> list[WorkOrderRow]:
    stmt = select(WorkOrderRow).where(WorkOrderRow.site == site, WorkOrderRow.created_at < until)
    if units is not None:
        stmt = stmt.where(WorkOrderRow.equipment.in_(units))
    return list(session.scalars(stmt))


def _checks(session: Session, ids: list[int], until: datetime) -> dict[int, tuple[int, int]]:
    """Per preventive order: the items of its checklist, and those ticked before `until`; an
    item withdrawn before `until` is on neither side (review 19e M2)."""
    if not ids:
        return {}
    ticked = case((OrderCheckRow.done_at < until, 1), else_=0)
    rows = session.execute(
        select(OrderCheckRow.work_order_id, func.count(), func.sum(ticked))
        .where(
            OrderCheckRow.work_order_id.in_(ids),
            or_(OrderCheckRow.withdrawn_at.is_(None), OrderCheckRow.withdrawn_at >= until),
        )
        .group_by(OrderCheckRow.work_order_id)
    )
    return {oid: (int(due), int(done or 0)) for oid, due, done in rows}


def order_facts(
    session: Session, site: str, until: datetime, units: list[str] | None = None
) -> list[OrderFacts]:
    """Every order of the site (of `units` when given) created before `until`, with response,
    verification and follow-up facts."""
    orders = _orders(session, site, until, units)
    ids = [o.id for o in orders]
    responded: dict[int, datetime] = {}
    verified: set[int] = set()
    followed: dict[int, datetime] = {}
    reopened: set[int] = set()
    checks = _checks(session, [o.id for o in orders if o.kind == "preventive"], until)
    if ids:
        rows = session.execute(
            select(
                WorkOrderEventRow.work_order_id,
                WorkOrderEventRow.from_status,
                WorkOrderEventRow.to_status,
                WorkOrderEventRow.at,
            ).where(
                WorkOrderEventRow.work_order_id.in_(ids),
                WorkOrderEventRow.to_status.in_(["in_progress", "verified", *BACK_TO_WORK]),
                WorkOrderEventRow.from_status != WorkOrderEventRow.to_status,
            )
        ).all()
        for oid, src, status, at in rows:
            if status == "verified":
                verified.add(oid)
            elif status in BACK_TO_WORK:
                if src == "resolved":  # reopened: a 回访 or the fault coming back
                    reopened.add(oid)
            elif oid not in responded or at < responded[oid]:
                responded[oid] = at
        for oid, at, outcome in session.execute(
            select(FollowUpRow.work_order_id, FollowUpRow.at, FollowUpRow.outcome).where(
                FollowUpRow.work_order_id.in_(ids)
            )
        ):
            followed[oid] = min(at, followed.get(oid, at))
            if outcome != "satisfied":
                reopened.add(oid)
    return [
        OrderFacts(
            id=o.id,
            equipment=o.equipment,
            kind=o.kind,
            priority=o.priority,
            status=o.status,
            created_at=o.created_at,
            response_due=o.response_due,
            resolution_due=o.resolution_due,
            family=o.family,
            responded_at=responded.get(o.id),
            resolved_at=o.resolved_at,
            closed_at=o.closed_at,
            verified=o.id in verified,
            downtime_h=o.downtime_h,
            followed_up=followed.get(o.id),
            reopened=o.id in reopened,
            checks_due=checks.get(o.id, (0, 0))[0],
            checks_done=checks.get(o.id, (0, 0))[1],
        )
        for o in orders
    ]


def follow_up_facts(
    session: Session, site: str, period: Period, units: list[str] | None = None
) -> list[FollowUpFacts]:
    """The follow-ups (回访) of the site's orders made in the period."""
    stmt = (
        select(FollowUpRow.at, FollowUpRow.outcome, FollowUpRow.satisfaction)
        .join(WorkOrderRow, WorkOrderRow.id == FollowUpRow.work_order_id)
        .where(
            WorkOrderRow.site == site,
            FollowUpRow.at >= period.start,
            FollowUpRow.at < period.end,
        )
    )
    if units is not None:
        stmt = stmt.where(WorkOrderRow.equipment.in_(units))
    return [FollowUpFacts(at, outcome, score) for at, outcome, score in session.execute(stmt)]


def booked_costs(
    session: Session, site: str, period: Period, units: list[str] | None = None
) -> list[Cost]:
    """Labour, parts and contractor charges booked on the site's orders in the period:
    (when, amount, category)."""
    sources = (
        ("labour", WorkOrderLabourRow, WorkOrderLabourRow.hours * WorkOrderLabourRow.rate),
        ("parts", WorkOrderPartRow, WorkOrderPartRow.quantity * WorkOrderPartRow.unit_cost),
        ("contractors", WorkOrderChargeRow, WorkOrderChargeRow.amount),
    )
    found: list[Cost] = []
    for category, table, amount in sources:
        # an approved line counts when it was approved, not booked: a past month's report does
        # not change after it went out (review 19h L8); a line counted at once when booked
        when = func.coalesce(table.decided_at, table.at)
        stmt = (
            select(when, amount)
            .join(WorkOrderRow, WorkOrderRow.id == table.work_order_id)
            .where(WorkOrderRow.site == site, when >= period.start, when < period.end)
        )
        if units is not None:
            stmt = stmt.where(WorkOrderRow.equipment.in_(units))
        # a line awaiting or refused approval: not yet (review 19e H1, 19g)
        stmt = stmt.where(table.approval.is_(None) | (table.approval == "approved"))
        found += [(at, float(value), category) for at, value in session.execute(stmt)]
    return found


def kpis_for(
    session: Session,
    site: str,
    period: Period | str,
    as_of: datetime,
    *,
    building: str | None = None,
) -> SiteKpis:
    """One site's (or building's) KPIs for one month in the site's time zone.

    UnknownSite when the site is not registered; NoFigures for a month outside its managed
    life (before `since`, or to come). A whole site's figures include its complaints'.
    """
    clock = site_clock(session, site)
    month = clock.period(period)
    clock.check(month, as_of)
    fleet = _equipment_ids(session, site, building)
    units = fleet if building is not None else None
    budget = month_budget(budget_entries(session, site, month.year), month.label, building)
    figures = site_kpis(
        site,
        month,
        order_facts(session, site, min(as_of, month.end), units),
        units=len(fleet),
        costs=booked_costs(session, site, month, units),
        budget=budget,
        as_of=as_of,
        since=clock.since,
        fleet=fleet,
        follow_ups=follow_up_facts(session, site, month, units),
        building=building,
    )
    if building is not None:  # complaints name buildings as written, not by register id
        return figures
    complaints = complaint_rates(complaint_facts(session, site, month), month, as_of)
    late, missed = _round_counts(session, site, month, as_of)
    return replace(figures, **asdict(complaints), rounds_late=late, rounds_missed=missed)


def _round_counts(session: Session, site: str, month: Period, as_of: datetime) -> tuple[int, int]:
    """The site's inspection rounds' due points of the month until `as_of` done late and
    missed (review 19r L1)."""
    until = min(month.end, as_of) - timedelta(microseconds=1)
    after = month.start - timedelta(microseconds=1)
    points = [
        p for row in rounds_of(session, {site}) for p in history(session, row, after, until, as_of)
    ]
    tally = counts(points)
    return tally["late"], tally["missed"]


@dataclass(frozen=True, slots=True)
class Pareto:
    """Failures of a month counted by equipment, by cause (the completion record's cause code,
    else the fault code) and by fault code, largest first."""

    by_equipment: list[tuple[str, int]]
    by_cause: list[tuple[str, int]]
    by_fault: list[tuple[str, int]] | None = None


def failure_pareto(
    session: Session, site: str, period: Period, building: str | None = None
) -> Pareto:
    """Reactive orders created in the period, by equipment, cause and fault code."""
    clock = site_clock(session, site)
    month = clock.period(period)
    stmt = select(WorkOrderRow.equipment, WorkOrderRow.fault_code, WorkOrderRow.cause_code).where(
        WorkOrderRow.site == site,
        WorkOrderRow.kind == "reactive",
        WorkOrderRow.status != "cancelled",
        WorkOrderRow.created_at >= month.start,
        WorkOrderRow.created_at < month.end,
    )
    if building is not None:
        stmt = stmt.where(WorkOrderRow.equipment.in_(_equipment_ids(session, site, building)))
    rows = session.execute(stmt).all()
    equipment = Counter(eq for eq, _, _ in rows)
    causes = Counter(cause or code or "unknown" for _, code, cause in rows)
    faults = Counter(code or "unknown" for _, code, _ in rows)
    return Pareto(equipment.most_common(), causes.most_common(), faults.most_common())


def stage_mix(
    session: Session,
    site: str,
    as_of: datetime,
    config: StageConfig,
    fits: FitCache | None = None,
    *,
    building: str | None = None,
) -> dict[str, int]:
    """Life stage of every registered equipment of the site at `as_of`, counted per stage."""
    stmt = select(EquipmentRow).where(EquipmentRow.site == site)
    if building is not None:
        stmt = stmt.where(EquipmentRow.building == building)
    fits = fits or FitCache()
    mix = Counter(
        assess_stage(
            session,
            site=site,
            equipment=unit.id,
            equipment_type=unit.type,
            as_of=as_of,
            config=config,
            fits=fits,
        ).stage.value
        for unit in session.scalars(stmt)
    )
    return {stage: mix.get(stage, 0) for stage in ("early", "mid", "late")}


def opened_per_day(
    session: Session, site: str, period: Period, building: str | None = None
) -> list[tuple[date, int]]:
    """Orders opened on each site-local day of the month (days with none left out)."""
    clock = site_clock(session, site)
    month = clock.period(period)
    stmt = select(WorkOrderRow.created_at).where(
        WorkOrderRow.site == site,
        WorkOrderRow.created_at >= month.start,
        WorkOrderRow.created_at < month.end,
    )
    if building is not None:
        stmt = stmt.where(WorkOrderRow.equipment.in_(_equipment_ids(session, site, building)))
    days = Counter(month.day_of(at) for at in session.scalars(stmt))
    return sorted(days.items())
