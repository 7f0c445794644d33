"""One authority rule for money on a work order (review 19g): every cost line a person books
by hand — a part, a spot purchase, a labour line, a contractor's charge — counts at once only
within its booker's authority for the site-local day; beyond it the line awaits approval, and
an approver's limit holds for what all approvals brought into count on the order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0, add, assets, store, work_order
from tests.console.support import assert_problem

pytestmark = pytest.mark.services


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)  # 16:00 in Shanghai


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    add(sqlite_db, *assets(), work_order(0, status="in_progress", assigned_to="tech"), *store())
    add(sqlite_db, work_order(1, status="in_progress", assigned_to="tech"))
    return make_client(sqlite_db, clock=clock, user=None)


def _book(
    client: TestClient, body: dict[str, object], who: dict[str, str], order: int = 1
) -> Response:
    return client.post(f"/api/work-orders/{order}/bookings", json=body, headers=who)


def test_money_in_the_timeline_reads_as_money_in_both_languages(client: TestClient) -> None:
    """Review 19g M6: the timeline printed ¥123,456.78 as "123457" and ¥100,000,000 as
    "1e+08" (`%g`). Now amounts, unit prices and rates read with two decimals and grouping."""
    sup = auth_headers(client, "supervisor")
    body = {
        "charges": [{"contractor": "某电梯公司", "amount": 123456.78}],
        "labour": [{"technician": "tech", "hours": 2.25, "rate": 87.456, "rate_reason": "加班"}],
    }
    booked = _book(client, body, sup)
    assert booked.status_code == 200, booked.text
    zh = client.get("/api/work-orders/1", headers={**sup, "Accept-Language": "zh-CN"}).json()
    texts = " | ".join(e["text"] for e in zh["events"])
    assert "外委 某电梯公司：123,456.78 元" in texts, texts
    assert "87.46 元/小时" in texts, texts
    en = client.get("/api/work-orders/1", headers={**sup, "Accept-Language": "en"}).json()
    texts = " | ".join(e["text"] for e in en["events"])
    assert "contractor 某电梯公司: 123,456.78" in texts, texts
    assert "at 87.46/h" in texts, texts
    charge = en["record"]["charges"][0]["id"]
    url = f"/api/work-orders/1/charges/{charge}/reverse"
    back = client.post(url, json={"reason": "录错"}, headers=sup).json()
    assert "某电梯公司 123,456.78 — 录错" in back["events"][-1]["text"]


def test_a_contractor_charge_names_a_visible_contractor(client: TestClient) -> None:
    """Review 19g L2: a charge to "\u200b" (an invisible name) was accepted."""
    sup = auth_headers(client, "supervisor")
    hidden = _book(client, {"charges": [{"contractor": "\u200b", "amount": 1}]}, sup)
    assert_problem(hidden, 422, "contractor")
    assert hidden.json()["errors"][0]["name"] == "contractor"
    assert client.get("/api/work-orders/1", headers=sup).json()["cost"] == 0


def test_a_persons_hours_are_at_most_24_a_site_local_day_over_lines_and_orders(
    client: TestClient, clock: ManualClock
) -> None:
    """Review 19g H1: the bound held per line: 50 lines of 24 h in one request, four times
    (4,800 h, ¥1,152,000 at the band's top rate), were counted at once. Now one person's hours
    on a site-local day, over lines, requests and orders, are at most 24 (422 in words); the
    next day starts afresh. A supervisor booking for them is held to the same day."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    zh = {**tech, "Accept-Language": "zh-CN"}
    fifty = _book(client, {"labour": [{"hours": 24}] * 50}, tech)
    assert_problem(fifty, 422, "48 h", "a day has 24 hours")
    assert fifty.json()["errors"][0]["name"] == "hours"
    assert client.get("/api/work-orders/1", headers=tech).json()["cost"] == 0
    assert _book(client, {"labour": [{"hours": 20}]}, tech).json()["labour_hours"] == 20
    other = _book(client, {"labour": [{"hours": 5}]}, zh, order=2)
    assert_problem(other, 422, "工时", "tech 在 2026-03-01 的工时将达 25 小时", "一天只有 24 小时")
    assert other.json()["detail"].startswith("工时："), other.json()["detail"]  # review 19g L1
    for_them = {"labour": [{"technician": "tech", "hours": 4.5}]}
    assert_problem(_book(client, for_them, sup, order=2), 422, "24.5 h")
    assert _book(client, {"labour": [{"hours": 4}]}, tech, order=2).json()["labour_hours"] == 4
    clock.advance(timedelta(hours=8))  # 00:00 the next day in Shanghai
    tech = auth_headers(client, "tech")  # signed in again: the token of yesterday expired
    nextday = _book(client, {"labour": [{"hours": 24}]}, tech, order=2)
    assert nextday.status_code == 200, nextday.text
    assert nextday.json()["labour_hours"] == 28


def test_labour_is_priced_at_the_sites_rate_and_another_rate_is_a_supervisors_with_a_reason(
    client: TestClient,
) -> None:
    """Review 19g M5: a line booked without a rate cost ¥0 (the site's rate, 80, was only a
    bound), and a technician picked any rate up to 3× with no reason. Now the server prices a
    line without a rate at the site's; a technician's other rate is refused in words; a
    supervisor's other rate needs the reason, which the line keeps."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    zh = {**tech, "Accept-Language": "zh-CN"}
    order = _book(client, {"labour": [{"hours": 3}]}, tech).json()
    assert (order["cost"], order["labour"][0]["rate"]) == (240, 80)
    assert order["record"]["labour_rate"] == 80
    mine = _book(client, {"labour": [{"hours": 1, "rate": 200}]}, zh)
    assert_problem(mine, 422, "项目费率 80.00", "须由主管登记")
    assert mine.json()["errors"][0]["name"] == "rate"
    assert _book(client, {"labour": [{"hours": 1, "rate": 80}]}, tech).json()["cost"] == 320
    logged = client.post("/api/work-orders/1/labour", json={"labour_hours": 1}, headers=tech)
    assert logged.json()["cost"] == 400  # the own-labour route too
    line = {"technician": "tech", "hours": 2, "rate": 120}
    unsaid = _book(client, {"labour": [line]}, sup)
    assert_problem(unsaid, 422, "120.00", "80.00", "say why")
    assert unsaid.json()["errors"][0]["name"] == "rate_reason"
    said = _book(client, {"labour": [{**line, "rate_reason": "夜间加班"}]}, sup).json()
    assert said["cost"] == 400 + 240
    assert "夜间加班" in said["labour"][-1]["note"]
