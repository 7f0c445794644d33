"""The audit log: logins, sessions, users, tokens and every alarm and work-order action are
recorded with who, when, from where and the outcome; admins read it; nobody edits it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from bldgwatch.core.clock import ManualClock
from tests.console.conftest import PASSWORD, ClientFactory, auth_headers
from tests.console.seed import T0, add, alarm, assets, work_order
from tests.console.support import assert_problem


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    add(db, *assets())
    add(db, alarm("a1", 0), work_order(0))
    return make_client(db, clock=ManualClock(T0), user=None)


def entries(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    resp = client.get(f"/api/audit{query}", headers=auth_headers(client, "admin"))
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def test_logins_and_user_changes_are_recorded(client: TestClient) -> None:
    client.post("/api/auth/token", data={"username": "viewer", "password": "wrong one"})
    client.post("/api/auth/token", data={"username": "nobody", "password": "wrong one"})
    ok = client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD})
    admin = auth_headers(client, "admin")
    client.patch("/api/users/viewer", json={"roles": ["engineer"]}, headers=admin)
    made = client.post("/api/tokens", json={"name": "bms", "roles": ["viewer"]}, headers=admin)
    seen = [(e["action"], e["actor"], e["result"]) for e in reversed(entries(client))]
    assert seen == [
        ("login.failed", "viewer", "unauthorized"),
        ("login.failed", "nobody", "unauthorized"),
        ("login", "viewer", "ok"),
        ("user.update", "admin", "ok"),
        ("token.create", "admin", "ok"),
    ]
    change = entries(client, "?action=user.update")[0]
    assert change["target"] == "user:viewer" and change["address"] == "testclient"
    assert change["detail"]["roles"] == {"from": ["viewer"], "to": ["engineer"]}
    assert change["detail"]["ended"]["sessions"] == 1
    login = entries(client, "?action=login&actor=viewer")[0]
    assert login["detail"]["session"] == ok.json()["session_id"]
    assert entries(client, f"?target=token:{made.json()['id']}")[0]["action"] == "token.create"


def test_alarm_and_work_order_actions_are_recorded_with_their_outcome(client: TestClient) -> None:
    eng, tech = auth_headers(client, "engineer"), auth_headers(client, "tech")
    client.post("/api/alarms/a1/acknowledge", json={}, headers=eng)
    again = client.post("/api/alarms/a1/acknowledge", json={}, headers=eng)
    assert again.status_code == 409
    denied = client.post("/api/alarms/a1/acknowledge", json={}, headers=tech)
    assert denied.status_code == 403
    client.post("/api/work-orders/1/transition", json={"to": "assigned"}, headers=tech)
    client.post("/api/alarms/a1/acknowledge", json={})  # anonymous: nobody to record
    acks = entries(client, "?action=alarm.acknowledge")
    assert [(e["actor"], e["result"], e["status"]) for e in reversed(acks)] == [
        ("engineer", "ok", 200),
        ("engineer", "conflict", 409),
        ("tech", "denied", 403),
    ]
    assert {e["site"] for e in acks} == {"demo", None}  # a refusal before the look-up: no site
    moved = entries(client, "?action=work_order.&site=demo")
    assert [(e["actor"], e["target"], e["detail"]) for e in moved] == [
        ("tech", "work_order:1", {"from": "open", "to": "assigned"})
    ]


def test_the_audit_log_is_for_admins(client: TestClient) -> None:
    resp = client.get("/api/audit", headers=auth_headers(client, "supervisor"))
    assert_problem(resp, 403, "needs one of the roles admin")


def test_the_audit_log_is_append_only(client: TestClient, db: Engine) -> None:
    client.post("/api/auth/token", data={"username": "viewer", "password": "wrong one"})
    for statement in ("UPDATE console_audit SET actor = 'x'", "DELETE FROM console_audit"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(text(statement))
    assert len(entries(client)) == 1
