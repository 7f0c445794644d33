"""The database side of failure-stage scoring: an asset's facts, its failures, class fits.

Class fits (`maintenance.bathtub`) are built from the asset register (install, last overhaul)
and the reactive work orders of every unit of the class, cached per class and refreshed when
older than `StageConfig.refit_hours`; a class with too little history has no fit and its
units are scored by the age bands.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.bathtub import BathtubFit, Segment
from bldgwatch.maintenance.condition import ConditionReader
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.lifecycle import AssetLife, fit_classes, segments_of
from bldgwatch.maintenance.models import EquipmentRow, WorkOrderKind, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.scoring import AssetFacts, FailureEvent, StageScore, score_stage

logger = logging.getLogger(__name__)


def asset_facts(session: Session, site: str, equipment: str, equipment_type: str) -> AssetFacts:
    """Facts from the asset register; an unregistered asset has no install date."""
    row = session.get(EquipmentRow, (site, equipment))
    if row is None:
        return AssetFacts(equipment=equipment, equipment_class=equipment_type)
    return AssetFacts(
        equipment=equipment,
        equipment_class=row.type,
        installed=row.installed,
        last_overhaul=row.last_overhaul,
    )


def _failures_filter(as_of: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        WorkOrderRow.kind == WorkOrderKind.REACTIVE.value,
        WorkOrderRow.status != WorkOrderStatus.CANCELLED.value,
        WorkOrderRow.created_at <= as_of,
    )


def failure_history(
    session: Session, site: str, equipment: str, as_of: datetime
) -> list[FailureEvent]:
    """Past failures: the equipment's reactive orders up to `as_of`, cancelled ones excepted."""
    rows = session.execute(
        select(WorkOrderRow.created_at, WorkOrderRow.family, WorkOrderRow.repair_class)
        .where(WorkOrderRow.site == site, WorkOrderRow.equipment == equipment)
        .where(*_failures_filter(as_of))
        .order_by(WorkOrderRow.created_at)
    ).all()
    return [FailureEvent(at=at, family=family, repair_class=rc) for at, family, rc in rows]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def class_segments(session: Session, equipment_class: str, as_of: datetime) -> list[Segment]:
    """Age segments of every registered unit of a class, with their failures."""
    units = session.scalars(select(EquipmentRow).where(EquipmentRow.type == equipment_class)).all()
    lives: dict[tuple[str, str], AssetLife] = {}
    for unit in units:
        if unit.installed is None:
            continue
        life = AssetLife(unit.id, unit.type, installed=True)
        life.renewals.append(_midnight(unit.installed))
        if unit.last_overhaul is not None and unit.last_overhaul > unit.installed:
            life.renewals.append(_midnight(unit.last_overhaul))
        lives[(unit.site, unit.id)] = life
    rows = session.execute(
        select(WorkOrderRow.site, WorkOrderRow.equipment, WorkOrderRow.created_at)
        .join(
            EquipmentRow,
            (EquipmentRow.site == WorkOrderRow.site) & (EquipmentRow.id == WorkOrderRow.equipment),
        )
        .where(EquipmentRow.type == equipment_class, *_failures_filter(as_of))
    ).all()
    for site, equipment, at in rows:
        if (site, equipment) in lives:
            lives[(site, equipment)].failures.append(at)
    return [seg for life in lives.values() for seg in segments_of(life, as_of)]


class FitCache:
    """Per-class bathtub fits, refreshed when older (in as-of time) than `refit_hours`."""

    def __init__(self) -> None:
        self._fits: dict[str, tuple[datetime, BathtubFit | None]] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, equipment_class: str, as_of: datetime, cfg: StageConfig
    ) -> BathtubFit | None:
        """The class's fit at `as_of` (None: too little history), from cache when fresh."""
        with self._lock:
            cached = self._fits.get(equipment_class)
        if cached is not None and abs(as_of - cached[0]) < timedelta(hours=cfg.refit_hours):
            return cached[1]
        segments = class_segments(session, equipment_class, as_of)
        fit = fit_classes({equipment_class: segments}, cfg).get(equipment_class)
        if fit is not None:
            logger.info(
                "bathtub fit of %s from %d failures: %s",
                equipment_class,
                fit.failures,
                fit.params.as_dict(),
            )
        with self._lock:
            self._fits[equipment_class] = (as_of, fit)
        return fit

    def clear(self) -> None:
        """Forget every fit (the next score refits)."""
        with self._lock:
            self._fits.clear()


def assess_stage(
    session: Session,
    *,
    site: str,
    equipment: str,
    equipment_type: str,
    as_of: datetime,
    config: StageConfig,
    fits: FitCache | None = None,
    condition: ConditionReader | None = None,
) -> StageScore:
    """Score the equipment's life stage at `as_of` from the register, its orders and its class.

    Without `fits` (a process-wide cache) the class is fitted afresh; with `condition` its
    condition indicators (e.g. the vibration trend from InfluxDB) refine the stage.
    """
    facts = asset_facts(session, site, equipment, equipment_type)
    if condition is not None:
        row = session.get(EquipmentRow, (site, equipment))
        machine_class = row.machine_class if row is not None else None
        indicators = condition(site, equipment, facts.equipment_class, machine_class, as_of)
        facts = replace(facts, condition=indicators)
    history = failure_history(session, site, equipment, as_of)
    fit = (fits or FitCache()).get(session, facts.equipment_class, as_of, config)
    return score_stage(facts, history, as_of, config, fit)
