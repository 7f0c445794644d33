"""Spot purchases awaiting approval (review 19f M3): a supervisor finds them in one list (the
API behind the work-orders page's badge), and an order holding one is not resolved or
closed until it is decided (409 naming the lines)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, work_order
from tests.console.support import assert_problem

pytestmark = pytest.mark.services


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets(), work_order(0, status="in_progress", assigned_to="tech"))
    return make_client(sqlite_db, user=None)


def _spot(quantity: float, unit_cost: float) -> dict[str, object]:
    line = {"part_no": "6205-2RS", "quantity": quantity, "unit_cost": unit_cost}
    return {"parts": [{**line, "bought_on_spot": True, "spot_reason": "五金店"}]}


def test_a_pending_spot_purchase_is_listed_and_holds_the_order_open(client: TestClient) -> None:
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    zh = {**tech, "Accept-Language": "zh-CN"}
    booked = client.post("/api/work-orders/1/bookings", json=_spot(20, 50), headers=tech)
    assert booked.status_code == 200, booked.text
    (line,) = [p for p in booked.json()["parts"] if p["approval"] == "pending"]

    listed = client.get("/api/spot-purchases/pending", headers=sup)
    assert listed.status_code == 200, listed.text
    assert [
        (x["order_id"], x["id"], x["part_no"], x["amount"], x["actor"]) for x in listed.json()
    ] == [(1, line["id"], "6205-2RS", 1000.0, "tech")]
    assert client.get("/api/spot-purchases/pending?site=north", headers=sup).json() == []
    assert_problem(client.get("/api/spot-purchases/pending", headers=tech), 403)
    outsider = auth_headers(client, "outsider")
    assert client.get("/api/spot-purchases/pending", headers=outsider).json() == []

    resolve = {"summary": "换轴承"}
    held = client.post("/api/work-orders/1/resolve", json=resolve, headers=zh)
    assert_problem(held, 409, "待审批", f"#{line['id']} 材料 6205-2RS × 20 pc = 1,000.00 元")
    moved = client.post(
        "/api/work-orders/1/transition", json={"to": "resolved", "note": "换轴承"}, headers=tech
    )
    assert_problem(moved, 409, "awaiting approval", f"#{line['id']}")
    assert client.get("/api/work-orders/1", headers=tech).json()["status"] == "in_progress"

    url = f"/api/work-orders/1/parts/{line['id']}/approval"
    assert (
        client.post(url, json={"approve": False, "reason": "五金店太贵"}, headers=sup).status_code
        == 200
    )
    assert client.get("/api/spot-purchases/pending", headers=sup).json() == []
    done = client.post("/api/work-orders/1/resolve", json=resolve, headers=tech)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"


def test_refusals_on_a_spot_approval_name_the_purchase_and_who_may(client: TestClient) -> None:
    """Review 19f L3: a technician's 403 spoke of "planning, assigning and reporting"; the
    supervisor's over-limit 403 of a purchase request's amount (申请金额); `{"approve": 1}`
    got pydantic's English on a zh-CN request."""
    tech = {**auth_headers(client, "tech"), "Accept-Language": "zh-CN"}
    sup = {**auth_headers(client, "supervisor"), "Accept-Language": "zh-CN"}
    booked = client.post("/api/work-orders/1/bookings", json=_spot(100, 60), headers=tech)
    (line,) = [p for p in booked.json()["parts"] if p["approval"] == "pending"]
    url = f"/api/work-orders/1/parts/{line['id']}/approval"
    by_tech = client.post(url, json={"approve": True}, headers=tech)
    assert_problem(by_tech, 403, "审批待审批的费用", "主管", "经理")
    assert "计划" not in by_tech.json()["detail"]
    over = client.post(url, json={"approve": True}, headers=sup)
    assert_problem(over, 403, "现场采购 6205-2RS × 100 pc", "6000.00", "5000.00", "经理")
    assert "申请" not in over.json()["detail"]
    en = client.post(url, json={"approve": True}, headers={**sup, "Accept-Language": "en"})
    assert_problem(en, 403, "spot purchase of 6205-2RS × 100 pc", "6000.00", "5000.00")
    typed = client.post(url, json={"approve": 1}, headers=sup)
    assert_problem(typed, 422, "approve", "应为 true 或 false")
    assert "Input should" not in typed.text


def test_the_history_route_gives_each_events_text_in_the_readers_language(
    client: TestClient,
) -> None:
    """Review 19f L8: `GET /api/work-orders/{id}/history` gave `"text": ""` on every event."""
    tech = auth_headers(client, "tech")
    client.post("/api/work-orders/1/bookings", json=_spot(20, 50), headers=tech)
    for lang, words in (("zh-CN", "待主管审批"), ("en", "awaiting a supervisor's approval")):
        page = client.get("/api/work-orders/1/history", headers={**tech, "Accept-Language": lang})
        assert page.status_code == 200, page.text
        texts = [e["text"] for e in page.json()["items"]]
        assert texts and all(texts), texts
        assert any(words in x for x in texts), texts


def test_a_missing_line_is_404_and_a_hidden_only_reason_is_named(client: TestClient) -> None:
    """Review 19f L5: reversing or approving a line the order does not have was a 409; a
    reason of only invisible or right-to-left marks was "please give a reason"."""
    sup = {**auth_headers(client, "supervisor"), "Accept-Language": "zh-CN"}
    why = {"reason": "a\u202eb"}
    for line in ("parts", "labour", "charges"):
        missing = client.post(f"/api/work-orders/1/{line}/99999/reverse", json=why, headers=sup)
        assert_problem(missing, 404, "99999")
    decide = client.post(
        "/api/work-orders/1/parts/99999/approval", json={"approve": True}, headers=sup
    )
    assert_problem(decide, 404, "99999")
    tech = {**auth_headers(client, "tech"), "Accept-Language": "zh-CN"}
    booked = client.post("/api/work-orders/1/bookings", json=_spot(1, 50), headers=tech)
    booking = booked.json()["parts"][0]["id"]
    hidden = client.post(f"/api/work-orders/1/parts/{booking}/reverse", json=why, headers=tech)
    assert_problem(hidden, 422, "不可见字符")


def test_quantity_refusals_name_the_field_in_words_and_nan_is_not_a_number(
    client: TestClient,
) -> None:
    """Review 19f L2: 101 units bought on the spot was "quantity：…" on a zh-CN request; NaN
    as a quantity or a price was "should be at most 10,000" rather than not a number."""
    tech = {**auth_headers(client, "tech"), "Accept-Language": "zh-CN"}
    many = client.post("/api/work-orders/1/bookings", json=_spot(101, 50), headers=tech)
    assert_problem(many, 422, "一次最多登记 100")
    assert many.json()["detail"].startswith("数量："), many.json()["detail"]
    for field in ("quantity", "unit_cost"):
        line = {"part_no": "6205-2RS", "quantity": 1, "unit_cost": 50, field: float("nan")}
        body = {"parts": [{**line, "bought_on_spot": True, "spot_reason": "五金店"}]}
        raw = client.post(
            "/api/work-orders/1/bookings",
            content=json.dumps(body),
            headers={**tech, "Content-Type": "application/json"},
        )
        assert_problem(raw, 422, "有限的数字")
        assert "小于或等于" not in raw.text
    hours = '{"labour": [{"hours": NaN, "rate": 80}]}'
    nan_hours = client.post(
        "/api/work-orders/1/bookings",
        content=hours,
        headers={**tech, "Content-Type": "application/json"},
    )
    assert_problem(nan_hours, 422, "有限的数字")


def test_the_order_tells_a_technician_their_spot_limit(client: TestClient) -> None:
    """Review 19f L6: the spot-purchase limit (500) was shown nowhere on the order page."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    assert client.get("/api/work-orders/1", headers=tech).json()["record"]["spot_limit"] == 500
    assert client.get("/api/work-orders/1", headers=sup).json()["record"]["spot_limit"] is None
