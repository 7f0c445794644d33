"""Attacks of the review of issue 13 (console and API security), kept as regressions.

API tokens that outlive what should end them, forged token claims, names and parameters that
got round the policies, and text the database refuses.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.errors import BadParameterError
from bldgwatch.console.models import ApiTokenRow, UserRow
from bldgwatch.console.policy import PolicyError, check_user_name
from bldgwatch.console.security import DEV_SECRET
from bldgwatch.console.users import upsert_user, user_named
from bldgwatch.core.clock import ManualClock
from tests.console.conftest import PASSWORD, ClientFactory, auth_headers
from tests.console.seed import T0, add, assets, work_order
from tests.console.support import assert_problem

STRONG = "Tr0ub4dor&3-horse-staple"
"""A password the policy accepts."""


def login(client: TestClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    """A successful login's token pair (fails the test otherwise)."""
    resp = client.post("/api/auth/token", data={"username": user, "password": password})
    assert resp.status_code == 200, resp.text
    body: dict[str, str] = resp.json()
    return body


def bearer(token: str) -> dict[str, str]:
    """An Authorization header with `token`."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    return make_client(sqlite_db, user=None, raise_server_exceptions=False)


def _token(client: TestClient, headers: dict[str, str], **body: object) -> str:
    made = client.post(
        "/api/tokens", json={"name": "t", "roles": ["admin"], **body}, headers=headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


@pytest.mark.parametrize(
    "end",
    [
        ("post", "/api/users/boss/revoke", None),
        ("patch", "/api/users/boss", {"disabled": True}),
        ("patch", "/api/users/boss", {"password": "a brand new passphrase 42"}),
        ("patch", "/api/users/boss", {"roles": ["viewer"]}),
    ],
    ids=["revoke", "disable", "password", "roles"],
)
def test_a_token_minted_by_a_token_ends_with_the_admin_behind_it(
    client: TestClient, end: tuple[str, str, dict[str, object] | None]
) -> None:
    """A token made with an admin's token belongs to that admin: ending the admin's sessions
    and tokens ends it too (it must not keep admin rights, e.g. to re-enable the admin)."""
    admin = bearer(login(client, "admin")["access_token"])
    made = {"name": "boss", "password": STRONG, "roles": ["admin"]}
    assert client.post("/api/users", json=made, headers=admin).status_code == 201
    boss = bearer(login(client, "boss", STRONG)["access_token"])
    first = _token(client, boss)
    second = _token(client, bearer(first))
    method, path, body = end
    assert client.request(method, path, json=body, headers=admin).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(first)).status_code == 401
    survivor = client.get("/api/users", headers=bearer(second))
    assert survivor.status_code == 401, (
        f"a token minted by boss's token still works after {path} {body}: {survivor.text[:120]}"
    )


@pytest.mark.parametrize("sites", [None, ["demo", "north"]], ids=["every-site", "another-site"])
def test_a_site_scoped_token_cannot_mint_a_wider_one(
    client: TestClient, sqlite_db: Engine, sites: list[str] | None
) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    scoped = _token(client, admin, sites=["demo"])
    body = {"name": "wider", "roles": ["viewer"], "sites": sites}
    wider = client.post("/api/tokens", json=body, headers=bearer(scoped))
    assert_problem(wider, 403, "sees only demo")
    with Session(sqlite_db) as db:
        assert db.scalars(select(ApiTokenRow).where(ApiTokenRow.name == "wider")).all() == []
    narrower = {"name": "narrow", "roles": ["viewer"], "sites": ["demo"]}
    assert client.post("/api/tokens", json=narrower, headers=bearer(scoped)).status_code == 201


def _forged(claims: dict[str, object]) -> str:
    return jwt.encode(claims, DEV_SECRET.encode(), algorithm="HS256")


@pytest.mark.parametrize(
    "exp",
    [10**20, -(10**12), 1e308, "soon", True],
    ids=["huge", "negative", "float", "string", "bool"],
)
def test_a_signed_token_with_a_malformed_expiry_is_401(client: TestClient, exp: object) -> None:
    """In dev mode the signing secret is public, so anyone can sign claims: an `exp` out of
    range or not a number is a 401, not a 500 from the date arithmetic."""
    session = login(client, "viewer")
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    claims.update(exp=exp, iat=int(time.time()))
    assert_problem(client.get("/api/auth/me", headers=bearer(_forged(claims))), 401, "exp")


@pytest.mark.parametrize("name", ["root\n", "admin\n"])
def test_a_user_name_with_a_trailing_newline_is_refused(name: str) -> None:
    with pytest.raises(PolicyError):
        check_user_name(name)


def test_the_cli_cannot_make_a_second_root(sqlite_db: Engine) -> None:
    """`bldgwatch console-user --name $'root\\n'` must not make a second "root"."""
    upsert_user(
        sqlite_db,
        name="root",
        password=STRONG,
        roles=["admin"],
        sites=None,
        at=T0,
        actor="cli:test",
    )
    with pytest.raises(BadParameterError):
        upsert_user(
            sqlite_db,
            name="root\n",
            password=STRONG,
            roles=["viewer"],
            sites=None,
            at=T0,
            actor="cli:test",
        )
    with Session(sqlite_db) as db:
        names = sorted(repr(r.name) for r in db.query(UserRow))
        assert names == ["'root'"], f"two accounts that both read 'root': {names}"
        assert user_named(db, "root") is not None


NUL_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("post", "/api/auth/token", {"data": {"username": "ad\x00min", "password": "x" * 12}}),
    ("get", "/api/alarms?site=%00", {}),
    ("get", "/api/alarms/%00", {}),
    ("get", "/api/work-orders?assigned_to=%00", {}),
    ("get", "/api/equipment/demo/%00", {}),
    ("get", "/api/audit?actor=%00", {}),
    ("post", "/api/alarms/a%00/comments", {"json": {"text": "hello"}}),
    (
        "post",
        "/api/users",
        {"json": {"name": "zed", "password": STRONG, "roles": ["viewer"], "display_name": "\x00"}},
    ),
]


@pytest.mark.parametrize(("method", "path", "kw"), NUL_CALLS, ids=[c[1] for c in NUL_CALLS])
def test_a_nul_character_is_a_400_naming_where(
    db: Engine, make_client: ClientFactory, method: str, path: str, kw: dict[str, Any]
) -> None:
    """PostgreSQL text cannot hold NUL: before, any text input with one answered 503
    "database unavailable" (no login needed for the login form)."""
    add(db, *assets())
    client = make_client(db, user=None)
    headers = {} if path == "/api/auth/token" else auth_headers(client, "admin")
    resp = client.request(method, path, headers=headers, **kw)
    assert_problem(resp, 400, "NUL character")


@pytest.mark.parametrize(
    "query",
    ["end=1700000000", "end=-1", "start=0&end=99999999999", "since=1700000000"],
    ids=["unix", "negative", "ms", "audit"],
)
def test_time_parameters_take_only_documented_times(
    sqlite_db: Engine, make_client: ClientFactory, query: str
) -> None:
    """Times are documented as ISO 8601 with a zone in 1970–2199; Unix seconds are not."""
    add(sqlite_db, *assets())
    client = make_client(sqlite_db, user=None)
    path = "/api/audit" if query.startswith("since") else "/api/kpis/alarms"
    resp = client.get(f"{path}?{query}", headers=auth_headers(client, "admin"))
    assert_problem(resp, 422, "ISO 8601")
    good = client.get(
        f"{path}?end=2026-01-31T08:00:00%2B08:00", headers=auth_headers(client, "admin")
    )
    assert good.status_code == 200, good.text


@pytest.mark.parametrize("written", ["1.0", "1e0", "+1", " 1"])
def test_an_order_number_is_a_whole_number(
    sqlite_db: Engine, make_client: ClientFactory, written: str
) -> None:
    add(sqlite_db, *assets(), work_order(0))
    client: TestClient = make_client(sqlite_db, user=None)
    headers = auth_headers(client, "viewer")
    assert_problem(client.get(f"/api/work-orders/{written}", headers=headers), 422, "whole number")
    assert client.get("/api/work-orders/1", headers=headers).status_code == 200


def test_a_site_taken_away_stops_its_live_events(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    """REST reads the user's sites on every request; an open `/api/live` stream must follow
    when an admin narrows them (the session stays: a change of sites ends no session)."""
    add(sqlite_db, *assets())
    client = make_client(sqlite_db, clock=ManualClock(T0), user=None)
    with client:
        viewer = login(client, "viewer")  # sites: demo
        admin = auth_headers(client, "admin")
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with client.websocket_connect(f"/api/live?access_token={viewer['access_token']}") as ws:
            assert ws.receive_json()["kind"] == "hello"
            moved = client.patch("/api/users/viewer", json={"sites": ["north"]}, headers=admin)
            assert moved.status_code == 200 and moved.json()["sites"] == ["north"]
            listed = client.get("/api/alarms?site=demo", headers=bearer(viewer["access_token"]))
            assert listed.json()["total"] == 0
            hub.ingest_threadsafe("bw/v1/demo/alarms/P-01", b'{"event_id": "after-move"}')
            hub.ingest_threadsafe("bw/v1/north/alarms/P-01", b'{"event_id": "north-1"}')
            first = ws.receive_json()
    assert (first["site"], first["data"]["event_id"]) == ("north", "north-1")
