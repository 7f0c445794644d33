"""One authority rule for money on a work order (review 19g): every cost line a person books
by hand — a part, a spot purchase, a labour line, a contractor's charge — counts at once only
within its booker's authority for the site-local day; beyond it the line awaits approval, and
an approver's limit holds for what all approvals brought into count on the order."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, store, work_order
from tests.console.support import assert_problem

pytestmark = pytest.mark.services


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets(), work_order(0, status="in_progress", assigned_to="tech"), *store())
    return make_client(sqlite_db, user=None)


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
        "labour": [{"technician": "tech", "hours": 2.25, "rate": 87.456}],
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
