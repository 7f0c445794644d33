"""A contractor's user (role contractor, 维保单位): the admin binds it to one contractor; it
sees only the orders dispatched to its contractor (another contractor's order is a 404, not
a 403), starts and resolves them, and reaches nothing else: alarms, KPIs, users, budgets,
other orders' actions, the live stream."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from bldgwatch.console.errors import UnprocessableError
from bldgwatch.console.users import upsert_user
from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.contractormodels import ContractorAccountRow
from tests.console.conftest import PASSWORD, ClientFactory, auth_headers
from tests.console.seed import add, assets, contract, contractor, work_order
from tests.console.support import assert_problem

NOW = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    """On SQLite and on PostgreSQL: liftco holds the demo elevators, fixco the pumps; `lift`
    is liftco's user. Orders 1 (elevator) and 2 (pump) at demo, 3 (elevator) unrelated."""
    add(db, *assets())
    add(db, contractor("liftco"), contractor("fixco", name="Fix Co"))
    add(db, contract("liftco"), contract("fixco", equipment_type="pump"))
    add(db, ContractorAccountRow(user="lift", contractor="liftco"))
    add(db, work_order(0, equipment="E-01"), work_order(1), work_order(2, equipment="E-01"))
    return make_client(db, clock=ManualClock(NOW), user="supervisor")


def _lift(client: TestClient) -> dict[str, str]:
    return auth_headers(client, "lift")


def test_a_contractors_user_works_only_on_its_contractors_orders(client: TestClient) -> None:
    assert client.post("/api/work-orders/1/dispatch", json={}).json()["contractor"] == "liftco"
    assert client.post("/api/work-orders/2/dispatch", json={}).json()["contractor"] == "fixco"
    lift = _lift(client)
    listed = client.get("/api/work-orders", headers=lift).json()
    assert [o["id"] for o in listed["items"]] == [1] and listed["total"] == 1
    # "Mine" are its contractor's (review 18e L5: it listed nothing).
    mine = client.get("/api/work-orders?assigned_to=me", headers=lift).json()
    assert [o["id"] for o in mine["items"]] == [1]
    order = client.get("/api/work-orders/1", headers=lift).json()
    assert order["contractor"] == "liftco"
    assert set(order["record"]["actions"]) >= {"start", "comment"}
    # Another contractor's order, and an order dispatched to nobody: not there at all.
    for other in (2, 3):
        assert_problem(client.get(f"/api/work-orders/{other}", headers=lift), 404)
        assert_problem(client.get(f"/api/work-orders/{other}/history", headers=lift), 404)
        moved = client.post(
            f"/api/work-orders/{other}/transition", json={"to": "in_progress"}, headers=lift
        )
        assert_problem(moved, 404)
        resolved = client.post(
            f"/api/work-orders/{other}/resolve", json={"summary": "x"}, headers=lift
        )
        assert_problem(resolved, 404)
    # Start, comment and resolve its own.
    started = client.post("/api/work-orders/1/transition", json={"to": "in_progress"}, headers=lift)
    assert started.json()["status"] == "in_progress", started.text
    noted = client.post("/api/work-orders/1/comments", json={"text": "到场"}, headers=lift)
    assert noted.status_code == 200, noted.text
    done = client.post("/api/work-orders/1/resolve", json={"summary": "更换门机皮带"}, headers=lift)
    assert done.json()["status"] == "resolved", done.text
    # What only the property team does: verify, cancel, assign, dispatch.
    assert_problem(
        client.post("/api/work-orders/1/follow-up", json={"outcome": "satisfied"}, headers=lift),
        403,
    )
    assert_problem(
        client.post("/api/work-orders/1/cancel", json={"reason": "x"}, headers=lift), 403
    )
    assert_problem(client.post("/api/work-orders/1/dispatch", json={}, headers=lift), 403)


def test_a_contractors_user_books_no_labour_parts_or_charges(client: TestClient) -> None:
    """Its cost is the contractor's charges, which the property team books (review 18e H1:
    1000 h at 100,000 and 50 bearings went on the order and the scorecard)."""
    client.post("/api/work-orders/1/dispatch", json={})
    lift = _lift(client)
    greedy = {
        "labour_hours": 1000,
        "rate": 100000,
        "parts": [{"part_no": "6205-2RS", "quantity": 50}],
    }
    assert_problem(client.post("/api/work-orders/1/labour", json=greedy, headers=lift), 403)
    assert_problem(
        client.post(
            "/api/work-orders/1/transition", json={"to": "in_progress", **greedy}, headers=lift
        ),
        403,
    )
    started = client.post("/api/work-orders/1/transition", json={"to": "in_progress"}, headers=lift)
    assert started.status_code == 200, started.text
    for booking in (
        {"labour": [{"hours": 2, "rate": 100}]},
        {"parts": [{"part_no": "6205-2RS", "quantity": 1}]},
        {"charges": [{"contractor": "liftco", "amount": 99999}]},
    ):
        body = {"summary": "更换门机皮带", **booking}
        refused = client.post("/api/work-orders/1/resolve", json=body, headers=lift)
        assert_problem(refused, 403, "books no labour")
    order = client.get("/api/work-orders/1").json()
    assert order["status"] == "in_progress" and not order["cost"], order


def test_a_contractors_user_may_not_move_its_order_where_only_a_supervisor_may(
    client: TestClient,
) -> None:
    client.post("/api/work-orders/1/dispatch", json={})
    moved = client.post(
        "/api/work-orders/1/transition", json={"to": "cancelled"}, headers=_lift(client)
    )
    assert_problem(moved, 403)


@pytest.mark.parametrize(
    "path",
    [
        "/api/alarms",
        "/api/alarms/counts",
        "/api/kpis/maintenance?site=demo",
        "/api/users",
        "/api/budgets/demo",
        "/api/equipment",
        "/api/contractors",
        "/api/complaints",
    ],
)
def test_a_contractors_user_reads_nothing_else(client: TestClient, path: str) -> None:
    assert_problem(client.get(path, headers=_lift(client)), 403, "needs one of the roles")


def test_a_contractors_user_gets_no_live_stream(client: TestClient) -> None:
    token = _lift(client)["Authorization"].split()[1]
    url = f"/api/live?access_token={token}"
    with client, pytest.raises(WebSocketDisconnect) as err, client.websocket_connect(url) as ws:
        ws.receive_text()
    assert err.value.code == 1008


def test_a_contractors_user_bound_to_none_sees_no_order(client: TestClient) -> None:
    client.post("/api/work-orders/1/dispatch", json={})
    admin = auth_headers(client, "admin")
    made = client.post(
        "/api/users",
        json={
            "name": "lift2",
            "password": PASSWORD,
            "roles": ["contractor"],
            "contractor": "liftco",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["contractor"] == "liftco"
    unbound = client.patch(
        "/api/users/lift2", json={"roles": ["viewer"], "contractor": None}, headers=admin
    )
    assert unbound.json()["contractor"] is None, unbound.text
    listed = client.get("/api/users", headers=admin).json()["items"]
    assert {u["name"]: u["contractor"] for u in listed}["lift2"] is None


@pytest.mark.parametrize(
    ("roles", "bound", "status"),
    [
        (["contractor"], None, 422),  # a contractor's user acts for one
        (["contractor", "viewer"], "liftco", 422),  # and holds no other role
        (["technician"], "liftco", 422),  # the team's users act for none
        (["contractor"], "ghost", 404),
    ],
)
def test_the_admin_binds_a_contractors_user_to_exactly_one_contractor(
    client: TestClient, roles: list[str], bound: str | None, status: int
) -> None:
    body = {"name": "newbie", "password": PASSWORD, "roles": roles, "contractor": bound}
    resp = client.post("/api/users", json=body, headers=auth_headers(client, "admin"))
    assert_problem(resp, status)
    if status == 422:
        assert resp.json()["errors"][0]["name"] == "contractor"
    names = [
        u["name"]
        for u in client.get("/api/users", headers=auth_headers(client, "admin")).json()["items"]
    ]
    assert "newbie" not in names


def test_the_binding_message_in_chinese(client: TestClient) -> None:
    body = {"name": "newbie", "password": PASSWORD, "roles": ["contractor"]}
    headers = {**auth_headers(client, "admin"), "Accept-Language": "zh-CN"}
    assert_problem(
        client.post("/api/users", json=body, headers=headers), 422, "只能属于一个维保单位"
    )


def test_the_cli_binds_a_contractors_user(db: Engine) -> None:
    """`bldgwatch console-user --role contractor --contractor liftco` (its function)."""
    add(db, *assets(), contractor("liftco"))
    at = datetime(2026, 3, 31, tzinfo=UTC)
    made = upsert_user(
        db,
        name="wang",
        password=PASSWORD,
        roles=["contractor"],
        sites=["demo"],
        at=at,
        actor="cli:root",
        contractor="liftco",
    )
    assert made
    with Session(db) as session:
        assert session.get(ContractorAccountRow, "wang") is not None
    with pytest.raises(UnprocessableError):
        upsert_user(
            db,
            name="zhao",
            password=PASSWORD,
            roles=["contractor"],
            sites=None,
            at=at,
            actor="cli:root",
        )


def test_a_contractors_user_reads_its_sites_clocks(client: TestClient) -> None:
    """Its pages show times on the site's clock: the sites it sees (their zones) and the
    point catalogue are open to it."""
    sites = client.get("/api/sites", headers=_lift(client)).json()["items"]
    assert [s["id"] for s in sites] == ["demo"]
