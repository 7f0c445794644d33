"""Inspection rounds through the API: a supervisor sets up a template and a round, a
technician starts the run due now, sees the live value next to the manual reading, and sends
the phone's queue twice (each entry answered on its own, nothing stored twice, the stop's QR
code required); a failed item opens one work order; the rounds list counts late and missed;
refusals as problem documents; a preventive order's checklist ticked by its technician."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.requestmodels import RequestPointRow
from bldgwatch.maintenance.roundmodels import EntryChangeRow, OrderCheckRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0, add, assets, work_order
from tests.console.support import assert_problem

NOW = datetime(2026, 3, 2, 0, 10, tzinfo=UTC)  # 08:10 at the site (Asia/Shanghai)
CODE = "sp01-label-code"
TEMPLATE: dict[str, Any] = {
    "site": "demo",
    "name": "强电井巡检",
    "equipment_type": "shaft_panel",
    "items": [
        {"key": "door", "kind": "check", "label": "柜门已锁"},
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
    ],
}


@pytest.fixture
def store(influx_settings: InfluxSettings) -> Iterator[TimeSeriesStore]:
    s = open_store(influx_settings)
    s.ensure_database()
    tags = {"site": "demo", "building": "B2", "equipment": "SP-01", "gateway": "gw-1"}
    s.write(
        join([line("shaft_panel", tags, {"current_l1_a": 42.04321}, to_epoch_ms(NOW))]),
        precision="ms",
    )
    yield s
    s.close()


@pytest.fixture
def client(sqlite_db: Engine, store: TimeSeriesStore, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    point = RequestPointRow(
        site="demo",
        code=CODE,
        kind="equipment",
        label="SP-01",
        equipment="SP-01",
        created_at=T0,
        created_by="seed",
    )
    add(sqlite_db, point)
    # The server's clock is a minute behind NOW: the queue below reaches it at 08:09.
    return make_client(sqlite_db, store, ManualClock(NOW - timedelta(minutes=1)), user="supervisor")


def _round(client: TestClient, **changes: Any) -> dict[str, Any]:
    template = client.post("/api/checklist-templates", json=TEMPLATE)
    assert template.status_code == 201, template.text
    body = {
        "site": "demo",
        "name": "早班巡检",
        "times": ["08:00", "20:00"],
        "stops": [{"equipment": "SP-01", "template_id": template.json()["id"]}],
        **changes,
    }
    made = client.post("/api/rounds", json=body)
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def _entry(item: str, value: Any, code: str = CODE) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "stop": 0,
        "item": item,
        "value": value,
        "code": code,
        "recorded_at": (NOW - timedelta(minutes=1)).isoformat(),
    }


def test_a_round_done_from_a_phone_queue_opens_one_order_and_stores_nothing_twice(
    client: TestClient, sqlite_db: Engine
) -> None:
    rnd = _round(client)
    assert rnd["timezone"] == "Asia/Shanghai" and rnd["times"] == ["08:00", "20:00"]
    assert [p["state"] for p in rnd["today"]] == ["open", "upcoming"]
    assert "code" not in rnd["stops"][0]  # the phone proves presence by scanning it
    tech = auth_headers(client, "tech")
    run = client.post(f"/api/rounds/{rnd['id']}/runs", headers=tech)
    assert run.status_code == 200, run.text
    assert run.json()["due_at"] == "2026-03-02T00:00:00Z"
    # missed 240 min after (the default): a phone offline after that keeps it as an earlier one
    assert run.json()["missed_at"] == "2026-03-02T04:00:00Z"
    reading = run.json()["stops"][0]["items"][1]
    assert (reading["live_value"], reading["unit"]) == (42.0, "A")  # its decimals (19c-r L4)
    queue = [
        _entry("door", False),
        _entry("l1", "hot"),  # a value the reading cannot take: refused alone
        _entry("l1", 30.0),
        _entry("l1", 31.0, code="wrong"),
    ]
    url = f"/api/round-runs/{run.json()['id']}/entries"
    sent = client.post(url, json={"entries": queue}, headers={**tech, "Accept-Language": "zh-CN"})
    assert sent.status_code == 200, sent.text
    results = sent.json()["results"]
    assert [r["status"] for r in results] == ["stored", "refused", "stored", "refused"]
    assert results[1]["problem"]["status"] == 422
    assert results[1]["problem"]["errors"][0]["name"] == "value"
    assert "有效数字" in results[1]["problem"]["detail"]
    assert results[3]["problem"]["status"] == 409
    assert "二维码" in results[3]["problem"]["detail"]
    assert results[2]["entry"]["disagrees"] is True  # 30 A by hand, 42 A live
    again = client.post(url, json={"entries": queue[:3]}, headers=tech).json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "refused", "duplicate"]
    assert again[0]["entry"]["work_order_id"] == results[0]["entry"]["work_order_id"]
    with Session(sqlite_db) as s:
        orders = s.scalars(select(WorkOrderRow).where(WorkOrderRow.equipment == "SP-01")).all()
    assert [(o.id, o.kind) for o in orders] == [(results[0]["entry"]["work_order_id"], "reactive")]
    done = client.get(f"/api/round-runs/{run.json()['id']}").json()
    assert done["done_at"] == "2026-03-02T00:09:00Z" and done["state"] == "on_time"
    assert done["stops"][0]["scanned"] is True
    kept = done["stops"][0]["items"][1]["entry"]  # 42.04321 kept, shown to its decimals (19e L1)
    assert (kept["value"], kept["live_value"]) == (30.0, 42.0)
    client.app.state.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
    fresh = auth_headers(client, "viewer")  # 09:10 next day at the site
    listed = client.get("/api/rounds?site=demo&days=2", headers=fresh).json()
    assert listed[0]["counts"] == {
        "on_time": 1,
        "late": 0,
        "missed": 1,
        "open": 1,
        "upcoming": 0,
    }  # the evening's was missed; the morning's may still be done
    assert [p["state"] for p in listed[0]["today"]] == ["open", "upcoming"]
    # The supervisor's view of past runs (review 19r L1): newest first, with the results.
    past = client.get(f"/api/rounds/{rnd['id']}/history?days=2", headers=fresh).json()
    assert [p["state"] for p in past] == ["open", "missed", "on_time"]
    assert {k: past[2][k] for k in ("run_id", "entries", "faults", "disagreements")} == {
        "run_id": run.json()["id"],
        "entries": 2,
        "faults": 1,
        "disagreements": 1,
    }
    assert past[1]["entries"] is None


def test_refusals_are_problems(client: TestClient) -> None:
    rnd = _round(client)
    template_id = rnd["stops"][0]["template_id"]
    no_label = {
        "site": "demo",
        "name": "x",
        "times": ["08:00"],
        "stops": [{"equipment": "SP-01", "template_id": template_id}] * 1,
    }
    door_only = {"items": TEMPLATE["items"][:1]}  # current_l1_a is no lift's point (19c-r M12)
    lift = client.post(
        "/api/checklist-templates", json={**TEMPLATE, "equipment_type": "elevator"} | door_only
    )
    no_label["stops"] = [{"equipment": "E-01", "template_id": lift.json()["id"]}]
    assert_problem(client.post("/api/rounds", json=no_label), 409)
    unknown = {**no_label, "stops": [{"equipment": "NOPE", "template_id": template_id}]}
    assert_problem(client.post("/api/rounds", json=unknown), 404)
    wrong_class = {**no_label, "stops": [{"equipment": "SP-01", "template_id": lift.json()["id"]}]}
    assert_problem(client.post("/api/rounds", json=wrong_class), 409)
    hidden = {**TEMPLATE, "name": "a\u202eb"}
    assert_problem(client.post("/api/checklist-templates", json=hidden), 422)
    bad_time = {**no_label, "times": ["8点"]}
    assert_problem(client.post("/api/rounds", json=bad_time), 422)
    in_use = {k: v for k, v in TEMPLATE.items() if k != "site"} | {"equipment_type": "pump"}
    in_use |= door_only
    assert_problem(client.put(f"/api/checklist-templates/{template_id}", json=in_use), 409)
    tech = auth_headers(client, "tech")
    later = client.put(
        f"/api/rounds/{rnd['id']}",
        json={
            k: v
            for k, v in {**no_label, "times": ["14:00"], "stops": rnd["stops"]}.items()
            if k != "site"
        }
        | {"stops": [{"equipment": "SP-01", "template_id": template_id}]},
    )
    assert later.status_code == 200, later.text
    assert later.json()["updated_at"] != rnd["updated_at"]  # a new version, the clock unmoved
    edited = {k: v for k, v in rnd.items() if k in ("name", "times", "active")} | {
        "stops": [{"equipment": "SP-01", "template_id": template_id}]
    }
    stale = client.put(f"/api/rounds/{rnd['id']}", json=edited | {"seen_at": rnd["updated_at"]})
    assert_problem(stale, 409, "saved this round after the version you edited")  # 19b-r M4
    fresh = edited | {"seen_at": later.json()["updated_at"], "times": ["14:00"]}
    assert client.put(f"/api/rounds/{rnd['id']}", json=fresh).status_code == 200
    moved = client.post(f"/api/rounds/{rnd['id']}/runs", headers=tech)  # 08:00 still counted:
    assert moved.json()["due_at"] == "2026-03-02T00:00:00Z", moved.text  # so run (19c-r L2)
    for listed in ("/api/rounds?site=elsewhere", "/api/checklist-templates?site=elsewhere"):
        assert_problem(client.get(listed), 404)  # review 19r L6


ZH = {"Accept-Language": "zh-CN"}


@pytest.mark.parametrize(
    ("items", "said"),
    [
        ([{"key": "门锁", "kind": "check", "label": "门锁"}], "第 1 项：编号“门锁”只能含小写字母"),
        (
            [
                {"key": "a", "kind": "check", "label": "门"},
                {"key": "a", "kind": "note", "label": "备注"},
            ],
            "第 1 项和第 2 项的编号“a”相同",
        ),
        (
            [
                {"kind": "check", "label": "门"},
                {"kind": "reading", "label": "电流", "low": 9, "high": 1},
            ],
            "第 2 项：下限 9 高于上限 1",
        ),
        (
            [{"kind": "check", "label": "门", "unit": "A"}],
            "第 1 项：单位、上下限和在线测点只用于读数项",
        ),
        (
            [{"kind": "reading", "label": "电流", "point": "current_l1_a"}],
            "第 1 项：在线测点和允许偏差",
        ),
        ([{"kind": "choice", "label": "异味", "options": ["无"]}], "第 1 项：选择项至少要有 2 个"),
        (
            [{"kind": "choice", "label": "异味", "options": ["无", "有"], "bad_options": ["焦"]}],
            "第 1 项：异常选项“焦”不在选项中",
        ),
        ([{"kind": "check", "label": "a\u202eb"}], "第 1 项：“a\u202eb”的名称"),
        (  # review 19c-r M12: a natural guess, but the class's point is current_l1_a
            [
                {"kind": "check", "label": "门"},
                {"kind": "reading", "label": "L1 电流", "point": "l1_a", "tolerance": 5},
            ],
            "第 2 项“L1 电流”：“l1_a”不是该设备类别的在线测点",
        ),
    ],
)
def test_template_refusals_name_the_item_in_the_readers_language(
    client: TestClient, items: list[dict[str, Any]], said: str
) -> None:
    """Review 19c-r M3: no regular expression, no English "Value error", the item by number."""
    made = client.post("/api/checklist-templates", json={**TEMPLATE, "items": items}, headers=ZH)
    assert_problem(made, 422, said)
    assert "Value error" not in made.text and "^[" not in made.text


def test_item_keys_are_made_from_their_position_and_kept_when_given(client: TestClient) -> None:
    items = [
        {"kind": "check", "label": "柜门已锁"},
        {"key": "item-1", "kind": "note", "label": "备注"},
        {"key": "", "kind": "note", "label": "其他"},
    ]
    made = client.post("/api/checklist-templates", json={**TEMPLATE, "items": items})
    assert made.status_code == 201, made.text
    assert [i["key"] for i in made.json()["items"]] == ["item-1-2", "item-1", "item-3"]


def test_round_times_are_taken_as_people_write_them(client: TestClient) -> None:
    template = client.post("/api/checklist-templates", json=TEMPLATE).json()
    stops = [{"equipment": "SP-01", "template_id": template["id"]}]
    body = {"site": "demo", "name": "早班", "stops": stops}
    made = client.post(
        "/api/rounds", json=body | {"times": ["8:00", "\uff12\uff10\uff1a\uff10\uff10"]}
    )
    assert made.status_code == 201, made.text
    assert made.json()["times"] == ["08:00", "20:00"]
    for times, said in [
        (["8点"], "“8点”不是时间：请写成 8:00 或 08:00"),
        (["08:00", "8:00"], "时间 08:00 填了两次"),
    ]:
        refused = client.post("/api/rounds", json=body | {"times": times}, headers=ZH)
        assert_problem(refused, 422, said)
        assert "Value error" not in refused.text and "^(" not in refused.text
    empty = client.post("/api/rounds", json=body | {"times": ["08:00"], "stops": []}, headers=ZH)
    assert_problem(empty, 422, "请至少选择一个巡检点")
    clocks = {"times": ["08:00"], "late_after_min": 300, "missed_after_min": 200}
    assert_problem(
        client.post("/api/rounds", json=body | clocks, headers=ZH),
        422,
        "迟到分钟数（300）大于漏检分钟数（200）",
    )


def test_retiring_the_label_a_round_scans_names_the_round_and_the_round_can_still_be_switched_off(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19c-r M2: retiring SP-01's only label broke every run of the round silently, and
    the round could not be switched off until a new label was printed."""
    rnd = _round(client)
    with Session(sqlite_db) as session:
        label = session.scalars(select(RequestPointRow).where(RequestPointRow.code == CODE)).one()
    retire = f"/api/service-desk/points/{label.id}/retire"
    warned = client.post(retire, headers=ZH)
    assert_problem(warned, 409, "巡检路线（早班巡检）经过 SP-01，而这是它唯一在用的二维码")
    assert client.get("/api/service-desk/points", params={"site": "demo"}).status_code == 200
    with Session(sqlite_db) as session:
        assert session.get(RequestPointRow, label.id).retired_at is None  # type: ignore[union-attr]
    assert client.post(retire, params={"confirm": True}).status_code == 200
    body = {k: v for k, v in rnd.items() if k in ("name", "times", "late_after_min")}
    body |= {"missed_after_min": rnd["missed_after_min"], "stops": rnd["stops"]}
    body["stops"] = [
        {"equipment": s["equipment"], "template_id": s["template_id"]} for s in body["stops"]
    ]
    off = client.put(f"/api/rounds/{rnd['id']}", json=body | {"active": False})
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    assert_problem(client.put(f"/api/rounds/{rnd['id']}", json=body | {"active": True}), 409)


def test_a_preventive_orders_checklist_is_ticked_by_its_technician(
    client: TestClient, sqlite_db: Engine
) -> None:
    add(sqlite_db, work_order(0, kind="preventive", status="assigned", assigned_to="tech"))
    with Session(sqlite_db) as s:
        order_id = s.scalars(select(WorkOrderRow.id)).one()
    add(
        sqlite_db,
        *(
            OrderCheckRow(work_order_id=order_id, idx=n, text=t)
            for n, t in enumerate(["机房清洁", "制动器检查"])
        ),
    )
    tech = auth_headers(client, "tech")
    ticked = client.put(
        f"/api/work-orders/{order_id}/checklist/1", json={"done": True}, headers=tech
    )
    assert ticked.status_code == 200, ticked.text
    assert [(c["text"], c["done_by"]) for c in ticked.json()] == [
        ("机房清洁", None),
        ("制动器检查", "tech"),
    ]
    assert_problem(
        client.put(f"/api/work-orders/{order_id}/checklist/5", json={"done": True}, headers=tech),
        404,
    )
    viewer = auth_headers(client, "viewer")
    assert len(client.get(f"/api/work-orders/{order_id}/checklist", headers=viewer).json()) == 2
    # Ticked again by another: who did it first stays; a closed order's list is as it was
    # closed (review 19r M7).
    sup = auth_headers(client, "supervisor")
    again = client.put(f"/api/work-orders/{order_id}/checklist/1", json={"done": True}, headers=sup)
    assert again.json()[1]["done_by"] == "tech"
    with Session(sqlite_db) as s, s.begin():
        s.execute(update(WorkOrderRow).where(WorkOrderRow.id == order_id).values(status="closed"))
    closed = client.put(
        f"/api/work-orders/{order_id}/checklist/1", json={"done": False}, headers=sup
    )
    assert_problem(closed, 409, "no longer changes")
    # a default plan's item is a catalogue key, read in the reader's language (review 19r M6)
    add(sqlite_db, OrderCheckRow(work_order_id=order_id, idx=2, text="maintenance.task.pump.seal"))
    path = f"/api/work-orders/{order_id}/checklist"
    zh = client.get(path, params={"lang": "zh-CN"}, headers=viewer).json()
    assert [c["text"] for c in zh] == ["机房清洁", "制动器检查", "机械密封：有无渗漏"]
    assert client.get(path, params={"lang": "en"}, headers=viewer).json()[2]["text"] == (
        "seal: leakage"
    )


def test_a_pm_order_is_not_resolved_with_items_unticked_without_a_word(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19c-r M4: resolved with 2 of 5 items ticked, without a word; ticks changed
    after resolution; an untick left no trace."""
    add(sqlite_db, work_order(0, kind="preventive", status="in_progress", assigned_to="tech"))
    with Session(sqlite_db) as s:
        order_id = s.scalars(select(WorkOrderRow.id)).one()
    tasks = ["机房清洁", "制动器检查", "门锁检查"]
    add(
        sqlite_db,
        *(OrderCheckRow(work_order_id=order_id, idx=n, text=t) for n, t in enumerate(tasks)),
    )
    tech = auth_headers(client, "tech")
    zh = {**tech, "Accept-Language": "zh-CN"}
    path = f"/api/work-orders/{order_id}"
    for idx in (0, 1):
        assert client.put(f"{path}/checklist/{idx}", json={"done": True}, headers=tech).is_success
    # taking a tick back is on the timeline, with whose tick it was
    assert client.put(f"{path}/checklist/1", json={"done": False}, headers=tech).is_success
    refused = client.post(f"{path}/resolve", json={"summary": "做完了"}, headers=zh)
    assert_problem(refused, 422, "第 2、3 项", "未完成检查项的原因")
    moved = client.post(f"{path}/transition", json={"to": "resolved", "note": "做完了"}, headers=zh)
    assert_problem(moved, 422, "目标状态：有 2 项检查未勾选（第 2、3 项）", "在工单页面完工")
    resolved = client.post(
        f"{path}/resolve",
        json={"summary": "做完了", "open_items_reason": "门锁备件未到，下次维保补做"},
        headers=zh,
    )
    assert resolved.status_code == 200, resolved.text
    texts = [e["text"] for e in resolved.json()["events"]]
    assert any("第 2、3 项" in t and "门锁备件未到" in t for t in texts), texts
    assert any("取消勾选检查项第 2 项（原由 tech 勾选）" in t for t in texts), texts
    # the checklist is now the record: no tick, no untick
    for idx, done in ((2, True), (0, False)):
        late = client.put(f"{path}/checklist/{idx}", json={"done": done}, headers=tech)
        assert_problem(late, 409, "no longer changes")
    listed = client.get(f"{path}/checklist", headers=tech).json()
    assert [c["done_by"] for c in listed] == ["tech", None, None]


def test_a_pm_item_is_recorded_pass_fail_or_not_applicable_and_a_failure_opens_a_repair(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19c-r M6: each PM item gets 合格 / 不合格 / 无此项, a note and a reading with its
    unit; a failed item opens the equipment's repair order (a second failure joins it); every
    item with a result counts as done."""
    add(
        sqlite_db,
        work_order(0, kind="preventive", status="assigned", assigned_to="tech"),
        work_order(1, kind="preventive", status="assigned", assigned_to="tech"),
    )
    with Session(sqlite_db) as s:
        first, second = s.scalars(select(WorkOrderRow.id).order_by(WorkOrderRow.id)).all()
    tasks = ["制动器：动作、磨损、间隙", "母排温度（红外测温）", "maintenance.task.pump.seal"]
    add(
        sqlite_db,
        *(OrderCheckRow(work_order_id=first, idx=n, text=t) for n, t in enumerate(tasks)),
        OrderCheckRow(work_order_id=second, idx=0, text="门锁"),
    )
    tech = auth_headers(client, "tech")
    path = f"/api/work-orders/{first}/checklist"
    read = client.put(
        f"{path}/1",
        json={
            "done": True,
            "result": "pass",
            "reading": 42.5,
            "unit": "°C",
            "note": "与在线值一致",
        },
        headers=tech,
    )
    assert read.status_code == 200, read.text
    assert {k: read.json()[1][k] for k in ("result", "reading", "unit", "note")} == {
        "result": "pass",
        "reading": 42.5,
        "unit": "°C",
        "note": "与在线值一致",
    }
    assert client.put(f"{path}/2", json={"done": True, "result": "na"}, headers=tech).is_success
    failed = client.put(
        f"{path}/0", json={"done": True, "result": "fail", "note": "闸瓦磨损超限"}, headers=tech
    )
    assert failed.status_code == 200, failed.text
    line = failed.json()[0]
    assert (line["result"], line["note"], line["done_by"]) == ("fail", "闸瓦磨损超限", "tech")
    repair_id = line["repair_order_id"]
    assert repair_id is not None and repair_id not in (first, second)
    repair = client.get(f"/api/work-orders/{repair_id}", params={"lang": "zh-CN"}, headers=tech)
    assert repair.json()["kind"] == "reactive"
    assert repair.json()["equipment"] == "P-01"
    assert "制动器：动作、磨损、间隙" in repair.json()["title_text"], repair.json()["title_text"]
    assert "不合格" in repair.json()["title_text"]
    notes = [e["text"] for e in repair.json()["events"] if "维保工单" in (e["text"] or "")]
    said = f"维保工单 {first}：制动器：动作、磨损、间隙 不合格（备注：闸瓦磨损超限）"
    assert notes == [said], notes
    # recording the same failure again opens nothing new; another PM order's failure joins it
    again = client.put(f"{path}/0", json={"done": True, "result": "fail"}, headers=tech)
    assert again.json()[0]["repair_order_id"] == repair_id
    joined = client.put(
        f"/api/work-orders/{second}/checklist/0",
        json={"done": True, "result": "fail"},
        headers=tech,
    )
    assert joined.json()[0]["repair_order_id"] == repair_id
    with Session(sqlite_db) as s:
        kinds = s.scalars(select(WorkOrderRow.kind)).all()
        assert sorted(kinds) == ["preventive", "preventive", "reactive"]
        joined_items = s.scalars(
            select(OrderCheckRow.text).where(OrderCheckRow.work_order_id == repair_id)
        ).all()
        assert joined_items == [f"门锁 ✗ (#{second})"]
    # a plain tick still records "pass"; a taken-back item loses its result
    back = client.put(f"{path}/2", json={"done": False}, headers=tech).json()[2]
    assert (back["result"], back["done_at"]) == (None, None)
    # unclear bodies are refused naming the field
    for body, field in (
        ({"done": True, "note": "无结果"}, "result"),
        ({"done": False, "result": "pass"}, "done"),
        ({"done": True, "result": "pass", "unit": "°C"}, "unit"),
        ({"done": True, "result": "broken"}, "result"),
    ):
        refused = client.put(f"{path}/1", json=body, headers=tech)
        assert_problem(refused, 422)
        assert field in refused.text, refused.text


def test_a_template_item_key_that_is_no_text_is_refused_not_a_500(client: TestClient) -> None:
    """The fuzz: a list as an item's key crashed the key maker (unhashable) before the
    item's own check could refuse it."""
    items = [{"key": ["a"], "kind": "check", "label": "门"}, {"kind": "check", "label": "锁"}]
    body = {"site": "demo", "name": "x", "equipment_type": "pump", "items": items}
    assert_problem(client.post("/api/checklist-templates", json=body), 422, "key")


def test_a_technician_corrects_a_mis_tapped_fail_and_its_order_is_cancelled(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19c-r M10: the entry is corrected through the API with a reason (kept: who,
    when, old and new answer), judged again; the order the slip opened is cancelled; another
    technician may not, a bad value or no reason is refused in the reader's language."""
    rnd = _round(client)
    tech = auth_headers(client, "tech")
    run = client.post(f"/api/rounds/{rnd['id']}/runs", headers=tech).json()
    url = f"/api/round-runs/{run['id']}/entries"
    slip = _entry("door", False)
    stored = client.post(url, json={"entries": [slip]}, headers=tech).json()["results"][0]
    order_id = stored["entry"]["work_order_id"]
    assert order_id is not None
    zh = {**tech, "Accept-Language": "zh-CN"}
    no_reason = client.put(f"{url}/{slip['id']}", json={"value": True, "reason": " "}, headers=zh)
    assert_problem(no_reason, 422, "更正原因")
    wrong = client.put(f"{url}/{slip['id']}", json={"value": 3.5, "reason": "x"}, headers=zh)
    assert_problem(wrong, 422)
    assert_problem(client.put(f"{url}/{slip['id']}", json={"reason": "x"}, headers=zh), 422)
    body = {"value": True, "reason": "点错了"}
    assert_problem(client.put(f"{url}/nope", json=body, headers=zh), 404)
    fixed = client.put(f"{url}/{slip['id']}", json=body, headers=tech)
    assert fixed.status_code == 200, fixed.text
    got = fixed.json()
    assert (got["old_value"], got["new_value"], got["by"], got["reason"]) == (
        False,
        True,
        "tech",
        "点错了",
    )
    assert (got["order_id"], got["order_action"]) == (order_id, "cancelled")
    order = client.get(f"/api/work-orders/{order_id}").json()
    assert order["status"] == "cancelled"
    item = client.get(f"/api/round-runs/{run['id']}").json()["stops"][0]["items"][0]
    entry = item["entry"]
    assert (entry["value"], entry["ok"], entry["work_order_id"]) == (True, True, None)
    # the run shows the correction: who, when (also on the site's clock), old → new, why
    # (review 19d-r M4)
    (shown,) = item["corrections"]
    assert (shown["old_value"], shown["new_value"], shown["by"], shown["reason"]) == (
        False,
        True,
        "tech",
        "点错了",
    )
    assert shown["at_local"].endswith("+08:00"), shown
    with Session(sqlite_db) as s:
        assert s.scalar(select(func.count()).select_from(EntryChangeRow)) == 1
