"""Suggested stock from the failure model: parts of classes in early or late life whose use
is rising get a higher reorder level suggested, with the reason.

A class of a site is ageing when some of its units are scored in early or late life
(`maintenance.stage.assess_stage`, the project's stage model). An active part that fits the
class (any model, or a model the site has) is suggested more of when the site's units of the
class used more of it in the last `stock.trend_days` than in the window before: what was
booked on their orders of every kind — a repair's, a PM's replacing wear parts, a request's —
returns deducted, cancelled orders excepted (review 19 first L6: only reactive orders were
counted, and not the parts). The suggested reorder level is the level a supervisor set (not one
a suggestion raised, review 19s M4) scaled by that rise, at least one more, offered while it is
above the current level. A suggestion is only that: a supervisor accepts it
(`StockDesk.set_levels`, which keeps the base it came from), nothing changes by itself.

The units' stages are tallied per site once and kept (`StageTally`) while nothing they are
scored from changed — the site's register, its failures, the stage settings — and for at most
the class fits' `refit_hours` (their age moves on): a visit to the stock page does not score
every unit of the site again (review 19 first L7).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.config import StageConfig, StockSettings
from bldgwatch.maintenance.models import (
    EquipmentRow,
    WorkOrderKind,
    WorkOrderPartRow,
    WorkOrderRow,
    WorkOrderStatus,
    counted_part,
)
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.stagemodel import FailureStage
from bldgwatch.maintenance.stock import EPSILON, get_store
from bldgwatch.maintenance.stockmodels import PartFitRow, StockRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClassTrend:
    """A class's units at a site by stage, and what they used of a part in two windows."""

    equipment_type: str
    units: int
    early: int
    late: int
    recent: float
    previous: float
    days: int
    models: frozenset[str] = frozenset()
    part_no: str = ""

    @property
    def qualifies(self) -> bool:
        """Some units in early or late life and the part's use rising."""
        return (self.early + self.late) > 0 and self.recent > self.previous + EPSILON

    def suggested(self, base: float) -> float:
        """The `base` reorder level (the one set by hand) raised by the rise in use, at least
        one more."""
        factor = self.recent / max(self.previous, 1)
        return float(max(math.floor(base) + 1, math.ceil(base * factor)))

    def reason(self) -> Message:
        """Why, in the catalogue (zh-CN and en)."""
        params = {
            "type_name": Message(f"equipment_type.{self.equipment_type}"),
            "units": self.units,
            "early": self.early,
            "late": self.late,
            "recent": self.recent,
            "previous": self.previous,
            "days": self.days,
            "part_no": self.part_no,
        }
        return Message("stock.suggest.reason", params)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A part's suggested reorder level in a store, and why."""

    part_no: str
    name: str
    equipment_type: str
    current: float
    suggested: float
    reason: Message
    base: float


def _usage(
    session: Session, site: str, start: datetime, end: datetime
) -> dict[tuple[str, str], float]:
    """Per (class, part): what the site's units of the class used of the part in [start,
    end) — booked on their orders of every kind, returns deducted, cancelled orders
    excepted."""
    rows = session.execute(
        select(EquipmentRow.type, WorkOrderPartRow.part_no, func.sum(WorkOrderPartRow.quantity))
        .join(WorkOrderRow, WorkOrderRow.id == WorkOrderPartRow.work_order_id)
        .join(
            EquipmentRow,
            (EquipmentRow.site == WorkOrderRow.site) & (EquipmentRow.id == WorkOrderRow.equipment),
        )
        .where(
            WorkOrderRow.site == site,
            WorkOrderRow.status != WorkOrderStatus.CANCELLED.value,
            WorkOrderPartRow.at >= start,
            WorkOrderPartRow.at < end,
            counted_part(),
        )
        .group_by(EquipmentRow.type, WorkOrderPartRow.part_no)
    )
    return {(kind, part_no): max(float(n or 0), 0.0) for kind, part_no, n in rows}


@dataclass(frozen=True, slots=True)
class ClassStages:
    """A class's units at a site by scored stage, and the models the site has."""

    equipment_type: str
    units: int
    early: int
    late: int
    models: frozenset[str]


def score_classes(
    session: Session, site: str, *, as_of: datetime, stage: StageConfig, fits: FitCache
) -> dict[str, ClassStages]:
    """Each class of the site: every unit scored at `as_of` and counted by stage."""
    units: dict[str, list[EquipmentRow]] = defaultdict(list)
    for row in session.scalars(select(EquipmentRow).where(EquipmentRow.site == site)):
        units[row.type].append(row)
    found = {}
    for kind, rows in sorted(units.items()):
        stages = [
            assess_stage(
                session,
                site=site,
                equipment=r.id,
                equipment_type=kind,
                as_of=as_of,
                config=stage,
                fits=fits,
            ).stage
            for r in rows
        ]
        found[kind] = ClassStages(
            equipment_type=kind,
            units=len(rows),
            early=stages.count(FailureStage.EARLY),
            late=stages.count(FailureStage.LATE),
            models=frozenset(r.model for r in rows if r.model),
        )
    return found


def _scored_from(session: Session, site: str) -> tuple[object, ...]:
    """What the site's stages are scored from, short: its register (each unit's class, model,
    install and overhaul dates) and its failures (how many, the newest order)."""
    register = tuple(
        session.execute(
            select(
                EquipmentRow.id,
                EquipmentRow.type,
                EquipmentRow.model,
                EquipmentRow.machine_class,
                EquipmentRow.installed,
                EquipmentRow.last_overhaul,
            )
            .where(EquipmentRow.site == site)
            .order_by(EquipmentRow.id)
        ).all()
    )
    failures = session.execute(
        select(func.count(WorkOrderRow.id), func.max(WorkOrderRow.id)).where(
            WorkOrderRow.site == site,
            WorkOrderRow.kind == WorkOrderKind.REACTIVE.value,
            WorkOrderRow.status != WorkOrderStatus.CANCELLED.value,
        )
    ).one()
    return (register, tuple(failures))


class StageTally:
    """Each site's classes by scored stage, kept between requests (one per process): scored
    again only when what they are scored from changed (`_scored_from`), the stage settings
    changed, or `refit_hours` of as-of time passed; the class fits are kept alike
    (`FitCache`)."""

    def __init__(self) -> None:
        self.fits = FitCache()
        self._lock = threading.Lock()
        self._by_site: dict[
            str, tuple[datetime, StageConfig, tuple[object, ...], dict[str, ClassStages]]
        ] = {}
        self.scored = 0
        """How many times a site was scored (not served from what was kept)."""

    def classes(
        self, session: Session, site: str, *, as_of: datetime, stage: StageConfig
    ) -> dict[str, ClassStages]:
        """The site's classes by stage at about `as_of`."""
        source = _scored_from(session, site)
        with self._lock:
            kept = self._by_site.get(site)
        if kept is not None:
            at, config, was, found = kept
            fresh = abs(as_of - at) < timedelta(hours=stage.refit_hours)
            if fresh and config == stage and was == source:
                return found
        found = score_classes(session, site, as_of=as_of, stage=stage, fits=self.fits)
        with self._lock:
            self._by_site[site] = (as_of, stage, source, found)
            self.scored += 1
        return found


def class_trends(
    session: Session,
    site: str,
    *,
    as_of: datetime,
    stage: StageConfig,
    days: int,
    tally: StageTally | None = None,
) -> list[ClassTrend]:
    """Each ageing class of the site (units in early or late life) and each part its units
    used in the last two windows of `days`: the part's use in each (`part_no` set)."""
    window = timedelta(days=days)
    recent = _usage(session, site, as_of - window, as_of)
    previous = _usage(session, site, as_of - 2 * window, as_of - window)
    classes = (tally or StageTally()).classes(session, site, as_of=as_of, stage=stage)
    found = []
    for kind, part_no in sorted(set(recent) | set(previous)):
        known = classes.get(kind)
        if known is None or known.early + known.late == 0:
            continue
        found.append(
            ClassTrend(
                equipment_type=kind,
                units=known.units,
                early=known.early,
                late=known.late,
                recent=recent.get((kind, part_no), 0.0),
                previous=previous.get((kind, part_no), 0.0),
                days=days,
                models=known.models,
                part_no=part_no,
            )
        )
    return found


def suggestions(
    session: Session,
    store_id: int,
    *,
    as_of: datetime,
    stage: StageConfig,
    settings: StockSettings,
    tally: StageTally | None = None,
) -> list[Suggestion]:
    """Suggested reorder levels of the parts whose use by the store's site's ageing classes
    rises, by part (`tally`: the stages kept between calls; none: scored now)."""
    store = get_store(session, store_id)
    trends = class_trends(
        session, store.site, as_of=as_of, stage=stage, days=settings.trend_days, tally=tally
    )
    levels = {
        part_no: (float(level), float(level if base is None else base))
        for part_no, level, base in session.execute(
            select(StockRow.part_no, StockRow.reorder_level, StockRow.suggested_from).where(
                StockRow.store_id == store_id
            )
        )
    }
    rising = {(t.equipment_type, t.part_no): t for t in trends if t.qualifies}
    fitting = session.execute(
        select(PartRow, PartFitRow.equipment_type, PartFitRow.model)
        .join(PartFitRow, PartFitRow.part_no == PartRow.part_no)
        .where(
            PartFitRow.part_no.in_(sorted({p for _, p in rising})),
            PartRow.active.is_(True),
        )
        .order_by(PartRow.part_no, PartFitRow.equipment_type)
    ).all()
    found: dict[str, Suggestion] = {}
    for part, kind, model in fitting:
        trend = rising.get((kind, part.part_no))
        if trend is None or (model and model not in trend.models) or part.part_no in found:
            continue
        current, base = levels.get(part.part_no, (0.0, 0.0))
        level = trend.suggested(base)  # from the base: an accepted one is not raised again
        if level <= current:
            continue
        found[part.part_no] = Suggestion(
            part.part_no, part.name, kind, current, level, trend.reason(), base
        )
    logger.debug("store %s: %d suggested levels", store_id, len(found))
    return sorted(found.values(), key=lambda s: s.part_no)
