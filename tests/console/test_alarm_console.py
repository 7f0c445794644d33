"""What a duty engineer's alarm console asks of the API: filters by building, equipment type,
priority and state, search, sort, counts by priority, and out-of-service (admins only)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, alarm, assets
from tests.console.support import assert_problem


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    add(db, *assets())
    add(
        db,
        alarm("a1", 0, priority=2, condition_active=True),
        alarm("a2", 10, priority=1, severity="critical", equipment="E-01",
              equipment_type="elevator", fault_code="ELEV_ENTRAPMENT_AT_FLOOR"),
        alarm("a3", 20, priority=2, state="active_ack", building="B2", equipment="SP-01",
              equipment_type="shaft_panel", message="leakage 350 mA"),
        alarm("a4", 30, priority=3, state="rtn_unack", equipment="SP-01", building="B2",
              equipment_type="shaft_panel"),
        alarm("a5", 40, priority=4, state="shelved", condition_active=True),
        alarm("a6", 50, priority=1, site="north", building="N1"),
    )  # fmt: skip
    return make_client(db)


def ids(client: TestClient, query: str) -> list[str]:
    resp = client.get(f"/api/alarms?open=true&{query}")
    assert resp.status_code == 200, resp.text
    return [a["id"] for a in resp.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("building=B2", ["a3", "a4"]),
        ("type=shaft_panel&priority=3", ["a4"]),
        ("priority=1&priority=4", ["a6", "a2", "a5"]),
        ("state=active_unack&state=rtn_unack&site=demo", ["a2", "a1", "a4"]),
        ("q=entrap", ["a2"]),
        ("q=LEAKAGE", ["a3"]),
        ("q=sp-01", ["a3", "a4"]),
        ("sort=raised", ["a1", "a2", "a3", "a4", "a5", "a6"]),
        ("sort=-raised", ["a6", "a5", "a4", "a3", "a2", "a1"]),
        ("sort=-priority&site=demo", ["a5", "a4", "a3", "a1", "a2"]),
        ("sort=equipment&site=demo", ["a2", "a1", "a5", "a3", "a4"]),
    ],
)
def test_filters_search_and_sort(client: TestClient, query: str, expected: list[str]) -> None:
    assert ids(client, query) == expected


def test_a_bad_sort_or_priority_is_refused(client: TestClient) -> None:
    assert_problem(client.get("/api/alarms?sort=colour"), 422, "sort")
    assert_problem(client.get("/api/alarms?priority=9"), 422, "priority")


def test_counts_by_priority_state_and_waiting(client: TestClient) -> None:
    counts = client.get("/api/alarms/counts").json()
    assert counts == {
        "total": 6,
        "by_priority": {"1": 2, "2": 2, "3": 1, "4": 1},
        "by_state": {"active_unack": 3, "active_ack": 1, "rtn_unack": 1, "shelved": 1},
        "unacknowledged": {"1": 2, "2": 1, "3": 1, "4": 0},
    }
    mine = client.get("/api/alarms/counts", headers=auth_headers(client, "engineer")).json()
    assert mine["total"] == 5 and mine["unacknowledged"]["1"] == 1  # site demo only
    assert client.get("/api/alarms/counts?building=B2").json()["total"] == 2


def test_out_of_service_needs_an_admin_and_a_reason(client: TestClient) -> None:
    engineer = auth_headers(client, "engineer")
    refused = client.post("/api/alarms/a1/out-of-service", json={"reason": "x"}, headers=engineer)
    assert_problem(refused, 403, "needs one of the roles admin")
    assert_problem(client.post("/api/alarms/a1/out-of-service", json={"reason": " "}), 422)
    oos = client.post("/api/alarms/a1/out-of-service", json={"reason": "sensor removed"})
    assert oos.status_code == 200, oos.text
    assert oos.json()["state"] == "out_of_service"
    again = client.post("/api/alarms/a1/out-of-service", json={"reason": "again"})
    assert_problem(again, 409, "already out of service")
    back = client.post("/api/alarms/a1/return-to-service", json={"comment": "refitted"})
    assert back.json()["state"] == "active_unack"
    history = client.get("/api/alarms/a1/history").json()["items"]
    assert [(h["transition"], h["actor"], h["text"]) for h in history] == [
        ("remove_from_service", "admin", "sensor removed"),
        ("return_to_service", "admin", "refitted"),
    ]
