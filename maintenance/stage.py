"""The database side of failure-stage scoring: an asset's facts and past failures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maintenance.models import EquipmentRow, WorkOrderKind, WorkOrderRow, WorkOrderStatus
from maintenance.scoring import AssetFacts, FailureEvent, StageConfig, StageScore, score_stage


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


def failure_history(
    session: Session, site: str, equipment: str, as_of: datetime
) -> list[FailureEvent]:
    """Past failures: the equipment's reactive orders up to `as_of`, cancelled ones excepted."""
    rows = session.execute(
        select(WorkOrderRow.created_at, WorkOrderRow.family, WorkOrderRow.repair_class)
        .where(
            WorkOrderRow.site == site,
            WorkOrderRow.equipment == equipment,
            WorkOrderRow.kind == WorkOrderKind.REACTIVE.value,
            WorkOrderRow.status != WorkOrderStatus.CANCELLED.value,
            WorkOrderRow.created_at <= as_of,
        )
        .order_by(WorkOrderRow.created_at)
    ).all()
    return [FailureEvent(at=at, family=family, repair_class=rc) for at, family, rc in rows]


def assess_stage(
    session: Session,
    *,
    site: str,
    equipment: str,
    equipment_type: str,
    as_of: datetime,
    config: StageConfig,
) -> StageScore:
    """Score the equipment's life stage at `as_of` from the register and its past orders."""
    facts = asset_facts(session, site, equipment, equipment_type)
    history = failure_history(session, site, equipment, as_of)
    return score_stage(facts, history, as_of, config)
