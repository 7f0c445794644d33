"""SQL tables of maintenance: assets, work orders, their transitions and attached alarms."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
    Unicode,
    false,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from bldgwatch.core.db import Base, UtcDateTime
from bldgwatch.core.site import DEFAULT_TIMEZONE


class WorkOrderKind(StrEnum):
    """Where a work order comes from (`work_orders.kind`)."""

    REACTIVE = "reactive"
    PREVENTIVE = "preventive"
    REQUEST = "request"


class WorkOrderStatus(StrEnum):
    """Work-order life (`work_orders.status`); transitions live in `maintenance.workorders`."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED})


class SiteRow(Base):
    """A site (a property under management)."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Migration 0013_maintenance_site_locale: the site's clock and default language (from its
    # site file).
    timezone: Mapped[str] = mapped_column(
        String(64),
        default=DEFAULT_TIMEZONE,
        server_default=DEFAULT_TIMEZONE,
        doc="IANA time zone of the site (the site file's).",
    )
    language: Mapped[str] = mapped_column(String(8), default="zh-CN", server_default="zh-CN")
    # Migration 0018_maintenance_work_life: since when it is managed.
    since: Mapped[date | None] = mapped_column(
        Date, nullable=True, doc="First day (site time) it is managed, from the site file."
    )
    # Migration 0038_pump_curve_occupancy: the site file's occupancy schedules (core.site).
    occupancy: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, nullable=True, doc="When the site's buildings are in use (OccupancyWindow)."
    )
    registered_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="First import; the start of its figures without `since`."
    )
    # Migration 0037_l_energy_saving: tariffs and degree-day bases (the site file's `energy:`).
    energy: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True, doc="The site file's energy entry (core.site.EnergySpec)."
    )
    # Migration 0054_d5_site_calendar: the site file's working calendar (core.workcal).
    calendar: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True, doc="Its working calendar (CalendarSpec); null: Monday to Friday."
    )


class BuildingRow(Base):
    """A building of a site."""

    __tablename__ = "buildings"

    site: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Migration 0037_l_energy_saving: floor area (energy per m²).
    area_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    occupancy: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, nullable=True, doc="Its own occupancy schedule (null: the site's)."
    )


class EquipmentRow(Base):
    """An asset: one elevator, pump, shaft panel, sensor or meter."""

    __tablename__ = "equipment"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    building: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    gateway: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="The gateway that reports it (site register)."
    )
    location: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    machine_class: Mapped[str | None] = mapped_column(String(16), nullable=True)
    installed: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_overhaul: Mapped[date | None] = mapped_column(Date, nullable=True)
    rated: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Migration 0034_maintenance_meters: a meter's `meter` entry of the site file.
    meter: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True, doc="Meters: system, parent, counter_max (core.site.MeterSpec)."
    )
    # Migration 0038_pump_curve_occupancy: a pump's rated curve, the pump a meter feeds.
    curve: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, nullable=True, doc="Pumps: rated curve points (core.site.PumpCurvePoint)."
    )
    serves: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="Electricity meters: the pump it feeds alone."
    )

    __table_args__ = (
        ForeignKeyConstraint(["site", "building"], ["buildings.site", "buildings.id"]),
    )


class WorkOrderRow(Base):
    """A work order: reactive (from an incident), preventive, or an owner's repair request."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    equipment: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="reactive, preventive, request")
    status: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    # Migration 0013_maintenance_site_locale: the title as a catalogue key and parameters when
    # it was made from an alarm (rendered in the reader's language); `title` keeps the English.
    title_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    title_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    family: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fault_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    incident_key: Mapped[str | None] = mapped_column(
        String(200),
        nullable=True,
        unique=True,
        doc="site/equipment/family while the incident's order is open; NULL afterwards.",
    )
    source_alarm_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    alarm_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    response_due: Mapped[datetime] = mapped_column(UtcDateTime)
    resolution_due: Mapped[datetime] = mapped_column(UtcDateTime)
    assigned_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stage: Mapped[str] = mapped_column(String(8), doc="early, mid or late life at creation")
    stage_reason: Mapped[str] = mapped_column(Text)
    stage_detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @property
    def stage_reason_text(self) -> dict[str, str]:
        """The stage reason in every language it was rendered in (en only for old orders)."""
        texts = (self.stage_detail or {}).get("params", {}).get("reason_text")
        return dict(texts) if isinstance(texts, dict) else {"en": self.stage_reason}

    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    repair_class: Mapped[str | None] = mapped_column(
        String(16), nullable=True, doc="minor, medium, major or replacement (0011: wider)."
    )
    root_cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    labour_hours: Mapped[float] = mapped_column(Float, default=0.0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    pm_key: Mapped[str | None] = mapped_column(
        String(200),
        nullable=True,
        unique=True,
        doc="plan/site/equipment/due of a preventive order: one order per plan and due time.",
    )
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    downtime_h: Mapped[float | None] = mapped_column(
        Float, nullable=True, doc="Hours the equipment was out of service for this order."
    )
    # Migration 0018_maintenance_work_life: texts the system wrote, as messages (key and
    # params: {"title": …, "description": …}) rendered in the reader's language; the
    # assignment note the technician sees; the completion's cause code; the resolution summary.
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=dict)
    assign_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    cause_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Migration 0023_maintenance_contractors: the contractor (维保单位) the order was dispatched
    # to, under which contract, and when (its clocks then run from the contract's SLAs).
    contractor: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    contract_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WorkOrderEventRow(Base):
    """One work-order transition or note, with who and when."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(
        Text,
        default="",
        doc="The person's note, or the system's text in English (beside `message`).",
    )
    # Migration 0018_maintenance_work_life: what the row records (transition, comment,
    # labour, part, alarm, …) and the system's text as a message (key and params).
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class IncidentAlarmRow(Base):
    """An alarm event attached to a work order; the key makes redelivery harmless."""

    __tablename__ = "incident_alarms"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id"), nullable=True, index=True
    )
    alarm_id: Mapped[str] = mapped_column(String(36), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Migration 0018_maintenance_work_life: the alarm as it was, for the order's alarm list.
    rule: Mapped[str | None] = mapped_column(String(128), nullable=True)
    fault_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    incident: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)


class WorkOrderPartRow(Base):
    """A part used on a work order."""

    __tablename__ = "work_order_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_no: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    # Migration 0018_maintenance_work_life.
    unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    late: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Booked after the order closed."
    )
    # Migration 0045_y19_spot_approval (review 19e H1): a spot purchase outside the rule
    # (`worklog.needs_approval`) waits for a supervisor; only counted rows are in the cost.
    approval: Mapped[str | None] = mapped_column(
        String(16), nullable=True, doc="None (counted), pending, approved or rejected."
    )
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Migration 0055_a6_reject_reason (review 19h L7): why it was rejected.
    decided_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reverses: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="The hand booking this row reverses (review 19e M5)."
    )
    # Migration 0048_g19_spot_flag (review 19f H1): the spot-purchase limit holds for the
    # sum of what a person books bought on the spot on the order, not per line.
    spot: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Bought on the spot."
    )
    # Migration 0052_a19_spot_in_store (review 19g M4): a spot purchase of a part a store of
    # the site could issue waits for approval; the store and its free quantity say why.
    held_store: Mapped[str | None] = mapped_column(
        String(100), nullable=True, doc="The store that held the part free when it was booked."
    )
    held_free: Mapped[float | None] = mapped_column(
        Float, nullable=True, doc="How many that store held free then."
    )


def counted_part() -> ColumnElement[bool]:
    """Part bookings that count in cost, budget and use: not a spot purchase awaiting or
    refused approval (review 19e H1)."""
    return or_(WorkOrderPartRow.approval.is_(None), WorkOrderPartRow.approval == "approved")


def counted_labour() -> ColumnElement[bool]:
    """Labour lines that count in hours, cost and budget: not awaiting or refused approval."""
    return or_(WorkOrderLabourRow.approval.is_(None), WorkOrderLabourRow.approval == "approved")


class WorkOrderLabourRow(Base):
    """Hours a technician worked on a work order, at an hourly rate."""

    __tablename__ = "work_order_labour"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    technician: Mapped[str] = mapped_column(String(64))
    hours: Mapped[float] = mapped_column(Float)
    rate: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    # Migration 0018_maintenance_work_life: who booked it (a supervisor may book for others).
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    late: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Booked after the order closed."
    )
    # Migration 0049_g19_line_reversal (review 19f H2).
    reverses: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="The labour line this row reverses."
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


class PlanStateRow(Base):
    """Where a preventive plan stands for one equipment: the last due time or counter step."""

    __tablename__ = "pm_plan_state"

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    equipment: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_due: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SchedulerJobRow(Base):
    """APScheduler 3's job table (`SQLAlchemyJobStore(tablename=...)`), declared so that the
    migrations own it; the job store finds it in place and never creates it."""

    __tablename__ = "pm_scheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True, nullable=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class PmPlanRow(Base):
    """A preventive plan as the maintenance service runs it (its register, for the console)."""

    __tablename__ = "pm_plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), doc="calendar or counter")
    equipment_type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    schedule: Mapped[str] = mapped_column(String(200), doc="e.g. every 15 days, every 2000 h")
    rule: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        nullable=True,
        doc="The schedule as data (`maintenance.plans.schedule_rule`): cron or every_days with "
        "anchor and includes, or a counter's every and field; read in words by the console.",
    )
    tasks: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkOrderOutboxRow(Base):
    """A work-order event, or the notice it calls for, committed with its change, not yet sent.

    Whoever changes an order (this service, or the console through `maintenance.desk`) writes
    it in the change's transaction; the maintenance service sends it (`maintenance.outbox`).
    `event`: published on the order's topic and deleted once the broker confirms it (again
    after a restart: consumers dedupe on the event id). `notice`: deleted by the one relay that
    claims it, then sent once.
    """

    __tablename__ = "work_order_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8), doc="event or notice.")
    event_id: Mapped[str] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(256))
    payload: Mapped[str] = mapped_column(Text, doc="The WorkOrderEvent as on the wire.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PolicyRow(Base):
    """The maintenance service's policy as it runs it — SLA clocks, stage settings, roster —
    written at its start, so that whoever changes orders through `maintenance.desk` in
    another process (the console) applies the owner's policy, not built-in defaults."""

    __tablename__ = "maintenance_policy"

    id: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, doc="Always 1: one policy."
    )
    document: Mapped[dict[str, Any]] = mapped_column(JSON, doc="policy.OwnerPolicy as JSON.")
    instance: Mapped[str] = mapped_column(String(64), doc="The service instance that wrote it.")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TechnicianRow(Base):
    """One technician of the directory every assignment reads (`maintenance.technicians`):
    where they work, what they can do, whether they may be assigned, and who manages the
    entry (the roster file, or the console for a technician with a console account)."""

    __tablename__ = "maintenance_technicians"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="Stored in assigned_to.")
    name: Mapped[str] = mapped_column(Unicode(200), default="", doc="Display name.")
    sites: Mapped[list[str]] = mapped_column(JSON, doc="Sites served; '*' for all.")
    skills: Mapped[list[str]] = mapped_column(JSON, doc="Skills (from the roster file).")
    on_call: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, doc="On-call windows as in the roster file."
    )
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, doc="False: never assigned.")
    managed_by: Mapped[str] = mapped_column(String(16), doc="roster or console.")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
