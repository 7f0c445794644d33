"""The owner's policy as data: what the maintenance service runs with, readable by any process
that changes orders through `maintenance.desk` (the console opens repair requests and assigns
from its own process, and must apply the same SLA clocks, stage settings and roster).

The service writes it at start (`publish`); readers `load` it, getting the built-in defaults
(and a warning) while no service has ever run against the store.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import Field
from sqlalchemy.orm import Session

from bldgwatch.core.config import StrictModel
from bldgwatch.maintenance.config import (
    ComplaintSettings,
    DrillSettings,
    MaintenanceConfig,
    RosterSettings,
    SlaPolicy,
    StageConfig,
    StockSettings,
)
from bldgwatch.maintenance.models import PolicyRow

logger = logging.getLogger(__name__)

POLICY_ID = 1


class OwnerPolicy(StrictModel):
    """The parts of the maintenance config that govern how an order is opened and assigned,
    the complaint clocks and the drill intervals."""

    sla: SlaPolicy = Field(default_factory=SlaPolicy, description="SLA clocks.")
    stage: StageConfig = Field(default_factory=StageConfig, description="Stage scoring.")
    roster: RosterSettings = Field(default_factory=RosterSettings, description="Technicians.")
    complaints: ComplaintSettings = Field(
        default_factory=ComplaintSettings, description="Complaint clocks."
    )
    stock: StockSettings = Field(
        default_factory=StockSettings, description="Purchase approval and stock suggestions."
    )
    drills: DrillSettings = Field(
        default_factory=DrillSettings, description="Emergency drill intervals."
    )

    @classmethod
    def of(cls, cfg: MaintenanceConfig) -> OwnerPolicy:
        """The policy a service configured with `cfg` runs."""
        return cls(
            sla=cfg.sla,
            stage=cfg.stage,
            roster=cfg.roster,
            complaints=cfg.complaints,
            stock=cfg.stock,
            drills=cfg.drills,
        )


def publish(session: Session, policy: OwnerPolicy, *, instance: str, at: datetime) -> None:
    """Store `policy` as the one in force (the caller commits)."""
    row = session.get(PolicyRow, POLICY_ID)
    document = policy.model_dump(mode="json")
    if row is None:
        session.add(PolicyRow(id=POLICY_ID, document=document, instance=instance, updated_at=at))
    else:
        row.document, row.instance, row.updated_at = document, instance, at


def load(session: Session) -> OwnerPolicy:
    """The policy in force: the one the maintenance service last stored, else the defaults."""
    row = session.get(PolicyRow, POLICY_ID)
    if row is None:
        logger.warning("no maintenance service has stored its policy yet: built-in defaults")
        return OwnerPolicy()
    return OwnerPolicy.model_validate(row.document)
