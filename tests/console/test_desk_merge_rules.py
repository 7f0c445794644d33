"""Merging duplicates without losing a caller (review 18d): no merge into a finished repair,
a declined or spam primary gives its merged callers back to the queue, a joined order gets
the callers' words, phone and photo, and the page's choice of primaries lists only those a
duplicate may join, newest first; on the real databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bldgwatch.console.models import AuditRow
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.recordmodels import AttachmentRow
from tests.console.conftest import ClientFactory
from tests.console.support import assert_problem
from tests.console.test_desk_queue import entrapment_alarm, logged, queue
from tests.console.test_public_requests import PNG, Desk, ok


@pytest.fixture
def desk(make_client: ClientFactory, db: Engine, tmp_path: Path) -> Desk:
    return Desk(make_client, db, tmp_path / "files")


def merge(desk: Desk, dup: int, primary: int, lang: str = "en") -> Any:
    return desk.sup.post(
        f"/api/service-desk/requests/{dup}/merge",
        json={"primary_id": primary},
        headers={"Accept-Language": lang},
    )


def accept(desk: Desk, rid: int) -> int:
    body = {"urgency": "minor", "equipment": "P-01"}
    return int(
        ok(desk.sup.post(f"/api/service-desk/requests/{rid}/accept", json=body))["work_order_id"]
    )


def set_order(engine: Engine, oid: int, status: str) -> None:
    with Session(engine) as session:
        session.execute(update(WorkOrderRow).where(WorkOrderRow.id == oid).values(status=status))
        session.commit()


@pytest.mark.parametrize("finished", ["resolved", "verified", "closed", "cancelled"])
def test_no_merge_into_a_request_whose_repair_is_finished(desk: Desk, finished: str) -> None:
    primary = logged(desk)["request"]["id"]
    set_order(desk.engine, accept(desk, primary), finished)
    again = logged(desk, description="又漏水了 again")
    rid = again["request"]["id"]
    assert_problem(merge(desk, rid, primary), 409, "a repeat of a repaired fault is a new request")
    zh = merge(desk, rid, primary, "zh-CN")
    assert_problem(zh, 409, "修好后再次出现的故障请作为新报修受理")
    assert [q["id"] for q in queue(desk)] == [rid]  # still waiting, for the desk to accept
    assert desk.status(again["status_token"])["state"] == "received"


def test_the_zh_refusal_names_the_primarys_status_in_chinese(desk: Desk) -> None:
    a, b, c = (logged(desk)["request"]["id"] for _ in range(3))
    ok(desk.sup.post(f"/api/service-desk/requests/{a}/spam"))
    ok(merge(desk, c, b))
    assert_problem(
        merge(desk, b, a, "zh-CN"), 409, f"R-{a:06d} 不能再合并其他报修：其状态为 垃圾报修"
    )
    assert_problem(merge(desk, a, b, "zh-CN"), 409, "已处理（垃圾报修）")
    other = logged(desk)["request"]["id"]
    assert_problem(merge(desk, other, c, "zh-CN"), 409, "其状态为 已合并")
    assert_problem(merge(desk, other, c), 409, "it is merged")


@pytest.mark.parametrize("decision", ["spam", "decline"])
def test_refusing_a_primary_gives_its_merged_callers_back_to_the_queue(
    desk: Desk, decision: str
) -> None:
    prank = logged(desk, description="prank")["request"]["id"]
    real = logged(desk, description="real leak")
    rid = real["request"]["id"]
    ok(merge(desk, rid, prank))
    assert {q["id"]: q["duplicates"] for q in queue(desk)} == {prank: 1}  # the page warns
    body = {"reason": "户内问题"} if decision == "decline" else None
    decided = ok(desk.sup.post(f"/api/service-desk/requests/{prank}/{decision}", json=body))
    assert decided["returned_to_queue"] == [f"R-{rid:06d}"]
    assert [q["id"] for q in queue(desk)] == [rid]
    assert queue(desk, "merged") == []
    status = desk.status(real["status_token"])
    assert (status["state"], status["merged_into"], status["reason"]) == ("received", None, None)
    with Session(desk.engine) as session:
        audited = session.scalars(
            select(AuditRow).where(
                AuditRow.target == f"public_request:{prank}",
                AuditRow.action == "public_request.decision",
            )
        ).one()
        assert audited.detail["returned_to_queue"] == [f"R-{rid:06d}"]
    assert ok(merge(desk, rid, logged(desk)["request"]["id"]))["status"] == "merged"  # decidable


def notes_of(engine: Engine, oid: int) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(WorkOrderEventRow).where(
                WorkOrderEventRow.work_order_id == oid, WorkOrderEventRow.kind == "request"
            )
        ).all()
        return [r.message or {} for r in rows]


def attachments_of(engine: Engine, oid: int) -> list[str]:
    with Session(engine) as session:
        rows = session.scalars(select(AttachmentRow).where(AttachmentRow.work_order_id == oid))
        return sorted(r.filename for r in rows)


def test_joining_an_incidents_order_brings_the_owners_words_phone_and_photo(desk: Desk) -> None:
    oid = entrapment_alarm(desk.engine)
    code = desk.point(equipment="E-01", label="2号楼 电梯")
    photo = {"photo": ("lift.png", PNG, "image/png")}
    ok(desk.send(code, files=photo, category="elevator", description="电梯困人 3楼"))
    owner = queue(desk)[0]["id"]
    caller = logged(desk, equipment="E-01", description="我妈在电梯里", phone="13900139000")
    ok(merge(desk, caller["request"]["id"], owner))
    ok(desk.sup.post(f"/api/service-desk/requests/{owner}/link", json={"work_order_id": oid}))
    texts = [n["params"]["text"] for n in notes_of(desk.engine, oid)]
    assert len(texts) == 2
    assert "电梯困人 3楼" in texts[0] and "2号楼 电梯" in texts[0] and "+86" in texts[0]
    assert "我妈在电梯里" in texts[1] and "13900139000" in texts[1]
    assert attachments_of(desk.engine, oid) == [f"R-{owner:06d}.png"]
    timeline = ok(desk.sup.get(f"/api/work-orders/{oid}", headers={"Accept-Language": "zh-CN"}))
    assert "电梯困人 3楼" in str(timeline)


def test_a_duplicate_of_an_accepted_request_adds_its_words_and_photo_to_the_order(
    desk: Desk,
) -> None:
    code = desk.point()
    ok(desk.send(code, description="水泵房漏水"))
    primary = queue(desk)[0]["id"]
    early = logged(desk, description="楼下也在滴水", phone="13700137000")["request"]["id"]
    ok(merge(desk, early, primary))  # merged while waiting: comes along when accepted
    oid = accept(desk, primary)
    ok(desk.send(code, files={"photo": ("b.png", PNG, "image/png")}, description="地面积水"))
    late = queue(desk)[0]["id"]
    ok(merge(desk, late, primary))  # merged into the accepted one: joins its order now
    texts = [n["params"]["text"] for n in notes_of(desk.engine, oid)]
    assert len(texts) == 2
    assert "楼下也在滴水" in texts[0] and "13700137000" in texts[0]
    assert "地面积水" in texts[1]
    assert attachments_of(desk.engine, oid) == [f"R-{late:06d}.png"]


def test_the_primaries_offered_are_the_mergeable_ones_newest_first(desk: Desk) -> None:
    done = logged(desk)["request"]["id"]
    set_order(desk.engine, accept(desk, done), "closed")
    working = logged(desk)["request"]["id"]
    accept(desk, working)
    spam = logged(desk)["request"]["id"]
    ok(desk.sup.post(f"/api/service-desk/requests/{spam}/spam"))
    waiting = [logged(desk)["request"]["id"] for _ in range(2)]
    desk.advance(5)
    newest = logged(desk)["request"]["id"]
    params = {"mergeable": "true", "limit": 10}
    found = ok(desk.sup.get("/api/service-desk/requests", params=params))
    assert [q["id"] for q in found["items"]] == [newest, *reversed(waiting), working]
    assert found["total"] == 4
    assert [q["id"] for q in queue(desk, "accepted")] == [done, working]  # unchanged


def test_a_merged_callers_page_never_goes_back_in_time(desk: Desk) -> None:
    primary = logged(desk)["request"]["id"]
    accept(desk, primary)  # 10:00
    desk.advance(120)
    late = logged(desk, description="楼下也漏水")  # 12:00
    desk.advance(10)
    ok(merge(desk, late["request"]["id"], primary))  # 12:10
    steps = {s["name"]: s["at"] for s in desk.status(late["status_token"])["steps"]}
    received = datetime.fromisoformat(steps["received"])
    assert received == datetime.fromisoformat(late["request"]["created_at"])
    assert datetime.fromisoformat(steps["accepted"]) == received + timedelta(minutes=10)
    assert steps["in_progress"] is None and steps["done"] is None


def test_a_flood_marked_as_spam_gives_back_the_callers_merged_into_it(desk: Desk) -> None:
    flood = [logged(desk, description="刷单")["request"]["id"] for _ in range(2)]
    real = logged(desk, description="真的漏水")["request"]["id"]
    ok(merge(desk, real, flood[0]))
    marked = ok(desk.sup.post("/api/service-desk/requests/spam", json={"ids": flood}))
    assert marked["marked"] == 2
    assert [q["id"] for q in queue(desk)] == [real]
    with Session(desk.engine) as session:
        details = {
            a.target: a.detail
            for a in session.scalars(
                select(AuditRow).where(AuditRow.action == "public_request.decision")
            )
            if a.detail.get("decision") == "spam"
        }
    assert details[f"public_request:{flood[0]}"]["returned_to_queue"] == [f"R-{real:06d}"]
    assert "returned_to_queue" not in details[f"public_request:{flood[1]}"]
