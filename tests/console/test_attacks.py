"""Issue 13's attack list, re-run: each attack now fails for the attacker.

Sessions that could not be revoked, login limits that were bypassed or turned against the
real user, unbounded hashing and bodies, unhandled 500s, and weak input.
"""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.websockets import WebSocketDisconnect

from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.errors import InsecureSecretError
from bldgwatch.console.routers.live import CREDENTIALS_ENDED
from bldgwatch.console.security import SECRET_ENV, resolve_secret
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, parse_config
from bldgwatch.core.db import make_engine
from bldgwatch.core.errors import ConfigError
from tests.console.conftest import PASSWORD, ClientFactory, auth_headers
from tests.console.seed import T0, add, alarm, assets, work_order
from tests.console.support import assert_problem
from tests.console.test_live import alarm_msg


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    add(sqlite_db, *assets())
    add(sqlite_db, alarm("a1", 0), work_order(0))
    return make_client(sqlite_db, clock=clock, user=None)


def login(client: TestClient, user: str, password: str = PASSWORD, **kw: Any) -> dict[str, str]:
    resp = client.post("/api/auth/token", data={"username": user, "password": password}, **kw)
    assert resp.status_code == 200, resp.text
    body: dict[str, str] = resp.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client: TestClient, token: str) -> Any:
    return client.post("/api/auth/refresh", json={"refresh_token": token})


# --- Sessions can be revoked -------------------------------------------------------------


def test_logout_ends_the_session_and_its_refresh_token(client: TestClient) -> None:
    tokens = login(client, "viewer")
    out = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 200 and out.json()["session_id"] == tokens["session_id"]
    assert_problem(client.get("/api/alarms", headers=bearer(tokens["access_token"])), 401, "logout")
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "logout")


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(client: TestClient) -> None:
    first = login(client, "viewer")
    second = refresh(client, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]
    assert client.get("/api/alarms", headers=bearer(second["access_token"])).status_code == 200
    # The spent token again (a thief's copy): the whole session ends, the newest pair too.
    assert_problem(refresh(client, first["refresh_token"]), 401, "already used")
    assert_problem(refresh(client, second["refresh_token"]), 401, "refresh token reuse")
    assert_problem(client.get("/api/alarms", headers=bearer(second["access_token"])), 401)
    other = login(client, "viewer")  # a new login is a new, live session
    assert client.get("/api/alarms", headers=bearer(other["access_token"])).status_code == 200


def test_a_password_reset_ends_the_old_tokens(client: TestClient) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    victim = login(client, "viewer")
    new = {"password": "a brand new passphrase"}
    assert client.patch("/api/users/viewer", json=new, headers=admin).status_code == 200
    assert_problem(refresh(client, victim["refresh_token"]), 401, "password changed")
    assert_problem(client.get("/api/alarms", headers=bearer(victim["access_token"])), 401)
    login(client, "viewer", "a brand new passphrase")


def test_disabling_ends_sessions_and_tokens_and_enabling_revives_none(client: TestClient) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    made = {"name": "boss", "password": "boss pass phrase 1", "roles": ["admin"]}
    assert client.post("/api/users", json=made, headers=admin).status_code == 201
    boss = login(client, "boss", "boss pass phrase 1")
    machine = client.post(
        "/api/tokens",
        json={"name": "bms", "roles": ["viewer"]},
        headers=bearer(boss["access_token"]),
    ).json()["token"]
    assert client.get("/api/alarms", headers=bearer(machine)).status_code == 200
    client.patch("/api/users/boss", json={"disabled": True}, headers=admin)
    client.patch("/api/users/boss", json={"disabled": False}, headers=admin)
    assert_problem(client.get("/api/alarms", headers=bearer(boss["access_token"])), 401)
    assert_problem(refresh(client, boss["refresh_token"]), 401, "user disabled")
    assert_problem(client.get("/api/alarms", headers=bearer(machine)), 401, "revoked")
    login(client, "boss", "boss pass phrase 1")  # enabled again: a new login works


def test_role_changes_and_admin_revocation_end_sessions(client: TestClient) -> None:
    admin = bearer(login(client, "admin")["access_token"])
    engineer = login(client, "engineer")
    client.patch("/api/users/engineer", json={"roles": ["viewer"]}, headers=admin)
    assert_problem(refresh(client, engineer["refresh_token"]), 401, "roles changed")
    again = login(client, "engineer")
    ended = client.post("/api/users/engineer/revoke", headers=admin).json()
    assert ended == {"sessions": 1, "tokens": 0}
    assert_problem(client.get("/api/alarms", headers=bearer(again["access_token"])), 401)
    sessions = client.get("/api/sessions?user=engineer", headers=admin).json()
    assert {s["revoked_reason"] for s in sessions["items"]} == {
        "roles changed",
        "revoked by an admin",
    }


def _closed(ws: Any) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as err:
        while True:
            ws.receive_text()
    return err.value


def test_live_stream_closes_when_its_user_is_disabled(client: TestClient) -> None:
    with client:
        token = auth_headers(client, "engineer")["Authorization"].split()[1]
        with client.websocket_connect(f"/api/live?access_token={token}") as ws:
            assert ws.receive_json()["kind"] == "hello"
            admin = auth_headers(client, "admin")
            client.patch("/api/users/engineer", json={"disabled": True}, headers=admin)
            closed = _closed(ws)
    assert closed.code == CREDENTIALS_ENDED and "user disabled" in closed.reason


def test_every_stream_on_a_revoked_api_token_closes_at_once(client: TestClient) -> None:
    """Streams on one token share their re-check; a revocation still ends each of them at
    once (30 s re-check timer, so the revocation is what wakes them)."""
    with client:
        admin = auth_headers(client, "admin")
        made = client.post(
            "/api/tokens", json={"name": "wall", "roles": ["viewer"]}, headers=admin
        ).json()
        path = f"/api/live?access_token={made['token']}"
        with client.websocket_connect(path) as one, client.websocket_connect(path) as two:
            assert one.receive_json()["kind"] == two.receive_json()["kind"] == "hello"
            client.delete(f"/api/tokens/{made['id']}", headers=admin).raise_for_status()
            closed = [_closed(one), _closed(two)]
    assert {(c.code, c.reason) for c in closed} == {
        (CREDENTIALS_ENDED, "API token unknown or revoked")
    }


def test_live_stream_closes_when_its_token_expires(
    sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock
) -> None:
    cfg = ConsoleConfig(dev=True, live={"session_check_s": 0.05})
    client = make_client(sqlite_db, clock=clock, user=None, cfg=cfg)
    with client:
        token = auth_headers(client, "viewer")["Authorization"].split()[1]
        with client.websocket_connect(f"/api/live?access_token={token}") as ws:
            assert ws.receive_json()["kind"] == "hello"
            clock.advance(timedelta(minutes=16))  # the access token lives 15 minutes
            closed = _closed(ws)
    assert closed.code == CREDENTIALS_ENDED and "expired" in closed.reason


def test_live_stream_is_renewed_in_band(
    sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock
) -> None:
    cfg = ConsoleConfig(dev=True, live={"session_check_s": 0.05})
    client = make_client(sqlite_db, clock=clock, user=None, cfg=cfg)
    with client:
        first = login(client, "viewer")
        with client.websocket_connect(f"/api/live?access_token={first['access_token']}") as ws:
            assert ws.receive_json()["kind"] == "hello"
            renewed = refresh(client, first["refresh_token"]).json()
            ws.send_json({"access_token": renewed["access_token"]})
            assert ws.receive_json() == {"kind": "renewed"}  # the stream runs on the new token
            hub = client.app.state.hub  # type: ignore[attr-defined]
            clock.advance(timedelta(minutes=10))
            hub.ingest_threadsafe(*alarm_msg("demo", "e1"))
            assert ws.receive_json()["data"]["event_id"] == "e1"
            clock.advance(timedelta(minutes=10))  # the first token would have expired
            hub.ingest_threadsafe(*alarm_msg("demo", "e2"))
            assert ws.receive_json()["data"]["event_id"] == "e2"


# --- Login limits hold and do not lock the real user out ---------------------------------


def test_forwarded_for_is_ignored_from_untrusted_peers(client: TestClient) -> None:
    for i in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{i}"}
        wrong = client.post(
            "/api/auth/token", data={"username": "viewer", "password": "nope"}, headers=headers
        )
        assert_problem(wrong, 401)
    sixth = client.post(
        "/api/auth/token",
        data={"username": "viewer", "password": "nope"},
        headers={"X-Forwarded-For": "198.51.100.99"},
    )
    assert_problem(sixth, 429, "too many failed logins for viewer")


@pytest.fixture
def behind_proxy(
    sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock
) -> Iterator[TestClient]:
    cfg = ConsoleConfig(dev=True, http={"trusted_proxies": ["10.0.0.1"]})
    yield make_client(sqlite_db, clock=clock, user=None, cfg=cfg, client=("10.0.0.1", 4000))


def test_rotating_forwarded_addresses_hit_the_per_name_limit(behind_proxy: TestClient) -> None:
    home = {"X-Forwarded-For": "203.0.113.5"}
    login(behind_proxy, "viewer", headers=home)  # the real user, from home
    for i in range(20):  # an attacker behind many addresses
        spray = {"X-Forwarded-For": f"198.51.100.{i}"}
        resp = behind_proxy.post(
            "/api/auth/token", data={"username": "viewer", "password": "nope"}, headers=spray
        )
        assert_problem(resp, 401)
    fresh = {"X-Forwarded-For": "198.51.100.200"}
    blocked = behind_proxy.post(
        "/api/auth/token", data={"username": "viewer", "password": "nope"}, headers=fresh
    )
    assert_problem(blocked, 429, "too many failed logins for viewer")
    # The real user still gets in from home, with the right password, at once.
    login(behind_proxy, "viewer", headers=home)
    audit = behind_proxy.get(
        "/api/audit?action=login.", headers=auth_headers(behind_proxy, "admin")
    )
    addresses = {e["address"] for e in audit.json()["items"]}
    assert {"203.0.113.5", "198.51.100.0", "198.51.100.200"} <= addresses


def test_an_attacker_elsewhere_does_not_lock_the_user_out(client: TestClient) -> None:
    app = client.app
    with TestClient(app, client=("192.0.2.66", 5555)) as attacker:  # type: ignore[arg-type]
        for _ in range(10):
            attacker.post("/api/auth/token", data={"username": "viewer", "password": "nope"})
        blocked = attacker.post(
            "/api/auth/token", data={"username": "viewer", "password": PASSWORD}
        )
        assert_problem(blocked, 429)
    assert login(client, "viewer")["access_token"]  # the user, from their own address


def test_a_login_burst_is_bounded(
    sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock
) -> None:
    cfg = ConsoleConfig(dev=True, security={"hash_concurrency": 1, "hash_queue": 2})
    client = make_client(sqlite_db, clock=clock, user=None, cfg=cfg)

    def attempt(_: int) -> Any:
        name = secrets.token_hex(6)  # names that do not exist cost a full hash too
        return client.post("/api/auth/token", data={"username": name, "password": "x" * 12})

    with client, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(attempt, range(32)))
    statuses = sorted({a.status_code for a in answers})
    assert statuses == [401, 503], statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert_problem(busy, 503, "busy checking other passwords")
    assert busy.headers["retry-after"] == "1"
    assert client.app.state.security.hashing.peak <= 3  # type: ignore[attr-defined]


# --- Bodies are bounded ------------------------------------------------------------------


def test_large_and_deep_bodies_are_refused(client: TestClient) -> None:
    admin = auth_headers(client, "admin")
    big = b"x" * (2 * 1024 * 1024)
    declared = client.post(
        "/api/users", content=big, headers={**admin, "content-type": "application/json"}
    )
    assert_problem(declared, 413, "larger than 1048576 bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed (chunked)
        for _ in range(64):
            yield b"y" * 65536

    streamed = client.post("/api/users", content=chunks(), headers=admin)
    assert_problem(streamed, 413, "larger than 1048576 bytes")
    deep = b"[" * 100 + b"]" * 100
    nested = client.post(
        "/api/alarms/a1/comments",
        content=deep,
        headers={**admin, "content-type": "application/json"},
    )
    assert_problem(nested, 400, "nested deeper than 32 levels")


# --- No 500s from bounded parameters -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/api/alarms?offset=99999999999999999999", "offset"),
        ("/api/work-orders/99999999999999999999", "order_id"),
        ("/api/kpis/maintenance?site=demo&month=9999-12", "month"),
        ("/api/kpis/maintenance?site=demo&month=0000-01", "month"),
        ("/api/reports/demo/9999-12", "month"),
        ("/api/kpis/alarms?end=0001-01-02T00:00:00Z", "end"),
        ("/api/readings?site=demo&equipment=P-01&point=x&start=0001-01-01T00:00:00Z", "start"),
    ],
)
def test_out_of_range_parameters_are_4xx(client: TestClient, path: str, needle: str) -> None:
    resp = client.get(path, headers=auth_headers(client, "admin"))
    assert_problem(resp, 422, needle)


# --- Weak input is refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "status", "needle"),
    [
        ("12345678", 422, "password"),
        (" " * 8, 422, "password"),
        (" " * 12, 400, "whitespace"),
        ("password1234", 400, "too easy to guess"),
        ("li.wei2026", 400, "too easy to guess"),  # the user's own name
        ("qwertyuiop", 400, "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused(
    client: TestClient, password: str, status: int, needle: str
) -> None:
    body = {"name": "li.wei", "password": password, "roles": ["technician"], "sites": ["demo"]}
    resp = client.post("/api/users", json=body, headers=auth_headers(client, "admin"))
    assert_problem(resp, status, needle)


def test_a_repeated_secret_is_refused() -> None:
    with pytest.raises(InsecureSecretError, match="too predictable"):
        resolve_secret({SECRET_ENV: "a" * 32}, dev=False)


def test_user_names_are_unique_without_case(client: TestClient) -> None:
    body = {"name": "Admin", "password": "another long passphrase", "roles": ["viewer"]}
    resp = client.post("/api/users", json=body, headers=auth_headers(client, "admin"))
    assert_problem(resp, 409, "already exists as admin")
    assert login(client, "ADMIN")["access_token"]  # and log in without regard to case


@pytest.mark.parametrize(
    ("technician", "needle"),
    [
        ("nobody", "technician 'nobody' does not exist"),
        ("viewer", "technician 'viewer' does not exist"),  # a user, but no technician
        ("outsider", "does not serve site 'demo'"),
    ],
)
def test_orders_are_assigned_only_to_technicians_of_their_site(
    client: TestClient, technician: str, needle: str
) -> None:
    resp = client.post(
        "/api/work-orders/1/assign",
        json={"technician": technician},
        headers=auth_headers(client, "supervisor"),
    )
    assert_problem(resp, 409, needle)


def test_the_sqlite_file_is_private(tmp_path: Path) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'new.db'}"))
    with engine.connect():
        pass
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600


def test_dev_mode_listens_only_on_loopback() -> None:
    with pytest.raises(ConfigError, match=r"http\.host: dev mode"):
        parse_config({"dev": True, "http": {"host": "0.0.0.0"}}, ConsoleConfig)
    assert parse_config({"dev": True, "http": {"host": "::1"}}, ConsoleConfig).dev
    assert not parse_config({"http": {"host": "0.0.0.0"}}, ConsoleConfig).dev
