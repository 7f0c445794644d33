"""The reads of complaints (投诉): listings with filters, one complaint with its timeline, a
household's history, and the facts the complaint KPIs count. The writes are
`maintenance.complaints`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from bldgwatch.core.db import fetch_page, where_given
from bldgwatch.maintenance.complaintkpis import ComplaintFacts
from bldgwatch.maintenance.complaintmodels import ComplaintEventRow, ComplaintRow
from bldgwatch.maintenance.complaints import building_key, household_key
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.models import WorkOrderRow


@dataclass(frozen=True, slots=True)
class ComplaintFilter:
    """What a listing is narrowed to; None: no narrowing."""

    sites: Collection[str] | None = None
    site: str | None = None
    open: bool | None = None
    overdue: bool | None = None
    channel: str | None = None
    category: str | None = None
    handler: str | None = None
    building: str | None = None
    room: str | None = None


def _overdue(now: datetime) -> ColumnElement[bool]:
    return or_(
        (ComplaintRow.resolved_at.is_(None) & (ComplaintRow.resolution_due <= now)),
        (
            ComplaintRow.resolved_at.is_(None)
            & ComplaintRow.responded_at.is_(None)
            & (ComplaintRow.response_due <= now)
        ),
    )


def list_complaints(
    session: Session, wanted: ComplaintFilter, *, now: datetime, limit: int, offset: int
) -> tuple[list[ComplaintRow], int]:
    """A page of complaints, newest received first, and how many match."""
    scope = true() if wanted.sites is None else ComplaintRow.site.in_(sorted(wanted.sites))
    stmt = where_given(
        select(ComplaintRow).where(scope),
        (ComplaintRow.site, wanted.site),
        (ComplaintRow.channel, wanted.channel),
        (ComplaintRow.category, wanted.category),
        (ComplaintRow.handler, wanted.handler),
    )
    if wanted.building is not None:
        stmt = stmt.where(
            ComplaintRow.household == household_key(wanted.building, wanted.room)
            if wanted.room
            else ComplaintRow.building_key == building_key(wanted.building)
        )
    if wanted.open is not None:
        stmt = stmt.where(
            ComplaintRow.resolved_at.is_(None)
            if wanted.open
            else ComplaintRow.resolved_at.isnot(None)
        )
    if wanted.overdue is not None:
        stmt = stmt.where(_overdue(now) if wanted.overdue else ~_overdue(now))
    order = (ComplaintRow.received_at.desc(), ComplaintRow.id.desc())
    return fetch_page(session, stmt, order, limit=limit, offset=offset)


def complaint(session: Session, complaint_id: int) -> ComplaintRow | None:
    """One complaint."""
    return session.get(ComplaintRow, complaint_id)


def timeline(session: Session, complaint_id: int) -> list[ComplaintEventRow]:
    """Every change of the complaint, oldest first."""
    stmt = (
        select(ComplaintEventRow)
        .where(ComplaintEventRow.complaint_id == complaint_id)
        .order_by(ComplaintEventRow.at, ComplaintEventRow.id)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class HouseholdHistory:
    """A household's complaints and the work orders linked to them, each newest first."""

    site: str
    household: str
    complaints: list[ComplaintRow]
    orders: list[WorkOrderRow]


def household_history(
    session: Session, site: str, building: str, room: str, *, limit: int = 200
) -> HouseholdHistory:
    """The household's complaints and the work orders they link to. Work orders have no
    household of their own (they belong to equipment), so only linked ones appear."""
    key = household_key(building, room)
    complaints = list(
        session.scalars(
            select(ComplaintRow)
            .where(ComplaintRow.site == site, ComplaintRow.household == key)
            .order_by(ComplaintRow.received_at.desc(), ComplaintRow.id.desc())
            .limit(limit)
        )
    )
    ids = {c.work_order_id for c in complaints if c.work_order_id is not None}
    orders = (
        list(
            session.scalars(
                select(WorkOrderRow)
                .where(WorkOrderRow.id.in_(sorted(ids)))
                .order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
            )
        )
        if ids
        else []
    )
    return HouseholdHistory(site, key, complaints, orders)


def complaint_facts(session: Session, site: str, period: Period) -> list[ComplaintFacts]:
    """The complaints of the site received in the period (its time zone), as KPI facts."""
    stmt = select(ComplaintRow).where(
        ComplaintRow.site == site,
        ComplaintRow.received_at >= period.start,
        ComplaintRow.received_at < period.end,
    )
    return [
        ComplaintFacts(
            received_at=c.received_at,
            response_due=c.response_due,
            resolution_due=c.resolution_due,
            responded_at=c.responded_at,
            resolved_at=c.resolved_at,
            outcome=c.outcome,
        )
        for c in session.scalars(stmt)
    ]


def complaints_by_category(session: Session, site: str, period: Period) -> dict[str, int]:
    """How many complaints of each category the site received in the period."""
    stmt = (
        select(ComplaintRow.category, func.count())
        .where(
            ComplaintRow.site == site,
            ComplaintRow.received_at >= period.start,
            ComplaintRow.received_at < period.end,
        )
        .group_by(ComplaintRow.category)
    )
    return {category: int(n) for category, n in session.execute(stmt)}
