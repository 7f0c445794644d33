"""GET /api/alarms: filters, order (open, priority, newest), detail and problems."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.conftest import ClientFactory
from tests.console.seed import add, alarm, alarm_event, at
from tests.console.support import assert_problem


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    add(
        db,
        alarm("a1", 0, priority=2),
        alarm("a2", 10, priority=1, severity="critical", equipment="E-01"),
        alarm("a3", 20, priority=2, state="active_ack"),
        alarm("a4", 30, priority=3, state="rtn_unack", equipment="SP-01"),
        alarm("a5", 40, priority=1, state="normal", is_open=False, cleared_at=at(45)),
        alarm("a6", 50, priority=2, site="north", state="shelved", shelved_until=at(120)),
    )
    add(
        db,
        alarm_event(
            "e2", "a1", 3, transition="acknowledge", state="active_ack", previous="active_unack"
        ),
        alarm_event("e1", "a1", 0, transition="activate", state="active_unack", previous="normal"),
        alarm_event("e3", "a1", 6, transition="clear", state="rtn_unack", previous="active_ack"),
    )
    return make_client(db)


def ids(client: TestClient, query: str = "") -> tuple[list[str], int]:
    resp = client.get(f"/api/alarms{query}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return [item["id"] for item in body["items"]], body["total"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # open first; then priority 1 before 2 before 3; then newest first
        ("", ["a2", "a6", "a3", "a1", "a4", "a5"]),
        ("?open=true", ["a2", "a6", "a3", "a1", "a4"]),
        ("?open=false", ["a5"]),
        ("?site=north", ["a6"]),
        ("?equipment=P-01", ["a6", "a3", "a1", "a5"]),
        ("?site=demo&equipment=P-01", ["a3", "a1", "a5"]),
        ("?state=active_unack", ["a2", "a1"]),
        ("?state=active_unack&state=active_ack", ["a2", "a3", "a1"]),
        ("?state=rtn_unack&state=normal", ["a4", "a5"]),
        ("?state=normal&open=true", []),
    ],
)
def test_filters_and_order(client: TestClient, query: str, expected: list[str]) -> None:
    assert ids(client, query) == (expected, len(expected))


def test_pagination(client: TestClient) -> None:
    body = client.get("/api/alarms?limit=2&offset=1").json()
    assert [a["id"] for a in body["items"]] == ["a6", "a3"]
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 1)


def test_items_show_open_and_times_in_utc(client: TestClient) -> None:
    item = client.get("/api/alarms?open=false").json()["items"][0]
    assert item["open"] is False
    assert item["cleared_at"] == "2026-03-01T08:45:00Z"
    assert (item["severity"], item["priority"], item["state"]) == ("major", 1, "normal")
    assert "is_open" not in item


def test_detail_has_transitions_oldest_first(client: TestClient) -> None:
    body = client.get("/api/alarms/a1").json()
    assert body["id"] == "a1"
    assert [(e["transition"], e["previous_state"], e["state"]) for e in body["events"]] == [
        ("activate", "normal", "active_unack"),
        ("acknowledge", "active_unack", "active_ack"),
        ("clear", "active_ack", "rtn_unack"),
    ]


def test_missing_alarm_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/alarms/nope"), 404, "alarm nope")


def test_unknown_state_is_a_422_problem_naming_state(client: TestClient) -> None:
    body = assert_problem(client.get("/api/alarms?state=burning"), 422, "'state'")
    assert body["errors"][0]["name"] == "state"


def test_limit_zero_is_a_422_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/alarms?limit=0"), 422, "'limit'")
