"""The database side of failure-stage scoring: an asset's facts, its failures, class fits.

Class fits (`maintenance.fleetfit`, the Bayesian bathtub model) are built from the asset
register (install, last overhaul) and the reactive work orders of every unit, all classes
together so their priors pool, cached and refreshed when older than `StageConfig.refit_hours`;
a class with too few units has no fit and its units are scored by the age bands.
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
from bldgwatch.maintenance.fleetfit import ClassFit, UnitRecord, fit_fleet
from bldgwatch.maintenance.historycsv import AssetLife
from bldgwatch.maintenance.lifecycle import fit_classes, unit_record
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


def _life(unit: EquipmentRow) -> AssetLife:
    """A registered unit as a life history: install and last overhaul as its renewals."""
    life = AssetLife(unit.id, unit.type, installed=unit.installed is not None)
    if unit.installed is not None:
        life.renewals.append(_midnight(unit.installed))
    if unit.last_overhaul is not None and (
        unit.installed is None or unit.last_overhaul > unit.installed
    ):
        life.renewals.append(_midnight(unit.last_overhaul))
    return life


def unit_records(
    session: Session, as_of: datetime, equipment_class: str | None = None
) -> dict[str, list[UnitRecord]]:
    """Every registered unit (of one class, or of all) on its class's age axis, with its
    failures up to `as_of`; sites are pooled: a class is fitted across all of them."""
    query = select(EquipmentRow)
    if equipment_class is not None:
        query = query.where(EquipmentRow.type == equipment_class)
    lives = {(u.site, u.id): _life(u) for u in session.scalars(query).all()}
    rows = session.execute(
        select(WorkOrderRow.site, WorkOrderRow.equipment, WorkOrderRow.created_at)
        .join(
            EquipmentRow,
            (EquipmentRow.site == WorkOrderRow.site) & (EquipmentRow.id == WorkOrderRow.equipment),
        )
        .where(*_failures_filter(as_of))
        .where(*(() if equipment_class is None else (EquipmentRow.type == equipment_class,)))
    ).all()
    for site, equipment, at in rows:
        if (site, equipment) in lives:
            lives[(site, equipment)].failures.append(at)
    out: dict[str, list[UnitRecord]] = {}
    for (site, _id), life in lives.items():
        life.failures.sort()
        life.site = site
        out.setdefault(life.asset_class, []).append(unit_record(life, as_of))
    return out


def class_segments(session: Session, equipment_class: str, as_of: datetime) -> list[Segment]:
    """Age segments of every registered unit of a class whose age is known, with failures."""
    records = unit_records(session, as_of, equipment_class).get(equipment_class, [])
    return [seg for record in records for seg in record.segments]


class FitCache:
    """Class fits of the whole register, refreshed when older (in as-of time) than
    `refit_hours`. The Bayesian model fits every class at once (their priors pool); the
    plain MLE model (`model: mle`) fits each class on demand; the age bands fit nothing."""

    def __init__(self) -> None:
        self._fits: tuple[datetime, dict[str, ClassFit | BathtubFit | None]] | None = None
        self._lock = threading.Lock()

    def get(
        self, session: Session, equipment_class: str, as_of: datetime, cfg: StageConfig
    ) -> ClassFit | BathtubFit | None:
        """The class's fit at `as_of` (None: too little history), from cache when fresh."""
        with self._lock:
            cached = self._fits
        if cached is None or abs(as_of - cached[0]) >= timedelta(hours=cfg.refit_hours):
            cached = (as_of, {})
        if equipment_class in cached[1]:
            return cached[1][equipment_class]
        fits = dict(cached[1])
        if cfg.model == "bayes":
            fitted = fit_fleet(unit_records(session, as_of), cfg)
            for cls, fit in fitted.items():
                logger.info(
                    "bathtub fit of %s from %d failures: %s, components %s",
                    cls,
                    fit.failures,
                    fit.point.as_dict(),
                    fit.presence,
                )
            fits.update(fitted)
        elif cfg.model == "mle":
            segments = {equipment_class: class_segments(session, equipment_class, as_of)}
            fits.update(fit_classes(segments, cfg))
        fits.setdefault(equipment_class, None)
        with self._lock:
            self._fits = (cached[0], fits)
        return fits[equipment_class]

    def clear(self) -> None:
        """Forget every fit (the next score refits)."""
        with self._lock:
            self._fits = None


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
    if isinstance(fit, ClassFit):
        fit = fit.for_site(site)  # the site's own fit where the class spans several sites
    return score_stage(facts, history, as_of, config, fit)
