"""Response models of the REST API (read from the ORM rows with `from_attributes`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bldgwatch.console.schemas_orders import WorkOrderRecord


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class WorkOrderSummary(_Out):
    """A work order as listed."""

    id: int = Field(description="Work-order number.")
    site: str = Field(description="Site id.")
    equipment: str = Field(description="Equipment id within the site.")
    kind: str = Field(description="reactive, preventive or request.")
    status: str = Field(
        description="open, assigned, in_progress, on_hold, resolved, verified, closed or cancelled."
    )
    priority: int = Field(description="1 = emergency … 4 = low.")
    title: str = Field(description="One-line summary (English when made from an alarm).")
    title_key: str | None = Field(None, description="Catalogue key of a title from an alarm.")
    title_params: dict[str, Any] | None = Field(None, description="Parameters of the title.")
    title_text: str = Field("", description="The title in the reader's language.")
    family: str | None = Field(description="Fault family of a reactive order.")
    fault_code: str | None = Field(description="Fault code of the alarm that opened it.")
    alarm_count: int = Field(description="Alarm events attached to the order.")
    created_at: datetime = Field(description="When it was opened (UTC).")
    response_due: datetime = Field(description="Someone must respond by then (UTC).")
    resolution_due: datetime = Field(description="It must be resolved by then (UTC).")
    assigned_to: str | None = Field(description="Technician it is assigned to.")
    assign_note: str | None = Field(None, description="The assigner's note for the technician.")
    contractor: str | None = Field(
        None, description="The contractor (维保单位) it was dispatched to, if any."
    )
    contract_id: int | None = Field(None, description="The contract it was dispatched under.")
    dispatched_at: datetime | None = Field(None, description="When it was dispatched (UTC).")
    awaiting_approval: int = Field(
        0,
        description="Cost lines (parts, labour, charges) on it awaiting approval, in the "
        "work-order list (0 in other lists); it is not resolved before they are decided "
        "(review 19i L2).",
    )
    stage: str = Field(description="Failure stage of the equipment: early, mid or late life.")
    stage_reason: str = Field(description="Why that stage, and what it means for the technician.")
    stage_reason_text: dict[str, str] = Field(
        description="`stage_reason` in every language the scorer renders (en, zh-CN); orders "
        "scored before it did carry only en."
    )


class WorkOrderEvent(_Out):
    """One transition or note of a work order."""

    id: int
    at: datetime = Field(description="When (UTC).")
    from_status: str | None = Field(description="Status before; null for creation.")
    to_status: str = Field(description="Status after.")
    actor: str = Field(description="Who or which component.")
    note: str = Field(description="The person's text; or the system's, in English.")
    kind: str | None = Field(
        None,
        description="created, transition, comment, labour, part, charge, alarm, incident, "
        "completion, renewal, follow_up, reopened, attachment, escalation.",
    )
    message: dict[str, Any] | None = Field(
        None, description="The system's text as a message key and parameters."
    )
    text: str = Field("", description="What the row says, in the reader's language.")


class LabourEntry(_Out):
    """Hours a technician booked on a work order."""

    id: int
    technician: str
    hours: float
    rate: float = Field(description="Cost per hour.")
    at: datetime
    note: str
    actor: str | None = Field(None, description="Who booked it.")
    late: bool = Field(False, description="Booked after the order was closed.")
    reverses: int | None = Field(None, description="The labour line this row reverses.")
    approval: str | None = Field(
        None,
        description="None: counted at once; pending: beyond its booker's authority, awaiting "
        "approval (not counted); approved; rejected (review 19g).",
    )
    decided_by: str | None = None
    decided_at: datetime | None = None
    decided_reason: str | None = Field(
        None, description="Why it was rejected (review 19h L7); None otherwise."
    )
    waits_because: str | None = Field(
        None,
        description="Why it waits for approval, in the reader's language (review 19h L7).",
    )


class PartEntry(_Out):
    """A part booked on a work order."""

    id: int
    part_no: str
    description: str
    quantity: float
    unit_cost: float
    at: datetime
    actor: str
    unit: str | None = None
    late: bool = Field(False, description="Booked after the order was closed.")
    approval: str | None = Field(
        None,
        description="A spot purchase outside the rule: pending (not counted in the cost until a "
        "supervisor approves), approved or rejected; None: counted at once.",
    )
    decided_by: str | None = None
    decided_at: datetime | None = None
    decided_reason: str | None = Field(
        None, description="Why it was rejected (review 19h L7); None otherwise."
    )
    reverses: int | None = Field(None, description="The hand booking this row reverses.")
    waits_because: str | None = Field(
        None,
        description="Why a spot purchase waits for approval whatever its amount, in the "
        "reader's language: a store of the site held the part free when it was booked "
        "(review 19g M4); None otherwise.",
    )


class WorkOrderDetail(WorkOrderSummary):
    """A work order with its full record and history."""

    description: str
    contractor_name: str | None = Field(
        None, description="The name of the contractor it was dispatched to, if any."
    )
    source_alarm_id: str | None = Field(description="Alarm that opened the order.")
    updated_at: datetime
    stage_detail: dict[str, Any] = Field(description="Scoring inputs behind `stage`.")
    resolved_at: datetime | None
    closed_at: datetime | None
    repair_class: str | None = Field(description="minor, medium or major.")
    root_cause: str | None
    labour_hours: float
    cost: float
    alarm_ids: list[str] = Field(default_factory=list, description="Alarms attached to it.")
    events: list[WorkOrderEvent] = Field(default_factory=list, description="Oldest first.")
    labour: list[LabourEntry] = Field(default_factory=list, description="Booked labour.")
    parts: list[PartEntry] = Field(default_factory=list, description="Booked parts.")
    record: WorkOrderRecord | None = Field(
        None,
        description="Everything else on the order: its alarms, charges, attachments, "
        "follow-ups, completion record and what the caller may do now.",
    )


class AlarmSummary(_Out):
    """An alarm occurrence as listed."""

    id: str
    site: str
    building: str
    equipment: str
    equipment_type: str
    rule: str = Field(description="Rule id.")
    fault_code: str
    family: str
    severity: str = Field(description="critical, major, minor or warning.")
    priority: int = Field(description="1 = emergency … 4 = low.")
    state: str = Field(description="ISA-18.2 state, e.g. active_unack, rtn_unack, normal.")
    open: bool = Field(validation_alias="is_open", description="Not yet back to normal.")
    raised_at: datetime
    cleared_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    shelved_until: datetime | None
    value: float | None = Field(description="Value that triggered the latest transition.")
    message: str = Field(description="The text in English (kept for older readers).")
    message_key: str = Field("", description="Catalogue key of the text ('' before keys).")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameters of the text; `point` names the value's."
    )
    text: str = Field("", description="The text in the reader's language.")
    value_text: str | None = Field(
        None, description="The value with its point's unit and decimals, in the reader's language."
    )
    point_label: str | None = Field(None, description="The point's name in the reader's language.")
    order_id: int | None = Field(None, description="The work order it opened or joined.")
    order_status: str | None = Field(None, description="That order's status.")
    technician: str | None = Field(None, description="Who that order is assigned to.")
    maintenance: str = Field(
        description="What it asks of maintenance: none, reactive, planned, or confirm (a "
        "reactive order once a person confirms it: the leak verdict)."
    )
    activations: int = Field(description="How often it activated (chattering is counted here).")
    updated_at: datetime


class AlarmTransition(_Out):
    """One stored alarm transition."""

    id: str
    at: datetime
    transition: str = Field(description="activate, clear, acknowledge, shelve, …")
    state: str
    previous_state: str
    value: float | None
    actor: str | None
    comment: str | None


class AlarmOrder(BaseModel):
    """The work order an alarm opened or joined, and who is on it."""

    id: int
    status: str
    assigned_to: str | None
    title_text: str


class AlarmVerdict(BaseModel):
    """The verdict standing on an alarm that asks for one ("confirm leak", "not a leak",
    "expected use"): who gave it, when, the order it opened, and whether the caller may
    correct it now (also on a closed alarm)."""

    leak: bool = Field(description="true: a leak (or waste); false: not a leak (expected use).")
    actor: str
    given_at: datetime
    work_order_id: int | None = Field(None, description="The order the verdict opened.")
    order_status: str | None = Field(None, description="That order's status (e.g. cancelled).")
    correctable: bool = Field(description="The caller may reverse it now (`leak-verdict`).")


class ReviewedAlarm(AlarmSummary):
    """An alarm (open or closed) with the verdict standing on it: what a supervisor reviews
    (fifth review of issue 20, H1)."""

    verdict: AlarmVerdict


class AlarmDetail(AlarmSummary):
    """An alarm with its transitions (oldest first) and its work order."""

    events: list[AlarmTransition] = Field(default_factory=list)
    work_order: AlarmOrder | None = Field(None, description="The order it opened or joined.")
    verdict: AlarmVerdict | None = Field(
        None, description="The verdict standing on its latest raising, if it asks for one."
    )


class Building(_Out):
    """A building of a site."""

    id: str
    name: str


class CalendarDay(_Out):
    """A coming day whose being a workday differs from Monday to Friday."""

    day: date = Field(description="The local day.")
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: a weekday off; workday: a weekend day worked (调休)."
    )
    name: str | None = Field(None, description="The official holiday's English name.")
    name_zh: str | None = Field(None, description="Its Chinese name (e.g. 国庆节).")


class SiteCalendar(_Out):
    """Which days are workdays at a site (rounds that repeat on workdays, occupancy)."""

    official: Literal["cn"] | None = Field(
        None, description="The official calendar followed (cn: mainland China); null: none."
    )
    covered: bool = Field(
        True,
        description="false: the official calendar does not know the coming days' year yet; "
        "Monday to Friday and the site's own days are used.",
    )
    known_until: date | None = Field(
        None,
        description="When not `covered`: the last of the coming days the official calendar "
        "knows (null: none of them); `special` is complete only up to it.",
    )
    own_holidays: int = Field(0, description="How many days off the site lists itself.")
    own_workdays: int = Field(0, description="How many make-up workdays the site lists itself.")
    from_: date = Field(alias="from", description="First local day of `special`.")
    days: int = Field(description="How many days from `from` `special` covers (60).")
    special: list[CalendarDay] = Field(
        default_factory=list,
        description="The holidays on weekdays and make-up workdays on weekends ahead.",
    )


class Site(_Out):
    """A site with its buildings."""

    id: str
    name: str
    timezone: str = Field("Asia/Shanghai", description="IANA zone: its days and clock.")
    language: str = Field("zh-CN", description="Default language of its texts.")
    buildings: list[Building] = Field(default_factory=list)
    equipment_count: int = Field(0, description="Equipment registered at the site.")
    calendar: SiteCalendar | None = Field(
        None,
        description="Its working calendar and the holidays and make-up workdays of the next "
        "60 days (site time).",
    )


class Equipment(_Out):
    """An asset."""

    site: str
    id: str
    building: str
    type: str = Field(
        description="elevator, pump, shaft_panel, temp_sensor, electricity_meter, water_meter; "
        "the InfluxDB measurement of its readings."
    )
    name: str
    location: str
    model: str
    machine_class: str | None
    installed: date | None
    last_overhaul: date | None
    rated: dict[str, Any]
    params: dict[str, Any]
    meter: dict[str, Any] | None = Field(
        None,
        description="Meters: the site register's `meter` entry (system, parent, counter_max) "
        "as given; null for other equipment and for a main meter with its type's counter.",
    )


class ReadingRow(BaseModel):
    """One row of readings: a time and a value per point (null where none)."""

    model_config = ConfigDict(extra="allow")

    time: datetime = Field(description="Reading time, or the start of the interval (UTC).")


class Readings(BaseModel):
    """Readings of one equipment."""

    site: str
    equipment: str
    measurement: str = Field(description="InfluxDB measurement (the equipment type).")
    points: list[str]
    start: datetime
    end: datetime
    every: str | None = Field(description="Interval of the means; null for raw readings.")
    rows: list[ReadingRow] = Field(description="Oldest first; at most `limit` (the newest).")


class LatestValue(BaseModel):
    """The last value of one point."""

    time: datetime
    value: float | bool | str | None


class LatestReadings(BaseModel):
    """The last value of each point of one equipment."""

    site: str
    equipment: str
    measurement: str
    values: dict[str, LatestValue] = Field(description="By point name.")


class Health(BaseModel):
    """Liveness of the console and its dependencies."""

    status: Literal["ok", "unavailable"]
    database: bool = Field(description="Database reachable and its schema present.")
    influxdb: bool = Field(description="InfluxDB answers.")
    broker: bool = Field(
        True, description="The console's broker connection is up (true without a broker)."
    )
    detail: dict[str, str] = Field(
        default_factory=dict, description="Why a dependency counts as down."
    )
