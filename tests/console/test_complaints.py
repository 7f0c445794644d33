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
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    add(sqlite_db, *assets(), work_order(0))
    return make_client(sqlite_db, clock=clock, user="engineer")


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
    assigned = client.post(f"/api/complaints/{cid}/assign", json={"handler": "supervisor"})
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
    # Handlers must be engineers or supervisors of the site: not a technician, not an outsider.
    for name in ("tech", "outsider", "nobody"):
        bad = client.post(f"/api/complaints/{cid}/assign", json={"handler": name})
        body = assert_problem(bad, 422, name)
        assert body["errors"][0]["name"] == "handler"
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
    ],
)
def test_complainants_are_masked_for_viewers(
    name: str | None, phone: str | None, masked: tuple[str | None, str | None]
) -> None:
    from bldgwatch.console.routers.complaints import mask_name, mask_phone

    assert (mask_name(name), mask_phone(phone)) == masked
