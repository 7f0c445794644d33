"""Request and response bodies of checklist templates, inspection rounds (巡检), their runs and
entries, and the checklist of a preventive order."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bldgwatch.console.problems import Problem
from bldgwatch.maintenance.checklists import KEY, TEMPLATE_EXAMPLE, ChecklistItem, TemplateIn
from bldgwatch.maintenance.rounds import ROUND_EXAMPLE, RoundIn

SiteId = Field(min_length=1, max_length=64, description="Site id.")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TemplateCreate(TemplateIn):
    """A new checklist template of a site."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"site": "demo", **TEMPLATE_EXAMPLE}]}
    )

    site: str = SiteId


SEEN_AT = Field(
    None,
    description="`updated_at` of the version you edited: a save after someone else's is 409 "
    "naming who saved it (their change is not silently undone). Without it the save is "
    "unconditional.",
)


class TemplateChange(TemplateIn):
    """A checklist template's new content, with the version it was edited from."""

    seen_at: AwareDatetime | None = SEEN_AT


class RoundChange(RoundIn):
    """A round's new route, times and clocks, with the version it was edited from."""

    seen_at: AwareDatetime | None = SEEN_AT


class TemplateOut(_Out):
    """A checklist template."""

    id: int
    site: str
    name: str
    equipment_type: str
    location: str | None
    items: list[ChecklistItem]
    updated_at: datetime
    updated_by: str


class RoundCreate(RoundIn):
    """A new round of a site."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"site": "demo", **ROUND_EXAMPLE}]}
    )

    site: str = SiteId


class DuePointOut(BaseModel):
    """One due point of a round and how it went."""

    due_at: datetime = Field(description="UTC.")
    state: Literal["on_time", "late", "missed", "open", "upcoming"]
    run_id: int | None
    done_at: datetime | None = Field(description="The phone's time of the last entry (counts).")
    synced_at: datetime | None = Field(
        None, description="When the server received the last entry (the sync delay)."
    )
    entries: int | None = Field(None, description="Items answered (history only; no run: null).")
    faults: int | None = Field(None, description="Answers that are a fault (history only).")
    disagreements: int | None = Field(
        None, description="Readings that disagree with the live value (history only)."
    )


class StopOut(BaseModel):
    """One stop of a route (no QR code: the phone proves presence by scanning it)."""

    equipment: str
    template_id: int
    name: str = Field(description="The equipment's name.")
    location: str = Field(description="Where it is: building and place.")


class RoundOut(_Out):
    """A round with its route, today's due points and its counts over the last days."""

    id: int
    site: str
    name: str
    times: list[str] = Field(description="Local due times HH:MM in `timezone`.")
    timezone: str
    repeat: Literal["daily", "weekly", "workdays", "monthly"] = Field(
        description="On which days the times fall due (see `weekdays`, `month_days`)."
    )
    weekdays: list[int] = Field(description="A weekly round's days, 0 = Monday … 6 = Sunday.")
    month_days: list[int] = Field(description="A monthly round's days of the month.")
    assignee: str | None = Field(description="The technician responsible, if any.")
    team: str | None = Field(description="The team (a skill) responsible, if any.")
    late_after_min: int
    missed_after_min: int
    active: bool
    stops: list[StopOut]
    updated_at: datetime = Field(description="This version's time: send it back as `seen_at`.")
    updated_by: str
    today: list[DuePointOut] = Field(description="The due points of the site's today.")
    counts: dict[str, int] = Field(description="Due points of the last `days` site days by state.")
    days: int


class EntryOut(_Out):
    """One stored entry."""

    id: str
    stop: int
    item: str
    value: bool | float | str | None
    ok: bool
    recorded_at: datetime
    received_at: datetime
    by: str
    live_value: float | None = Field(description="The point's value when the reading was made.")
    live_at: datetime | None = Field(None, description="When the live value was measured (UTC).")
    disagrees: bool | None = Field(description="Beyond the tolerance; null: no live value.")
    work_order_id: int | None


class EntryFixIn(BaseModel):
    """A correction of an entry: its new value, or `void` to answer the item again, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"value": 35.5, "reason": "输错了小数点，应为 35.5"}]},
    )

    value: bool | float | str | None = Field(
        None, description="The new answer, judged again (none when voiding)."
    )
    void: bool = Field(False, description="Take the answer back: the item is to be answered again.")
    reason: str = Field(min_length=1, max_length=500, description="Why (kept with the change).")


class EntryChangeOut(_Out):
    """A correction of an entry as kept: who, when, the old and new answer, why, and what
    became of the order the old answer went to."""

    id: int
    run_id: int
    entry_id: str
    stop: int
    item: str
    old_value: bool | float | str | None
    old_ok: bool
    new_value: bool | float | str | None = Field(description="None with new_ok None: voided.")
    new_ok: bool | None
    reason: str
    at: datetime
    at_local: str | None = Field(
        None, description="When, on the site's clock (ISO 8601 with the site's offset)."
    )
    by: str
    order_id: int | None
    order_action: Literal["cancelled", "noted", "opened"] | None = Field(
        description="cancelled (opened by the wrong entry, untouched), noted (a timeline note "
        "on it) or opened (the corrected answer is a fault)."
    )


class PhotoOut(_Out):
    """A photo of a run, stored under the phone's id (what a photo item's entry names)."""

    id: str
    run_id: int
    content_type: str
    size: int = Field(description="Bytes, as re-encoded (no metadata).")
    received_at: datetime
    by: str


class RunItem(ChecklistItem):
    """An item of a stop, with the live value of its point and its entry once recorded."""

    live_value: float | None = Field(
        None, description="The point's latest value, if monitored and no older than 15 minutes."
    )
    live_at: datetime | None = Field(None, description="When the live value was measured (UTC).")
    entry: EntryOut | None = None
    corrections: list[EntryChangeOut] = Field(
        default_factory=list,
        description="The item's answers corrected or voided on this run, oldest first: who, "
        "when, old → new, why (review 19d-r M4). Not empty: the answer shown is a corrected one.",
    )


class RunStop(BaseModel):
    """A stop of a run, in route order."""

    index: int
    equipment: str
    name: str
    location: str
    scanned: bool = Field(description="Its QR code was scanned (an entry was accepted).")
    items: list[RunItem]


class RunOut(_Out):
    """A run of a round: its due point, state and stops with their items and entries."""

    id: int
    round_id: int
    round_name: str
    site: str
    timezone: str
    due_at: datetime
    missed_at: datetime = Field(
        description="When the due point is missed unless done: past it, the run is no longer "
        "the one open (a phone offline shows a run kept from before as an earlier one)."
    )
    started_at: datetime
    started_by: str
    done_at: datetime | None
    state: Literal["on_time", "late", "missed", "open", "upcoming"]
    stops: list[RunStop]


class EntryBody(BaseModel):
    """One entry as the phone queued it."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="Made by the phone: sending it again changes nothing.")
    stop: int = Field(ge=0, le=99, description="The stop's index in the route.")
    item: str = Field(pattern=KEY, description="The item's key.")
    value: bool | float | str = Field(description="true/false, a number, an option or a text.")
    code: str = Field(
        min_length=1, max_length=64, description="The stop's QR code as the phone scanned it."
    )
    recorded_at: AwareDatetime = Field(description="When the phone recorded it (its clock).")


class EntryBatch(BaseModel):
    """A phone's queue of entries of one run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "id": "0b6f6d8e-3c2a-4f0e-9a51-5d0b7c1e2f34",
                            "stop": 0,
                            "item": "door",
                            "value": False,
                            "code": "Xq3v9LrT0aBcDeFgHi",
                            "recorded_at": "2026-03-02T08:05:00+08:00",
                        }
                    ]
                }
            ]
        },
    )

    entries: list[EntryBody] = Field(min_length=1, max_length=200)


class EntryResult(BaseModel):
    """The answer to one entry of a batch."""

    id: str
    status: Literal["stored", "duplicate", "refused"]
    entry: EntryOut | None = None
    problem: Problem | None = Field(None, description="Why it was refused.")


class EntryResults(BaseModel):
    """The answers, in the batch's order."""

    results: list[EntryResult]


class ChecklistLine(_Out):
    """One item of a preventive order's checklist: its result (pass / fail / na), note and
    reading once recorded, and the repair order a failed item opened or joined."""

    idx: int
    text: str
    done_at: datetime | None
    done_by: str | None
    result: Literal["pass", "fail", "na"] | None = None
    note: str | None = None
    reading: float | None = None
    unit: str | None = None
    repair_order_id: int | None = None
    withdrawn_at: datetime | None = Field(
        default=None,
        description="A round's fault whose correction withdrew it (review 19d-r M2): when; "
        "nothing to tick any more.",
    )
    withdrawn_by: str | None = None
    withdrawn_reason: str | None = None


class TickIn(BaseModel):
    """Record an item (its result, an optional note, a reading with its unit) or take it back
    (`done: false`). A tick without a result records it passed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"done": True},
                {"done": True, "result": "fail", "note": "制动器闸瓦磨损超限"},
                {"done": True, "result": "pass", "reading": 42.5, "unit": "°C"},
            ]
        },
    )

    done: bool
    result: Literal["pass", "fail", "na"] | None = Field(
        None, description="合格 pass / 不合格 fail (opens or joins a repair order) / 无此项 na."
    )
    note: str | None = Field(None, min_length=1, max_length=500, description="A note.")
    reading: float | None = Field(
        None, allow_inf_nan=False, description="The value measured, where the task measures."
    )
    unit: str | None = Field(None, min_length=1, max_length=16, description="Its unit.")
