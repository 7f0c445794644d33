"""Checklists: the items of an inspection template (巡检表) and how an answer is judged, the
templates of a site, and the checklist a preventive order carries (its plan's tasks, ticked
by the technician).

An item is one of five kinds: `check` (pass/fail), `reading` (a number in its unit, within
optional lower/upper limits; it may name the live point of a monitored equipment and the
tolerance beyond which the manual and the live value disagree), `choice` (one of its options,
some of which count as a fault), `photo` and `note`. Judging an answer is pure.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self, cast

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.core.points import point_info
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError, WorkOrderNotFound
from bldgwatch.maintenance.i18n import Message as OrderMessage
from bldgwatch.maintenance.models import EquipmentRow
from bldgwatch.maintenance.roundmodels import (
    ChecklistTemplateRow,
    InspectionRoundRow,
    OrderCheckRow,
)
from bldgwatch.maintenance.workorders import add_note, get_order

KEY = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Option = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[^,，]+$",
        description="One option, without a comma (the page edits options as a list split on "
        "commas: review 19b-r L7).",
    ),
]


def refused(kind: str, english: str, **ctx: object) -> PydanticCustomError:
    """A template's or round's refusal: its catalogue key is `validation.round_<kind>` (the
    API says it in the reader's language, naming the item: review 19c-r M3), `english` where
    there is none."""
    return PydanticCustomError(f"round_{kind}", english, ctx)


def plain(kind: str, text: str, **ctx: object) -> None:
    """Refused (`validation.round_<kind>`) unless `text` is plain (no control, format or bidi
    characters) and not blank: what a person reads on a phone must be what was typed."""
    if first_hidden(text) or blank(text):
        raise refused(kind, "must be plain, visible text", **ctx)


class ItemKind(StrEnum):
    """What an item asks for."""

    CHECK = "check"
    READING = "reading"
    CHOICE = "choice"
    PHOTO = "photo"
    NOTE = "note"


class ChecklistItem(BaseModel):
    """One item of a checklist template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(
        max_length=64,
        description="Unique within the template, e.g. `l1_current` (lower-case letters, "
        "digits, - and _). Left out in a template's save: made from the item's position.",
        json_schema_extra={"pattern": KEY},
    )
    kind: ItemKind = Field(description="check, reading, choice, photo or note.")
    label: str = Field(min_length=1, max_length=200, description="What to check, as shown.")
    unit: str | None = Field(None, max_length=16, description="A reading's unit, e.g. A or °C.")
    low: float | None = Field(None, allow_inf_nan=False, description="A reading's lower limit.")
    high: float | None = Field(None, allow_inf_nan=False, description="A reading's upper limit.")
    options: list[Option] = Field(
        default_factory=list, max_length=20, description="A choice's options."
    )
    bad_options: list[Option] = Field(
        default_factory=list, max_length=20, description="The options that are a fault."
    )
    point: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_]{1,64}$",
        description="A reading's live point (the equipment's field in the time series): one "
        "of its class's points in `/api/points`.",
    )
    tolerance: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Largest |manual − live| that agrees."
    )

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not re.fullmatch(KEY, key):
            raise refused("item_key", "'{key}' may hold only a-z, 0-9, - and _", key=key)
        return key

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        label = self.label
        for text in (self.label, self.unit or "x", *self.options):
            plain("item_text", text, label=label)
        reading = self.kind is ItemKind.READING
        if not reading and (self.low, self.high, self.point, self.unit) != (None,) * 4:
            raise refused("item_reading_only", "unit, limits and point are for readings only")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise refused(
                "item_low_high", "low {low} is above high {high}", low=self.low, high=self.high
            )
        if (self.point is None) != (self.tolerance is None):
            raise refused("item_tolerance", "a live point needs its tolerance, and back")
        if self.kind is ItemKind.CHOICE and (
            len({_looks(o) for o in self.options}) != len(self.options) or len(self.options) < 2
        ):
            raise refused("item_options", "a choice needs 2 or more different options")
        if self.kind is not ItemKind.CHOICE and (self.options or self.bad_options):
            raise refused("item_choice_only", "options are for choices only")
        stray = next((o for o in self.bad_options if o not in self.options), None)
        if stray is not None:
            raise refused(
                "item_bad_option",
                "the bad option '{option}' is not one of the options",
                option=stray,
            )
        if len(set(self.bad_options)) != len(self.bad_options):
            raise refused("item_bad_twice", "a bad option is given twice")
        return self


def _looks(text: str) -> str:
    """How a text looks on a phone: options that look the same (ﬃ and ffi, Ａ and A, case)
    cannot be told apart, so they cannot both be options (review 19r L8)."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


TEMPLATE_EXAMPLE: dict[str, JsonValue] = {
    "name": "强电井巡检",
    "equipment_type": "shaft_panel",
    "location": "B1",
    "items": [
        {"key": "door", "kind": "check", "label": "配电柜门已锁好"},
        {
            "key": "l1",
            "kind": "reading",
            "label": "L1 电流",
            "unit": "A",
            "low": 0,
            "high": 80,
            "point": "current_l1_a",
            "tolerance": 5,
        },
        {
            "key": "smell",
            "kind": "choice",
            "label": "异味",
            "options": ["无", "焦糊味"],
            "bad_options": ["焦糊味"],
        },
    ],
}


class TemplateIn(BaseModel):
    """A checklist template as saved."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TEMPLATE_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200, description="The template's name.")
    equipment_type: str = Field(pattern=KEY, description="The equipment class it checks.")
    location: str | None = Field(
        None, min_length=1, max_length=200, description="Only equipment at this building."
    )
    items: list[ChecklistItem] = Field(min_length=1, max_length=60, description="In order.")

    @model_validator(mode="before")
    @classmethod
    def _make_keys(cls, data: Any) -> Any:
        """Items without a key get one from their position (`item-3`), one no other item has:
        a property manager is not asked for an identifier (review 19c-r M3)."""
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return data
        items = data["items"]
        # only text keys count as taken: anything else is refused by the item's own check
        taken = {i["key"] for i in items if isinstance(i, dict) and isinstance(i.get("key"), str)}
        made = []
        for n, item in enumerate(items, start=1):
            if isinstance(item, dict) and not item.get("key"):
                key, extra = f"item-{n}", 1
                while key in taken:
                    extra += 1
                    key = f"item-{n}-{extra}"
                taken.add(key)
                made.append({**item, "key": key})
            else:
                made.append(item)
        return {**data, "items": made}

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        plain("name_text", self.name)
        plain("location_text", self.location or "x")
        first: dict[str, int] = {}
        for n, item in enumerate(self.items, start=1):
            if item.key in first:
                raise refused(
                    "item_key_twice",
                    "items {first} and {second} have the same key '{key}'",
                    first=first[item.key],
                    second=n,
                    key=item.key,
                )
            first[item.key] = n
            if item.point is not None and point_info(self.equipment_type, item.point) is None:
                raise refused(
                    "item_point",
                    "item {n} '{label}': '{point}' is not a point of this equipment class",
                    n=n,
                    label=item.label,
                    point=item.point,
                )
        return self


def _takes(item: ChecklistItem, what: str) -> Message:
    """What the item takes, in the reader's language."""
    return Message(f"error.checklist.takes_{what}", {"item": item.label})


def judge(item: ChecklistItem, value: Any) -> bool:
    """Whether the answer is fine; InvalidRecord (naming `value`) when it does not fit the item:
    a check takes true/false, a reading a finite number, a choice one of its options, a photo
    or a note a text."""
    match item.kind:
        case ItemKind.CHECK:
            if not isinstance(value, bool):
                raise InvalidRecord("value", _takes(item, "check"))
            return value
        case ItemKind.READING:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidRecord("value", _takes(item, "reading"))
            if not math.isfinite(value):
                raise InvalidRecord("value", _takes(item, "reading"))
            return (item.low is None or value >= item.low) and (
                item.high is None or value <= item.high
            )
        case ItemKind.CHOICE:
            if value not in item.options:
                raise InvalidRecord("value", _takes(item, "choice"))
            return value not in item.bad_options
    if not isinstance(value, str) or len(value) > 2000 or first_hidden(value):
        raise InvalidRecord("value", _takes(item, "text"))  # hidden characters too (19r L5)
    return True


def items_of(row: ChecklistTemplateRow) -> list[ChecklistItem]:
    """The template's items, in order."""
    return [ChecklistItem.model_validate(item) for item in row.items]


class TemplateMisfit(MaintenanceError):  # noqa: N818 - reads better at the call site
    """A template for a class the site has no equipment of, or a location none of that
    class's equipment is at (review 19c-r L1): every stop using it would be refused (409)."""

    def __init__(self, what: str, params: dict[str, str]) -> None:
        super().__init__(Message(f"error.checklist.no_{what}", params))


def _check_fits_site(session: Session, site: str, body: TemplateIn) -> None:
    units = session.execute(
        select(EquipmentRow.building, EquipmentRow.location).where(
            EquipmentRow.site == site, EquipmentRow.type == body.equipment_type
        )
    ).all()
    if not units:
        raise TemplateMisfit("class", {"site": site, "type": body.equipment_type})
    places = {p for unit in units for p in unit if p}
    if body.location is not None and body.location not in places:
        shown = "、".join(sorted(places)[:10])
        raise TemplateMisfit("location", {"location": body.location, "places": shown})


def save_template(
    session: Session,
    site: str,
    body: TemplateIn,
    *,
    template_id: int | None,
    at: datetime,
    actor: str,
    seen: datetime | None = None,
) -> ChecklistTemplateRow:
    """Create (no id) or replace a template of the site; flushes, the caller commits.
    TemplateInUse when a round checks equipment of another class with it; ChangedMeanwhile
    when `seen` (the version edited) is no longer the template's."""
    _check_fits_site(session, site, body)
    row = None if template_id is None else session.get(ChecklistTemplateRow, template_id)
    if row is not None and seen is not None:
        claim_unchanged(session, row, seen, at)
    if row is not None and row.equipment_type != body.equipment_type:
        _check_unused(session, row)
    if row is None:
        row = ChecklistTemplateRow(site=site)
        session.add(row)
    row.name = body.name
    row.equipment_type = body.equipment_type
    row.location = body.location
    row.items = [item.model_dump(mode="json") for item in body.items]
    if seen is None:
        row.updated_at = next_version(row.updated_at, at)
    row.updated_by = actor
    session.flush()
    return row


class ChangedMeanwhile(MaintenanceError):  # noqa: N818 - reads better at the call site
    """Someone saved the template or round after the version the editor started from (409:
    the later save would silently undo theirs; review 19b-r M4)."""

    def __init__(self, what: str, by: str) -> None:
        super().__init__(Message(f"error.round.changed_{what}", {"by": by}))


def next_version(saved: datetime | None, at: datetime) -> datetime:
    """The `updated_at` of a new version: `at`, or just after the saved one when the clock
    has not moved past it (two saves within one tick must still be two versions)."""
    if saved is None or at > saved:
        return at
    return saved + timedelta(microseconds=1)


def claim_unchanged(
    session: Session, row: ChecklistTemplateRow | InspectionRoundRow, seen: datetime, at: datetime
) -> None:
    """Take the row for this save only if it is still the version saved at `seen` (one
    conditional update, so two editors of one version cannot both pass); else
    ChangedMeanwhile naming who saved it."""
    table = type(row)
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(table)
            .where(table.id == row.id, table.updated_at == seen)
            .values(updated_at=next_version(seen, at))
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        session.refresh(row)
        what = "template" if table is ChecklistTemplateRow else "round"
        raise ChangedMeanwhile(what, row.updated_by)
    row.updated_at = next_version(seen, at)


class TemplateInUse(MaintenanceError):  # noqa: N818 - reads better at the call site
    """A template whose class would no longer fit the equipment its rounds check with it."""

    def __init__(self, template_id: int, round_name: str) -> None:
        params = {"id": str(template_id), "round": round_name}
        super().__init__(Message("error.checklist.in_use", params))


def _check_unused(session: Session, row: ChecklistTemplateRow) -> None:
    """TemplateInUse when one of the site's rounds has a stop checked with the template."""
    for rnd in session.scalars(
        select(InspectionRoundRow).where(InspectionRoundRow.site == row.site)
    ):
        if any(stop["template_id"] == row.id for stop in rnd.stops):
            raise TemplateInUse(row.id, rnd.name)


def templates(session: Session, sites: set[str] | None) -> Sequence[ChecklistTemplateRow]:
    """The templates of these sites (all with None), by id."""
    query = select(ChecklistTemplateRow).order_by(ChecklistTemplateRow.id)
    if sites is not None:
        query = query.where(ChecklistTemplateRow.site.in_(sites))
    return session.scalars(query).all()


# -- the checklist of a preventive order ---------------------------------------------------------
def put_checklist(session: Session, order_id: int, tasks: Sequence[str]) -> None:
    """Give a new preventive order its plan's tasks as unticked items (in the same
    transaction as the order)."""
    for idx, task in enumerate(tasks):
        session.add(OrderCheckRow(work_order_id=order_id, idx=idx, text=task[:500]))


def order_checklist(session: Session, order_id: int) -> Sequence[OrderCheckRow]:
    """The order's checklist, in order (empty for an order without one)."""
    return session.scalars(
        select(OrderCheckRow)
        .where(OrderCheckRow.work_order_id == order_id)
        .order_by(OrderCheckRow.idx)
    ).all()


# Once an order is resolved its checklist is the record of what was done (what PM item
# compliance counts): it no longer changes, unless the order goes back to work (19c-r M4).
FROZEN = frozenset({"resolved", "verified", "closed", "cancelled"})


class ChecklistFrozen(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The order is resolved or finished: its checklist records what was done (409)."""

    def __init__(self, order_id: int, status: str) -> None:
        word = Message(f"error.status_word.{status}")
        super().__init__(
            Message("error.checklist.frozen", {"id": str(order_id), "status_name": word})
        )


class ItemWithdrawn(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The item was a round's fault corrected away: nothing to tick any more (409)."""

    def __init__(self, order_id: int, idx: int, by: str, reason: str) -> None:
        params = {"id": str(order_id), "item": str(idx + 1), "by": by, "reason": reason}
        super().__init__(Message("error.checklist.withdrawn", params))


class PmResult(StrEnum):
    """The result of a PM checklist item, as the paper 维保记录 has it (review 19c-r M6)."""

    PASS = "pass"  # noqa: S105 - 合格, no password
    FAIL = "fail"  # 不合格: opens or joins a repair order
    NA = "na"  # 无此项


@dataclass(frozen=True, slots=True)
class PmAnswer:
    """What is recorded for an item: its result, an optional note, a reading with its unit."""

    result: PmResult
    note: str | None = None
    reading: float | None = None
    unit: str | None = None


def tick(
    session: Session,
    order_id: int,
    idx: int,
    *,
    done: bool,
    at: datetime,
    actor: str,
    answer: PmAnswer | None = None,
) -> OrderCheckRow:
    """Record (or take back) one item of the order's checklist; flushes, the caller commits.
    A tick without an answer records it passed. WorkOrderNotFound when the order has no such
    item; ChecklistFrozen once the order is resolved (read under the order's lock, so a tick
    cannot slip past a resolution). Taking back or changing an answer leaves a note on the
    order's timeline naming who gave it."""
    order = get_order(session, order_id, for_update=True)
    if order.status in FROZEN:
        raise ChecklistFrozen(order_id, order.status)
    row = session.get(OrderCheckRow, (order_id, idx), with_for_update=True)
    if row is None:
        raise WorkOrderNotFound(order_id)
    if row.withdrawn_at is not None:
        raise ItemWithdrawn(order_id, idx, row.withdrawn_by or "", row.withdrawn_reason or "")
    if done and answer is None:
        if row.done_at is not None:
            return row  # ticked before: who did it and when stay (review 19r M7)
        answer = PmAnswer(PmResult.PASS)
    if row.done_at is not None:
        params = {"item": str(idx + 1), "by": row.done_by or ""}
        message = OrderMessage("note.checklist_unticked", params)
        add_note(session, order, actor=actor, at=at, kind="checklist", message=message)
    if done and answer is not None:
        row.done_at, row.done_by = at, actor
        row.result, row.note = answer.result.value, answer.note
        row.reading, row.unit = answer.reading, answer.unit
    else:
        row.done_at = row.done_by = row.result = row.note = row.unit = None
        row.reading = None
    session.flush()
    return row


def open_items(session: Session, order_id: int) -> list[int]:
    """The places (from 1) of the order's checklist items not ticked (a withdrawn item, a
    fault corrected away, is none)."""
    return [
        r.idx + 1
        for r in order_checklist(session, order_id)
        if r.done_at is None and r.withdrawn_at is None
    ]
