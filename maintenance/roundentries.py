"""The entries of a round's run, as a technician's phone sends them: one at a time or a queue
of them after being offline.

Each entry carries the id the phone gave it (a UUID) and the phone's time. An id seen before
gets the stored answer again and changes nothing, so a queue sent twice stores each entry once;
another id for an item already answered is refused. Each entry of a batch is handled in its
own savepoint and answered on its own: a bad one does not lose the good ones.

Presence: every entry carries the code of one of the equipment's QR labels in use as the phone
scanned it at the stop (`maintenance.rounds.equipment_codes`); an entry without one is refused,
so no answer stands for a stop the technician was not at. The first accepted scan of a stop is
kept (`round_scans`).

A failed check, a reading out of its limits or a bad choice opens a reactive order on the
equipment (incident key `site/equipment/round`), or joins the equipment's open repair order
(the round's order, an alarm incident's, a repair request's) with a timeline note: never a
second open order for the same equipment and reason.

Times: the phone's time of an entry is kept as told when it lies between the run's start and
the server's now (each with `CLOCK_SKEW`), refused otherwise; the run is done at the phone's time
of its last entry (never after the server received it; `maintenance.rounds` judges on time,
late and missed by it) and keeps when the server received it (`synced_at`): a round done on
time in a basement without signal counts on time, and its sync delay is shown.
The live value beside a reading is the point's value at or before the phone's time, no older
than `LIVE_MAX_AGE`: an older one is not shown as live and not compared (review 19r M5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.maintenance.checklists import ChecklistItem, ItemKind, judge
from bldgwatch.maintenance.config import SlaPolicy, StageConfig
from bldgwatch.maintenance.desk import record_change
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.events import COMMENTED, CREATED
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import EquipmentRow, WorkOrderKind, WorkOrderRow
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.plantexts import plan_message, plan_text, title_params
from bldgwatch.maintenance.roundmodels import (
    EntryChangeRow,
    OrderCheckRow,
    RoundEntryRow,
    RoundRunRow,
    RoundScanRow,
)
from bldgwatch.maintenance.roundphotos import check_entry as check_photo
from bldgwatch.maintenance.rounds import equipment_codes, judge_run_day, run_route
from bldgwatch.maintenance.sla import compute_due
from bldgwatch.maintenance.stage import assess_stage
from bldgwatch.maintenance.workorders import OrderDraft, add_note, insert_order

logger = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may be this far off the server's
LIVE_MAX_AGE = timedelta(minutes=15)
"""A live value older than this (before the reading's time) is no live value: gateways report
a point at least every 5 minutes (`max_report_interval_s`, report-by-exception; every poll
otherwise), so 15 minutes is three missed reports: the sensor or its link is down."""
ROUND_PRIORITY = 3
_WORKING = (S.OPEN.value, S.ASSIGNED.value, S.IN_PROGRESS.value, S.ON_HOLD.value)
LiveValues = Callable[[str, str, list[str], datetime], dict[str, tuple[float, datetime]]]
"""(equipment type, equipment, points, at) → the last value of each point at or before `at`
that has one, with its time."""


class EntryRefused(MaintenanceError):  # noqa: N818 - the domain's name for it
    """An entry the run cannot take (not scanned, answered under another id, …)."""

    def __init__(self, reason: str, params: dict[str, Any]) -> None:
        super().__init__(i18n.Message(f"error.round.{reason}", params))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EntryIn:
    """One entry as the phone sends it."""

    id: str
    stop: int
    item: str
    value: Any
    code: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RoundPolicy:
    """What an order opened from a round needs: the SLA clocks and stage settings."""

    sla: SlaPolicy
    stage: StageConfig


def _stop_item(session: Session, run: RoundRunRow, entry: EntryIn) -> tuple[str, ChecklistItem]:
    """The stop's equipment and the item answered (of the route as at the run's start);
    InvalidRecord naming stop or item (stops numbered from 1, as the page shows them)."""
    route = run_route(session, run)
    if not 0 <= entry.stop < len(route):
        raise InvalidRecord("stop", i18n.Message("error.round.no_stop", {"stop": entry.stop + 1}))
    equipment, items = route[entry.stop]
    for item in items:
        if item.key == entry.item:
            return equipment, item
    where = {"stop": entry.stop + 1, "item": entry.item}
    raise InvalidRecord("item", i18n.Message("error.round.no_item", where))


def _present(session: Session, run: RoundRunRow, entry: EntryIn, equipment: str, by: str) -> None:
    """Refuse the entry unless it carries a QR code of the stop's equipment; keep the first
    scan."""
    if entry.code not in equipment_codes(session, run.site, equipment):
        raise EntryRefused("not_scanned", {"equipment": equipment})
    if session.get(RoundScanRow, (run.id, entry.stop)) is None:
        session.add(
            RoundScanRow(
                run_id=run.id, stop=entry.stop, code=entry.code, scanned_at=entry.recorded_at, by=by
            )
        )


def _open_repair(session: Session, site: str, equipment: str) -> WorkOrderRow | None:
    """The equipment's open repair order: the round's, else the newest working reactive or
    request order (an alarm incident's, an owner's request)."""
    key = f"{site}/{equipment}/round"
    held = session.scalars(
        select(WorkOrderRow).where(WorkOrderRow.incident_key == key).with_for_update()
    ).one_or_none()
    if held is not None:
        if held.status in _WORKING:
            return held
        # Resolved or verified: the repair is done, a new fault is a new repair (review 19r
        # H4); the key moves to the new order, as it leaves an order closed or cancelled.
        held.incident_key = None
        session.flush()
    return session.scalars(
        select(WorkOrderRow)
        .where(
            WorkOrderRow.site == site,
            WorkOrderRow.equipment == equipment,
            WorkOrderRow.kind.in_((WorkOrderKind.REACTIVE.value, WorkOrderKind.REQUEST.value)),
            WorkOrderRow.status.in_(_WORKING),
        )
        .order_by(WorkOrderRow.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def raise_fault(
    session: Session,
    run: RoundRunRow,
    equipment: str,
    item: ChecklistItem,
    value: Any,
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
    entry_id: str | None = None,
) -> int:
    """The order the fault went to: the equipment's open repair order with a note and an open
    item naming the entry, else a new reactive order. Flushes; the caller commits."""
    note = Message(
        "note.round_fault", {"item": item.label, "value": _said(item, value), "run": run.id}
    )
    order = _open_repair(session, run.site, equipment)
    if order is not None:
        add_note(session, order, actor=actor, at=at, kind="round", message=note)
        _open_item(session, order.id, run.id, item, value, entry_id=entry_id)
        order.updated_at = at
        record_change(session, order, change=COMMENTED, previous=order.status, actor=actor)
        return order.id
    order = _new_order(session, run, equipment, item, policy=policy, at=at, actor=actor)
    add_note(session, order, actor=actor, at=at, kind="round", message=note)
    record_change(session, order, change=CREATED, previous=None, actor=actor)
    return order.id


def open_item_text(item: ChecklistItem, value: Any, run_id: int) -> str:
    """A joined fault's open item: the template's label and the answer as recorded (a failed
    check marked ✗), with the run's number."""
    said = (
        "✗" if item.kind is ItemKind.CHECK else f"= {value}{f' {item.unit}' if item.unit else ''}"
    )
    return f"{item.label} {said} (#{run_id})"[:500]


def _open_item(
    session: Session,
    order_id: int,
    run_id: int,
    item: ChecklistItem,
    value: Any,
    *,
    entry_id: str | None,
) -> None:
    """A fault that joins an order opened for something else is an open item of its
    checklist: resolving the order must tick it or say why it is left (review 19c-r L7). It
    names the entry, so a correction of the entry follows it (review 19d-r M2)."""
    last = session.scalar(
        select(func.max(OrderCheckRow.idx)).where(OrderCheckRow.work_order_id == order_id)
    )
    idx = 0 if last is None else last + 1
    text = open_item_text(item, value, run_id)
    session.add(OrderCheckRow(work_order_id=order_id, idx=idx, text=text, entry_id=entry_id))


def _new_order(
    session: Session,
    run: RoundRunRow,
    equipment: str,
    item: ChecklistItem,
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
) -> WorkOrderRow:
    """A reactive order for the fault, under the incident key `site/equipment/round`."""
    asset = session.get(EquipmentRow, (run.site, equipment))
    assert asset is not None
    stage = assess_stage(
        session,
        site=run.site,
        equipment=equipment,
        equipment_type=asset.type,
        as_of=at,
        config=policy.stage,
    )
    title = Message("title.round_fault", {"item": item.label, "equipment": equipment})
    draft = OrderDraft(
        site=run.site,
        equipment=equipment,
        kind=WorkOrderKind.REACTIVE,
        priority=ROUND_PRIORITY,
        title=f"Round: {item.label} failed on {equipment}",
        family="round",
        incident_key=f"{run.site}/{equipment}/round",
        texts={"title": title.as_dict()},
        title_key=f"maintenance.{title.key}",  # read in the reader's language (review 19r M11)
        title_params=dict(title.params),
    )
    due = compute_due(policy.sla, priority=ROUND_PRIORITY, fault_code=None, started_at=at)
    return insert_order(session, draft, due=due, stage=stage, at=at, actor=actor)


def _said(item: ChecklistItem, value: Any) -> Any:
    """An answer as the note reads it: a check's true/false in the reader's language."""
    if item.kind is ItemKind.CHECK:
        return Message("value.passed" if value is True else "value.failed")
    return str(value)


def fresh(found: tuple[float, datetime] | None, at: datetime) -> tuple[float, datetime] | None:
    """The live value and its time if measured within `LIVE_MAX_AGE` before `at` (or up to
    `CLOCK_SKEW` after it), else None."""
    if found is None or not at - LIVE_MAX_AGE <= found[1] <= at + CLOCK_SKEW:
        return None
    return found


def _live(
    item: ChecklistItem, entry: EntryIn, equipment: EquipmentRow, live: LiveValues | None
) -> tuple[float | None, datetime | None, bool | None]:
    """The live value of the item's point at the reading's time, when it was measured and
    whether the manual value disagrees with it (no live value: not compared)."""
    if item.point is None or live is None or item.tolerance is None:
        return None, None, None
    values = live(equipment.type, equipment.id, [item.point], entry.recorded_at)
    found = fresh(values.get(item.point), entry.recorded_at)
    if found is None:
        return None, None, None
    return found[0], found[1], abs(float(entry.value) - found[0]) > item.tolerance


def _admissible(
    session: Session, run: RoundRunRow, entry: EntryIn, *, at: datetime, actor: str
) -> tuple[str, ChecklistItem]:
    """The stop's equipment and the item, once the entry's time, stop, item and QR code are
    checked (a photo item's value: a photo of this run) and the item is not answered yet
    (InvalidRecord, EntryRefused otherwise)."""
    if entry.recorded_at > at + CLOCK_SKEW or entry.recorded_at < run.started_at - CLOCK_SKEW:
        raise InvalidRecord("recorded_at", i18n.Message("error.round.clock"))
    equipment, item = _stop_item(session, run, entry)
    judge(item, entry.value)  # a value the item cannot take is refused before the scan counts
    if item.kind is ItemKind.PHOTO:  # the id of a photo uploaded to this run
        check_photo(session, run, entry.value)
    _present(session, run, entry, equipment, actor)
    answered = session.scalar(
        select(RoundEntryRow.id).where(
            RoundEntryRow.run_id == run.id,
            RoundEntryRow.stop == entry.stop,
            RoundEntryRow.item == entry.item,
        )
    )
    if answered is not None:
        raise EntryRefused("answered", {"item": item.label, "equipment": equipment})
    return equipment, item


def record(
    session: Session,
    run: RoundRunRow,
    entry: EntryIn,
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
    live: LiveValues | None = None,
) -> tuple[RoundEntryRow, bool]:
    """Store one entry (flushes, the caller commits); the row and whether it was stored
    before under the same id (then nothing changed)."""
    known = session.get(RoundEntryRow, entry.id)
    if known is not None:
        if (known.run_id, known.stop, known.item) != (run.id, entry.stop, entry.item):
            raise EntryRefused("id_taken", {"id": entry.id})
        return known, True
    voided = session.scalar(
        select(EntryChangeRow.id).where(EntryChangeRow.entry_id == entry.id).limit(1)
    )
    if voided is not None:  # a phone replaying what a correction took back (review 19d-r H1)
        raise EntryRefused("voided", {"id": entry.id})
    equipment, item = _admissible(session, run, entry, at=at, actor=actor)
    ok = judge(item, entry.value)
    asset = session.get(EquipmentRow, (run.site, equipment))
    assert asset is not None
    live_value, live_at, disagrees = _live(item, entry, asset, live)
    row = RoundEntryRow(
        id=entry.id,
        run_id=run.id,
        stop=entry.stop,
        item=entry.item,
        value=entry.value,
        ok=ok,
        recorded_at=entry.recorded_at,
        received_at=at,
        by=actor,
        live_value=live_value,
        live_at=live_at,
        disagrees=disagrees,
    )
    if not ok:
        row.work_order_id = raise_fault(
            session,
            run,
            equipment,
            item,
            entry.value,
            policy=policy,
            at=at,
            actor=actor,
            entry_id=entry.id,
        )
    session.add(row)
    session.flush()
    _finish_if_complete(session, run, at)
    return row, False


def expected(session: Session, run: RoundRunRow) -> set[tuple[int, str]]:
    """The (stop, item) answers that complete the run: every item of every stop of its route
    as at its start."""
    return {(n, item.key) for n, (_, items) in enumerate(run_route(session, run)) for item in items}


def entries(session: Session, run_id: int) -> Sequence[RoundEntryRow]:
    """The run's entries, by stop and time."""
    return session.scalars(
        select(RoundEntryRow)
        .where(RoundEntryRow.run_id == run_id)
        .order_by(RoundEntryRow.stop, RoundEntryRow.recorded_at)
    ).all()


def _finish_if_complete(session: Session, run: RoundRunRow, at: datetime) -> None:
    """A run with every item answered is done at the phone's time of its last entry (each
    admitted only between the run's start and the receipt, with `CLOCK_SKEW`), never after the
    server got it; the receipt time is kept as `synced_at` (review 19b-r M1)."""
    answered = entries(session, run.id)
    if run.done_at is None and expected(session, run) <= {(e.stop, e.item) for e in answered}:
        run.done_at = min(max(e.recorded_at for e in answered), at)
        run.synced_at = at
        judge_run_day(session, run, at)  # its day stays a workday of the round (19i M3)


def raise_pm_fault(
    session: Session,
    order: WorkOrderRow,
    row: OrderCheckRow,
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
) -> int | None:
    """A PM checklist item recorded failed (不合格) opens or joins the equipment's repair order,
    as a round's failed item does (review 19c-r M6): the order it went to. An item of the
    repair order's own checklist (an open item a fault left on it) is a finding on that order:
    it joins no order, itself neither, and adds nothing (None; review 19d-r M3). Flushes; the
    caller commits."""
    item = plan_message(row.text)
    note = Message("note.pm_fault", {"item": item, "order": order.id, "note": row.note or "—"})
    held = _open_repair(session, order.site, order.equipment)
    if held is not None and held.id == order.id:
        return None
    if held is not None:
        add_note(session, held, actor=actor, at=at, kind="checklist", message=note)
        last = session.scalar(
            select(func.max(OrderCheckRow.idx)).where(OrderCheckRow.work_order_id == held.id)
        )
        text = f"{plan_text(row.text, 'zh-CN')} ✗ (#{order.id})"
        session.add(
            OrderCheckRow(
                work_order_id=held.id, idx=0 if last is None else last + 1, text=text[:500]
            )
        )
        held.updated_at = at
        record_change(session, held, change=COMMENTED, previous=held.status, actor=actor)
        return held.id
    asset = session.get(EquipmentRow, (order.site, order.equipment))
    stage = assess_stage(
        session,
        site=order.site,
        equipment=order.equipment,
        equipment_type=asset.type if asset is not None else "",
        as_of=at,
        config=policy.stage,
    )
    title = Message("title.pm_fault", {"item": item, "equipment": order.equipment})
    draft = OrderDraft(
        site=order.site,
        equipment=order.equipment,
        kind=WorkOrderKind.REACTIVE,
        priority=ROUND_PRIORITY,
        title=f"PM: {plan_text(row.text, 'en')} failed on {order.equipment}"[:200],
        family="round",
        incident_key=f"{order.site}/{order.equipment}/round",
        texts={"title": title.as_dict()},
        title_key=f"maintenance.{title.key}",
        title_params={
            "item": title_params(row.text, order.equipment)["plan"],
            "equipment": order.equipment,
        },
    )
    due = compute_due(policy.sla, priority=ROUND_PRIORITY, fault_code=None, started_at=at)
    repair = insert_order(session, draft, due=due, stage=stage, at=at, actor=actor)
    add_note(session, repair, actor=actor, at=at, kind="checklist", message=note)
    record_change(session, repair, change=CREATED, previous=None, actor=actor)
    return repair.id
