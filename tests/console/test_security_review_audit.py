"""Attacks of the review of issue 13 on the audit log and the login limits, kept as
regressions: events the log left out (a refresh, a refused refresh, a wrong current password,
`bldgwatch console-user`), `INSERT OR REPLACE` past its append-only triggers on SQLite, and
attackers filling the password-hashing gate."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.models import AuditRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from tests.console.conftest import PASSWORD, ClientFactory
from tests.console.seed import T0, add, assets
from tests.console.support import assert_problem
from tests.console.test_security_review import STRONG, bearer, login


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    return make_client(sqlite_db, user=None)


def _rows(engine: Engine) -> list[AuditRow]:
    with Session(engine) as db:
        return list(db.scalars(select(AuditRow).order_by(AuditRow.id)))


def test_a_refresh_is_audited(client: TestClient, sqlite_db: Engine) -> None:
    pair = login(client, "viewer")
    before = len(_rows(sqlite_db))
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = _rows(sqlite_db)[before:]
    assert [(r.action, r.actor, r.target, r.result) for r in new] == [
        ("session.refresh", "viewer", f"session:{pair['session_id']}", "ok")
    ]


def test_a_refused_refresh_is_audited(client: TestClient, sqlite_db: Engine) -> None:
    """A stolen refresh token replayed after logout leaves a trace naming the session."""
    pair = login(client, "viewer")
    client.post("/api/auth/logout", headers=bearer(pair["access_token"]))
    before = len(_rows(sqlite_db))
    replay = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401
    new = _rows(sqlite_db)[before:]
    assert [(r.action, r.actor, r.result, r.status) for r in new] == [
        ("session.refresh_refused", "viewer", "unauthorized", 401)
    ]
    assert new[0].address and new[0].target == f"session:{pair['session_id']}"
    assert "has ended (logout)" in new[0].detail["reason"]


def test_a_reused_refresh_token_is_audited_as_revoke_and_refusal(
    client: TestClient, sqlite_db: Engine
) -> None:
    pair = login(client, "viewer")
    token = {"refresh_token": pair["refresh_token"]}
    assert client.post("/api/auth/refresh", json=token).status_code == 200
    before = len(_rows(sqlite_db))
    assert client.post("/api/auth/refresh", json=token).status_code == 401
    new = _rows(sqlite_db)[before:]
    assert [(r.action, r.result) for r in new] == [
        ("session.revoke", "ok"),
        ("session.refresh_refused", "unauthorized"),
    ]


def test_a_wrong_current_password_is_audited(client: TestClient, sqlite_db: Engine) -> None:
    """Password guessing with a stolen access token leaves a trace."""
    pair = login(client, "viewer")
    before = len(_rows(sqlite_db))
    guess = {"current_password": "is it this one?", "new_password": STRONG}
    resp = client.post("/api/auth/password", json=guess, headers=bearer(pair["access_token"]))
    assert resp.status_code == 403
    new = _rows(sqlite_db)[before:]
    assert [(r.action, r.actor, r.result, r.status) for r in new] == [
        ("user.password", "viewer", "denied", 403)
    ]


def test_the_console_user_command_is_audited(
    tmp_path: Path, empty_sqlite_settings: DatabaseSettings
) -> None:
    config = tmp_path / "console.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": empty_sqlite_settings.url}}))
    env = {**os.environ, "BLDGWATCH_PASSWORD": STRONG}
    cmd = [sys.executable, "-m", "bldgwatch.cli", "console-user", "--config", str(config)]
    for role in ("viewer", "admin"):  # create, then promote to admin
        done = subprocess.run(
            [*cmd, "--name", "mallory", "--role", role],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    engine = make_engine(empty_sqlite_settings)
    try:
        rows = [r for r in _rows(engine) if r.target == "user:mallory"]
    finally:
        engine.dispose()
    assert [r.action for r in rows] == ["user.create", "user.update"], (
        f"`bldgwatch console-user` made mallory an admin; the audit log says {rows}"
    )
    assert all(r.actor.startswith("cli:") for r in rows)
    assert rows[1].detail["roles"] == {"from": ["viewer"], "to": ["admin"]}


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_sqlite_triggers_refuse_insert_or_replace(
    client: TestClient, sqlite_db: Engine, verb: str
) -> None:
    login(client, "viewer")
    first = _rows(sqlite_db)[0]
    with pytest.raises(DBAPIError, match="append-only"), sqlite_db.begin() as conn:
        conn.execute(
            text(
                f"{verb} INTO console_audit "
                "(id, at, actor, address, action, target, site, result, status, detail) "
                "VALUES (:id, :at, 'nobody', '', 'login', 'session', NULL, 'ok', NULL, '{}')"
            ),
            {"id": first.id, "at": first.at},
        )
    with Session(sqlite_db) as db:
        assert db.scalar(select(func.count()).where(AuditRow.actor == "nobody")) == 0
    login(client, "viewer")  # new entries are still appended
    assert len(_rows(sqlite_db)) == 2


PROXY = "10.0.0.1"
HOME = {"X-Forwarded-For": "203.0.113.5"}


def test_a_known_user_gets_in_while_attackers_fill_the_hashing_gate(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    """The hashing gate was first come, first served: while attackers' logins held every
    place, the real user's login from their usual address answered 503 too. A known login
    may take one of the gate's reserved places; an unknown one may not."""
    add(sqlite_db, *assets())
    cfg = ConsoleConfig(
        dev=True,
        http={"trusted_proxies": [PROXY]},
        security={"hash_concurrency": 1, "hash_queue": 2},
    )
    console = make_client(
        sqlite_db, clock=ManualClock(T0), user=None, cfg=cfg, client=(PROXY, 4000)
    )
    form = {"username": "viewer", "password": PASSWORD}
    assert console.post("/api/auth/token", data=form, headers=HOME).status_code == 200
    gate = console.app.state.security.hashing  # type: ignore[attr-defined]
    with contextlib.ExitStack() as attackers:  # their logins hold every ordinary place
        for _ in range(gate.concurrency + gate.queue):
            attackers.enter_context(gate.admitted())
        elsewhere = {"X-Forwarded-For": "198.51.100.7"}
        assert_problem(console.post("/api/auth/token", data=form, headers=elsewhere), 503)
        status = console.post("/api/auth/token", data=form, headers=HOME).status_code
    assert status == 200, f"the known user's login answered {status} while attackers hashed"


@pytest.mark.long(seconds=27)
def test_the_real_user_gets_in_from_home_after_a_restart_during_an_attack(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    """The per-name delay exempted only addresses the console process remembered: after a
    restart the user's usual address was unknown, and an attacker rotating addresses who
    retried the moment each wait ended kept the real user out (every try 429)."""
    add(sqlite_db, *assets())
    clock = ManualClock(T0)
    cfg = ConsoleConfig(dev=True, http={"trusted_proxies": [PROXY]})
    before = make_client(sqlite_db, clock=clock, user=None, cfg=cfg, client=(PROXY, 4000))
    right = {"username": "viewer", "password": PASSWORD}
    wrong = {"username": "viewer", "password": "not the password"}
    assert before.post("/api/auth/token", data=right, headers=HOME).status_code == 200
    console = make_client(sqlite_db, clock=clock, user=None, cfg=cfg, client=(PROXY, 4000))
    mine: list[int] = []
    for second in range(200):  # minutes of a slow, distributed attack
        bot = {"X-Forwarded-For": f"198.51.{second // 250}.{second % 250}"}
        console.post("/api/auth/token", data=wrong, headers=bot)
        if second >= 30 and second % 10 == 0:
            mine.append(console.post("/api/auth/token", data=right, headers=HOME).status_code)
        clock.advance(timedelta(seconds=1))
    assert mine and set(mine) == {200}, f"the real user, from home: {mine}"
