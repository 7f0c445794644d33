"""GET /api/work-orders: filters, pagination, order, detail and problems (SQLite + PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.conftest import ClientFactory
from tests.console.seed import add, assets, incident_alarm, order_event, work_order
from tests.console.support import assert_problem


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    """Six orders at two sites; ids 1..6 in creation order."""
    add(db, *assets())
    add(
        db,
        work_order(0, title="bearing P-01"),  # 1
        work_order(
            10,
            equipment="E-01",
            kind="preventive",
            status="assigned",
            priority=3,
            assigned_to="li.wei",
            family=None,
            fault_code=None,
        ),  # 2
        work_order(20, status="closed"),  # 3
        work_order(30, equipment="SP-01", kind="request", status="in_progress"),  # 4
        work_order(40, site="north", status="cancelled"),  # 5
        work_order(50, site="north", status="open", priority=1),  # 6
    )
    add(
        db,
        order_event(1, 0, None, "open"),
        order_event(1, 5, "open", "assigned", "li.wei"),
        order_event(1, 2, None, "open", "note"),
        incident_alarm("ev-1", 1, "a-1", 0),
        incident_alarm("ev-2", 1, "a-1", 3),
        incident_alarm("ev-3", 1, "a-2", 4),
    )
    return make_client(db)


def ids(client: TestClient, query: str = "") -> tuple[list[int], int]:
    resp = client.get(f"/api/work-orders{query}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return [item["id"] for item in body["items"]], body["total"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [6, 5, 4, 3, 2, 1]),
        ("?site=demo", [4, 3, 2, 1]),
        ("?site=north", [6, 5]),
        ("?equipment=P-01", [6, 5, 3, 1]),
        ("?site=demo&equipment=P-01", [3, 1]),
        ("?status=open", [6, 1]),
        ("?status=open&status=assigned", [6, 2, 1]),
        ("?kind=preventive", [2]),
        ("?kind=reactive&site=demo", [3, 1]),
        ("?open=true", [6, 4, 2, 1]),
        ("?open=false", [5, 3]),
        ("?open=true&site=north", [6]),
        ("?site=nowhere", []),
    ],
)
def test_filters_select_and_order_newest_first(
    client: TestClient, query: str, expected: list[int]
) -> None:
    got, total = ids(client, query)
    assert got == expected
    assert total == len(expected)


def test_pagination_slices_and_keeps_the_total(client: TestClient) -> None:
    body = client.get("/api/work-orders?limit=2&offset=2").json()
    assert [i["id"] for i in body["items"]] == [4, 3]
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 2)
    assert ids(client, "?limit=4&offset=4") == ([2, 1], 6)
    assert ids(client, "?offset=10") == ([], 6)
    assert client.get("/api/work-orders").json()["limit"] == 50


def test_items_carry_the_fields_the_dashboard_needs(client: TestClient) -> None:
    item = client.get("/api/work-orders?kind=preventive").json()["items"][0]
    assert item == {
        "id": 2,
        "site": "demo",
        "equipment": "E-01",
        "kind": "preventive",
        "status": "assigned",
        "priority": 3,
        "title": "order at 10",
        "title_key": None,
        "title_params": None,
        "title_text": "order at 10",
        "family": None,
        "fault_code": None,
        "alarm_count": 1,
        "created_at": "2026-03-01T08:10:00Z",
        "response_due": "2026-03-01T09:10:00Z",
        "resolution_due": "2026-03-01T16:10:00Z",
        "assigned_to": "li.wei",
        "assign_note": None,
        "contractor": None,
        "contract_id": None,
        "dispatched_at": None,
        "awaiting_approval": 0,
        "stage": "late",
        "stage_reason": "wear-out: failures rising with age",
        "stage_reason_text": {"en": "wear-out: failures rising with age"},
    }


def test_detail_has_events_oldest_first_and_alarms(client: TestClient) -> None:
    resp = client.get("/api/work-orders/1")
    assert resp.status_code == 200
    body = resp.json()
    assert body["title"] == "bearing P-01"
    assert body["stage_detail"] == {"beta": 2.1}
    assert [(e["to_status"], e["actor"]) for e in body["events"]] == [
        ("open", "maintenance"),
        ("open", "note"),
        ("assigned", "li.wei"),
    ]
    assert body["alarm_ids"] == ["a-1", "a-2"]


def test_missing_work_order_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/work-orders/999"), 404, "work order 999")
    assert body["instance"] == "/api/work-orders/999"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?offset=-1", "offset"),
        ("?open=maybe", "open"),
    ],
)
def test_bad_listing_parameters_are_422_problems_naming_them(
    client: TestClient, query: str, param: str
) -> None:
    body = assert_problem(client.get(f"/api/work-orders{query}"), 422, f"'{param}'")
    assert [e["name"] for e in body["errors"]] == [param]
    assert body["errors"][0]["in"] == "query"


def test_non_numeric_id_is_a_422_problem_naming_the_path_parameter(client: TestClient) -> None:
    body = assert_problem(client.get("/api/work-orders/abc"), 422, "order_id")
    assert body["errors"][0]["in"] == "path"


def test_an_unknown_status_filter_is_a_422_naming_it(client: TestClient) -> None:
    resp = client.get("/api/work-orders?status=open&status=1")
    assert resp.status_code == 422, resp.text
    assert "status" in resp.text
    assert ids(client, "?status=open&status=closed")[1] >= 1
