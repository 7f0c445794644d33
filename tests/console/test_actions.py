"""Alarm actions (acknowledge, shelve, unshelve, comment, history) and work-order changes
(repair request, assign, accept/start/hold/resolve, labour), each published as an event by
its owner (the rules and maintenance services' outbox publishers, run here in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.owners import OwnerRelays
from tests.console.seed import T0, add, alarm, assets, work_order
from tests.console.support import assert_problem


class RecordingSink:
    """Captures what the owners publish for the console's changes (the broker boundary):
    reading `sent` lets their outbox publishers run first, as the services would."""

    def __init__(self, engine: Engine) -> None:
        self._sent: list[tuple[str, dict[str, Any]]] = []
        self._owners = OwnerRelays(engine, self.emit)

    def emit(self, topic: str, payload: bytes) -> None:
        self._sent.append((topic, orjson.loads(payload)))

    @property
    def sent(self) -> list[tuple[str, dict[str, Any]]]:
        self._owners.relay()
        return self._sent


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(hours=1))


@pytest.fixture
def sink(db: Engine) -> RecordingSink:
    return RecordingSink(db)


@pytest.fixture
def client(db: Engine, make_client: ClientFactory, clock: ManualClock) -> Iterator[TestClient]:
    add(db, *assets())
    add(
        db,
        alarm("a1", 0, condition_active=True),
        alarm("a2", 5, state="active_ack", acked=True, condition_active=True),
    )
    add(db, work_order(0), work_order(1, status="assigned", assigned_to="tech"))
    yield make_client(db, clock=clock, user=None)


def as_(client: TestClient, user: str) -> dict[str, str]:
    return auth_headers(client, user)


def test_acknowledge_publishes_the_transition(client: TestClient, sink: RecordingSink) -> None:
    resp = client.post(
        "/api/alarms/a1/acknowledge", json={"comment": "seen"}, headers=as_(client, "engineer")
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["state"], resp.json()["acked_by"]) == ("active_ack", "engineer")
    [(topic, event)] = sink.sent
    assert topic == "bw/v1/demo/alarms/P-01"
    assert (event["transition"], event["actor"], event["comment"]) == (
        "acknowledge",
        "engineer",
        "seen",
    )
    again = client.post("/api/alarms/a1/acknowledge", headers=as_(client, "engineer"))
    assert_problem(again, 409, "already acknowledged")


def test_shelve_unshelve_comment_and_history(
    client: TestClient, sink: RecordingSink, clock: ManualClock
) -> None:
    eng = as_(client, "engineer")
    why = {"comment": "sensor being checked"}  # a shelf needs its reason
    shelved = client.post("/api/alarms/a1/shelve", json={"minutes": 30, **why}, headers=eng)
    shelved = shelved.json()
    assert shelved["state"] == "shelved"
    assert shelved["shelved_until"].startswith(
        (clock.now() + timedelta(minutes=30)).isoformat()[:16]
    )
    assert_problem(
        client.post(
            "/api/alarms/a2/shelve",
            json={"minutes": 30, "until": "2030-01-01T00:00:00Z", **why},
            headers=eng,
        ),
        400,
        "exactly one",
    )
    assert_problem(
        client.post(
            "/api/alarms/a2/shelve", json={"until": "2026-01-01T00:00:00Z", **why}, headers=eng
        ),
        409,
        "future",
    )
    resp = client.post("/api/alarms/a1/comments", json={"text": "sensor swap"}, headers=eng)
    assert resp.status_code == 201
    clock.advance(60)
    back = client.post("/api/alarms/a1/unshelve", json={}, headers=eng).json()
    assert back["state"] == "active_unack"
    history = client.get("/api/alarms/a1/history", headers=as_(client, "viewer")).json()
    assert history["total"] == 3
    assert [(h["kind"], h["transition"]) for h in history["items"]] == [
        ("transition", "shelve"),
        ("comment", None),
        ("transition", "unshelve"),
    ]
    assert [e["transition"] for _, e in sink.sent] == ["shelve", "unshelve"]


def test_repair_request_opens_an_order_and_publishes_it(
    client: TestClient, sink: RecordingSink
) -> None:
    body = {"site": "demo", "equipment": "E-01", "title": "door slow", "priority": 3}
    resp = client.post("/api/work-orders", json=body, headers=as_(client, "engineer"))
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert (order["kind"], order["status"], order["priority"]) == ("request", "open", 3)
    assert order["stage"] in ("early", "mid", "late") and order["events"][0]["actor"] == "engineer"
    [(topic, event)] = sink.sent
    assert topic == "bw/v1/demo/workorders/E-01"
    assert (event["change"], event["work_order_id"]) == ("created", order["id"])
    missing = {**body, "equipment": "X-99"}
    assert_problem(
        client.post("/api/work-orders", json=missing, headers=as_(client, "engineer")), 404, "X-99"
    )


def test_technician_flow_on_own_orders(client: TestClient, sink: RecordingSink) -> None:
    tech, other = as_(client, "tech"), as_(client, "tech2")
    # Order 1 is open: a technician accepts it for themselves.
    accepted = client.post("/api/work-orders/1/transition", json={"to": "assigned"}, headers=tech)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["assigned_to"] == "tech"
    # Someone else's order is off limits; so are supervisor moves.
    assert_problem(
        client.post("/api/work-orders/1/transition", json={"to": "in_progress"}, headers=other),
        403,
        "not assigned to tech2",
    )
    assert_problem(
        client.post("/api/work-orders/1/transition", json={"to": "cancelled"}, headers=tech),
        403,
        "supervisor",
    )
    for to in ("in_progress", "on_hold", "in_progress"):
        assert client.post(
            "/api/work-orders/1/transition", json={"to": to}, headers=tech
        ).is_success
    logged = client.post(
        "/api/work-orders/1/labour",
        json={"labour_hours": 0.5, "rate": 80, "note": "diagnosis"},
        headers=tech,
    )
    assert logged.status_code == 200, logged.text
    assert (logged.json()["labour_hours"], logged.json()["cost"]) == (0.5, 40.0)
    resolved = client.post(
        "/api/work-orders/1/transition",
        json={
            "to": "resolved",
            "note": "bearing replaced",
            "labour_hours": 1.5,
            "rate": 80,
            "parts": [{"part_no": "6205-2RS", "quantity": 2}],  # at its list price, 45.5
        },
        headers=tech,
    ).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert (resolved["labour_hours"], resolved["cost"]) == (2.0, 40.0 + 120.0 + 91.0)
    notes = [e["note"] for e in resolved["events"]]
    assert "labour 1.5 h of tech at 80.00/h" in notes
    assert any(n.startswith("part 6205-2RS") and "× 2" in n and "45.50" in n for n in notes), notes
    assert resolved["events"][-1]["note"] == "bearing replaced"
    assert [(x["technician"], x["hours"]) for x in resolved["labour"]] == [
        ("tech", 0.5),
        ("tech", 1.5),
    ]
    assert [(p["part_no"], p["quantity"], p["actor"]) for p in resolved["parts"]] == [
        ("6205-2RS", 2, "tech")
    ]
    nothing = client.post("/api/work-orders/1/labour", json={}, headers=tech)
    assert_problem(nothing, 400, "nothing to log")
    assert_problem(
        client.post(
            "/api/work-orders/1/transition",
            json={"to": "on_hold", "labour_hours": 1},
            headers=tech,
        ),
        409,
        "cannot go from resolved to on_hold",
    )
    after = client.get("/api/work-orders/1", headers=tech).json()
    assert after["labour_hours"] == 2.0  # a refused move books nothing
    changes = [e["change"] for _, e in sink.sent]
    assert changes == ["assigned", "in_progress", "on_hold", "in_progress", "resolved"]
    mine = client.get("/api/work-orders?assigned_to=me", headers=tech).json()
    assert [o["id"] for o in mine["items"]] == [2, 1]


def test_supervisor_assigns(client: TestClient, sink: RecordingSink) -> None:
    sup = as_(client, "supervisor")
    resp = client.post("/api/work-orders/1/assign", json={"technician": "tech2"}, headers=sup)
    assert resp.status_code == 200 and resp.json()["assigned_to"] == "tech2"
    assert sink.sent[0][1]["assigned_to"] == "tech2"
    again = client.post("/api/work-orders/1/assign", json={"technician": "tech"}, headers=sup)
    assert_problem(again, 409, "assigned to assigned")
    history = client.get(
        "/api/work-orders/1/history?limit=1&offset=0", headers=as_(client, "viewer")
    )
    assert [(h["from_status"], h["to_status"]) for h in history.json()["items"]] == [
        ("open", "assigned")
    ]
    assert history.json()["total"] == 1
