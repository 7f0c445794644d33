"""Request bodies of the console's changes (alarms, work orders) and the history items."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from bldgwatch.console.schemas_orders import MAX_PARTS


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeakVerdictRequest(_In):
    """A person's verdict on an alarm whose rule waits for one (a night-flow leak)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"leak": True, "comment": "toilet cistern on 3F runs"},
                {"leak": False, "comment": "roof tank filled overnight"},
            ]
        },
    )

    leak: StrictBool = Field(
        description="True: a leak, open the repair order; False: none (a JSON boolean only)."
    )
    comment: str | None = Field(
        None, max_length=2000, description="What was found; the reason when it is no leak."
    )
    reverse: StrictBool = Field(
        False,
        description="True: this verdict knowingly reverses the one standing on the alarm (the "
        'alarm page\'s "Correct the verdict"); without it the opposite of a standing verdict '
        "is a 409 naming that verdict, who gave it and when.",
    )


class AckRequest(_In):
    """Acknowledge an alarm."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"comment": "on my way"}]}
    )

    comment: str | None = Field(None, max_length=2000)


class ShelveRequest(_In):
    """Shelve an alarm until a time (or for some minutes)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"minutes": 60, "comment": "sensor being replaced"}],
            # Exactly one of `until` and `minutes` (else 400).
            "oneOf": [
                {"required": ["until"], "properties": {"until": {"type": "string"}}},
                {"required": ["minutes"], "properties": {"minutes": {"type": "integer"}}},
            ],
        },
    )

    until: AwareDatetime | None = Field(None, description="End of the shelf (ISO 8601, zone).")
    minutes: int | None = Field(None, ge=1, le=7 * 24 * 60, description="Or: shelve this long.")
    comment: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"\S",
        description="Why it is shelved (ISA-18.2: a shelf is authorised and has a reason).",
    )


class OutOfServiceRequest(_In):
    """Take an alarm out of service (admins), with the reason."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "sensor removed for calibration"}]},
    )

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="Why.")


class UnshelveRequest(_In):
    """End a shelf early."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"comment": "sensor replaced"}]}
    )

    comment: str | None = Field(None, max_length=2000)


class CommentRequest(_In):
    """A note on an alarm."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "bearing noise confirmed"}]}
    )

    text: str = Field(min_length=1, max_length=2000)


class AlarmHistoryItem(BaseModel):
    """One transition or comment of an alarm."""

    at: datetime
    kind: str = Field(description="transition or comment.")
    transition: str | None = Field(None, description="activate, acknowledge, shelve, …")
    state: str | None = None
    previous_state: str | None = None
    actor: str | None = None
    text: str | None = Field(None, description="Comment text, or the transition's comment.")
    value: float | None = None


class RepairRequest(_In):
    """An owner's or staff member's repair request, opened as a work order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "demo",
                    "equipment": "E-01",
                    "title": "Car 1 door closes slowly",
                    "description": "Reported by the 12th-floor owner",
                    "priority": 3,
                }
            ]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    equipment: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=5000)
    priority: int = Field(3, ge=1, le=4, description="1 = emergency … 4 = low.")


class AssignRequest(_In):
    """Assign a work order to a technician."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"technician": "li.wei"}]}
    )

    technician: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=2000)


class PartUsed(_In):
    """A spare part used."""

    part_no: str = Field(min_length=1, max_length=64, description="Part number or name.")
    quantity: float = Field(1, allow_inf_nan=False, gt=0, le=10_000)
    unit_cost: float | None = Field(
        None,
        allow_inf_nan=False,
        ge=0,
        le=10_000_000,
        description="Cost of one. Default: the parts list's; another only by a supervisor, "
        "with `cost_reason`.",
    )
    description: str = Field("", max_length=200)
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


class TransitionRequest(_In):
    """Move a work order: start (in_progress), hold (on_hold), resolve (resolved), …"""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": "resolved",
                    "note": "bearing replaced",
                    "labour_hours": 1.5,
                    "rate": 80,
                    "parts": [{"part_no": "6205-2RS", "quantity": 1, "unit_cost": 120}],
                }
            ]
        },
    )

    to: str = Field(
        description="assigned, in_progress, on_hold, resolved, verified, closed or cancelled."
    )
    note: str = Field("", max_length=5000)
    labour_hours: float | None = Field(
        None, allow_inf_nan=False, gt=0, le=1000, description="Labour to log."
    )
    rate: float | None = Field(
        None,
        allow_inf_nan=False,
        ge=0,
        le=100_000,
        description="Labour cost per hour; default the site's `stock.labour_rate`.",
    )
    parts: list[PartUsed] = Field(
        default_factory=list, max_length=MAX_PARTS, description="Parts to log."
    )


class LabourRequest(_In):
    """Labour and parts to log on a work order without moving it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"labour_hours": 0.5, "parts": [], "note": "diagnosis"}],
            # Something to log: labour hours, or at least one part (else 400).
            "anyOf": [
                {"required": ["labour_hours"], "properties": {"labour_hours": {"type": "number"}}},
                {"required": ["parts"], "properties": {"parts": {"minItems": 1}}},
            ],
        },
    )

    labour_hours: float | None = Field(None, allow_inf_nan=False, gt=0, le=1000)
    rate: float | None = Field(
        None,
        allow_inf_nan=False,
        ge=0,
        le=100_000,
        description="Labour cost per hour; default the site's `stock.labour_rate`.",
    )
    parts: list[PartUsed] = Field(default_factory=list, max_length=MAX_PARTS)
    note: str = Field("", max_length=5000)
