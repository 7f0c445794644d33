"""Reads of the maintenance tables for other packages (the console's API).

Maintenance owns the asset register, work orders and their records and the preventive plans,
so the SQL on them lives here; a reader passes its session, filters and page and gets rows
back. `sites` is the reader's scope (None: every site).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, select, true
from sqlalchemy.orm import Session

from bldgwatch.core.db import fetch_page, where_given
from bldgwatch.core.site import DEFAULT_TIMEZONE
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    BuildingRow,
    EquipmentRow,
    IncidentAlarmRow,
    PlanStateRow,
    PmPlanRow,
    SiteRow,
    WorkOrderEventRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
)
from bldgwatch.maintenance.recordmodels import AttachmentRow, FollowUpRow, WorkOrderChargeRow

TABLES = frozenset(
    m.__tablename__ for m in (SiteRow, BuildingRow, EquipmentRow, WorkOrderRow, WorkOrderEventRow)
)
"""The tables every reader needs (what a reader's health check looks for)."""

_FINISHED = [s.value for s in TERMINAL_STATUSES]

Page = tuple[list[Any], int]
"""Rows of one page, and how many match over all pages."""


def _in_scope(
    column: SQLColumnExpression[str], sites: Collection[str] | None
) -> ColumnElement[bool]:
    return true() if sites is None else column.in_(sorted(sites))


# -- the asset register ---------------------------------------------------------------------
def site(session: Session, site_id: str) -> SiteRow | None:
    """One site."""
    return session.get(SiteRow, site_id)


def site_languages(session: Session) -> dict[str, str]:
    """Each site's default language, by site id."""
    rows = session.execute(select(SiteRow.id, SiteRow.language)).all()
    return {str(site): str(language) for site, language in rows}


def zone_of(session: Session, sites: Collection[str] | None) -> str:
    """The time zone of the given sites (the most common one; Asia/Shanghai for none)."""
    stmt = select(SiteRow.timezone).where(_in_scope(SiteRow.id, sites)).order_by(SiteRow.id)
    zones = list(session.scalars(stmt))
    return max(dict.fromkeys(zones), key=zones.count) if zones else DEFAULT_TIMEZONE


def site_ids(session: Session, sites: Collection[str] | None) -> list[str]:
    """Ids of the registered sites in scope."""
    return list(session.scalars(select(SiteRow.id).where(_in_scope(SiteRow.id, sites))))


def list_sites(session: Session, sites: Collection[str] | None, *, limit: int, offset: int) -> Page:
    """A page of sites in scope, by id."""
    stmt = select(SiteRow).where(_in_scope(SiteRow.id, sites))
    return fetch_page(session, stmt, (SiteRow.id,), limit=limit, offset=offset)


def buildings_of(session: Session, ids: Collection[str]) -> dict[str, list[BuildingRow]]:
    """The buildings of each site, by id."""
    found: dict[str, list[BuildingRow]] = defaultdict(list)
    stmt = select(BuildingRow).where(BuildingRow.site.in_(list(ids))).order_by(BuildingRow.id)
    for row in session.scalars(stmt):
        found[row.site].append(row)
    return found


def equipment_counts(session: Session, ids: Collection[str]) -> dict[str, int]:
    """How much equipment each site has."""
    rows = session.execute(
        select(EquipmentRow.site, func.count())
        .where(EquipmentRow.site.in_(list(ids)))
        .group_by(EquipmentRow.site)
    ).all()
    return {str(s): int(n) for s, n in rows}


@dataclass(frozen=True, slots=True)
class EquipmentFilter:
    """Which equipment a listing shows; None means "any"."""

    sites: Collection[str] | None = None
    site: str | None = None
    type: str | None = None
    building: str | None = None
    id: str | None = None


def list_equipment(session: Session, wanted: EquipmentFilter, *, limit: int, offset: int) -> Page:
    """A page of equipment, by site and id."""
    stmt = where_given(
        select(EquipmentRow).where(_in_scope(EquipmentRow.site, wanted.sites)),
        (EquipmentRow.site, wanted.site),
        (EquipmentRow.type, wanted.type),
        (EquipmentRow.building, wanted.building),
        (EquipmentRow.id, wanted.id),
    )
    order = (EquipmentRow.site, EquipmentRow.id)
    return fetch_page(session, stmt, order, limit=limit, offset=offset)


def equipment(session: Session, site_id: str, equipment_id: str) -> EquipmentRow | None:
    """One registered equipment."""
    return session.get(EquipmentRow, (site_id, equipment_id))


# -- work orders -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which work orders a listing shows; None means "any"."""

    sites: Collection[str] | None = None
    site: str | None = None
    equipment: str | None = None
    statuses: Collection[str] | None = None
    kind: str | None = None
    open: bool | None = None
    assigned_to: str | None = None
    contractor: str | None = None
    """Only orders dispatched to this contractor ('' matches none: a contractor's user
    bound to no contractor)."""


def work_order(session: Session, order_id: int) -> WorkOrderRow | None:
    """One work order."""
    return session.get(WorkOrderRow, order_id)


def pending_spot_purchases(
    session: Session, sites: Collection[str] | None, site: str | None = None
) -> list[tuple[WorkOrderPartRow, WorkOrderRow]]:
    """Spot purchases awaiting a supervisor's approval in scope, with their orders, the
    oldest first (review 19f M3: visible on the order itself only, never decided)."""
    stmt = (
        select(WorkOrderPartRow, WorkOrderRow)
        .join(WorkOrderRow, WorkOrderRow.id == WorkOrderPartRow.work_order_id)
        .where(WorkOrderPartRow.approval == "pending", _in_scope(WorkOrderRow.site, sites))
        .order_by(WorkOrderPartRow.at, WorkOrderPartRow.id)
    )
    if site is not None:
        stmt = stmt.where(WorkOrderRow.site == site)
    return [(part, order) for part, order in session.execute(stmt).all()]


def pending_lines(
    session: Session, sites: Collection[str] | None, site: str | None = None
) -> list[tuple[str, WorkOrderPartRow | WorkOrderLabourRow | WorkOrderChargeRow, WorkOrderRow]]:
    """Every cost line awaiting approval in scope — parts, labour lines, contractor charges
    (review 19g) — as (kind, line, order), the oldest first."""
    found: list[
        tuple[str, WorkOrderPartRow | WorkOrderLabourRow | WorkOrderChargeRow, WorkOrderRow]
    ] = [("parts", part, order) for part, order in pending_spot_purchases(session, sites, site)]
    tables: tuple[tuple[str, type[WorkOrderLabourRow] | type[WorkOrderChargeRow]], ...] = (
        ("labour", WorkOrderLabourRow),
        ("charges", WorkOrderChargeRow),
    )
    for kind, table in tables:
        stmt = (
            select(table, WorkOrderRow)
            .join(WorkOrderRow, WorkOrderRow.id == table.work_order_id)
            .where(table.approval == "pending", _in_scope(WorkOrderRow.site, sites))
        )
        if site is not None:
            stmt = stmt.where(WorkOrderRow.site == site)
        found += [(kind, line, order) for line, order in session.execute(stmt).all()]  # type: ignore[misc]
    found.sort(key=lambda x: (x[1].at, x[0], x[1].id))
    return found


def list_work_orders(session: Session, wanted: OrderFilter, *, limit: int, offset: int) -> Page:
    """A page of work orders, newest first."""
    stmt = where_given(
        select(WorkOrderRow).where(_in_scope(WorkOrderRow.site, wanted.sites)),
        (WorkOrderRow.site, wanted.site),
        (WorkOrderRow.equipment, wanted.equipment),
        (WorkOrderRow.kind, wanted.kind),
        (WorkOrderRow.assigned_to, wanted.assigned_to),
        (WorkOrderRow.contractor, wanted.contractor),
    )
    if wanted.statuses:
        stmt = stmt.where(WorkOrderRow.status.in_(list(wanted.statuses)))
    if wanted.open is True:
        stmt = stmt.where(WorkOrderRow.status.not_in(_FINISHED))
    elif wanted.open is False:
        stmt = stmt.where(WorkOrderRow.status.in_(_FINISHED))
    order = (WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
    return fetch_page(session, stmt, order, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A work order with its timeline, attached alarms, labour, parts, contractor charges,
    attachments and follow-ups (all oldest first)."""

    order: WorkOrderRow
    events: list[WorkOrderEventRow]
    alarm_ids: list[str]
    labour: list[WorkOrderLabourRow]
    parts: list[WorkOrderPartRow]
    alarms: list[IncidentAlarmRow] = field(default_factory=list)
    charges: list[WorkOrderChargeRow] = field(default_factory=list)
    attachments: list[AttachmentRow] = field(default_factory=list)
    follow_ups: list[FollowUpRow] = field(default_factory=list)


def _of_order(session: Session, table: Any, order_id: int) -> list[Any]:
    return list(
        session.scalars(
            select(table).where(table.work_order_id == order_id).order_by(table.at, table.id)
        )
    )


def order_record(session: Session, order: WorkOrderRow) -> OrderRecord:
    """Everything stored about an order."""
    events = session.scalars(
        select(WorkOrderEventRow)
        .where(WorkOrderEventRow.work_order_id == order.id)
        .order_by(WorkOrderEventRow.at, WorkOrderEventRow.id)
    ).all()
    alarm_ids = session.scalars(
        select(IncidentAlarmRow.alarm_id)
        .where(IncidentAlarmRow.work_order_id == order.id)
        .group_by(IncidentAlarmRow.alarm_id)
        .order_by(IncidentAlarmRow.alarm_id)
    ).all()
    labour = session.scalars(
        select(WorkOrderLabourRow)
        .where(WorkOrderLabourRow.work_order_id == order.id)
        .order_by(WorkOrderLabourRow.at, WorkOrderLabourRow.id)
    ).all()
    parts = session.scalars(
        select(WorkOrderPartRow)
        .where(WorkOrderPartRow.work_order_id == order.id)
        .order_by(WorkOrderPartRow.at, WorkOrderPartRow.id)
    ).all()
    alarms = session.scalars(
        select(IncidentAlarmRow)
        .where(IncidentAlarmRow.work_order_id == order.id)
        .order_by(IncidentAlarmRow.at, IncidentAlarmRow.event_id)
    ).all()
    return OrderRecord(
        order,
        list(events),
        list(alarm_ids),
        list(labour),
        list(parts),
        alarms=list(alarms),
        charges=_of_order(session, WorkOrderChargeRow, order.id),
        attachments=_of_order(session, AttachmentRow, order.id),
        follow_ups=_of_order(session, FollowUpRow, order.id),
    )


def attachment(session: Session, order_id: int, attachment_id: int) -> AttachmentRow | None:
    """One attachment of an order."""
    row = session.get(AttachmentRow, attachment_id)
    return row if row is not None and row.work_order_id == order_id else None


def order_timeline(session: Session, order_id: int, *, limit: int, offset: int) -> Page:
    """A page of an order's transitions and notes, oldest first."""
    stmt = select(WorkOrderEventRow).where(WorkOrderEventRow.work_order_id == order_id)
    order = (WorkOrderEventRow.at, WorkOrderEventRow.id)
    return fetch_page(session, stmt, order, limit=limit, offset=offset)


# -- preventive plans ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlanOnEquipment:
    """A preventive plan as it applies to one equipment, and where it stands."""

    plan: PmPlanRow
    equipment: str
    last_due: datetime | None
    last_step: int | None


def pm_plan_rows(session: Session) -> dict[str, PmPlanRow]:
    """Every registered preventive plan, by id."""
    return {row.id: row for row in session.scalars(select(PmPlanRow))}


def plans_on_equipment(
    session: Session, site_id: str, equipment_id: str | None, *, limit: int, offset: int
) -> tuple[list[PlanOnEquipment], int]:
    """A page of (plan, equipment) pairs of a site — every plan for each equipment of its
    type — by equipment and plan, with the last due time or counter step that opened an order."""
    # where_given takes any Select; this one has four columns.
    query = cast(
        "Select[Any]",
        select(PmPlanRow, EquipmentRow.id, PlanStateRow.last_due, PlanStateRow.last_step)
        .join(
            EquipmentRow,
            and_(EquipmentRow.type == PmPlanRow.equipment_type, EquipmentRow.site == site_id),
        )
        .outerjoin(
            PlanStateRow,
            and_(
                PlanStateRow.plan_id == PmPlanRow.id,
                PlanStateRow.site == site_id,
                PlanStateRow.equipment == EquipmentRow.id,
            ),
        ),
    )
    stmt = where_given(query, (EquipmentRow.id, equipment_id))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(EquipmentRow.id, PmPlanRow.id).limit(limit).offset(offset)
    ).all()
    found = [PlanOnEquipment(plan, eq, due, step) for plan, eq, due, step in rows]
    return found, int(total)


def orders_of_alarms(session: Session, alarm_ids: Collection[str]) -> dict[str, WorkOrderRow]:
    """The work order each alarm opened or joined (the newest when several), by alarm id."""
    if not alarm_ids:
        return {}
    ids = sorted(set(alarm_ids))
    attached = (
        select(IncidentAlarmRow.alarm_id, WorkOrderRow)
        .join(WorkOrderRow, WorkOrderRow.id == IncidentAlarmRow.work_order_id)
        .where(IncidentAlarmRow.alarm_id.in_(ids))
    )
    opened = select(WorkOrderRow.source_alarm_id, WorkOrderRow).where(
        WorkOrderRow.source_alarm_id.in_(ids)
    )
    found: dict[str, WorkOrderRow] = {}
    for stmt in (attached, opened):
        for alarm_id, order in session.execute(stmt):
            known = found.get(str(alarm_id))
            if known is None or order.created_at > known.created_at:
                found[str(alarm_id)] = order
    return found
