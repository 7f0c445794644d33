"""SQL tables of inspection rounds (巡检) and checklists; maintenance's, created by migrations
0026_maintenance_rounds, 0027_maintenance_round_snapshots, 0030_maintenance_round_photos,
0031_maintenance_round_sync and 0032_maintenance_rounds_plans. Written only by
`maintenance.checklists`, `maintenance.rounds`, `maintenance.roundentries`,
`maintenance.roundphotos` and `maintenance.roundnotices`.

A checklist template holds its ordered items as JSON (validated by
`maintenance.checklists.ChecklistItem`); a round holds its route (ordered stops: equipment and
template) and its local due times. A run is one due point of a round; an entry answers one
item of one stop of a run under the id the client gave it (a UUID), so a phone's queue sent
twice stores each entry once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class ChecklistTemplateRow(Base):
    """The items to check on one equipment class (and, optionally, one location) of a site."""

    __tablename__ = "checklist_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(Unicode(200))
    equipment_type: Mapped[str] = mapped_column(String(64), doc="As long as its schema allows.")
    location: Mapped[str | None] = mapped_column(
        Unicode(200), nullable=True, doc="Only equipment at this location (its building or place)."
    )
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, doc="The ordered items.")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class InspectionRoundRow(Base):
    """A round: a route of stops in order and the local times it falls due each day."""

    __tablename__ = "inspection_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(Unicode(200))
    times: Mapped[list[str]] = mapped_column(JSON, doc="Due times HH:MM in the site's zone.")
    stops: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, doc="Ordered stops: {equipment, template_id}."
    )
    late_after_min: Mapped[int] = mapped_column(Integer, doc="Done later than due + this: late.")
    missed_after_min: Mapped[int] = mapped_column(Integer, doc="Not done by due + this: missed.")
    active: Mapped[bool] = mapped_column(Boolean)
    schedule: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON,
        nullable=True,
        doc="Each period's {from (UTC ISO), times, active, late/missed minutes, repeat, "
        "weekdays, month_days}, oldest first (null: made before).",
    )
    repeat: Mapped[str] = mapped_column(
        String(16),
        default="daily",
        server_default="daily",
        doc="daily, weekly, workdays or monthly (site's zone).",
    )
    weekdays: Mapped[list[int] | None] = mapped_column(
        JSON, nullable=True, doc="A weekly round's days, 0 = Monday … 6 = Sunday."
    )
    month_days: Mapped[list[int] | None] = mapped_column(
        JSON, nullable=True, doc="A monthly round's days of the month."
    )
    assignee: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="The technician responsible, if any."
    )
    team: Mapped[str | None] = mapped_column(
        String(32), nullable=True, doc="The team (a skill) responsible, if any."
    )
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, doc="No due point before this counts (missed or otherwise)."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class RoundRunRow(Base):
    """One due point of a round, once someone started it."""

    __tablename__ = "round_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("inspection_rounds.id"), index=True)
    site: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime,
        nullable=True,
        doc="The phone's time of its last item, within the run's bounds (what counts).",
    )
    synced_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="When the server received its last item (its clock)."
    )
    route: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON,
        nullable=True,
        doc="The stops as at its start: {equipment, template_id, items} (null: started before).",
    )

    __table_args__ = (UniqueConstraint("round_id", "due_at", name="uq_round_runs_round_due"),)


class RoundMissedRow(Base):
    """A due point of a round found missed and its supervisors told (once: the row is the
    claim, `maintenance.roundnotices`)."""

    __tablename__ = "round_missed_notices"

    round_id: Mapped[int] = mapped_column(ForeignKey("inspection_rounds.id"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SiteWorkdayRow(Base):
    """The site's calendar's verdict on a past local day, kept when the day was judged (after
    it ended in the site's zone, or when a run of it was done): a later change of the calendar
    (the package learning a year, an own workday or holiday added) never rewrites which past
    points of a `workdays` round were due (review 19i M3)."""

    __tablename__ = "site_workdays"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    judged_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RoundScanRow(Base):
    """The equipment's QR code scanned at a stop of a run: the technician was there."""

    __tablename__ = "round_scans"

    run_id: Mapped[int] = mapped_column(ForeignKey("round_runs.id"), primary_key=True)
    stop: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))


class RoundEntryRow(Base):
    """The answer to one item at one stop of a run, under the client's id."""

    __tablename__ = "round_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="The client's UUID.")
    run_id: Mapped[int] = mapped_column(ForeignKey("round_runs.id"), index=True)
    stop: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean, doc="False: failed, out of limits, a bad choice.")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, doc="The phone's clock.")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    live_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    live_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="When the live value was measured."
    )
    disagrees: Mapped[bool | None] = mapped_column(
        Boolean, nullable=True, doc="Manual and live value differ by more than the tolerance."
    )
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id"), nullable=True, index=True
    )

    __table_args__ = (
        UniqueConstraint("run_id", "stop", "item", name="uq_round_entries_run_stop_item"),
    )


class EntryChangeRow(Base):
    """A correction of a round's entry: who, when, the old and new answer (none: voided), why,
    and what became of the order the old answer went to (`maintenance.roundfix`)."""

    __tablename__ = "round_entry_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("round_runs.id"), index=True)
    entry_id: Mapped[str] = mapped_column(String(36), doc="The entry's client UUID.")
    stop: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    old_ok: Mapped[bool] = mapped_column(Boolean)
    new_value: Mapped[Any] = mapped_column(
        JSON, nullable=True, doc="None with new_ok None: voided."
    )
    new_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    reason: Mapped[str] = mapped_column(Unicode(500))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_action: Mapped[str | None] = mapped_column(
        String(16), nullable=True, doc="cancelled, noted or opened."
    )


class RoundPhotoRow(Base):
    """A photo taken on a run, under the id the phone gave it (a UUID): the file lies in the
    attachment folder; a photo item's entry names it by this id."""

    __tablename__ = "round_photos"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="The client's UUID.")
    run_id: Mapped[int] = mapped_column(ForeignKey("round_runs.id"), index=True)
    stored_as: Mapped[str] = mapped_column(String(64), doc="Its name in the attachment folder.")
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))


class OrderCheckRow(Base):
    """One item of a preventive order's checklist (a task of its plan), ticked when done."""

    __tablename__ = "order_checks"

    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Unicode(500))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The item's result (pass / fail / na: 合格 / 不合格 / 无此项), a note, and a reading with its
    # unit where the task measures something; a failed item's repair order (review 19c-r M6).
    # An item ticked without a result (before these columns) reads as passed.
    result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    note: Mapped[str | None] = mapped_column(Unicode(500), nullable=True)
    reading: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str | None] = mapped_column(Unicode(16), nullable=True)
    repair_order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A round's fault that joined this order: the entry it came from, and when its correction
    # withdrew the item, who and why (no longer an item to tick; review 19d-r M2).
    entry_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Unicode(500), nullable=True)
