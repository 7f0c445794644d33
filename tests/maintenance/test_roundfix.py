"""Correcting a round's entry (review 19c-r M10): a mis-tapped 不合格 corrected by who recorded
it cancels the order it opened (nothing done on it yet), a mistyped reading re-judged, a void
that reopens the run, a correction noted on an order someone works on, and who may correct
when; each change kept with who, when, old and new answer and the reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.i18n import render
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.roundentries import EntryRefused, record
from bldgwatch.maintenance.roundfix import EntryFix, EntryNotFound, FixRefused, correct_entry
from bldgwatch.maintenance.roundmodels import EntryChangeRow, OrderCheckRow, RoundEntryRow
from bldgwatch.maintenance.rounds import start_run
from tests.maintenance.test_rounds import AT, POLICY, _code, _entry, _round, sessions

__all__ = ["sessions"]  # the fixture, used by name


def _fix(s: Any, run: Any, entry_id: str, fix: EntryFix, *, sup: bool = False, **kw: Any) -> Any:
    at = kw.pop("at", AT + timedelta(minutes=1))
    change = correct_entry(
        s, run, entry_id, fix, supervisor=sup, policy=POLICY, at=at, actor=kw.pop("actor", "tech")
    )
    s.commit()
    return change


def test_a_mis_tapped_fail_corrected_cancels_the_order_it_opened(sessions: Any) -> None:
    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        row, _ = record(s, run, _entry(_code(s), "door", False), policy=POLICY, at=AT, actor="tech")
        s.commit()
        order_id = row.work_order_id
        assert order_id is not None
        change = _fix(s, run, row.id, EntryFix(reason="点错了，门是锁好的", value=True))
        assert (change.old_value, change.old_ok, change.new_value, change.new_ok) == (
            False,
            False,
            True,
            True,
        )
        assert (change.by, change.reason, change.order_action) == (
            "tech",
            "点错了，门是锁好的",
            "cancelled",
        )
        kept = s.get(RoundEntryRow, row.id)
        assert kept is not None and (kept.ok, kept.value, kept.work_order_id) == (True, True, None)
        order = s.get(WorkOrderRow, order_id)
        assert order is not None and order.status == "cancelled"
        note = s.scalars(
            select(WorkOrderEventRow)
            .where(WorkOrderEventRow.work_order_id == order_id, WorkOrderEventRow.kind == "round")
            .order_by(WorkOrderEventRow.id.desc())
        ).first()
        assert note is not None and note.message is not None
        zh = render(note.message, "zh-CN")
        assert "不合格 → 合格" in zh and "点错了" in zh
        assert "failed → passed" in render(note.message, "en")


def test_a_mistyped_reading_is_judged_again_and_a_worked_order_only_noted(sessions: Any) -> None:
    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        code = _code(s)
        hot, _ = record(s, run, _entry(code, "l1", 355.0), policy=POLICY, at=AT, actor="tech")
        s.commit()
        order = s.get(WorkOrderRow, hot.work_order_id)
        assert order is not None
        order.status = "in_progress"  # someone is on it already
        s.commit()
        change = _fix(s, run, hot.id, EntryFix(reason="小数点输错", value=35.5))
        assert (change.new_ok, change.order_action) == (True, "noted")
        assert s.get(WorkOrderRow, order.id).status == "in_progress"  # type: ignore[union-attr]
        # a good reading corrected into a fault opens (joins) a repair order
        fine, _ = record(s, run, _entry(code, "smell", "none"), policy=POLICY, at=AT, actor="tech")
        s.commit()
        worse = _fix(s, run, fine.id, EntryFix(reason="复查有焦糊味", value="burnt"))
        assert (worse.new_ok, worse.order_action, worse.order_id) == (False, "opened", order.id)


def test_a_void_keeps_the_runs_time_and_the_item_is_answered_again(sessions: Any) -> None:
    """Review 19d-r H4: the run stays done at its time (a correction afterwards must not make
    it late or missed); H1: the phone replaying the voided entry is refused, not stored."""
    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        code = _code(s)
        rows = [
            record(s, run, _entry(code, item, value), policy=POLICY, at=AT, actor="tech")[0]
            for item, value in (("door", True), ("l1", 40.0), ("smell", "none"))
        ]
        s.commit()
        assert run.done_at is not None
        change = _fix(s, run, rows[1].id, EntryFix(reason="读错了表", void=True))
        assert (change.new_value, change.new_ok) == (None, None)
        done = run.done_at
        assert s.get(RoundEntryRow, rows[1].id) is None and run.done_at == done
        with pytest.raises(EntryRefused) as err:  # the queued original, sent again
            replay = _entry(code, "l1", 40.0, id=rows[1].id)
            record(s, run, replay, policy=POLICY, at=AT, actor="tech")
        assert err.value.reason == "voided"
        again, _ = record(
            s,
            run,
            _entry(code, "l1", 41.0, AT + timedelta(minutes=2)),
            policy=POLICY,
            at=AT + timedelta(minutes=2),
            actor="tech",
        )
        s.commit()
        assert again.ok and run.done_at == done  # still done when it was done
        kept = s.scalars(select(EntryChangeRow)).all()
        assert [(c.entry_id, c.old_value, c.reason) for c in kept] == [
            (rows[1].id, 40.0, "读错了表")
        ]


def test_who_may_correct_and_until_when(sessions: Any) -> None:
    with sessions() as s:
        rnd = _round(s, missed_after_min=60)
        run = start_run(s, rnd, at=AT, actor="tech")
        row, _ = record(s, run, _entry(_code(s), "door", True), policy=POLICY, at=AT, actor="tech")
        s.commit()
        with pytest.raises(FixRefused) as err:
            _fix(s, run, row.id, EntryFix(reason="x", value=False), actor="other")
        assert err.value.reason == "not_yours"
        late = run.due_at + timedelta(minutes=61)
        with pytest.raises(FixRefused) as err:
            _fix(s, run, row.id, EntryFix(reason="x", value=False), at=late)
        assert err.value.reason == "closed"
        with pytest.raises(InvalidRecord):
            _fix(s, run, row.id, EntryFix(reason="  ", value=False))
        with pytest.raises(InvalidRecord):
            _fix(s, run, row.id, EntryFix(reason="wrong kind", value=3.5))  # a check's value
        with pytest.raises(EntryNotFound):
            _fix(s, run, "no-such-entry", EntryFix(reason="x", value=True))
        change = _fix(
            s, run, row.id, EntryFix(reason="主管复核", value=False), sup=True, at=late, actor="sup"
        )
        assert (change.by, change.new_ok, change.order_action) == ("sup", False, "opened")


def test_a_corrected_slip_leaves_an_order_a_pm_fault_joined(sessions: Any) -> None:
    """Review 19d-r H3: a PM checklist's failure went to the order the round's slip opened;
    correcting the slip notes the order instead of cancelling the PM fault's repair."""
    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        row, _ = record(s, run, _entry(_code(s), "door", False), policy=POLICY, at=AT, actor="tech")
        order_id = row.work_order_id
        assert order_id is not None
        s.add(
            OrderCheckRow(
                work_order_id=order_id, idx=0, text="接头发热严重", result="fail",
                repair_order_id=order_id,
            )
        )  # fmt: skip
        s.commit()
        change = _fix(s, run, row.id, EntryFix(reason="点错了", value=True))
        assert change.order_action == "noted"
        order = s.get(WorkOrderRow, order_id)
        assert order is not None and order.status != "cancelled"


def test_a_joined_faults_open_item_follows_its_correction(sessions: Any) -> None:
    """Review 19d-r M2: the open item a fault left on the order it joined shows the corrected
    value, and is withdrawn (with who and why, nothing to tick) when the fault is corrected
    away or voided."""
    from bldgwatch.maintenance.checklists import ItemWithdrawn, open_items, order_checklist, tick

    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        code = _code(s)
        door, _ = record(s, run, _entry(code, "door", False), policy=POLICY, at=AT, actor="tech")
        hot, _ = record(s, run, _entry(code, "l1", 355.0), policy=POLICY, at=AT, actor="tech")
        odd, _ = record(s, run, _entry(code, "smell", "burnt"), policy=POLICY, at=AT, actor="tech")
        s.commit()
        order_id = door.work_order_id
        assert order_id is not None and hot.work_order_id == odd.work_order_id == order_id
        assert [c.text for c in order_checklist(s, order_id)] == [
            f"L1 current = 355.0 A (#{run.id})",
            f"Smell = burnt (#{run.id})",
        ]
        _fix(s, run, hot.id, EntryFix(reason="小数点输错", value=95.5))
        assert order_checklist(s, order_id)[0].text == f"L1 current = 95.5 A (#{run.id})"
        _fix(s, run, hot.id, EntryFix(reason="再次核对", value=35.5))
        _fix(s, run, odd.id, EntryFix(reason="不是这台", void=True), sup=True, actor="sup")
        first, second = order_checklist(s, order_id)
        assert (first.withdrawn_by, first.withdrawn_reason) == ("tech", "再次核对")
        assert (second.withdrawn_by, second.withdrawn_reason) == ("sup", "不是这台")
        assert first.withdrawn_at is not None and first.done_at is None
        assert open_items(s, order_id) == []  # resolving needs no reason for them
        with pytest.raises(ItemWithdrawn) as err:
            tick(s, order_id, 0, done=True, at=AT + timedelta(minutes=3), actor="tech")
        assert "再次核对" in str(err.value.message.params)


def test_a_failed_open_item_on_its_own_repair_order_joins_nothing(sessions: Any) -> None:
    """Review 19d-r M3: the open item a fault left on an order, recorded 不合格 there, is a
    finding on that order: the order is not its own repair order, no open item or note is
    added, however often it is recorded."""
    from bldgwatch.maintenance.checklists import PmAnswer, PmResult, order_checklist, tick
    from bldgwatch.maintenance.roundentries import raise_pm_fault

    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        code = _code(s)
        door, _ = record(s, run, _entry(code, "door", False), policy=POLICY, at=AT, actor="tech")
        record(s, run, _entry(code, "l1", 355.0), policy=POLICY, at=AT, actor="tech")
        s.commit()
        order = s.get(WorkOrderRow, door.work_order_id)
        assert order is not None
        for n in range(2):
            at = AT + timedelta(minutes=2 + n)
            row = tick(s, order.id, 0, done=True, at=at, actor="tech", answer=PmAnswer(
                PmResult.FAIL, note="仍然超限"))  # fmt: skip
            assert raise_pm_fault(s, order, row, policy=POLICY, at=at, actor="tech") is None
            s.commit()
        assert len(order_checklist(s, order.id)) == 1
        notes = [render(e.message, "en") for e in s.scalars(select(WorkOrderEventRow)) if e.message]
        assert not [n for n in notes if "PM order" in n], notes
        assert len(s.scalars(select(WorkOrderRow)).all()) == 1


def test_a_resolved_orders_checklist_stays_as_signed_off(sessions: Any) -> None:
    """Review 19e M2: an open item ticked done on an order already resolved is not withdrawn by
    a later correction (the checklist stands as signed off); the correction is noted on the
    order instead, saying so."""
    from bldgwatch.maintenance.checklists import order_checklist, tick

    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        code = _code(s)
        door, _ = record(s, run, _entry(code, "door", False), policy=POLICY, at=AT, actor="tech")
        hot, _ = record(s, run, _entry(code, "l1", 355.0), policy=POLICY, at=AT, actor="tech")
        s.commit()
        order_id = door.work_order_id
        assert order_id is not None
        tick(s, order_id, 0, done=True, at=AT + timedelta(minutes=2), actor="tech2")
        order = s.get(WorkOrderRow, order_id)
        assert order is not None
        order.status = "resolved"
        s.commit()
        fix = EntryFix(reason="读数输错", value=35.5)
        change = _fix(s, run, hot.id, fix, sup=True, actor="sup")
        assert change.order_action == "noted"
        (line,) = order_checklist(s, order_id)
        assert line.withdrawn_at is None and line.done_by == "tech2"
        assert line.text == f"L1 current = 355.0 A (#{run.id})"  # as signed off
        note = s.scalars(
            select(WorkOrderEventRow)
            .where(WorkOrderEventRow.work_order_id == order_id, WorkOrderEventRow.kind == "round")
            .order_by(WorkOrderEventRow.id.desc())
        ).first()
        assert note is not None and note.message is not None
        assert "stays as signed off" in render(note.message, "en")
        assert "检查表保持签认时的样子" in render(note.message, "zh-CN")


def test_withdrawn_items_count_on_neither_side_of_pm_compliance(sessions: Any) -> None:
    """Review 19e M2: an item withdrawn (its round answer corrected) is neither due nor done in
    the checklist counts the PM compliance figures take, also when it was ticked before."""
    from bldgwatch.maintenance.checklists import tick
    from bldgwatch.maintenance.kpistore import _checks

    with sessions() as s:
        run = start_run(s, _round(s), at=AT, actor="tech")
        code = _code(s)
        door, _ = record(s, run, _entry(code, "door", False), policy=POLICY, at=AT, actor="tech")
        hot, _ = record(s, run, _entry(code, "l1", 355.0), policy=POLICY, at=AT, actor="tech")
        odd, _ = record(s, run, _entry(code, "smell", "burnt"), policy=POLICY, at=AT, actor="tech")
        s.commit()
        order_id = door.work_order_id
        assert order_id is not None
        tick(s, order_id, 0, done=True, at=AT + timedelta(minutes=2), actor="tech")
        s.commit()
        later = AT + timedelta(days=1)
        assert _checks(s, [order_id], later) == {order_id: (2, 1)}
        _fix(s, run, hot.id, EntryFix(reason="读数输错", value=35.5), at=AT + timedelta(minutes=5))
        assert _checks(s, [order_id], later) == {order_id: (1, 0)}
        # before the withdrawal the item still counted
        assert _checks(s, [order_id], AT + timedelta(minutes=3)) == {order_id: (2, 1)}
        _fix(s, run, odd.id, EntryFix(reason="不是这台", void=True), sup=True, actor="sup")
        assert _checks(s, [order_id], later).get(order_id, (0, 0)) == (0, 0)
