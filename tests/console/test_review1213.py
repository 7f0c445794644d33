"""Review of issues 12/13 (connections, technician directory): attacks that still work.

Each test asserts the behaviour the issue asks for; they fail on the reviewed code. The
console runs as a real process (the helpers of `tests.console.test_connections`).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from bldgwatch.demo import DEV_LOGIN
from tests.console.procs import Console
from tests.console.test_connections import (
    _bound_socket,
    _other_client,
    _outcome,
    _slow_client,
)
from tests.console.test_technician_directory import (
    ROSTER,
    STRONG,
    _auto_assigned,
    _entry,
    sessions,  # noqa: F401  (fixture)
)

STALLED_LOGIN = (
    b"POST /api/auth/token HTTP/1.1\r\nHost: console\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
)


def _port(console: Console) -> int:
    return int(console.url.rsplit(":", 1)[1])


@pytest.mark.services
def test_stalled_request_bodies_are_closed_and_free_the_connection_cap(starter: Any) -> None:
    """Finding 1: a complete head followed by a body that never comes. The header timer is
    disarmed once the head is complete and nothing bounds the body, so 19 such connections
    from one address (under its per-address cap of 64) hold `max_connections` (20, uvicorn
    counts the newcomer's own connection) for ever: every other client, /healthz and the
    login included, gets 503 long after the header timeout. Correct: a body that does not
    arrive in time is cut off like a slow head (a body timeout), the connections close and
    others are served."""
    console = starter("1024:1024", header_timeout_s=1.0, max_connections=20)
    with ExitStack() as stack:
        stalled = []
        for _ in range(19):  # one below the cap: each is taken in by the app
            sock = _bound_socket("127.0.0.3", _port(console), stack)
            sock.sendall(STALLED_LOGIN)
            sock.settimeout(0.3)
            assert _outcome(sock) == "open"  # its head was read: the app waits for the body
            stalled.append(sock)
        with _other_client(console.url) as other:
            deadline = time.monotonic() + 12  # 12 header timeouts
            healthz = other.get("/healthz")
            while healthz.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.5)  # polling for recovery, not timing what is tested
                healthz = other.get("/healthz")
            assert healthz.status_code == 200, "still refused 12 s after the header timeout"
            assert other.post("/api/auth/token", data=DEV_LOGIN).status_code == 200
        for sock in stalled:
            sock.settimeout(5)
            assert _outcome(sock) != "open"  # the stalled bodies were cut off
    assert console.proc.poll() is None


@pytest.mark.services
def test_unfinished_heads_from_many_addresses_do_not_lock_out_a_new_client(
    starter: Any,
) -> None:
    """Finding 2: the per-address cap (8 here; 64 by default against 1000 connections, so 16
    addresses suffice) does not stop an attacker with a few addresses (127/8 locally, any
    /64 of IPv6): 6 addresses x 8 unfinished heads fill `max_connections` (40) and a client
    from a fresh address gets 503 — for the whole header timeout, and again after every
    reconnect of the attacker. Correct: a complete request from a new client is served while
    the capacity is held by connections that have not even sent their head (e.g. shed the
    oldest unfinished heads when the cap is reached)."""
    console = starter(
        "1024:1024", header_timeout_s=30.0, max_connections=40, max_connections_per_address=8
    )
    with ExitStack() as stack:
        slow = [
            _slow_client(_port(console), f"127.0.0.{10 + a}", stack)
            for a in range(6)
            for _ in range(8)
        ]
        time.sleep(0.5)  # let the server accept them (the test is not about timing)
        with _other_client(console.url) as other:
            healthz = other.get("/healthz")
            login = other.post("/api/auth/token", data=DEV_LOGIN)
        assert healthz.status_code == 200, healthz.text
        assert login.status_code == 200, login.text
        assert len(slow) == 48
    assert console.proc.poll() is None


@pytest.mark.services
def test_live_streams_count_against_the_connection_cap(starter: Any) -> None:
    """Finding 3: an upgraded connection leaves the per-address count, and uvicorn's
    `limit_concurrency` is not applied to WebSocket upgrades; there is no cap on streams per
    user. One signed-in user (any role) opens streams until the process runs out of
    descriptors (256 here): then the console answers nobody, /healthz included. Correct:
    streams count against a cap (per user, and within `max_connections`, which keeps 64
    descriptors free); beyond it the stream is refused (closed at once with 4429, a reason
    the browser can read, or the upgrade refused) and others are still served. A stream
    counts as open once it runs (its `hello` came)."""
    console = starter("256:256", header_timeout_s=5.0)
    port = _port(console)
    with _other_client(console.url) as other:
        token = other.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
    url = f"ws://127.0.0.1:{port}/api/live?access_token={token}"
    opened = 0
    refusal: object = None
    with ExitStack() as stack:
        for _ in range(300):
            try:
                sock = _bound_socket("127.0.0.6", port, stack)
                stream = stack.enter_context(ws_connect(url, sock=sock, open_timeout=3))
                first = orjson.loads(stream.recv(timeout=3))
            except ConnectionClosed as closed:  # refused by the stream cap
                refusal = closed.rcvd.code if closed.rcvd else closed
                break
            except Exception as err:  # noqa: BLE001  refused, reset or not answered
                refusal = err
                break
            assert first["kind"] == "hello", first
            opened += 1
        with _other_client(console.url) as fresh:
            try:
                healthz = fresh.get("/healthz", timeout=5).status_code
            except httpx.HTTPError as err:
                healthz = repr(err)  # type: ignore[assignment]
        assert healthz == 200, f"opened={opened} healthz={healthz}"
        assert opened <= 256 - 64, f"opened={opened} streams with 256 open files"
        assert refusal is not None, "no stream was refused"
    assert console.proc.poll() is None


def test_a_disabled_console_user_named_on_the_roster_gets_no_automatic_assignment(
    db: Engine,
    sessions: sessionmaker[Session],  # noqa: F811
    make_client: Any,
) -> None:
    """Finding 4: the roster file lists `wang` (demo, mechanical); the console has a user
    `wang` (a viewer, without the technician role), then disables it. `sync_technician`
    calls `retire`, which changes only entries the console manages, so the roster's entry
    stays active and automatic assignment keeps giving demo's orders to a disabled console
    user that the console itself refuses as assignee (`ConsoleTechnicians`: not a
    technician). Correct (the contract of `console.users.sync_technician`): "an enabled
    user with the technician role may [be assigned], at its sites; anyone else may not"."""
    client: TestClient = make_client(db)
    body = {"name": "wang", "password": STRONG, "roles": ["viewer"], "sites": ["demo"]}
    assert client.post("/api/users", json=body).status_code == 201
    assert client.patch("/api/users/wang", json={"disabled": True}).status_code == 200
    assert ROSTER.auto_assign
    assert _auto_assigned(sessions, "demo", 1) != "wang"
    entry = _entry(sessions, "wang")
    assert entry is None or not entry.active, entry


def test_a_disabled_technician_is_not_assigned_under_a_case_variant_of_its_name(
    db: Engine,
    sessions: sessionmaker[Session],  # noqa: F811
    make_client: Any,
) -> None:
    """Finding 5: user names are unique case-insensitively in the console (`Wang` names the
    user `wang`), the directory's ids are not. The roster file lists `Wang` (demo); the
    console's technician `wang` (demo) is disabled: the directory holds `wang` (inactive)
    beside `Wang` (active, roster-managed) and automatic assignment gives demo's order to
    `Wang`. Correct: the directory matches names as the console does; a disabled console
    technician is not assignable under any spelling of its name."""
    from bldgwatch.maintenance.config import RosterSettings, Technician
    from bldgwatch.maintenance.desk import WorkDesk
    from bldgwatch.maintenance.technicians import import_roster
    from tests.maintenance.conftest import T0

    roster = RosterSettings(
        auto_assign=True,
        technicians=[Technician(id="Wang", sites=["demo"], skills=["mechanical"])],
    )
    client: TestClient = make_client(db)
    body = {"name": "wang", "password": STRONG, "roles": ["technician"], "sites": ["demo"]}
    assert client.post("/api/users", json=body).status_code == 201
    assert client.patch("/api/users/wang", json={"disabled": True}).status_code == 200
    with sessions() as session:
        import_roster(session, roster, at=T0 + timedelta(minutes=1))
        session.commit()
    desk = WorkDesk(sessions, roster=roster)
    at = T0 + timedelta(hours=1)
    order = desk.request(site="demo", equipment="P-01", title="pump noise", at=at, actor="desk")
    assigned = desk.auto_assign(order.id, at=at)
    who = None if assigned is None else assigned.assigned_to
    assert who is None or who.casefold() != "wang", who
