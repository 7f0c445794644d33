"""Request and response bodies of the public repair requests (报修) and the desk's side."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["water", "electrical", "elevator", "door", "other"]
HIDDEN = "Invisible, format, bidi and control characters are refused."
HIDDEN_LINES = "Invisible, format, bidi and control characters (but newline, tab) are refused."


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ChallengeOut(_Out):
    """A proof-of-work challenge: find `n` with SHA-256(`challenge:n`) starting with
    `difficulty` zero bits, before `expires_at`."""

    challenge: str
    difficulty: int
    expires_at: datetime


class PointLimits(_Out):
    """What the form accepts."""

    max_description_chars: int
    max_location_chars: int
    max_photo_bytes: int
    photo_types: list[str]


class PublicPoint(_Out):
    """A request point as the public page shows it, with a fresh challenge."""

    site_name: str
    location: str = Field(description="The point's label: the form's location, editable.")
    kind: str
    timezone: str
    categories: list[str]
    limits: PointLimits
    challenge: ChallengeOut


class Submitted(_Out):
    """A request taken: its number, and the private status link (shown once)."""

    number: str
    status_token: str
    status_path: str = Field(description="The status page: /s/<token>.")


class ProgressStep(_Out):
    """One step of the progress."""

    name: str = Field(description="received, accepted, in_progress, done, declined, cancelled.")
    at: datetime | None = Field(None, description="When (UTC); None: not yet.")
    at_local: str | None = Field(None, description="When, in the site's time zone, with it.")


class RequestStatusOut(_Out):
    """What the requester sees on the status page."""

    number: str
    site_name: str
    location: str
    category: str
    state: str = Field(description="received, accepted, in_progress, done, declined, cancelled.")
    steps: list[ProgressStep]
    reason: str | None = Field(None, description="The desk's reason when declined or cancelled.")
    timezone: str
    can_rate: bool
    merged_into: str | None = Field(
        None, description="The number of the request this one was merged into: it follows it."
    )
    rating: int | None = None
    rating_comment: str | None = None


class RatingIn(BaseModel):
    """The requester's rating of the done repair."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"rating": 5, "comment": "来得很快，修好了"}]},
    )

    rating: int = Field(ge=1, le=5, description="1 (poor) … 5 (very good).")
    comment: str = Field("", max_length=1000)


class RequestPointIn(BaseModel):
    """A new request point."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"site": "demo", "kind": "floor", "label": "1号楼 3层", "building": "B1"}]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    kind: Literal["building", "floor", "equipment"]
    label: str = Field(min_length=1, max_length=200)
    building: str | None = Field(None, max_length=64)
    equipment: str | None = Field(None, max_length=64)


class RequestPointOut(_Out):
    """A request point as the desk manages it."""

    id: int
    site: str
    code: str
    kind: str
    label: str
    building: str | None
    equipment: str | None
    created_at: datetime
    created_by: str
    retired_at: datetime | None
    url_path: str = Field(description="The public page's path (/r/<code>).")


class DeskRequest(_Out):
    """A request in the desk's queue: its age while it waits, its order's SLA clocks once
    accepted, the primary it follows once merged."""

    id: int
    number: str
    site: str
    status: str = Field(description="new, accepted, declined, spam or merged.")
    channel: str = Field(description="qr, phone (电话) or walk_in (来访).")
    point_label: str
    equipment: str | None = Field(description="Its equipment: the desk's, else the point's.")
    category: str
    location: str
    description: str
    caller_name: str | None = None
    phone: str | None
    has_photo: bool
    created_at: datetime
    age_min: int = Field(description="Minutes since it came in.")
    urgency: str | None = Field(None, description="emergency (急修) or minor (零修).")
    work_order_id: int | None = None
    order_status: str | None = None
    response_due: datetime | None = None
    resolution_due: datetime | None = None
    response_left_min: int | None = Field(
        None,
        description="Minutes to the response due time (negative: overdue); None once "
        "the order is in progress or done.",
    )
    resolution_left_min: int | None = Field(
        None,
        description="Minutes to the resolution due time (negative: overdue); None once resolved.",
    )
    merged_into: int | None = Field(None, description="The primary's id when merged.")
    merged_into_number: str | None = None
    incident_orders: list[int] = Field(
        default_factory=list,
        description="Open alarm-incident orders on its equipment (the same problem?).",
    )
    duplicates: int = Field(
        0, description="Waiting: how many requests are merged into it (refused, they wait again)."
    )


class DeskRequestIn(BaseModel):
    """A repair request the desk takes by phone (电话) or at the counter (来访)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "demo",
                    "channel": "phone",
                    "category": "elevator",
                    "location": "2号楼 电梯",
                    "description": "电梯困人，3楼和4楼之间",
                    "caller_name": "王女士",
                    "phone": "13800138000",
                    "equipment": "P-01",
                }
            ]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    channel: Literal["phone", "walk_in"]
    category: Category
    description: str = Field(
        min_length=1,
        max_length=20000,
        description=f"At most service_desk.max_description_chars. {HIDDEN_LINES}",
    )
    location: str = Field("", max_length=200, description=f"Needed without a point. {HIDDEN}")
    point_id: int | None = Field(None, ge=1, le=2_147_483_647, description="A point of the site.")
    caller_name: str | None = Field(None, max_length=100, description=HIDDEN)
    phone: str | None = Field(None, max_length=32)
    equipment: str | None = Field(None, min_length=1, max_length=64)


class DeskLogged(_Out):
    """The request logged, and its private status link (shown once: give it to the caller)."""

    request: DeskRequest
    status_token: str
    status_path: str = Field(description="The status page: /s/<token>.")
    status_url: str = Field(
        description="The status page's full address to give the caller: on "
        "service_desk.public_url when set."
    )


class DeskLimits(_Out):
    """What the desk's request form accepts."""

    max_description_chars: int
    max_location_chars: int
    max_caller_chars: int


class MergeIn(BaseModel):
    """Merge this request (a duplicate) into the primary."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"primary_id": 12}]})

    primary_id: int = Field(ge=1, le=2_147_483_647)


class EquipmentIn(BaseModel):
    """The equipment a waiting request is about, as the desk names it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"equipment": "E-01"}]}
    )

    equipment: str = Field(min_length=1, max_length=64)


class LinkIn(BaseModel):
    """Accept this request by joining an alarm incident's open order on its equipment."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"work_order_id": 7}]}
    )

    work_order_id: int = Field(ge=1, le=2_147_483_647)


class AcceptIn(BaseModel):
    """Accept a request as a repair work order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"urgency": "emergency", "equipment": "P-01"}]},
    )

    urgency: Literal["emergency", "minor"] = Field(description="急修 (P1) or 零修 (P3).")
    equipment: str | None = Field(
        None, max_length=64, description="The equipment of the order; default the point's."
    )


class DeclineIn(BaseModel):
    """Decline a request; the reason is shown on its status page."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "属于业主户内管道，请联系前台预约有偿维修"}]},
    )

    reason: str = Field(min_length=1, max_length=1000)


class Decision(_Out):
    """The desk's decision."""

    id: int
    number: str
    status: str
    work_order_id: int | None = None
    returned_to_queue: list[str] = Field(
        default_factory=list,
        description="Declined or spam: the requests merged into it, waiting in the queue again.",
    )


class SpamIn(BaseModel):
    """Mark several waiting requests as spam at once (a flood from one code)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ids": [41, 42]}]})

    ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=1, max_length=500, description="The requests' ids (1–500 of them)."
    )


class SpamOut(_Out):
    """What became of each request named: `spam` now, or the decision another desk made
    first (those are left as they were)."""

    marked: int = Field(description="How many were marked as spam by this call.")
    requests: list[Decision]


class FollowUpCaller(_Out):
    """Someone to call back about the repair."""

    number: str = Field(description="Their request's number (R-…).")
    name: str | None
    phone: str | None
    can_rate: bool = Field(description="They may still rate it by their status link.")


class FollowUpDue(_Out):
    """A resolved repair waiting for its follow-up (回访)."""

    order_id: int
    site: str
    equipment: str
    kind: str = Field(description="reactive or request.")
    priority: int
    title: str
    resolved_at: datetime
    resolved_local: str = Field(description="When resolved, in the site's time zone, with it.")
    due_at: datetime
    due_local: str = Field(description="When the follow-up is due, in the site's time zone.")
    age_h: int = Field(description="Hours since it was resolved.")
    overdue: bool
    callers: list[FollowUpCaller] = Field(description="The requests it answers, to call back.")
