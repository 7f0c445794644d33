"""The contractors' scorecard: per contractor, site and month (site time), on-time response
and resolution against the contract's clocks, repeat failures within 30 days of a
resolution, cost; a contractor's user sees only its own line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.contractormodels import ContractorAccountRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, contract, contractor, work_order
from tests.console.support import assert_problem

NOW = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)  # 10:00 on March 31 at the site


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    add(sqlite_db, *assets())
    add(sqlite_db, contractor("liftco"), contractor("fixco", name="Fix Co"))
    add(sqlite_db, contract("liftco"), contract("fixco", equipment_type="pump"))
    add(sqlite_db, ContractorAccountRow(user="lift", contractor="liftco"))
    add(sqlite_db, work_order(0, equipment="E-01"), work_order(1), work_order(2, equipment="E-01"))
    return make_client(sqlite_db, clock=clock, user="supervisor")


def _at(client: TestClient, clock: ManualClock, minutes: float) -> dict[str, str]:
    """Move the clock to NOW + minutes; the supervisor's and lift's fresh headers."""
    clock.set(NOW + timedelta(minutes=minutes))
    client.headers.update(auth_headers(client, "supervisor"))
    return auth_headers(client, "lift")


def _move(client: TestClient, order: int, lift: dict[str, str], **body: Any) -> None:
    path = "resolve" if "summary" in body else "transition"
    resp = client.post(f"/api/work-orders/{order}/{path}", json=body, headers=lift)
    assert resp.status_code == 200, resp.text


def test_the_scorecard_keeps_the_contracts_clocks(client: TestClient, clock: ManualClock) -> None:
    for order in (1, 2, 3):
        assert client.post(f"/api/work-orders/{order}/dispatch", json={}).status_code == 200
    lift = _at(client, clock, 10)
    _move(client, 1, lift, to="in_progress")  # 10 min: within the 30
    lift = _at(client, clock, 45)
    _move(client, 3, lift, to="in_progress")  # 45 min: late
    lift = _at(client, clock, 120)
    _move(client, 1, lift, summary="换门机皮带")  # 2 h: within the 24
    charge = {"charges": [{"contractor": "liftco", "amount": 300}]}
    assert client.post("/api/work-orders/1/bookings", json=charge).status_code == 200
    # The same lift fails again the next day: a repeat failure of order 1's repair.
    _at(client, clock, 60 * 20)
    again = client.post(
        "/api/work-orders", json={"site": "demo", "equipment": "E-01", "title": "门又卡了"}
    )
    assert again.status_code == 201, again.text
    lift = _at(client, clock, 60 * 25)  # order 3's 24 h have run out, unresolved
    body = client.get("/api/kpis/contractors?site=demo&month=2026-03").json()
    assert (body["month"], body["timezone"], body["repeat_days"]) == (
        "2026-03",
        "Asia/Shanghai",
        30,
    )
    cards = {c["contractor"]: c for c in body["items"]}
    assert cards["liftco"] == {
        "contractor": "liftco",
        "name": "Lift Co",
        "dispatched": 2,
        "preventive": 0,
        "response_on_time_rate": 0.5,
        "resolution_on_time_rate": 0.5,
        "resolved": 1,
        "repeat_failures": 1,
        "cost": 300.0,
        "orders": [1, 3],
    }
    assert (cards["fixco"]["dispatched"], cards["fixco"]["name"]) == (1, "Fix Co")
    assert cards["fixco"]["response_on_time_rate"] == 0.0  # never started, due long ago
    # The dispatches were on March 31 at the site: April has none.
    assert client.get("/api/kpis/contractors?site=demo&month=2026-04").json()["items"] == []
    # The monthly report has the scorecard, in the reader's language.
    zh = client.get("/api/reports/demo/2026-03", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200, zh.text
    assert "维保单位考核" in zh.text and "响应及时率" in zh.text and "Lift Co" in zh.text
    assert "50.0 %" in zh.text
    en = client.get("/api/reports/demo/2026-03", headers={"Accept-Language": "en"})
    assert "Contractors (scorecard)" in en.text and "Repeat failures (30 d)" in en.text
    april = client.get("/api/reports/demo/2026-04", headers={"Accept-Language": "en"})
    assert "No orders were dispatched to contractors this month." in april.text
    # liftco's user sees its own line only.
    own = client.get("/api/kpis/contractors?site=demo&month=2026-03", headers=lift).json()
    assert [c["contractor"] for c in own["items"]] == ["liftco"]


def test_a_rate_is_null_until_something_is_due(client: TestClient) -> None:
    client.post("/api/work-orders/1/dispatch", json={})
    (card,) = client.get("/api/kpis/contractors?site=demo").json()["items"]
    assert card["response_on_time_rate"] is None and card["resolution_on_time_rate"] is None


def test_the_scorecard_of_a_site_not_seen_is_404(client: TestClient) -> None:
    outsider = auth_headers(client, "outsider")
    assert_problem(client.get("/api/kpis/contractors?site=demo", headers=outsider), 404)
    assert_problem(client.get("/api/kpis/contractors?site=nowhere"), 404)
    assert_problem(client.get("/api/kpis/contractors?site=demo&month=2026-13"), 422)
