"""An admin limited to some sites manages only users and tokens within them (review 21b, H4):
it cannot make an all-sites admin, widen a user's sites, or take over a wider account."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.models import SessionRow, UserRow
from tests.console.conftest import PASSWORD, ClientFactory
from tests.console.seed import add, assets
from tests.console.support import assert_problem

STRONG = "Tr0ub4dor&3-horse-staple"


def _login(client: TestClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/auth/token", data={"username": user, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    return make_client(sqlite_db, user=None, raise_server_exceptions=False)


@pytest.fixture
def north(client: TestClient) -> dict[str, str]:
    """The headers of `adm2`, an admin of site north only."""
    admin = _login(client, "admin")
    made = {"name": "adm2", "password": STRONG, "roles": ["admin"], "sites": ["north"]}
    assert client.post("/api/users", json=made, headers=admin).status_code == 201
    return _login(client, "adm2", STRONG)


def _user(db: Engine, name: str) -> UserRow | None:
    with Session(db) as s:
        return s.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()


@pytest.mark.parametrize(
    ("sites", "named"),
    [(None, "every site"), (["demo"], "demo"), (["north", "demo"], "demo")],
    ids=["every-site", "other-site", "wider"],
)
def test_a_site_limited_admin_cannot_make_a_wider_user(
    client: TestClient,
    sqlite_db: Engine,
    north: dict[str, str],
    sites: list[str] | None,
    named: str,
) -> None:
    body = {"name": "adm3", "password": STRONG, "roles": ["admin"], "sites": sites}
    resp = client.post("/api/users", json=body, headers=north)
    assert_problem(resp, 403, "adm2 sees only north", f"cannot give a user {named}")
    assert _user(sqlite_db, "adm3") is None
    zh = client.post("/api/users", json=body, headers={**north, "Accept-Language": "zh-CN"})
    assert_problem(zh, 403, "adm2 只能查看 north")
    inside = {**body, "sites": ["north"]}
    assert client.post("/api/users", json=inside, headers=north).status_code == 201


def test_a_site_limited_admin_cannot_widen_a_user(
    client: TestClient, sqlite_db: Engine, north: dict[str, str]
) -> None:
    body = {"name": "tech9", "password": STRONG, "roles": ["technician"], "sites": ["north"]}
    assert client.post("/api/users", json=body, headers=north).status_code == 201
    for change in ({"all_sites": True}, {"sites": ["north", "demo"]}, {"sites": ["demo"]}):
        resp = client.patch("/api/users/tech9", json=change, headers=north)
        assert_problem(resp, 403, "adm2 sees only north")
    row = _user(sqlite_db, "tech9")
    assert row is not None and row.sites == ["north"]
    ok = client.patch("/api/users/tech9", json={"display_name": "Tech Nine"}, headers=north)
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "/api/users/admin", {"password": "a brand new passphrase 42"}),
        ("patch", "/api/users/admin", {"disabled": True}),
        ("patch", "/api/users/admin", {"sites": ["north"]}),
        ("post", "/api/users/admin/revoke", None),
    ],
    ids=["password", "disable", "narrow", "revoke"],
)
def test_a_site_limited_admin_cannot_touch_a_wider_account(
    client: TestClient,
    north: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    admin = _login(client, "admin")
    resp = client.request(method, path, json=body, headers=north)
    assert_problem(resp, 403, "adm2 sees only north", "admin sees every site")
    assert client.get("/api/auth/me", headers=admin).status_code == 200
    assert _login(client, "admin")  # the password is unchanged


def test_a_site_limited_admin_cannot_end_wider_sessions_or_tokens(
    client: TestClient, sqlite_db: Engine, north: dict[str, str]
) -> None:
    admin = _login(client, "admin")
    made = client.post("/api/tokens", json={"name": "t", "roles": ["viewer"]}, headers=admin)
    assert made.status_code == 201, made.text
    token = made.json()
    resp = client.delete(f"/api/tokens/{token['id']}", headers=north)
    assert_problem(resp, 403, "adm2 sees only north")
    still = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert still.status_code == 200
    with Session(sqlite_db) as s:
        sid = s.scalars(select(SessionRow.id).where(SessionRow.user_name == "admin")).first()
    resp = client.delete(f"/api/sessions/{sid}", headers=north)
    assert_problem(resp, 403, "adm2 sees only north")
    assert client.get("/api/auth/me", headers=admin).status_code == 200
