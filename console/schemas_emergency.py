"""Request and response bodies of emergency plans (应急预案), drills (演练) and entrapments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from bldgwatch.console.paging import MAX_ID, When
from bldgwatch.maintenance.emergency import PlanDocument, PlanKind

PLAN_EXAMPLE: dict[str, Any] = {
    "title": "电梯困人救援应急预案",
    "roles": [{"role": "值班员", "duty": "接警、安抚乘客、通知维保单位"}],
    "contacts": [{"name": "王工", "role": "维保救援", "phone": "138 1234 5678"}],
    "steps": [
        {"text": "困人报警", "target_min": 0, "milestone": "alarm"},
        {"text": "值班员接警并安抚乘客", "target_min": 5, "milestone": "notified"},
        {"text": "救援人员到达现场", "target_min": 30, "milestone": "on_site"},
        {"text": "被困乘客解救", "milestone": "released"},
    ],
}
NOTE = Field("", max_length=1000, description="Why (free text).")


class PlanIn(BaseModel):
    """A new plan of a site."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"site": "demo", "kind": "entrapment", "plan": PLAN_EXAMPLE}]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    kind: PlanKind
    plan: PlanDocument


class PlanEdit(BaseModel):
    """A new version of a plan, made from the version the caller read."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"version": 1, "plan": PLAN_EXAMPLE}]}
    )

    version: int = Field(ge=1, le=MAX_ID, description="The version read: 409 if it changed.")
    plan: PlanDocument


class PlanRevision(BaseModel):
    """One saved version: who saved it and when."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    at: datetime
    actor: str


class PlanVersionOut(PlanRevision):
    """One saved version of a plan as it then was (read-only); contacts' phones masked for
    readers without a part in the plan."""

    plan_id: int
    site: str
    kind: str
    current: bool = Field(description="The plan's version now.")
    title: str
    roles: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    steps: list[dict[str, Any]]


class PlanOut(BaseModel):
    """A plan with its drill clock; contacts' phones masked for readers without a part in
    the plan (viewers)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    kind: str
    title: str
    roles: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    version: int
    updated_at: datetime
    updated_by: str
    timezone: str = "Asia/Shanghai"
    last_drill: datetime | None = Field(None, description="The latest held drill's schedule.")
    drill_due: datetime | None = Field(
        None, description="When the next drill is due by the kind's interval; null: no rule."
    )
    drill_overdue: bool = False
    retired_at: datetime | None = Field(
        None, description="Retired then (kept, not drilled any more); null: in use."
    )
    retired_by: str | None = None
    revisions: list[PlanRevision] = Field(default_factory=list)


class DrillIn(BaseModel):
    """A drill to schedule."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"plan_id": 1, "scheduled_at": "2026-12-10T09:30:00+08:00"}]
        },
    )

    plan_id: int = Field(ge=1, le=MAX_ID)
    scheduled_at: When


class DrillMove(BaseModel):
    """A scheduled drill moved to another time."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"scheduled_at": "2026-12-11T09:30:00+08:00", "note": "暴雨改期"}]
        },
    )

    scheduled_at: When
    note: str = NOTE


class DrillCancel(BaseModel):
    """A scheduled drill called off."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "电梯年检，取消"}]}
    )

    note: str = Field(min_length=1, max_length=1000, description="Why it was called off.")


class StepTime(BaseModel):
    """When a step of a running drill was reached (default now)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"at": "2026-12-10T09:34:00+08:00"}, {"reason": "第二部手机误点"}]
        },
    )

    at: When | None = None
    reason: str | None = Field(
        None,
        max_length=500,
        description="A step timed already is refused (409) unless re-timed with a reason, kept "
        "in the drill's corrections (review 19d-d M2).",
    )


class DrillRecordIn(BaseModel):
    """A held drill: who took part, when each step of the plan was reached (null: keep what
    was timed, or not reached), findings and follow-up actions."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participants": ["王工", "李师傅"],
                    "step_times": ["2026-12-10T09:30:00+08:00", "2026-12-10T09:33:00+08:00", None],
                    "findings": "轿厢对讲声音小",
                    "actions": ["更换对讲主机"],
                }
            ]
        },
    )

    participants: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=100
    )
    step_times: list[When | None] = Field(max_length=40)
    cleared: list[Annotated[int, Field(ge=1, le=40)]] = Field(
        default_factory=list,
        max_length=40,
        description="Steps (from 1) whose time set before is cleared (a time given wins).",
    )
    reason: str | None = Field(
        None,
        max_length=500,
        description="Why steps timed before (live, on a phone) are moved or cleared: needed "
        "when any is (422 naming them), kept as a re-time in the drill's corrections "
        "(review 19e M4). A time given in the minute of the one held keeps it to the second.",
    )
    findings: str = Field("", max_length=4000)
    actions: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list, max_length=50
    )


class TimedStep(BaseModel):
    """A step of a drill or a rescue: when, minutes after the start, target, over it."""

    text: str
    target_min: int | None
    at: datetime | None
    minutes: float | None
    over: bool


class DrillCorrectionOut(BaseModel):
    """One correction or voiding of a recorded drill: who, when, why, what changed."""

    kind: str = Field(description="corrected, voided or retimed (a step timed again).")
    at: datetime
    actor: str
    reason: str
    changes: dict[str, Any] = Field(description='{field: {"from": …, "to": …}}')


class DrillOut(BaseModel):
    """A drill with each step's minutes against its target."""

    id: int
    plan_id: int
    site: str
    kind: str
    status: str
    scheduled_at: datetime
    timezone: str
    overdue: bool
    plan_version: int | None
    steps: list[TimedStep]
    participants: list[str]
    findings: str
    actions: list[str]
    note: str
    recorded_at: datetime | None
    held_at: datetime | None = Field(
        description="When a recorded drill was held (its first step's time); null until then."
    )
    updated_by: str
    corrections: list[DrillCorrectionOut] = Field(
        default_factory=list,
        description="The record's corrections and voiding, oldest first (review 19c-d M13).",
    )


class DrillCorrectIn(DrillRecordIn):
    """A recorded drill corrected: the whole record as it should read, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participants": ["王工", "李师傅"],
                    "step_times": [None, None, None],
                    "findings": "轿厢对讲声音小",
                    "actions": ["更换对讲主机"],
                    "reason": "参加人员登记错了",
                    "corrections": 0,
                }
            ]
        },
    )

    reason: str = Field(min_length=1, max_length=1000)
    corrections: int = Field(
        ge=0, le=10_000, description="The drill's number of corrections as read (409 if changed)."
    )


class DrillVoidIn(BaseModel):
    """A drill recorded by mistake voided, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "记错了演练：应为 24 号", "corrections": 0}]},
    )

    reason: str = Field(min_length=1, max_length=1000)
    corrections: int = Field(
        ge=0, le=10_000, description="The drill's number of corrections as read (409 if changed)."
    )


class EntrapmentReportIn(BaseModel):
    """An entrapment reported by phone (no alarm): the car and when the call came."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "demo",
                    "equipment": "E-01",
                    "reported_at": "2026-12-10T10:02:00+08:00",
                    "note": "12 楼业主来电：轿厢停在 8、9 楼之间，两人被困",
                }
            ]
        },
    )

    site: str = Field(min_length=1, max_length=64)
    equipment: str = Field(min_length=1, max_length=64)
    reported_at: When = Field(description="When the call came: the rescue's clock starts here.")
    note: str = Field("", max_length=2000, description="Who called and what they said.")


def _not_true_or_false(value: object) -> object:
    """`true` is not the rescue number 1 (review 19b-d L1); 2.0 is 2 (JSON's integers)."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


class ReleaseIn(BaseModel):
    """The passengers of an entrapment released (default now)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"released_at": "2026-12-10T10:05:00+08:00"}]},
    )

    released_at: When | None = None
    rescue: Annotated[int, Field(ge=1, le=1000), BeforeValidator(_not_true_or_false)] | None = (
        Field(
            default=None,
            description="Which rescue of the order (1 for its first entrapment alarm, 2 for the "
            "next, …); default its latest.",
        )
    )


class Milestone(BaseModel):
    """A moment of a real rescue: when, minutes after the alarm, the plan's target."""

    milestone: str
    at: datetime | None
    minutes: float | None
    target_min: int | None
    over: bool


class EntrapmentOut(BaseModel):
    """A real entrapment (one rescue of its order: each entrapment alarm is one) timed
    against the plan and the rescue target."""

    order_id: int
    rescue: int
    site: str
    equipment: str
    status: str
    timezone: str
    moments: list[Milestone]
    rescue_target_min: float = Field(
        description="Minutes from the rescue's alarm to on site that judge `arrival_late`: the "
        "statutory 30 (TSG: the maintenance company on site within 30 min), whatever the plan "
        "says (review 19d-d M3)."
    )
    plan_on_site_min: int | None = Field(
        None,
        description="The plan's own on-site target (the version in force at the alarm), "
        "reported beside the statutory one; null without a plan.",
    )
    arrival_late: bool
    released_by_note: bool
    plan_id: int | None
    plan_version: int | None = Field(description="The plan version the rescue is timed by.")
    reported_by: str | None = Field(
        None, description="Who recorded it by hand, reported by phone; null for an alarm's."
    )


class EntrapmentCase(BaseModel):
    """What an entrapment order's page shows of it (review 19c-d M11): the site's entrapment
    plan (steps, contacts) and the rescues so far, each timed against its plan version."""

    order_id: int
    entrapment: bool = Field(description="Whether the order is an entrapment's.")
    plan: PlanOut | None = Field(description="The site's entrapment plan; null: it has none.")
    rescues: list[EntrapmentOut] = Field(description="The order's rescues, latest first.")
    now: datetime = Field(description="The server's clock, for the running rescue clock.")
