"""Complaints through the API: the whole life (log, assign, respond, resolve) with its
timeline and clocks, the KPI it moves, a household's history; who may do what at which site;
bad and huge input answered 4xx naming the field, in zh-CN and en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, work_order
from tests.console.support import assert_problem

# 2026-03-31 23:30 at the site (Asia/Shanghai): the last evening of March there.
RECEIVED = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
NEW: dict[str, Any] = {
    "site": "demo",
    "building": "3栋",
    "room": "1单元 502",
    "channel": "hotline_12345",
    "category": "repair_delay",
    "description": "厨房漏水报修三天无人上门",
    "complainant": "王女士",
    "phone": "138 0000 0000",
    "received_at": RECEIVED.isoformat(),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(RECEIVED + timedelta(minutes=10))


@pytest.fixture
def client(db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    """On SQLite and on PostgreSQL."""
    add(db, *assets(), work_order(0))
    return make_client(db, clock=clock, user="engineer")


def _as(client: TestClient, user: str) -> dict[str, str]:
    return auth_headers(client, user)


def _advance(client: TestClient, clock: ManualClock, delta: timedelta) -> None:
    """Move time on; sign the engineer in again (access tokens expire in the meantime)."""
    clock.advance(delta)
    client.headers.update(auth_headers(client, "engineer"))


def _kpi(client: TestClient, month: str, name: str) -> Any:
    body = client.get(f"/api/kpis/maintenance?site=demo&month={month}").json()
    return body["figures"][name]


def test_a_complaints_whole_life(client: TestClient, clock: ManualClock) -> None:
    made = client.post("/api/complaints", json={**NEW, "work_order_id": 1, "equipment": "P-01"})
    assert made.status_code == 201, made.text
    c = made.json()
    assert c["response_due"].startswith("2026-04-01T15:30")  # 24 h from receipt
    assert c["resolution_due"].startswith("2026-04-07T15:30")  # 7 days
    assert c["timezone"] == "Asia/Shanghai" and c["overdue"] == []
    assert c["actions"] == ["assign", "respond", "resolve"]
    assert [e["kind"] for e in c["events"]] == ["logged"]
    cid = c["id"]
    # A day and a bit later the response clock has run out: the list says so.
    _advance(client, clock, timedelta(hours=25))
    late = client.get("/api/complaints?overdue=true").json()
    assert [i["id"] for i in late["items"]] == [cid] and late["items"][0]["overdue"] == ["response"]
    # Names ignore case, as logins do; the handler is kept as the user's name is spelt.
    assigned = client.post(f"/api/complaints/{cid}/assign", json={"handler": "SuperVisor"})
    assert assigned.json()["handler"] == "supervisor", assigned.text
    sup = _as(client, "supervisor")
    answered = client.post(f"/api/complaints/{cid}/respond", json={"note": "已回电"}, headers=sup)
    assert answered.json()["responded_at"] is not None and answered.json()["overdue"] == []
    assert answered.json()["actions"] == ["assign", "resolve"]
    again = client.post(f"/api/complaints/{cid}/respond", json={"note": "x"}, headers=sup)
    assert_problem(again, 409, f"complaint {cid} has already been answered")
    assert _kpi(client, "2026-03", "complaint_resolution_rate") == 0.0
    assert _kpi(client, "2026-03", "complaints") == 1  # the site's March, not UTC's April 1
    _advance(client, clock, timedelta(days=2))
    sup = _as(client, "supervisor")
    done = client.post(
        f"/api/complaints/{cid}/resolve",
        json={"outcome": "resolved", "note": "已更换水管", "accepted": True},
        headers=sup,
    ).json()
    assert (done["outcome"], done["accepted"], done["actions"]) == ("resolved", True, [])
    kinds = [(e["kind"], e["actor"]) for e in done["events"]]
    assert kinds == [
        ("logged", "engineer"),
        ("assigned", "engineer"),
        ("responded", "supervisor"),
        ("resolved", "supervisor"),
    ]
    assert done["events"][1]["changes"] == {"handler": [None, "supervisor"]}
    assert _kpi(client, "2026-03", "complaint_resolution_rate") == 1.0
    assert _kpi(client, "2026-03", "complaint_response_on_time") == 0.0  # answered after 25 h
    assert _kpi(client, "2026-03", "complaint_resolution_on_time") == 1.0
    named = client.get("/api/kpis/maintenance?site=demo&month=2026-03&lang=zh-CN").json()
    rate = next(k for k in named["kpis"] if k["kpi"] == "complaint_resolution_rate")
    assert (rate["name"], rate["target"], rate["met"]) == ("有效投诉办结率", 0.98, True)
    closed = client.post(f"/api/complaints/{cid}/assign", json={"handler": "engineer"})
    assert_problem(closed, 409, "already settled")


def test_household_history_matches_the_unit_as_written(client: TestClient) -> None:
    first = client.post("/api/complaints", json={**NEW, "work_order_id": 1}).json()
    second = client.post(
        "/api/complaints", json={**NEW, "room": "1单元５０２", "received_at": None}
    ).json()
    client.post("/api/complaints", json={**NEW, "room": "2单元 101"})
    found = client.get("/api/households/demo", params={"building": "3栋", "room": "1单元 502"})
    body = found.json()
    assert [c["id"] for c in body["complaints"]] == [second["id"], first["id"]], body
    assert [o["id"] for o in body["work_orders"]] == [1]
    assert body["timezone"] == "Asia/Shanghai"
    alone = client.get("/api/complaints", params={"room": "1单元502"})
    assert assert_problem(alone, 422, "building")["errors"][0]["name"] == "room"
    filtered = client.get("/api/complaints", params={"building": "3栋", "room": "1单元502"})
    assert filtered.json()["total"] == 2


def test_roles_and_sites(client: TestClient) -> None:
    cid = client.post("/api/complaints", json=NEW).json()["id"]
    tech = _as(client, "tech")
    assert_problem(client.get("/api/complaints", headers=tech), 403, "needs one of the roles")
    assert_problem(client.get(f"/api/complaints/{cid}", headers=tech), 403)
    viewer = _as(client, "viewer")
    seen = client.get(f"/api/complaints/{cid}", headers=viewer).json()
    assert seen["id"] == cid and seen["actions"] == []
    # who complained and their number are for those who handle complaints, masked to viewers
    assert (seen["complainant"], seen["phone"]) == ("王**", "138****0000")
    listed = client.get("/api/complaints", headers=viewer).json()["items"][0]
    assert (listed["complainant"], listed["phone"]) == ("王**", "138****0000")
    household = client.get(
        "/api/households/demo", params={"building": "3栋", "room": "1单元 502"}, headers=viewer
    ).json()["complaints"][0]
    assert household["phone"] == "138****0000"
    handler = client.get(f"/api/complaints/{cid}").json()
    assert (handler["complainant"], handler["phone"]) == ("王女士", "138 0000 0000")
    refused = client.post(f"/api/complaints/{cid}/respond", json={"note": "x"}, headers=viewer)
    assert_problem(refused, 403, "needs one of the roles")
    outsider = _as(client, "outsider")  # every role but admin, at site north only
    assert_problem(client.get(f"/api/complaints/{cid}", headers=outsider), 404, "does not exist")
    assert client.get("/api/complaints", headers=outsider).json()["total"] == 0
    theirs = client.post("/api/complaints", json=NEW, headers=outsider)
    assert_problem(theirs, 404, "site demo does not exist")
    admin = _as(client, "admin")
    refusals = client.get("/api/audit?actor=outsider&action=complaint.log", headers=admin)
    refusal = refusals.json()["items"]
    assert [(r["result"], r["site"]) for r in refusal] == [("not_found", "demo")], refusal
    # Handlers must be engineers or supervisors of the site: not a technician, not an outsider.
    for name in ("tech", "outsider", "nobody"):
        bad = client.post(f"/api/complaints/{cid}/assign", json={"handler": name})
        body = assert_problem(bad, 422, name)
        assert body["errors"][0] == {"in": "body", "name": "handler", "detail": body["detail"]}
    handlers = client.get("/api/complaint-handlers?site=demo").json()
    assert {h["name"] for h in handlers} == {"admin", "engineer", "supervisor"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"category": "weather"}, "category"),
        ({"building": ""}, "building"),
        ({"room": "x" * 65}, "room"),
        ({"description": "d" * 4001}, "description"),
        ({"phone": "call me"}, "phone"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"received_at": "2026-03-31T08:00:00"}, "received_at"),
        ({"work_order_id": 0}, "work_order_id"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_names_the_field(client: TestClient, change: dict[str, Any], field: str) -> None:
    body = assert_problem(client.post("/api/complaints", json={**NEW, **change}), 422)
    assert field in {e["name"] for e in body["errors"]}, body


def test_refusals_of_the_owner_name_the_field_in_both_languages(
    client: TestClient, clock: ManualClock
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    en = assert_problem(client.post("/api/complaints", json={**NEW, "received_at": later}), 422)
    assert en["errors"][0]["name"] == "received_at"
    assert "cannot be later than now" in en["detail"]
    zh = client.post(
        "/api/complaints",
        json={**NEW, "received_at": later},
        headers={"Accept-Language": "zh-CN"},
    )
    assert_problem(zh, 422, "受理时间", "不能晚于现在")
    unknown = client.post("/api/complaints", json={**NEW, "work_order_id": 999})
    assert_problem(unknown, 422, "site demo has no work order 999")
    missing = client.get("/api/complaints/4242", headers={"Accept-Language": "zh-CN"})
    assert_problem(missing, 404, "投诉 4242 不存在")
    assert_problem(client.get("/api/complaints/4242"), 404, "complaint 4242 does not exist")
    assert_problem(client.get("/api/complaints/1e3"), 422)
    assert_problem(client.get("/api/complaints?limit=100000"), 422)
    outcome = client.post("/api/complaints/1/resolve", json={"outcome": "maybe", "note": "x"})
    assert "outcome" in {e["name"] for e in assert_problem(outcome, 422)["errors"]}


def test_a_huge_body_is_refused_before_the_route(client: TestClient) -> None:
    huge = client.post("/api/complaints", json={**NEW, "description": "长" * 3_000_000})
    assert huge.status_code in (413, 422), huge.text
    assert huge.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("name", "phone", "masked"),
    [
        ("王女士", "138 0000 0000", ("王**", "138****0000")),
        ("Li", "+86 21 5555 1234", ("L*", "862****1234")),
        ("欧阳娜娜娜", "1234567", ("欧***", "*****67")),
        (None, None, (None, None)),
        ("", "12", ("", "*12")),
        # Review 18c #4: an 8-digit landline kept 7 digits; one character was shown whole.
        ("王", "62345678", ("*", "******78")),
        ("A", "0571-888877", ("*", "********77")),
        ("张三", "+86 138 1234 5678", ("张*", "861****5678")),
    ],
)
def test_complainants_are_masked_for_viewers(
    name: str | None, phone: str | None, masked: tuple[str | None, str | None]
) -> None:
    from bldgwatch.console.routers.complaints import mask_name, mask_phone

    assert (mask_name(name), mask_phone(phone)) == masked


def test_a_building_that_grows_under_nfkc_and_slashes_are_households_of_their_own(
    client: TestClient,
) -> None:
    """Review 18c #1 (a 500 on PostgreSQL: the key overflowed its column) and #3 ("3/1"+"502"
    was the household of "3"+"1/502")."""
    wide = client.post("/api/complaints", json={**NEW, "building": "\ufdfa" * 64, "room": "1"})
    assert wide.status_code == 201, wide.text
    a = client.post("/api/complaints", json={**NEW, "building": "3/1", "room": "502"}).json()
    b = client.post("/api/complaints", json={**NEW, "building": "3", "room": "1/502"}).json()
    for building, room, cid in [("3/1", "502", a["id"]), ("3", "1/502", b["id"])]:
        found = client.get("/api/households/demo", params={"building": building, "room": room})
        assert [c["id"] for c in found.json()["complaints"]] == [cid]
    listed = client.get("/api/complaints", params={"building": "3"}).json()
    assert [i["id"] for i in listed["items"]] == [b["id"]]
    found = client.get("/api/households/demo", params={"building": "\ufdfa" * 64, "room": "1"})
    assert [c["id"] for c in found.json()["complaints"]] == [wide.json()["id"]]


def test_a_change_on_a_stale_version_is_refused_in_both_languages(client: TestClient) -> None:
    """Review 18c #2: desk A read the complaint, desk B assigned it meanwhile; A's change on
    the version it saw is refused (409) instead of overwriting B's."""
    cid = client.post("/api/complaints", json=NEW).json()["id"]
    seen = client.get(f"/api/complaints/{cid}").json()["version"]
    assert client.get("/api/complaints").json()["items"][0]["version"] == seen
    sup = _as(client, "supervisor")
    b = client.post(
        f"/api/complaints/{cid}/assign",
        json={"handler": "supervisor", "version": seen},
        headers=sup,
    )
    assert b.status_code == 200 and b.json()["version"] == seen + 1, b.text
    stale = {"handler": "engineer", "version": seen}
    en = client.post(f"/api/complaints/{cid}/assign", json=stale)
    assert_problem(en, 409, "changed meanwhile by someone else")
    zh = client.post(
        f"/api/complaints/{cid}/respond",
        json={"note": "回电", "version": seen},
        headers={"Accept-Language": "zh-CN"},
    )
    assert_problem(zh, 409, "刚被他人修改")
    late = {"outcome": "resolved", "note": "x", "version": seen}
    assert_problem(client.post(f"/api/complaints/{cid}/resolve", json=late), 409, "someone else")
    now = client.get(f"/api/complaints/{cid}").json()
    assert now["handler"] == "supervisor" and now["responded_at"] is None
    # The handler it already has: nothing changes, no event.
    same = client.post(f"/api/complaints/{cid}/assign", json={"handler": "supervisor"}).json()
    assert same["version"] == seen + 1
    assert [e["kind"] for e in same["events"]] == ["logged", "assigned"]


@pytest.mark.parametrize(
    ("change", "field", "en", "zh"),
    [
        ({"room": "\u200b"}, "room", "must not be blank", "不能为空"),
        ({"building": "   "}, "building", "must not be blank", "不能为空"),
        ({"room": "\u202e205"}, "room", "invisible", "不可见字符"),
        ({"complainant": "王\u200b"}, "complainant", "U+200B", "U+200B"),
        ({"description": "a\x07b\x1b[31m"}, "description", "control characters", "控制字符"),
        ({"phone": "1----------"}, "phone", "not a phone number", "不是电话号码"),
        ({"received_at": "1970-01-01T00:00:00Z"}, "received_at", "2000-01-01", "2000-01-01"),
    ],
)
def test_hidden_blank_and_implausible_input_is_refused_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, en: str, zh: str
) -> None:
    """Review 18c #7, #8, #9, #21."""
    body = assert_problem(client.post("/api/complaints", json={**NEW, **change}), 422, en)
    assert [e["name"] for e in body["errors"]] == [field]
    chinese = client.post(
        "/api/complaints", json={**NEW, **change}, headers={"Accept-Language": "zh-CN"}
    )
    assert_problem(chinese, 422, zh)


def test_full_width_phone_digits_are_accepted_as_ascii(client: TestClient) -> None:
    """Review 18c #8: a phone typed with a Chinese IME."""
    made = client.post("/api/complaints", json={**NEW, "phone": "１３８－１２３４－５６７８"})
    assert made.status_code == 201, made.text
    assert made.json()["phone"] == "138-1234-5678"


def test_an_api_token_that_answers_does_not_become_the_handler(client: TestClient) -> None:
    """Review 18c #12: the handler became "token:desk", which is no user."""
    cid = client.post("/api/complaints", json=NEW).json()["id"]
    other = client.post("/api/complaints", json=NEW).json()["id"]
    admin = _as(client, "admin")
    made = client.post("/api/tokens", json={"name": "desk", "roles": ["engineer"]}, headers=admin)
    machine = {"Authorization": f"Bearer {made.json()['token']}"}
    answered = client.post(f"/api/complaints/{cid}/respond", json={"note": "ok"}, headers=machine)
    assert answered.status_code == 200, answered.text
    assert answered.json()["handler"] is None
    assert answered.json()["events"][-1]["actor"] == "token:desk"
    settled = client.post(
        f"/api/complaints/{other}/resolve",
        json={"outcome": "withdrawn", "note": "撤回"},
        headers=machine,
    ).json()
    assert settled["handler"] is None and settled["outcome"] == "withdrawn"
