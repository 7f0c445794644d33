"""Request and response bodies of complaints (投诉) and a household's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bldgwatch.console.paging import When
from bldgwatch.console.schemas import WorkOrderSummary
from bldgwatch.maintenance.complaintmodels import Category, Channel, Outcome
from bldgwatch.maintenance.complaints import MAX_TEXT

HIDDEN = "Invisible, format, bidi and control characters are refused (the desk checks)."
VERSION = Field(
    None,
    ge=1,
    le=2_147_483_647,
    description="The complaint's `version` as the caller saw it: 409 when someone else "
    "changed the complaint since. Omitted: no check.",
)


class ComplaintIn(BaseModel):
    """A complaint as the desk logs it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "demo",
                    "building": "3栋",
                    "room": "1单元 502",
                    "channel": "phone",
                    "category": "repair_delay",
                    "description": "厨房漏水报修三天无人上门",
                }
            ]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    building: str = Field(
        min_length=1, max_length=64, description=f"As written, e.g. 3栋. {HIDDEN}"
    )
    room: str = Field(
        min_length=1, max_length=64, description=f"Unit and room, e.g. 1单元 502. {HIDDEN}"
    )
    channel: Channel
    category: Category
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    received_at: When | None = Field(None, description="When it came in; default now.")
    complainant: str | None = Field(None, max_length=100, description=HIDDEN)
    phone: str | None = Field(
        None,
        max_length=32,
        description="Digits, spaces, '-' and a leading '+', at least 5 digits; full-width "
        "digits are stored as ASCII.",
    )
    handler: str | None = Field(None, max_length=64, description="A console user at the site.")
    work_order_id: int | None = Field(None, ge=1, le=2_147_483_647)
    equipment: str | None = Field(None, min_length=1, max_length=64)


class ComplaintNote(BaseModel):
    """The first response: what the complainant was told."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "已致电业主，今天下午上门"}]}
    )

    note: str = Field(min_length=1, max_length=MAX_TEXT)
    version: int | None = VERSION


class ComplaintAssign(BaseModel):
    """Who handles the complaint from now."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"handler": "supervisor", "note": "请今天回电"}]},
    )

    handler: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=MAX_TEXT)
    version: int | None = VERSION


class ComplaintResolve(BaseModel):
    """The outcome (办结)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "resolved", "note": "已更换水管", "accepted": True}]
        },
    )

    outcome: Outcome
    note: str = Field(min_length=1, max_length=MAX_TEXT)
    accepted: bool | None = Field(None, description="Did the complainant accept it?")
    version: int | None = VERSION


class ComplaintSummary(BaseModel):
    """A complaint in a listing; times in UTC, shown in the site's `timezone`."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    building: str
    room: str
    channel: str
    category: str
    description: str
    complainant: str | None = Field(
        description="Who complained; masked (王**) for readers who do not handle complaints."
    )
    phone: str | None = Field(
        description="Their number; masked (138****0000) for readers who do not handle complaints."
    )
    received_at: datetime
    handler: str | None
    response_due: datetime
    resolution_due: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    accepted: bool | None
    work_order_id: int | None
    equipment: str | None
    overdue: list[str] = Field(
        default_factory=list, description="Clocks run out unanswered: response, resolution."
    )
    timezone: str = Field("Asia/Shanghai", description="The site's time zone.")
    version: int = Field(
        description="Raised by every change; send it back with a change to refuse a stale one."
    )


class ComplaintEvent(BaseModel):
    """One change on the complaint's timeline."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    kind: str = Field(description="logged, assigned, responded or resolved.")
    changes: dict[str, Any] = Field(description="Field → [before, after].")
    note: str


class ComplaintDetail(ComplaintSummary):
    """A complaint with its outcome note, timeline and what the caller may do now."""

    outcome_note: str | None = None
    logged_at: datetime
    logged_by: str
    events: list[ComplaintEvent] = Field(default_factory=list)
    actions: list[str] = Field(
        default_factory=list, description="assign, respond, resolve: what the caller may do."
    )


class HouseholdHistoryOut(BaseModel):
    """A household's complaints and the work orders linked to them, newest first."""

    site: str
    building: str
    room: str
    timezone: str
    complaints: list[ComplaintSummary]
    work_orders: list[WorkOrderSummary] = Field(
        description="Orders the household's complaints link to (orders have no household)."
    )


class HandlerOut(BaseModel):
    """A console user who may handle a site's complaints."""

    name: str
    display_name: str
