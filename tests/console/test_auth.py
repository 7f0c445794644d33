"""Login (OAuth2 password flow), refresh, expiry, rate limiting, API tokens, users, secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.errors import InsecureSecretError
from bldgwatch.console.security import (
    ACCESS,
    DEV_SECRET,
    REFRESH,
    SECRET_ENV,
    TokenError,
    hash_password,
    issue_token,
    read_token,
    resolve_secret,
    verify_password,
)
from bldgwatch.core.clock import ManualClock
from tests.console.conftest import PASSWORD, ClientFactory
from tests.console.seed import T0
from tests.console.support import assert_problem


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    return make_client(sqlite_db, clock=clock, user=None)


def login(client: TestClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/auth/token", data={"username": user, "password": password})
    assert resp.status_code == 200, resp.text
    body: dict[str, str] = resp.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_gives_tokens_that_open_the_api(client: TestClient) -> None:
    tokens = login(client, "engineer")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = client.get("/api/auth/me", headers=bearer(tokens["access_token"])).json()
    assert me == {
        "name": "engineer",
        "roles": ["engineer"],
        "sites": ["demo"],
        "kind": "user",
        "contractor": None,
    }


def test_access_token_expires_and_refresh_renews_it(client: TestClient, clock: ManualClock) -> None:
    tokens = login(client, "viewer")
    clock.advance(timedelta(minutes=16))
    assert_problem(
        client.get("/api/alarms", headers=bearer(tokens["access_token"])), 401, "expired"
    )
    # A refresh token is not an access token, and vice versa.
    assert_problem(client.get("/api/alarms", headers=bearer(tokens["refresh_token"])), 401)
    bad = client.post("/api/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert_problem(bad, 401, "access token cannot be used as refresh")
    renewed = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    ok = client.get("/api/alarms", headers=bearer(renewed.json()["access_token"]))
    assert ok.status_code == 200
    clock.advance(timedelta(days=8))
    late = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(late, 401, "expired")


@pytest.mark.parametrize(("user", "password"), [("viewer", "wrong password"), ("nobody", "x")])
def test_wrong_credentials_are_401(client: TestClient, user: str, password: str) -> None:
    resp = client.post("/api/auth/token", data={"username": user, "password": password})
    assert_problem(resp, 401, "wrong user name or password")


def test_login_is_rate_limited_per_user_and_recovers(
    client: TestClient, clock: ManualClock
) -> None:
    # Issue 13: a fixed 5-minute lock after five failures locked the real user out; further
    # tries now wait progressively (1 s, 2 s, 4 s, ...) instead.
    for _ in range(5):
        client.post("/api/auth/token", data={"username": "viewer", "password": "nope"})
    blocked = client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD})
    body = assert_problem(blocked, 429, "too many failed logins for viewer")
    assert int(blocked.headers["retry-after"]) == 1
    assert body["status"] == 429
    # Another user from the same address is not blocked.
    login(client, "engineer")
    clock.advance(timedelta(seconds=1))
    wrong = client.post("/api/auth/token", data={"username": "viewer", "password": "nope"})
    assert_problem(wrong, 401)
    again = client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert int(again.headers["retry-after"]) == 2  # the next wait doubles
    clock.advance(timedelta(seconds=2))
    login(client, "viewer")


def test_disabled_user_loses_access_at_once(client: TestClient) -> None:
    admin = login(client, "admin")
    viewer = login(client, "viewer")
    resp = client.patch(
        "/api/users/viewer", json={"disabled": True}, headers=bearer(admin["access_token"])
    )
    assert resp.status_code == 200 and resp.json()["disabled"] is True
    assert_problem(client.get("/api/alarms", headers=bearer(viewer["access_token"])), 401)
    resp = client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert_problem(resp, 401)


def test_admin_creates_users_with_hashed_passwords(client: TestClient, sqlite_db: Engine) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    body = {
        "name": "li.wei",
        "password": "pw of li wei",
        "roles": ["technician"],
        "sites": ["demo"],
    }
    created = client.post("/api/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert "password" not in created.text and "hash" not in created.text
    assert login(client, "li.wei", "pw of li wei")["access_token"]
    assert_problem(client.post("/api/users", json=body, headers=admin), 409, "already exists")
    bad = {**body, "name": "x", "roles": ["wizard"]}
    assert_problem(client.post("/api/users", json=bad, headers=admin), 400, "wizard")
    listed = client.get("/api/users?limit=2", headers=admin).json()
    assert listed["total"] == 9 and len(listed["items"]) == 2  # 8 test users and li.wei


def test_api_tokens_work_until_revoked(client: TestClient, clock: ManualClock) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    made = client.post(
        "/api/tokens",
        json={"name": "bms", "roles": ["viewer"], "sites": ["north"]},
        headers=admin,
    ).json()
    assert made["token"].startswith("bwt_")
    machine = bearer(made["token"])
    me = client.get("/api/auth/me", headers=machine).json()
    assert me == {
        "name": "token:bms",
        "roles": ["viewer"],
        "sites": ["north"],
        "kind": "token",
        "contractor": None,
    }
    clock.advance(timedelta(days=365))  # no expiry given: still valid
    admin = bearer(login(client, "admin")["access_token"])
    listed = client.get("/api/tokens", headers=admin)
    assert listed.status_code == 200, listed.text
    assert "token" not in listed.json()["items"][0]
    assert client.delete(f"/api/tokens/{made['id']}", headers=admin).json()["revoked"] is True
    assert_problem(client.get("/api/alarms", headers=machine), 401, "revoked")


def test_passwords_hash_with_argon2id() -> None:
    stored = hash_password("secret words")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "secret words")
    assert not verify_password(stored, "other words")
    assert not verify_password("not a hash", "secret words")


def test_tokens_are_signed_and_typed() -> None:
    secret = b"k" * 32
    token = issue_token(secret, "u", ACCESS, now=T0, ttl=timedelta(minutes=5))
    assert read_token(secret, token, ACCESS, now=T0).subject == "u"
    with pytest.raises(TokenError, match="invalid"):
        read_token(b"j" * 32, token, ACCESS, now=T0)
    with pytest.raises(TokenError, match="refresh"):
        read_token(secret, token, REFRESH, now=T0)
    with pytest.raises(TokenError, match="expired"):
        read_token(secret, token, ACCESS, now=T0 + timedelta(minutes=5))


STRONG_SECRET = "5f0c9a1e7b3d48e2a6c1f09d8b7e3a2c4d5e6f708192a3b4c5d6e7f8091a2b3c"
"""64 hexadecimal digits, as `openssl rand -hex 32` makes."""


@pytest.mark.parametrize(
    ("env", "dev", "expected"),
    [
        ({}, True, DEV_SECRET.encode()),
        ({SECRET_ENV: STRONG_SECRET}, False, STRONG_SECRET.encode()),
        ({SECRET_ENV: "short"}, True, b"short"),
        ({}, False, "is not set"),
        # Issue 13: strength is judged by estimated entropy, not length: 32 × "s" is refused.
        ({SECRET_ENV: "s" * 32}, False, "too predictable: about 0 bits"),
        ({SECRET_ENV: "s" * 31}, False, "too predictable"),
        ({SECRET_ENV: "correct horse battery staple " * 2}, False, "too predictable"),
        ({SECRET_ENV: DEV_SECRET}, False, "development default"),
    ],
)
def test_secret_resolution(env: dict[str, str], dev: bool, expected: bytes | str) -> None:
    if isinstance(expected, bytes):
        assert resolve_secret(env, dev=dev) == expected
    else:
        with pytest.raises(InsecureSecretError, match=expected):
            resolve_secret(env, dev=dev)
