"""SQL tables of emergency plans (应急预案) and drills (演练); maintenance's, created by
migration 0025_maintenance_emergency (a plan's retirement by 0032). Written only by
`maintenance.emergency` (plans) and `maintenance.drills` (drills)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Unicode, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class DrillStatus(StrEnum):
    """A drill's life: scheduled, then recorded (held) or cancelled; a drill recorded by
    mistake is voided, with the reason (review 19c-d M13)."""

    SCHEDULED = "scheduled"
    RECORDED = "recorded"
    CANCELLED = "cancelled"
    VOIDED = "voided"


class EmergencyPlanRow(Base):
    """A site's plan for one kind of emergency: roles, contacts and ordered, timed steps (the
    current version; every saved version is in `emergency_plan_revisions`)."""

    __tablename__ = "emergency_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="entrapment, fire, flood, power_loss.")
    title: Mapped[str] = mapped_column(Unicode(200))
    roles: Mapped[list[Any]] = mapped_column(JSON, doc="[{role, duty}], who does what.")
    contacts: Mapped[list[Any]] = mapped_column(JSON, doc="[{name, role, phone}].")
    steps: Mapped[list[Any]] = mapped_column(
        JSON, doc="[{text, target_min}], in order; target minutes after the alarm."
    )
    version: Mapped[int] = mapped_column(Integer, doc="1 at creation, raised by each edit.")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="Retired: kept, not drilled any more (null: in use)."
    )
    retired_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("site", "kind", name="uq_emergency_plans_site_kind"),)


class EmergencyPlanRevisionRow(Base):
    """One saved version of a plan: who saved it, when, and the plan as it then was."""

    __tablename__ = "emergency_plan_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("emergency_plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON, doc="title, roles, contacts, steps.")


class DrillRow(Base):
    """A drill of a plan: scheduled for a time, then recorded with who took part, when each
    step was reached, findings and follow-up actions; or cancelled."""

    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("emergency_plans.id"), index=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), index=True)
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    plan_version: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="The plan version rehearsed (set when recorded)."
    )
    steps: Mapped[list[Any]] = mapped_column(
        JSON, doc="The plan's steps as rehearsed, each with its actual time (ISO, UTC) or null."
    )
    participants: Mapped[list[Any]] = mapped_column(JSON)
    findings: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[list[Any]] = mapped_column(JSON, doc="Follow-up actions, as text.")
    note: Mapped[str] = mapped_column(Text, default="", doc="Why it was cancelled or moved.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    held_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime,
        nullable=True,
        index=True,
        doc="When a recorded drill was held: its first step's time (it may lie long after "
        "`scheduled_at`, a drill that slipped; review 19c-d H1). Null until recorded.",
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))
    corrections: Mapped[int] = mapped_column(
        Integer,
        default=0,
        server_default="0",
        doc="How often the record was corrected or voided (migration 0037).",
    )


class DrillCorrectionRow(Base):
    """One correction or voiding of a recorded drill: who, when, why, and what changed
    (`{field: {"from": …, "to": …}}`); review 19c-d M13, migration 0037."""

    __tablename__ = "drill_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), doc="corrected or voided.")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class EntrapmentRescueRow(Base):
    """One rescue of an entrapment order: each activation of an entrapment alarm on the order
    is a rescue of its own, timed from its own alarm and released on its own (review 19d H3).
    Written by `maintenance.entrapments`; the incident handling opens one per activation."""

    __tablename__ = "entrapment_rescues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer, doc="1 for the order's first rescue, then 2, …")
    alarm_id: Mapped[str | None] = mapped_column(
        String(36), nullable=True, doc="The alarm occurrence; null for an order's first rescue "
        "recorded before rescues were kept per alarm.",
    )  # fmt: skip
    alarm_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reported_by: Mapped[str | None] = mapped_column(
        String(64),
        nullable=True,
        doc="Who recorded it by hand, for an entrapment reported by phone (no alarm; "
        "migration 0037); null for an alarm's.",
    )

    __table_args__ = (
        UniqueConstraint("work_order_id", "seq", name="uq_entrapment_rescues_order_seq"),
    )
