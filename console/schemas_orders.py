"""Request and response models of a work order's record: its alarms, contractor charges,
attachments, follow-ups and completion, the bookings and moves that write them, the parts
list and the technicians one may assign."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from bldgwatch.console.schemas_contractors import EquipmentType

MAX_PARTS = 100
"""Parts one request may book, whichever route books them (bookings, labour, transition)."""


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachedAlarm(BaseModel):
    """An alarm of the order's incident, with its transitions seen by maintenance."""

    alarm_id: str
    rule: str | None
    fault_code: str | None
    fault: str = Field(description="The fault's name in the reader's language.")
    incident: str | None = Field(description="Incident family the alarm belongs to.")
    priority: int | None
    first_at: datetime = Field(description="First transition seen (its activation).")
    last_at: datetime
    state: str | None = Field(description="ISA-18.2 state after its latest transition.")
    transitions: int


class ChargeEntry(_Out):
    """A contractor's charge on the order."""

    id: int
    contractor: str
    amount: float
    note: str
    at: datetime
    actor: str
    late: bool
    reverses: int | None = Field(None, description="The charge this row reverses.")
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


class AttachmentEntry(_Out):
    """A photo or document of the order (download at `url`)."""

    id: int
    filename: str
    content_type: str
    size: int
    note: str
    at: datetime
    actor: str
    url: str = ""


class FollowUpEntry(_Out):
    """A follow-up (回访) of the order."""

    id: int
    outcome: str = Field(description="satisfied, not_satisfied or reopened.")
    satisfaction: int | None = Field(description="1 … 5.")
    note: str
    at: datetime
    actor: str


class WorkOrderRecord(BaseModel):
    """What the order's detail adds to its summary."""

    description_text: str = Field(description="The description in the reader's language.")
    assign_note: str | None = Field(description="The assigner's note for the technician.")
    summary: str | None = Field(description="What was done, given at resolution.")
    repair_class: str | None = Field(description="minor, medium, major or replacement.")
    repair_class_text: str | None
    cause_code: str | None
    cause_text: str | None
    root_cause: str | None
    downtime_h: float | None
    cost_by_category: dict[str, float] = Field(
        description="labour, parts, contractors: what the order's cost counts (review 19f M4)."
    )
    parts_awaiting: float = Field(
        0.0,
        description="Spot purchases awaiting a supervisor's approval: not in the cost nor in "
        "`cost_by_category.parts` (a rejected one is in neither).",
    )
    awaiting: dict[str, float] = Field(
        default_factory=dict,
        description="labour, parts, contractors: what awaits approval, not in the cost nor in "
        "`cost_by_category` (review 19h L7: told for parts only).",
    )
    labour_rate: float | None = Field(
        None,
        description="The site's hourly labour rate (`stock.labour_rate`): labour booked without "
        "a rate is priced at it (review 19g M5).",
    )
    spot_limit: float | None = Field(
        None,
        description="What the reader's spot purchases on the order come to before they wait "
        "for a supervisor's approval (a technician's `stock.spot_purchase_limit`); null for a "
        "supervisor or manager (review 19f L6).",
    )
    limit_today: float | None = Field(
        None,
        description="The reader's authority for a site-local day: what they book by hand and "
        "is counted without approval (a technician's `stock.spot_purchase_limit`, a "
        "supervisor's approval limit); null for a manager or a reply to a change.",
    )
    limit_left: float | None = Field(
        None,
        description="What is left of `limit_today` today (the site's day) at the order's site.",
    )
    alarms: list[AttachedAlarm] = Field(default_factory=list)
    charges: list[ChargeEntry] = Field(default_factory=list)
    attachments: list[AttachmentEntry] = Field(default_factory=list)
    follow_ups: list[FollowUpEntry] = Field(default_factory=list)
    actions: list[str] = Field(
        default_factory=list,
        description="What the caller may do now: accept, start, hold, resume, book, "
        "complete, attach, resolve, follow_up, close, cancel, comment, assign, book_late.",
    )


class OrderComment(_In):
    """A comment on a work order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "owner says the noise is back at night"}]},
    )

    text: str = Field(min_length=1, max_length=5000)


class LabourIn(_In):
    """Hours one technician worked."""

    technician: str | None = Field(
        None,
        max_length=64,
        description="Who worked; default the caller (only supervisors book for others).",
    )
    hours: float = Field(allow_inf_nan=False, gt=0, le=1000)
    rate: float | None = Field(
        None,
        allow_inf_nan=False,
        ge=0,
        le=100_000,
        description="Cost per hour; default the site's `stock.labour_rate`. Another rate is a "
        "supervisor's, with `rate_reason` (review 19g M5).",
    )
    note: str = Field("", max_length=2000)
    rate_reason: str = Field("", max_length=200, description="Why another rate than the site's.")


class PartIn(_In):
    """Parts from the parts list."""

    part_no: str = Field(min_length=1, max_length=64)
    quantity: float = Field(allow_inf_nan=False, gt=0, le=10_000)
    unit_cost: float | None = Field(
        None,
        allow_inf_nan=False,
        ge=0,
        le=10_000_000,
        description="Default: the parts list's unit cost; another only by a supervisor, with "
        "`cost_reason` (review 19c-s M4).",
    )
    cost_reason: str = Field(
        "", max_length=200, description="Why another cost than the list's (a supervisor's)."
    )
    bought_on_spot: StrictBool = Field(
        False,
        description="Bought on the spot (review 19d-d M1; true or false only, 19e L3): booked "
        "at `unit_cost` (required, the price paid) with `spot_reason`, drawing nothing from a "
        "store even when one lists it.",
    )
    spot_reason: str = Field(
        "", max_length=200, description="Why bought on the spot (e.g. the store's are reserved)."
    )


class ChargeIn(_In):
    """A contractor's charge."""

    contractor: str = Field(min_length=1, max_length=200)
    amount: float = Field(allow_inf_nan=False, ge=0, le=100_000_000)
    note: str = Field("", max_length=2000)


class SpotDecision(_In):
    """A supervisor's decision on a spot purchase awaiting approval (review 19e H1)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"approve": True}]})
    approve: StrictBool = Field(
        description="true: counted in the cost; false: rejected, not counted."
    )
    reason: str = Field(
        "",
        max_length=2000,
        description="Why it is rejected (required to reject, at most 500 characters; shown "
        "on the line to its booker; review 19h L7).",
    )


class PartReversal(_In):
    """Why a hand booking is reversed (review 19e M5)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "booked twice by mistake"}]}
    )
    reason: str = Field(min_length=1, max_length=200, description="Why it is taken back.")


class BookingRequest(_In):
    """Labour, parts and contractor charges to book on an order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labour": [{"hours": 1.5, "rate": 80}],
                    "parts": [{"part_no": "6205-2RS", "quantity": 2}],
                }
            ]
        },
    )

    labour: list[LabourIn] = Field(default_factory=list, max_length=50)
    parts: list[PartIn] = Field(default_factory=list, max_length=MAX_PARTS)
    charges: list[ChargeIn] = Field(default_factory=list, max_length=20)
    late: bool = Field(
        False, description="Book on a closed order (supervisors), recorded as a late booking."
    )


class CompletionRequest(_In):
    """The completion record of a repair."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "repair_class": "medium",
                    "cause_code": "wear",
                    "root_cause": "bearing worn",
                    "downtime_h": 3,
                }
            ]
        },
    )

    repair_class: Literal["minor", "medium", "major", "replacement"] | None = None
    cause_code: str | None = Field(None, max_length=32, description="See GET /api/causes.")
    root_cause: str | None = Field(None, max_length=5000)
    downtime_h: float | None = Field(None, allow_inf_nan=False, ge=0, le=100_000)


class ResolveRequest(BookingRequest):
    """Resolve with a summary; labour, parts and the completion record may come with it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "summary": "bearing replaced, coupling aligned",
                    "labour": [{"hours": 2, "rate": 80}],
                    "parts": [{"part_no": "6205-2RS", "quantity": 2}],
                    "completion": {"repair_class": "medium", "cause_code": "wear"},
                }
            ]
        },
    )

    summary: str = Field(min_length=1, max_length=5000, description="What was done.")
    completion: CompletionRequest | None = None
    open_items_reason: str | None = Field(
        None,
        max_length=1000,
        description="Why checklist items are left unticked (required when any are: 422 "
        "naming them otherwise); recorded on the timeline with their numbers.",
    )


class FollowUpRequest(_In):
    """The follow-up (回访) of a resolved order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "not_satisfied", "satisfaction": 2, "note": "still noisy"}]
        },
    )

    outcome: Literal["satisfied", "not_satisfied", "reopened"]
    satisfaction: int | None = Field(None, ge=1, le=5)
    note: str = Field("", max_length=5000)


class CancelRequest(_In):
    """Cancel with a reason."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "duplicate of #12"}]}
    )

    reason: str = Field(min_length=1, max_length=2000)


class PartFit(_In):
    """An equipment class, and optionally a model ('' every model), a part fits."""

    equipment_type: EquipmentType
    model: str = Field("", max_length=200)


class PartEntryIn(_In):
    """A part of the parts list."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "bearing 6205-2RS", "unit": "pc", "unit_cost": 45.5}]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=16)
    unit_cost: float = Field(allow_inf_nan=False, ge=0, le=10_000_000)
    active: bool = True
    critical: bool | None = Field(None, description="Kept in stock whatever it costs; None: as is.")
    fits: list[PartFit] | None = Field(
        None, max_length=50, description="Equipment classes (and models) it fits; None: as is."
    )


class PendingSpotPurchase(BaseModel):
    """A cost line awaiting approval, with the order it is booked on: a spot purchase (or a
    part booked by hand), a labour line or a contractor's charge (review 19g)."""

    kind: str = Field(
        "parts",
        description="parts, labour or charges: approve it at "
        "/api/work-orders/{order_id}/{kind}/{id}/approval.",
    )
    order_id: int
    site: str
    equipment: str
    title: str
    status: str = Field(description="The order's status.")
    id: int = Field(description="The line (approve or reject it on the order).")
    part_no: str = Field(description="The part's number; empty for labour and charges.")
    description: str = Field(description="The part; who worked; the contractor.")
    quantity: float = Field(description="Units of the part, hours of labour, 1 for a charge.")
    unit: str | None = None
    unit_cost: float = Field(description="Price paid, hourly rate, or the charge's amount.")
    amount: float = Field(description="quantity × unit_cost.")
    actor: str = Field(description="Who booked it.")
    at: datetime
    waits_because: str | None = Field(
        None,
        description="Why it waits whatever its amount (a store of the site held the part free "
        "when it was bought on the spot; review 19g M4), in the reader's language.",
    )


class ListedPart(_Out):
    """A part of the parts list."""

    part_no: str
    name: str
    unit: str
    unit_cost: float
    active: bool
    updated_at: datetime
    updated_by: str
    critical: bool = False
    fits: list[PartFit] = Field(default_factory=list)
    fits_order: bool = Field(
        False, description="Fits the equipment of the order asked about (`?order=`)."
    )


class CodeName(BaseModel):
    """A code and its name in the reader's language."""

    code: str
    name: str


class TechnicianOut(BaseModel):
    """A technician one may assign an order to."""

    name: str
    display_name: str
    skills: list[str] = Field(
        default_factory=list,
        description="Their skills in the directory (a round's team is one of them).",
    )
