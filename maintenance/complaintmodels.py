"""SQL tables of complaints (投诉): one row per complaint and its timeline; maintenance's,
created by migration 0020_maintenance_complaints. Written only by `maintenance.complaints`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class Channel(StrEnum):
    """How the complaint reached the desk."""

    PHONE = "phone"
    WALK_IN = "walk_in"
    ONLINE = "online"
    WECOM = "wecom"
    LETTER = "letter"
    HOTLINE_12345 = "hotline_12345"


class Category(StrEnum):
    """What the complaint is about."""

    SERVICE_ATTITUDE = "service_attitude"
    REPAIR_QUALITY = "repair_quality"
    REPAIR_DELAY = "repair_delay"
    CLEANLINESS = "cleanliness"
    SECURITY = "security"
    NOISE = "noise"
    CHARGES = "charges"
    OTHER = "other"


class Outcome(StrEnum):
    """How a complaint ended; `unfounded` (无效) and `withdrawn` are not valid complaints."""

    RESOLVED = "resolved"
    PARTIALLY_RESOLVED = "partially_resolved"
    UNFOUNDED = "unfounded"
    WITHDRAWN = "withdrawn"


class ComplaintRow(Base):
    """A complaint of a household (building and unit as the property company writes them)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    building: Mapped[str] = mapped_column(Unicode(64), doc="As written, e.g. 3栋.")
    room: Mapped[str] = mapped_column(Unicode(64), doc="Unit and room as written, 1单元 502.")
    household: Mapped[str] = mapped_column(
        String(64), doc="SHA-256 hex of building and room folded (NFKC, no spaces, case-folded)."
    )
    building_key: Mapped[str] = mapped_column(
        String(64), doc="SHA-256 hex of the building folded: a building's complaints."
    )
    complainant: Mapped[str | None] = mapped_column(Unicode(100), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    logged_at: Mapped[datetime] = mapped_column(UtcDateTime)
    logged_by: Mapped[str] = mapped_column(String(64))
    handler: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_due: Mapped[datetime] = mapped_column(UtcDateTime)
    resolution_due: Mapped[datetime] = mapped_column(UtcDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="When the outcome was recorded."
    )
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted: Mapped[bool | None] = mapped_column(
        Boolean, nullable=True, doc="Whether the complainant accepted the outcome."
    )
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id"), nullable=True, index=True
    )
    equipment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(
        Integer, doc="Raised by every change; a change made on an older version is refused."
    )

    __table_args__ = (Index("ix_complaints_site_household", "site", "household"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration


class ComplaintEventRow(Base):
    """One change of a complaint: who, when, what (the fields changed, old → new)."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), doc="logged, assigned, responded, resolved.")
    changes: Mapped[dict[str, Any]] = mapped_column(
        JSON, doc="Field → [before, after] (ISO times as text)."
    )
    note: Mapped[str] = mapped_column(Text, default="")
