"""The whole life of a work order at the desk: assignment with a note, labour of two people,
parts from the parts list, a contractor's charge, the completion record (with age renewal in
the site's time zone), resolution with a summary, a follow-up that reopens it, a second round,
verification, closing, a supervisor's late booking, comments and cancelling with a reason,
attachments — each change one transaction with its event in the outbox."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.attachments import AttachmentStore, clean_filename
from bldgwatch.maintenance.config import AttachmentSettings, RosterSettings, Technician
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    InvalidTransition,
    UnknownPart,
    WorkOrderNotFound,
)
from bldgwatch.maintenance.followup import FollowUp, Outcome
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import EquipmentRow, WorkOrderOutboxRow, WorkOrderRow
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.partslist import save_part
from bldgwatch.maintenance.queries import order_record
from bldgwatch.maintenance.recordmodels import (
    AttachmentRow,
    FollowUpRow,
    WorkOrderChargeRow,
)
from bldgwatch.maintenance.texts import event_text
from bldgwatch.maintenance.worklog import (
    Charge,
    Completion,
    InvalidWorkLog,
    LabourUse,
    PartUse,
    RepairClass,
    WorkDone,
)
from tests.maintenance.conftest import T0, EventFactory, demo_site
from tests.maintenance.desks import seeded_desk

H = timedelta(hours=1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

ROSTER = RosterSettings(technicians=[Technician(id="li", sites=["demo"], skills=["mechanical"])])
"""Who may be assigned the orders of these tests."""


@pytest.fixture
def order_id(sessions: sessionmaker[Session], make_event: EventFactory) -> int:
    spec = demo_site().model_copy(update={"timezone": "Asia/Shanghai"})
    with sessions() as s:
        import_site(s, spec)
        save_part(
            s, part_no="6205-2RS", name="bearing", unit="pc", unit_cost=45.5, actor="sup", at=T0
        )
        save_part(s, part_no="GR-1", name="grease", unit="kg", unit_cost=20, actor="sup", at=T0)
        s.commit()
    outcome = process_event(sessions, make_event())
    assert outcome.work_order_id is not None
    return outcome.work_order_id


def _order(sessions: sessionmaker[Session], order_id: int) -> WorkOrderRow:
    with sessions() as s:
        row = s.get(WorkOrderRow, order_id)
        assert row is not None
        return row


def _changes(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        rows = s.scalars(select(WorkOrderOutboxRow).order_by(WorkOrderOutboxRow.id)).all()
        return [r.payload.split('"change":"')[1].split('"')[0] for r in rows if r.kind == "event"]


def test_from_assignment_to_a_late_booking(sessions: sessionmaker[Session], order_id: int) -> None:
    wang = Technician(id="wang", sites=["demo"], skills=["electrical"])  # books labour below
    desk = seeded_desk(sessions, RosterSettings(technicians=[*ROSTER.technicians, wang]))
    order = desk.assign(order_id, at=T0 + H, actor="sup", technician="li", note="bring a puller")
    assert (order.status, order.assigned_to, order.assign_note) == (
        "assigned",
        "li",
        "bring a puller",
    )
    desk.move(order_id, S.IN_PROGRESS, at=T0 + 2 * H, actor="li")
    with pytest.raises(UnknownPart):  # parts come from the list
        desk.book(order_id, WorkDone(parts=(PartUse("NOPE", 1),)), at=T0 + 3 * H, actor="li")
    work = WorkDone(
        hours=2.0,
        rate=80,
        labour=(LabourUse("wang", 1.5, 60),),
        parts=(PartUse("6205-2RS", 2), PartUse("GR-1", 0.5)),
        charges=(Charge("Otis service", 300, "balancing"),),
    )
    order = desk.book(order_id, work, at=T0 + 3 * H, actor="li")
    # 2 h × 80 + 1.5 h × 60 + 2 × 45.5 + 0.5 × 20 (list prices: a technician books no
    # other, review 19c-s M4) + 300
    assert order.cost == pytest.approx(160 + 90 + 91 + 10 + 300)
    assert order.labour_hours == pytest.approx(3.5)
    with pytest.raises(InvalidRecord, match="summary"):
        desk.resolve(order_id, "  ", at=T0 + 4 * H, actor="li")
    done = Completion(RepairClass.MEDIUM, "bearing dry", downtime_h=3.0, cause_code="lubrication")
    order = desk.resolve(order_id, "bearing replaced", at=T0 + 4 * H, actor="li", completion=done)
    assert (order.status, order.summary, order.repair_class, order.cause_code) == (
        "resolved",
        "bearing replaced",
        "medium",
        "lubrication",
    )
    # 回访: not satisfied → back to li
    order = desk.follow_up(
        order_id, FollowUp(Outcome.NOT_SATISFIED, 2, "still noisy"), at=T0 + 24 * H, actor="sup"
    )
    assert (order.status, order.assigned_to, order.resolved_at) == ("assigned", "li", None)
    assert order.assign_note == "bring a puller"  # the reopening keeps the technician's note
    desk.move(order_id, S.IN_PROGRESS, at=T0 + 25 * H, actor="li")
    desk.resolve(order_id, "coupling aligned", at=T0 + 26 * H, actor="li")
    order = desk.follow_up(order_id, FollowUp(Outcome.SATISFIED, 5), at=T0 + 48 * H, actor="sup")
    assert order.status == "verified"
    with pytest.raises(InvalidTransition):  # a verified order has had its follow-up
        desk.follow_up(order_id, FollowUp(Outcome.SATISFIED, 5), at=T0 + 49 * H, actor="sup")
    desk.move(order_id, S.CLOSED, at=T0 + 50 * H, actor="sup")
    # after closing: no booking, unless late on purpose (a supervisor's), flagged as such
    invoice = WorkDone(charges=(Charge("Otis service", 120, "invoice came late"),))
    with pytest.raises(InvalidWorkLog):
        desk.book(order_id, invoice, at=T0 + 72 * H, actor="sup")
    order = desk.book(order_id, invoice, at=T0 + 72 * H, actor="sup", late=True)
    assert order.cost == pytest.approx(651 + 120)
    desk.comment(order_id, "invoice filed", at=T0 + 73 * H, actor="sup")
    with sessions() as s:
        charges = s.scalars(select(WorkOrderChargeRow).order_by(WorkOrderChargeRow.id)).all()
        assert [(c.amount, c.late) for c in charges] == [(300, False), (120, True)]
        follow_ups = s.scalars(select(FollowUpRow).order_by(FollowUpRow.id)).all()
        assert [(f.outcome, f.satisfaction) for f in follow_ups] == [
            ("not_satisfied", 2),
            ("satisfied", 5),
        ]
    assert _changes(sessions) == [
        "created",
        "assigned",
        "in_progress",
        "work_logged",
        "resolved",
        "followed_up",
        "in_progress",
        "resolved",
        "followed_up",
        "closed",
        "work_logged",
        "commented",
    ]


def test_timeline_speaks_both_languages(sessions: sessionmaker[Session], order_id: int) -> None:
    desk = seeded_desk(sessions, ROSTER)
    desk.assign(order_id, at=T0 + H, actor="sup", technician="li")
    desk.move(order_id, S.IN_PROGRESS, at=T0 + 2 * H, actor="li")
    desk.book(order_id, WorkDone(parts=(PartUse("6205-2RS", 2),)), at=T0 + 3 * H, actor="li")
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None
        part = next(e for e in order_record(s, order).events if e.kind == "part")
    assert event_text(part.message, part.note, "en") == "part 6205-2RS bearing × 2 pc at 45.50"
    zh = event_text(part.message, part.note, "zh-CN")
    assert zh == "材料 6205-2RS bearing × 2 pc，单价 45.50 元"
    assert part.note == "part 6205-2RS bearing × 2 pc at 45.50"  # English kept beside it


def test_a_replacement_renews_age_on_the_sites_day(
    sessions: sessionmaker[Session], order_id: int
) -> None:
    desk = seeded_desk(sessions, ROSTER)
    desk.assign(order_id, at=T0, actor="sup", technician="li")  # work needs someone on it
    late_evening = T0.replace(hour=20)  # 2026-03-02 20:00 UTC is 03-03 04:00 in Shanghai
    desk.complete(order_id, Completion(RepairClass.REPLACEMENT), at=late_evening, actor="li")
    with sessions() as s:
        asset = s.get(EquipmentRow, ("demo", "P-01"))
        assert asset is not None and asset.last_overhaul == date(2026, 3, 3)
    # a medium repair renews nothing
    desk.complete(order_id, Completion(RepairClass.MEDIUM), at=late_evening + 48 * H, actor="li")
    with sessions() as s:
        asset = s.get(EquipmentRow, ("demo", "P-01"))
        assert asset is not None and asset.last_overhaul == date(2026, 3, 3)
    with pytest.raises(InvalidWorkLog, match="cause code"):
        desk.complete(order_id, Completion(cause_code="gremlins"), at=late_evening, actor="li")


def test_cancel_needs_a_reason_and_comments_need_text(
    sessions: sessionmaker[Session], order_id: int
) -> None:
    desk = seeded_desk(sessions, ROSTER)
    with pytest.raises(InvalidRecord, match="reason"):
        desk.cancel(order_id, "", at=T0 + H, actor="sup")
    with pytest.raises(InvalidRecord, match="text"):
        desk.comment(order_id, " ", at=T0 + H, actor="sup")
    order = desk.cancel(order_id, "duplicate of #7", at=T0 + H, actor="sup")
    assert order.status == "cancelled"
    with pytest.raises(InvalidTransition):
        desk.cancel(order_id, "again", at=T0 + 2 * H, actor="sup")
    assert desk.comment(order_id, "checked", at=T0 + 3 * H, actor="sup").status == "cancelled"


def test_attachments_are_sniffed_bounded_and_kept_inside_their_folder(
    sessions: sessionmaker[Session], order_id: int, tmp_path: Path
) -> None:
    store = AttachmentStore(AttachmentSettings(folder=tmp_path / "files", max_bytes=1000))
    desk = seeded_desk(sessions, ROSTER)
    row = desk.attach(
        order_id, store, data=PNG, filename="../../etc/passwd.png", at=T0, actor="li", note="before"
    )
    assert (row.filename, row.content_type, row.size) == ("passwd.png", "image/png", len(PNG))
    assert store.path(row).read_bytes() == PNG
    assert store.path(row).parent == (tmp_path / "files").resolve()
    with pytest.raises(InvalidRecord, match="type"):  # a script named .jpg is still a script
        desk.attach(
            order_id, store, data=b"#!/bin/sh\nrm -rf /\n", filename="x.jpg", at=T0, actor="li"
        )
    with pytest.raises(InvalidRecord, match="larger"):
        desk.attach(
            order_id, store, data=PNG + b"\x00" * 1000, filename="big.png", at=T0, actor="li"
        )
    with pytest.raises(WorkOrderNotFound):  # the file written first is removed again
        desk.attach(9999, store, data=PNG, filename="a.png", at=T0, actor="li")
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == [row.stored_as]
    forged = AttachmentRow(stored_as="../../etc/passwd")
    with pytest.raises(FileNotFoundError):
        store.path(forged)
    assert clean_filename("C:\\temp\\报修 照片.JPG", "jpg") == "报修 照片.jpg"
