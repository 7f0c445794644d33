"""KPIs and report data from the store: rows for `maintenance.kpis`, per site and month."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.errors import UnknownSite
from bldgwatch.maintenance.kpis import OrderFacts, Period, SiteKpis, site_kpis
from bldgwatch.maintenance.models import (
    BudgetRow,
    EquipmentRow,
    SiteRow,
    WorkOrderEventRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
)
from bldgwatch.maintenance.stage import FitCache, assess_stage


def order_facts(session: Session, site: str, until: datetime) -> list[OrderFacts]:
    """Every order of the site created before `until`, with response and verification facts."""
    orders = session.scalars(
        select(WorkOrderRow).where(WorkOrderRow.site == site, WorkOrderRow.created_at < until)
    ).all()
    ids = [o.id for o in orders]
    responded: dict[int, datetime] = {}
    verified: set[int] = set()
    if ids:
        rows = session.execute(
            select(
                WorkOrderEventRow.work_order_id, WorkOrderEventRow.to_status, WorkOrderEventRow.at
            ).where(
                WorkOrderEventRow.work_order_id.in_(ids),
                WorkOrderEventRow.to_status.in_(["in_progress", "verified"]),
                WorkOrderEventRow.from_status != WorkOrderEventRow.to_status,
            )
        ).all()
        for oid, status, at in rows:
            if status == "verified":
                verified.add(oid)
            elif oid not in responded or at < responded[oid]:
                responded[oid] = at
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
        )
        for o in orders
    ]


def booked_costs(session: Session, site: str, period: Period) -> list[tuple[datetime, float]]:
    """Labour and parts booked on the site's orders in the period: (when, amount)."""
    labour = session.execute(
        select(WorkOrderLabourRow.at, WorkOrderLabourRow.hours * WorkOrderLabourRow.rate)
        .join(WorkOrderRow, WorkOrderRow.id == WorkOrderLabourRow.work_order_id)
        .where(
            WorkOrderRow.site == site,
            WorkOrderLabourRow.at >= period.start,
            WorkOrderLabourRow.at < period.end,
        )
    ).all()
    parts = session.execute(
        select(WorkOrderPartRow.at, WorkOrderPartRow.quantity * WorkOrderPartRow.unit_cost)
        .join(WorkOrderRow, WorkOrderRow.id == WorkOrderPartRow.work_order_id)
        .where(
            WorkOrderRow.site == site,
            WorkOrderPartRow.at >= period.start,
            WorkOrderPartRow.at < period.end,
        )
    ).all()
    return [(at, float(amount)) for at, amount in [*labour, *parts]]


def set_budget(session: Session, site: str, month: str, amount: float) -> None:
    """Set a site's maintenance budget for `YYYY-MM`; the caller commits."""
    row = session.get(BudgetRow, (site, month))
    if row is None:
        session.add(BudgetRow(site=site, month=month, amount=amount))
    else:
        row.amount = amount
    session.flush()


def kpis_for(session: Session, site: str, period: Period, as_of: datetime) -> SiteKpis:
    """One site's KPIs for one month (UnknownSite when the site is not registered)."""
    if session.get(SiteRow, site) is None:
        raise UnknownSite(site)
    units = session.scalar(select(func.count()).where(EquipmentRow.site == site)) or 0
    budget = session.get(BudgetRow, (site, period.label))
    return site_kpis(
        site,
        period,
        order_facts(session, site, min(as_of, period.end)),
        units=int(units),
        costs=booked_costs(session, site, period),
        budget=budget.amount if budget is not None else None,
        as_of=as_of,
    )


@dataclass(frozen=True, slots=True)
class Pareto:
    """Failures of a month counted by equipment and by cause (fault code), largest first."""

    by_equipment: list[tuple[str, int]]
    by_cause: list[tuple[str, int]]


def failure_pareto(session: Session, site: str, period: Period) -> Pareto:
    """Reactive orders created in the period, by equipment and by fault code (or root cause)."""
    rows = session.execute(
        select(WorkOrderRow.equipment, WorkOrderRow.fault_code, WorkOrderRow.root_cause).where(
            WorkOrderRow.site == site,
            WorkOrderRow.kind == "reactive",
            WorkOrderRow.status != "cancelled",
            WorkOrderRow.created_at >= period.start,
            WorkOrderRow.created_at < period.end,
        )
    ).all()
    equipment = Counter(eq for eq, _, _ in rows)
    causes = Counter(code or cause or "unknown" for _, code, cause in rows)
    return Pareto(equipment.most_common(), causes.most_common())


def stage_mix(
    session: Session, site: str, as_of: datetime, config: StageConfig, fits: FitCache | None = None
) -> dict[str, int]:
    """Life stage of every registered equipment of the site at `as_of`, counted per stage."""
    units = session.scalars(select(EquipmentRow).where(EquipmentRow.site == site)).all()
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
        for unit in units
    )
    return {stage: mix.get(stage, 0) for stage in ("early", "mid", "late")}
