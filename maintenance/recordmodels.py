"""SQL tables of what is recorded around work orders: the parts list, contractor charges,
attachments, follow-ups (回访), budgets, KPI targets and monthly report runs.

Beside `maintenance.models` (assets, orders, their timeline, labour and parts booked); both
are maintenance's, created by the migrations (0018_maintenance_work_life).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    or_,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class PartRow(Base):
    """A part of the parts list: what a technician books on an order.

    The spare-parts catalogue: `maintenance.stock` keeps stock per store, movements and
    reorder levels of these parts (`maintenance.stockmodels`); `part_no` stays the key
    bookings refer to.
    """

    __tablename__ = "parts"

    part_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), doc="e.g. pc, m, L, set.")
    unit_cost: Mapped[float] = mapped_column(Float, doc="Current cost of one unit.")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))
    # Migration 0024_maintenance_stock: the equipment it fits is `stockmodels.PartFitRow`.
    critical: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Kept in stock whatever it costs."
    )


class BookingKeyRow(Base):
    """An idempotency key a booker sent with a booking (review 19g L7: a phone retrying a
    timed-out "登记" booked twice): the same key from the same person on the same order books
    once; `body_hash` tells a repeat from another booking under the same key."""

    __tablename__ = "work_order_booking_keys"
    __table_args__ = (
        Index("ux_booking_keys_order_actor_key", "work_order_id", "actor", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    actor: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(100))
    body_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkOrderChargeRow(Base):
    """A contractor's charge on a work order (e.g. the elevator company's invoice line)."""

    __tablename__ = "work_order_charges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    contractor: Mapped[str] = mapped_column(String(200))
    amount: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False, doc="Booked after it closed.")
    # Migration 0049_g19_line_reversal (review 19f H2).
    reverses: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="The charge this row reverses."
    )
    # Migration 0051_e19_line_approval (review 19g): beyond its booker's authority the line
    # awaits approval (`worklog.within_authority`); only counted rows are in the cost.
    approval: Mapped[str | None] = mapped_column(
        String(16), nullable=True, doc="None (counted), pending, approved or rejected."
    )
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Migration 0055_a6_reject_reason (review 19h L7): why it was rejected.
    decided_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AttachmentRow(Base):
    """A photo or document attached to a work order; the file lies in the attachment folder
    under `stored_as` (a random name), never under the uploader's file name."""

    __tablename__ = "work_order_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255), doc="The uploader's name, cleaned.")
    content_type: Mapped[str] = mapped_column(String(100), doc="As sniffed from the bytes.")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))


class FollowUpRow(Base):
    """A follow-up (回访) of a resolved order: outcome, satisfaction and note."""

    __tablename__ = "work_order_followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16), doc="satisfied, not_satisfied, reopened.")
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="1 … 5.")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))


class BudgetEntryRow(Base):
    """One setting of a budget: site, building ('' for the whole site), period (`YYYY` or
    `YYYY-MM`) and category. Rows are never changed: the newest per key is in force, the older
    ones are its history."""

    __tablename__ = "budget_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    building: Mapped[str] = mapped_column(String(64), default="")
    period: Mapped[str] = mapped_column(String(7))
    category: Mapped[str] = mapped_column(String(16), doc="labour, parts or contractors.")
    amount: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_budget_entries_site_period", "site", "period"),)


class KpiTargetRow(Base):
    """One setting of a KPI target of a site; the newest per (site, kpi) is in force."""

    __tablename__ = "kpi_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kpi: Mapped[str] = mapped_column(String(32))
    target: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))


class EnergyBaselineRow(Base):
    """One choice of a building's baseline period for one kind of metering (issue 20); the
    newest per (site, building, kind) is in force, the older ones are its history."""

    __tablename__ = "energy_baselines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    building: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), doc="electricity or water")
    start: Mapped[date] = mapped_column(Date, doc="First day of the baseline (site time).")
    end: Mapped[date] = mapped_column(Date, doc="Day after its last day (site time).")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))


class EnergyTargetRow(Base):
    """One setting of a site's yearly reduction target (节能降耗指标) for one kind; the newest
    per (site, kind, year) is in force."""

    __tablename__ = "energy_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="electricity or water")
    year: Mapped[int] = mapped_column(Integer)
    reduction: Mapped[float] = mapped_column(Float, doc="0.05 = 5 % less than the baseline.")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))


class PumpBaselineRow(Base):
    """A pump's early specific energy, kept once made from its first days of running after
    install or overhaul (`since`), so it outlives the raw readings it was made from
    (migration 0043_pump_baselines; review of issue 20, F9)."""

    __tablename__ = "pump_baselines"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    pump: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[date | None] = mapped_column(
        Date, nullable=True, doc="The install or overhaul it follows (None: the first data)."
    )
    kwh_m3: Mapped[float] = mapped_column(Float)
    first_day: Mapped[date] = mapped_column(Date, doc="First local day it was made from.")
    last_day: Mapped[date] = mapped_column(Date, doc="Last local day it was made from.")
    made_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReportRunRow(Base):
    """A monthly report generated and sent by the maintenance service (one per site and
    month: the row is the claim, so two instances never send it twice)."""

    __tablename__ = "report_runs"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


def counted_charge() -> ColumnElement[bool]:
    """Contractor charges that count in cost and budget: not awaiting or refused approval."""
    return or_(WorkOrderChargeRow.approval.is_(None), WorkOrderChargeRow.approval == "approved")
