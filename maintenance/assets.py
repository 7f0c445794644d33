"""The asset register: import/export of site files, and each equipment's history file."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.site import (
    BuildingSpec,
    EnergySpec,
    EquipmentSpec,
    MeterSpec,
    OccupancyWindow,
    SiteSpec,
)
from bldgwatch.core.workcal import CalendarSpec
from bldgwatch.maintenance.errors import UnknownSite
from bldgwatch.maintenance.models import (
    BuildingRow,
    EquipmentRow,
    IncidentAlarmRow,
    SiteRow,
    WorkOrderEventRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
    counted_labour,
    counted_part,
)

logger = logging.getLogger(__name__)

EQUIPMENT_FIELDS = (
    "building",
    "type",
    "name",
    "gateway",
    "location",
    "model",
    "machine_class",
    "installed",
    "last_overhaul",
    "rated",
    "params",
)


@dataclass(slots=True)
class ImportReport:
    """What an import changed (buildings and equipment together)."""

    site: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class EquipmentHistory:
    """An equipment's history file (设备履历): the asset, its work orders (with repair class,
    root cause, downtime, labour hours and cost on each), their events, attached alarms,
    parts and labour.

    `alarms` are the alarm transitions maintenance attached to the equipment's orders
    (event id, alarm id, time); the console joins them with the alarm store for details.
    """

    asset: EquipmentRow | None
    work_orders: list[WorkOrderRow] = field(default_factory=list)
    events: list[WorkOrderEventRow] = field(default_factory=list)
    alarms: list[IncidentAlarmRow] = field(default_factory=list)
    parts: list[WorkOrderPartRow] = field(default_factory=list)
    labour: list[WorkOrderLabourRow] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        """Sums over the history: orders, labour hours and cost, parts cost, downtime, classes."""
        parts_cost = sum(p.quantity * p.unit_cost for p in self.parts)
        labour_cost = sum(lab.hours * lab.rate for lab in self.labour)
        classes: dict[str, int] = {}
        for order in self.work_orders:
            if order.repair_class:
                classes[order.repair_class] = classes.get(order.repair_class, 0) + 1
        return {
            "orders": len(self.work_orders),
            "labour_hours": round(sum(lab.hours for lab in self.labour), 3),
            "parts_cost": round(parts_cost, 2),
            "labour_cost": round(labour_cost, 2),
            "cost": round(sum(o.cost for o in self.work_orders), 2),
            "downtime_h": round(sum(o.downtime_h or 0.0 for o in self.work_orders), 3),
            "repair_classes": classes,
        }


def _apply(row: Any, values: dict[str, Any], report: ImportReport) -> None:
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    for key, value in changed.items():
        setattr(row, key, value)
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1


def _equipment_values(spec: EquipmentSpec) -> dict[str, Any]:
    values = {name: getattr(spec, name) for name in EQUIPMENT_FIELDS}
    values["rated"] = dict(spec.rated)
    values["params"] = dict(spec.params)
    values["meter"] = spec.meter.model_dump(exclude_none=True) if spec.meter else None
    values["curve"] = (
        [p.model_dump(exclude_none=True) for p in spec.curve] if spec.curve is not None else None
    )
    values["serves"] = spec.serves
    return values


def _upsert_building(session: Session, site: str, spec: BuildingSpec, rep: ImportReport) -> None:
    row = session.get(BuildingRow, (site, spec.id))
    occupancy = _windows(spec.occupancy)
    if row is None:
        session.add(
            BuildingRow(
                site=site, id=spec.id, name=spec.name, area_m2=spec.area_m2, occupancy=occupancy
            )
        )
        rep.added += 1
    else:
        _apply(row, {"name": spec.name, "area_m2": spec.area_m2, "occupancy": occupancy}, rep)


def _windows(windows: list[OccupancyWindow] | None) -> list[dict[str, Any]] | None:
    if windows is None:
        return None
    return [w.model_dump(mode="json") for w in windows]


def _upsert_equipment(session: Session, site: str, spec: EquipmentSpec, rep: ImportReport) -> None:
    values = _equipment_values(spec)
    row = session.get(EquipmentRow, (site, spec.id))
    if row is None:
        session.add(EquipmentRow(site=site, id=spec.id, **values))
        rep.added += 1
    else:
        _apply(row, values, rep)


def import_site(session: Session, spec: SiteSpec, *, at: datetime | None = None) -> ImportReport:
    """Upsert a site file into sites/buildings/equipment; re-imports update, never duplicate.

    The site's time zone and `since` follow the file; the first import records when the site
    was registered (`at`, now when None), where its figures start when the file gives no
    `since`. Equipment missing from the file is kept (its history stays); the caller commits.
    """
    site = session.get(SiteRow, spec.site)
    if site is None:
        site = SiteRow(id=spec.site, registered_at=at or datetime.now(UTC))
        session.add(site)
    site.name, site.timezone, site.language = spec.name, spec.timezone, spec.language
    site.since = spec.since
    site.energy = spec.energy.model_dump(exclude_defaults=True) or None
    site.occupancy = _windows(spec.occupancy) or None
    site.calendar = spec.calendar.stored() if spec.calendar is not None else None
    session.flush()
    report = ImportReport(site=spec.site)
    for building in spec.buildings:
        _upsert_building(session, spec.site, building, report)
    session.flush()
    for equipment in spec.equipment:
        _upsert_equipment(session, spec.site, equipment, report)
    session.flush()
    logger.info(
        "site %s imported: %d added, %d updated, %d unchanged",
        spec.site,
        report.added,
        report.updated,
        report.unchanged,
    )
    return report


def calendar_of_row(row: SiteRow | None) -> CalendarSpec | None:
    """A registered site's working calendar (None: Monday to Friday)."""
    if row is None or row.calendar is None:
        return None
    return CalendarSpec.model_validate(row.calendar)


def calendar_of(session: Session, site: str) -> CalendarSpec | None:
    """The working calendar of a site of the register (None: Monday to Friday)."""
    return calendar_of_row(session.get(SiteRow, site))


def export_site(session: Session, site: str) -> SiteSpec:
    """The site as a SiteSpec (the same shape as a site file)."""
    row = session.get(SiteRow, site)
    if row is None:
        raise UnknownSite(site)
    buildings = session.scalars(
        select(BuildingRow).where(BuildingRow.site == site).order_by(BuildingRow.id)
    ).all()
    equipment = session.scalars(
        select(EquipmentRow).where(EquipmentRow.site == site).order_by(EquipmentRow.id)
    ).all()
    return SiteSpec(
        site=row.id,
        name=row.name,
        timezone=row.timezone,
        since=row.since,
        language=row.language,
        energy=EnergySpec.model_validate(row.energy or {}),
        occupancy=row.occupancy or [],
        calendar=calendar_of_row(row),
        buildings=[
            BuildingSpec(id=b.id, name=b.name, area_m2=b.area_m2, occupancy=b.occupancy)
            for b in buildings
        ],
        equipment=[
            EquipmentSpec(
                id=e.id,
                **{name: getattr(e, name) for name in EQUIPMENT_FIELDS},
                meter=MeterSpec.model_validate(e.meter) if e.meter is not None else None,
                curve=e.curve,
                serves=e.serves,
            )
            for e in equipment
        ],
    )


def equipment_history(session: Session, site: str, equipment: str) -> EquipmentHistory:
    """The equipment's history file in one call: asset row, work orders (newest first) with
    repair class, root cause, downtime, labour hours and cost, their events, alarms, parts and
    labour rows (oldest first). `totals()` sums it up."""
    orders = list(
        session.scalars(
            select(WorkOrderRow)
            .where(WorkOrderRow.site == site, WorkOrderRow.equipment == equipment)
            .order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
        ).all()
    )
    ids = [o.id for o in orders]
    events: list[WorkOrderEventRow] = []
    alarms: list[IncidentAlarmRow] = []
    parts: list[WorkOrderPartRow] = []
    labour: list[WorkOrderLabourRow] = []
    if ids:
        parts = list(
            session.scalars(
                select(WorkOrderPartRow)
                .where(WorkOrderPartRow.work_order_id.in_(ids), counted_part())
                .order_by(WorkOrderPartRow.at, WorkOrderPartRow.id)
            ).all()
        )
        labour = list(
            session.scalars(
                select(WorkOrderLabourRow)
                .where(WorkOrderLabourRow.work_order_id.in_(ids), counted_labour())
                .order_by(WorkOrderLabourRow.at, WorkOrderLabourRow.id)
            ).all()
        )
        events = list(
            session.scalars(
                select(WorkOrderEventRow)
                .where(WorkOrderEventRow.work_order_id.in_(ids))
                .order_by(WorkOrderEventRow.at, WorkOrderEventRow.id)
            ).all()
        )
        alarms = list(
            session.scalars(
                select(IncidentAlarmRow)
                .where(IncidentAlarmRow.work_order_id.in_(ids))
                .order_by(IncidentAlarmRow.at, IncidentAlarmRow.event_id)
            ).all()
        )
    return EquipmentHistory(
        asset=session.get(EquipmentRow, (site, equipment)),
        work_orders=orders,
        events=events,
        alarms=alarms,
        parts=parts,
        labour=labour,
    )
