"""The editable documents of a site's alerting: contacts, rotas, policies (pure pydantic).

Each is validated on its own here (types, ranges, ids, ordering); the references between
them (a policy's rota and channels, a rota's contacts) are checked against the site's other
documents by `alerts.admin` when one is saved. Times of day are the site's local time.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from bldgwatch.core.config import StrictModel

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ItemId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN),
    Field(description="Id: letters, digits, '_', '.', '-'; at most 64 characters."),
]
Language = Literal["zh-CN", "en"]
WEEK = list(range(7))
ROTA_TARGETS = ("primary", "backup", "supervisor")


class Contact(StrictModel):
    """A person alerts can reach, with an address per kind of channel."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "zhang", "name": "张三", "language": "zh-CN", "phone": "13800000001"}
            ]
        }
    )

    id: ItemId
    name: str = Field(min_length=1, max_length=64, description="Display name.")
    language: Language = Field("zh-CN", description="Language of the messages they get.")
    email: str | None = Field(
        None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$", description="E-mail address."
    )
    phone: str | None = Field(
        None,
        pattern=r"^\+?[0-9]{5,20}$",
        description="Mobile number: SMS, and @-mentions by the WeCom and DingTalk robots.",
    )
    feishu_open_id: str | None = Field(
        None, max_length=64, description="Feishu/Lark open_id, for @-mentions by its robot."
    )
    active: bool = Field(True, description="Inactive contacts are never notified.")


class Window(StrictModel):
    """A window of local time on some weekdays; an end before the start runs overnight."""

    days: list[int] = Field(default_factory=lambda: list(WEEK), description="0 = Monday.")
    start: time = Field(description="Start, local time HH:MM.")
    end: time = Field(description="End, local time HH:MM (before start: the next morning).")

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(d not in WEEK for d in value):
            raise ValueError("weekdays are 0 (Monday) … 6 (Sunday), at least one")
        return value

    def covers(self, local: datetime) -> bool:
        """True when the local time falls in the window (overnight: from its start day)."""
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        if clock >= self.start:
            return local.weekday() in self.days
        return (local.weekday() - 1) % 7 in self.days and clock < self.end


class Shift(StrictModel):
    """A shift of a rota: it starts (the handover) at `start` and lasts until the next one."""

    name: str = Field(min_length=1, max_length=32, description="e.g. day, night.")
    start: time = Field(description="Handover time, local HH:MM.")


class OnCallPair(StrictModel):
    """Who is on call for one shift."""

    primary: ItemId
    backup: ItemId | None = None


class Holiday(OnCallPair):
    """A day whose shifts (those starting on it) a holiday pair covers."""

    date: date
    name: str = Field("", max_length=64, description="e.g. 春节.")


class Override(OnCallPair):
    """A swap or a leave cover: from `start` to `end` (local) this pair is on call."""

    start: datetime = Field(description="Local date and time, no zone.")
    end: datetime = Field(description="Local date and time, no zone.")
    reason: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("override times are local: give them without a zone")
        if self.end <= self.start:
            raise ValueError("override end must be after its start")
        return self


class Rota(StrictModel):
    """An on-call rota: shifts (handovers) each day, a cycle of pairs taking the shifts in
    turn from `anchor`, holidays and overrides, and the supervisor above them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "duty",
                    "shifts": [
                        {"name": "day", "start": "08:30"},
                        {"name": "night", "start": "20:30"},
                    ],
                    "cycle": [
                        {"primary": "zhang", "backup": "li"},
                        {"primary": "wang", "backup": "zhao"},
                    ],
                    "anchor": "2026-12-01",
                    "holidays": [{"date": "2027-02-06", "primary": "chen", "name": "春节"}],
                    "supervisor": "chen",
                }
            ]
        }
    )

    id: ItemId
    name: str = Field("", max_length=64)
    shifts: list[Shift] = Field(min_length=1, description="Shifts of a day, by start time.")
    cycle: list[OnCallPair] = Field(
        min_length=1, description="Pairs taking successive shifts in turn, from `anchor`."
    )
    anchor: date = Field(description="Local date whose first shift takes the cycle's first pair.")
    holidays: list[Holiday] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    supervisor: ItemId | None = Field(None, description="Contact the last escalation reaches.")

    @model_validator(mode="after")
    def _shape(self) -> Self:
        starts = [s.start for s in self.shifts]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("shifts must be in order of their start time, no two at once")
        days = [h.date for h in self.holidays]
        if len(set(days)) != len(days):
            raise ValueError("a holiday date is given twice")
        return self

    def contacts(self) -> set[str]:
        """Every contact the rota names."""
        pairs = [*self.cycle, *self.holidays, *self.overrides]
        named = {p.primary for p in pairs} | {p.backup for p in pairs if p.backup}
        return named | ({self.supervisor} if self.supervisor else set())


class AlarmMatch(StrictModel):
    """Which alarms a policy takes; an empty list matches everything."""

    priorities: list[int] = Field(default_factory=list, description="1 = emergency … 4 = low.")
    equipment_types: list[str] = Field(default_factory=list)
    rules: list[str] = Field(
        default_factory=list, description="Rule ids or globs, e.g. elevator.entrapment_*."
    )
    buildings: list[str] = Field(default_factory=list)
    fault_codes: list[str] = Field(default_factory=list, description="Fault codes or globs.")

    @field_validator("priorities")
    @classmethod
    def _priorities(cls, value: list[int]) -> list[int]:
        if any(p not in (1, 2, 3, 4) for p in value):
            raise ValueError("priorities are 1 … 4")
        return value


Target = Annotated[
    str,
    StringConstraints(pattern=r"^(primary|backup|supervisor|contact:[A-Za-z0-9][A-Za-z0-9_.-]*)$"),
]


class Step(StrictModel):
    """One level of escalation: whom to notify, `after_min` minutes after the alarm."""

    after_min: float = Field(ge=0, le=24 * 60, description="Minutes after the alarm.")
    notify: list[Target] = Field(
        min_length=1, description="primary, backup, supervisor (of the rota) or contact:ID."
    )
    channels: list[ItemId] | None = Field(
        None, description="Channels in fallback order; the policy's when absent."
    )


class QuietHours(Window):
    """Hours in which notices of low priorities wait (sent when the window ends)."""

    priorities: list[int] = Field(
        default_factory=lambda: [3, 4], description="Priorities that keep quiet."
    )


class Policy(StrictModel):
    """Which alarms go to whom, through which channels, at which hours, and how they escalate
    until someone acknowledges."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "p1-lifts",
                    "match": {"priorities": [1], "equipment_types": ["elevator"]},
                    "rota": "duty",
                    "steps": [
                        {"after_min": 0, "notify": ["primary"]},
                        {"after_min": 5, "notify": ["backup"]},
                        {"after_min": 15, "notify": ["supervisor"], "channels": ["sms"]},
                    ],
                    "repeat_every_min": 2,
                    "channels": ["wecom-duty", "sms"],
                }
            ]
        }
    )

    id: ItemId
    name: str = Field("", max_length=100)
    enabled: bool = True
    match: AlarmMatch = Field(default_factory=AlarmMatch)
    hours: list[Window] = Field(
        default_factory=list,
        description="When the policy applies (the alarm's local time); none: always.",
    )
    rota: ItemId | None = Field(None, description="Rota of primary, backup and supervisor.")
    steps: list[Step] = Field(min_length=1, max_length=10)
    repeat_every_min: float | None = Field(
        None, gt=0, le=24 * 60, description="Repeat to everyone reached so far every N minutes."
    )
    max_repeats: int = Field(12, ge=0, le=100, description="Repeats per level at most.")
    channels: list[ItemId] = Field(min_length=1, description="Channels in fallback order.")
    stop_on_clear: bool = Field(
        True, description="Stop escalating when the alarm returns to normal unacknowledged."
    )
    quiet_hours: QuietHours | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        delays = [s.after_min for s in self.steps]
        if any(b <= a for a, b in itertools.pairwise(delays)):
            raise ValueError("steps must come in order, each later than the one before")
        if self.rota is None and any(t in ROTA_TARGETS for s in self.steps for t in s.notify):
            raise ValueError("steps notify primary, backup or supervisor: name the rota")
        return self

    def channel_ids(self) -> set[str]:
        """Every channel the policy names."""
        return set(self.channels) | {c for s in self.steps for c in s.channels or []}

    def contact_ids(self) -> set[str]:
        """Every contact the policy names directly."""
        return {t.split(":", 1)[1] for s in self.steps for t in s.notify if ":" in t}
