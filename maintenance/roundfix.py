"""Correcting a round's entry (review 19c-r M10): a mis-tapped 不合格 or a mistyped reading is
changed, or voided (the item is answered again), by the technician who recorded it while the
run's due point is still open, or by a supervisor at any time; each change keeps who, when,
the old and new answer and the reason (`round_entry_changes`).

The new answer is judged again (limits, a choice's bad options, the live value's tolerance).
A fault that turns out none leaves its work order: cancelled with the reason when the order was
opened by this entry alone and nothing was done on it yet (open or assigned, no other entry
on it), else it gets a timeline note saying the answer was corrected. A good answer corrected
into a fault opens or joins a repair order as a recorded fault does. A voided entry reopens a
done run: it is done again when its items are all answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.maintenance.checklists import ChecklistItem, ItemKind, judge
from bldgwatch.maintenance.desk import record_change
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.events import COMMENTED
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.roundentries import RoundPolicy, _said, open_item_text, raise_fault
from bldgwatch.maintenance.roundmodels import (
    EntryChangeRow,
    InspectionRoundRow,
    OrderCheckRow,
    RoundEntryRow,
    RoundRunRow,
)
from bldgwatch.maintenance.roundphotos import check_entry as check_photo
from bldgwatch.maintenance.rounds import clocks_at, run_route
from bldgwatch.maintenance.workorders import add_note, transition

UNTOUCHED = frozenset({S.OPEN.value, S.ASSIGNED.value})
"""An order nobody has started work on: a wrong entry's order in these is cancelled."""
SIGNED_OFF = frozenset({S.RESOLVED.value, S.VERIFIED.value, S.CLOSED.value, S.CANCELLED.value})
"""An order whose checklist stands as signed off: a correction is only noted on it."""


class EntryNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No such entry in this run (404)."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(i18n.Message("error.round.entry_not_found", {"id": entry_id}))


class FixRefused(MaintenanceError):  # noqa: N818 - the domain's name for it
    """Not yours to correct (403: `not_yours`), or no longer (409: `closed`)."""

    def __init__(self, reason: str, params: dict[str, Any]) -> None:
        self.reason = reason
        super().__init__(i18n.Message(f"error.round.fix_{reason}", params))


@dataclass(frozen=True, slots=True)
class EntryFix:
    """A correction: the new value, or `void` (the item to be answered again), and why."""

    reason: str
    value: Any = None
    void: bool = False


def _item(session: Session, run: RoundRunRow, row: RoundEntryRow) -> tuple[str, ChecklistItem]:
    equipment, items = run_route(session, run)[row.stop]
    return equipment, next(i for i in items if i.key == row.item)


def correct_entry(
    session: Session,
    run: RoundRunRow,
    entry_id: str,
    fix: EntryFix,
    *,
    supervisor: bool,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
) -> EntryChangeRow:
    """Change or void one entry of the run and keep the change; flushes, the caller commits."""
    row = session.get(RoundEntryRow, entry_id, with_for_update=True)
    if row is None or row.run_id != run.id:
        raise EntryNotFound(entry_id)
    if not supervisor and row.by != actor:
        raise FixRefused("not_yours", {"by": row.by})
    rnd = session.get(InspectionRoundRow, run.round_id)
    assert rnd is not None
    closes = run.due_at + clocks_at(rnd, run.due_at)[1]
    if not supervisor and at > closes:
        raise FixRefused("closed", {"run": str(run.id)})
    reason = fix.reason.strip()
    if blank(reason) or first_hidden(reason) or len(reason) > 500:
        raise InvalidRecord("reason", i18n.Message("error.round.fix_reason"))
    equipment, item = _item(session, run, row)
    old_value, old_ok, old_order = row.value, row.ok, row.work_order_id
    change = EntryChangeRow(
        run_id=run.id,
        entry_id=row.id,
        stop=row.stop,
        item=row.item,
        old_value=old_value,
        old_ok=old_ok,
        reason=reason,
        at=at,
        by=actor,
    )
    if fix.void:
        session.delete(row)
        # The run stays done when it was (its punctuality was settled when it was done: a
        # correction afterwards must not make an on-time round late or missed, review 19d-r
        # H4); the voided item may be answered again while the run's point is open.
        new_text: Any = Message("value.voided")
        ok = True
    else:
        ok = judge(item, fix.value)
        if item.kind is ItemKind.PHOTO:
            check_photo(session, run, fix.value)
        row.value, row.ok = fix.value, ok
        if item.kind is ItemKind.READING and row.live_value is not None and item.tolerance:
            row.disagrees = abs(float(fix.value) - row.live_value) > item.tolerance
        change.new_value, change.new_ok = fix.value, ok
        new_text = _said(item, fix.value)
        if old_ok and not ok:
            row.work_order_id = raise_fault(
                session,
                run,
                equipment,
                item,
                fix.value,
                policy=policy,
                at=at,
                actor=actor,
                entry_id=row.id,
            )
            change.order_id, change.order_action = row.work_order_id, "opened"
        elif ok:
            row.work_order_id = None
    session.flush()
    if old_order is not None:
        signed_off = _signed_off(session, old_order)
        if not signed_off:
            _follow_open_item(
                session, old_order, run=run, entry_id=entry_id, item=item, fix=fix, ok=ok,
                at=at, actor=actor,
            )  # fmt: skip
        note = Message(
            "note.round_fix_signed_off" if signed_off else "note.round_fix",
            {
                "run": run.id,
                "item": item.label,
                "old": _said(item, old_value),
                "new": new_text,
                "by": actor,
                "reason": reason,
            },
        )
        change.order_id = old_order
        change.order_action = _settle(session, old_order, entry_id, note, ok=ok, at=at, actor=actor)
    session.add(change)
    session.flush()
    return change


def changes(session: Session, run_id: int) -> Sequence[EntryChangeRow]:
    """The run's kept corrections, oldest first (review 19d-r M4)."""
    return session.scalars(
        select(EntryChangeRow)
        .where(EntryChangeRow.run_id == run_id)
        .order_by(EntryChangeRow.at, EntryChangeRow.id)
    ).all()


def _signed_off(session: Session, order_id: int) -> bool:
    """Whether the order is resolved or past it: its checklist stays as signed off, and a
    correction is noted on it instead (review 19e M2)."""
    status = session.scalar(select(WorkOrderRow.status).where(WorkOrderRow.id == order_id))
    return status in SIGNED_OFF


def _follow_open_item(
    session: Session,
    order_id: int,
    *,
    run: RoundRunRow,
    entry_id: str,
    item: ChecklistItem,
    fix: EntryFix,
    ok: bool,
    at: datetime,
    actor: str,
) -> None:
    """The open item the entry's fault left on an order it joined follows the correction: a
    fault still shows its new value; no fault any more (a good answer, a void) withdraws the
    item, kept with who, when and why and no longer to be ticked (review 19d-r M2)."""
    for check in session.scalars(
        select(OrderCheckRow).where(
            OrderCheckRow.work_order_id == order_id,
            OrderCheckRow.entry_id == entry_id,
            OrderCheckRow.withdrawn_at.is_(None),
        )
    ):
        if fix.void or ok:
            check.withdrawn_at, check.withdrawn_by = at, actor
            check.withdrawn_reason = fix.reason.strip()
        else:
            check.text = open_item_text(item, fix.value, run.id)


def _settle(
    session: Session,
    order_id: int,
    entry_id: str,
    note: Message,
    *,
    ok: bool,
    at: datetime,
    actor: str,
) -> str:
    """What becomes of the order a corrected fault went to: `cancelled` (opened by this entry
    alone, nothing done yet, and no fault any more), else `noted`."""
    order = session.get(WorkOrderRow, order_id, with_for_update=True)
    assert order is not None
    add_note(session, order, actor=actor, at=at, kind="round", message=note)
    others = session.scalar(
        select(func.count())
        .select_from(RoundEntryRow)
        .where(RoundEntryRow.work_order_id == order_id, RoundEntryRow.id != entry_id)
    )
    joined = session.scalar(  # a PM checklist's failure that went to the same order (19d-r H3)
        select(func.count())
        .select_from(OrderCheckRow)
        .where(OrderCheckRow.repair_order_id == order_id)
    )
    if ok and order.family == "round" and order.status in UNTOUCHED and not others and not joined:
        reason = note.params["reason"]
        transition(session, order.id, S.CANCELLED, actor=actor, at=at, note=str(reason))
        return "cancelled"
    order.updated_at = at
    record_change(session, order, change=COMMENTED, previous=order.status, actor=actor)
    return "noted"
