"""Fixtures of the console tests: a console app and its test client (the migrated databases,
`db` and `sqlite_db`, come from tests/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bldgwatch.console.app import create_app
from bldgwatch.console.auth import ROLES, SecurityContext
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.models import UserRow
from bldgwatch.console.security import ACCESS, hash_password, issue_token, new_session_id
from bldgwatch.console.sessions import open_session
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.servers import free_port

ClientFactory = Callable[..., TestClient]

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
USERS: dict[str, tuple[list[str], list[str] | None]] = {
    "admin": (["admin"], None),
    "viewer": (["viewer"], ["demo"]),
    "engineer": (["engineer"], ["demo"]),
    "tech": (["technician"], ["demo"]),
    "tech2": (["technician"], ["demo"]),
    "supervisor": (["supervisor"], ["demo"]),
    "outsider": (sorted(set(ROLES) - {"admin"}), ["north"]),
}
"""Test users by name: roles and sites (all share PASSWORD)."""


def seed_users(engine: Engine) -> None:
    """Insert the test users (with a precomputed hash: argon2 is slow on purpose)."""
    now = SystemClock().now()
    with contextlib.suppress(DBAPIError), Session(engine) as session, session.begin():
        for name, (roles, sites) in USERS.items():
            if session.get(UserRow, name) is None:
                session.add(
                    UserRow(
                        name=name,
                        password_hash=PASSWORD_HASH,
                        roles=roles,
                        sites=sites,
                        display_name=name,
                        disabled=False,
                        created_at=now,
                    )
                )


def auth_headers(client: TestClient, user: str) -> dict[str, str]:
    """An Authorization header with a fresh access token of a new session of `user` (as a
    login makes, without its deliberately slow password check)."""
    app = cast(FastAPI, client.app)
    security = cast(SecurityContext, app.state.security)
    clock = cast(Clock, app.state.clock)
    now = clock.now()
    try:
        with app.state.sessions.begin() as db:
            session_id = open_session(db, user, at=now, ttl=security.refresh_ttl).session_id
    except DBAPIError:  # no schema or no database: the request itself will meet that
        session_id = new_session_id()
    token = issue_token(
        security.secret, user, ACCESS, now=now, ttl=security.access_ttl, session=session_id
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def closed_influx() -> InfluxSettings:
    """InfluxDB settings pointing at a port nothing listens on."""
    return InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=2)


@pytest.fixture
def make_client(closed_influx: InfluxSettings) -> Iterator[ClientFactory]:
    """Build a test client for an engine (and optionally a store and clock), signed in as
    `user` (admin by default; None for anonymous)."""
    stores: list[TimeSeriesStore] = []
    clients: list[TestClient] = []

    def factory(
        engine: Engine,
        store: TimeSeriesStore | None = None,
        clock: Clock | None = None,
        user: str | None = "admin",
        cfg: ConsoleConfig | None = None,
        **client_kw: object,
    ) -> TestClient:
        if store is None:
            store = open_store(closed_influx)
            stores.append(store)
        cfg = cfg or ConsoleConfig(dev=True)
        app = create_app(cfg, engine=engine, store=store, clock=clock)
        seed_users(engine)
        client = TestClient(app, **client_kw)  # type: ignore[arg-type]
        client.headers["Accept-Language"] = "en"  # these tests read the server's English
        if user is not None:
            client.headers.update(auth_headers(client, user))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
    for store in stores:
        store.close()
