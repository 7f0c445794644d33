"""Suggested stock from the failure model: parts of classes in early or late life whose
failures are rising get a higher reorder level suggested, with the reason.

A class of a site qualifies when some of its units are scored in early or late life
(`maintenance.stage.assess_stage`, the project's stage model) and its failures — reactive
orders, cancelled ones excepted — in the last `stock.trend_days` outnumber those of the window
before. Every active part that fits the class (any model, or a model the site has) gets a
suggested reorder level: the level a supervisor set (not one a suggestion raised, review 19s
M4) scaled by that rise, at least one more, offered while it is above the current level. A
suggestion is only that: a supervisor accepts it (`StockDesk.set_levels`, which keeps the base
it came from), nothing changes by itself.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.config import StageConfig, StockSettings
from bldgwatch.maintenance.models import EquipmentRow, WorkOrderKind, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.stagemodel import FailureStage
from bldgwatch.maintenance.stock import get_store
from bldgwatch.maintenance.stockmodels import PartFitRow, StockRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClassTrend:
    """A class's units at a site by stage, and its failures in two windows."""

    equipment_type: str
    units: int
    early: int
    late: int
    recent: int
    previous: int
    days: int
    models: frozenset[str] = frozenset()

    @property
    def qualifies(self) -> bool:
        """Some units in early or late life and failures rising."""
        return (self.early + self.late) > 0 and self.recent > self.previous

    def suggested(self, base: float) -> float:
        """The `base` reorder level (the one set by hand) raised by the rise in failures, at
        least one more."""
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


def _failures(session: Session, site: str, start: datetime, end: datetime) -> dict[str, int]:
    """Per class: the site's reactive orders (not cancelled) created in [start, end)."""
    rows = session.execute(
        select(EquipmentRow.type, func.count(WorkOrderRow.id))
        .join(
            EquipmentRow,
            (EquipmentRow.site == WorkOrderRow.site) & (EquipmentRow.id == WorkOrderRow.equipment),
        )
        .where(
            WorkOrderRow.site == site,
            WorkOrderRow.kind == WorkOrderKind.REACTIVE.value,
            WorkOrderRow.status != WorkOrderStatus.CANCELLED.value,
            WorkOrderRow.created_at >= start,
            WorkOrderRow.created_at < end,
        )
        .group_by(EquipmentRow.type)
    )
    return {kind: int(n) for kind, n in rows}


def class_trends(
    session: Session, site: str, *, as_of: datetime, stage: StageConfig, days: int
) -> list[ClassTrend]:
    """Each class of the site: its units by scored stage and its failure trend."""
    window = timedelta(days=days)
    recent = _failures(session, site, as_of - window, as_of)
    previous = _failures(session, site, as_of - 2 * window, as_of - window)
    units: dict[str, list[EquipmentRow]] = defaultdict(list)
    for row in session.scalars(select(EquipmentRow).where(EquipmentRow.site == site)):
        units[row.type].append(row)
    fits, found = FitCache(), []
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
        found.append(
            ClassTrend(
                equipment_type=kind,
                units=len(rows),
                early=stages.count(FailureStage.EARLY),
                late=stages.count(FailureStage.LATE),
                recent=recent.get(kind, 0),
                previous=previous.get(kind, 0),
                days=days,
                models=frozenset(r.model for r in rows if r.model),
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
) -> list[Suggestion]:
    """Suggested reorder levels of the store's site's rising classes' parts, by part."""
    store = get_store(session, store_id)
    trends = class_trends(session, store.site, as_of=as_of, stage=stage, days=settings.trend_days)
    levels = {
        part_no: (float(level), float(level if base is None else base))
        for part_no, level, base in session.execute(
            select(StockRow.part_no, StockRow.reorder_level, StockRow.suggested_from).where(
                StockRow.store_id == store_id
            )
        )
    }
    found: dict[str, Suggestion] = {}
    for trend in (t for t in trends if t.qualifies):
        parts = session.execute(
            select(PartRow, PartFitRow.model)
            .join(PartFitRow, PartFitRow.part_no == PartRow.part_no)
            .where(PartFitRow.equipment_type == trend.equipment_type, PartRow.active.is_(True))
            .order_by(PartRow.part_no)
        ).all()
        for part, model in parts:
            if (model and model not in trend.models) or part.part_no in found:
                continue
            current, base = levels.get(part.part_no, (0.0, 0.0))
            level = trend.suggested(base)  # from the base: an accepted one is not raised again
            if level <= current:
                continue
            found[part.part_no] = Suggestion(
                part.part_no,
                part.name,
                trend.equipment_type,
                current,
                level,
                trend.reason(),
                base,
            )
    logger.debug("store %s: %d suggested levels", store_id, len(found))
    return sorted(found.values(), key=lambda s: s.part_no)
