"""Slow and piled-up clients against a real console process (`console.connections`): a
client that never finishes its request head is closed after `http.header_timeout_s`, a
request whose body stops coming after `http.body_timeout_s` (408), one address holds at
most `http.max_connections_per_address` connections, at `http.max_connections` the oldest
unfinished heads make room and a request beyond it is answered 503, and the console raises
its open-files soft limit to the hard limit at start. Meanwhile other clients are served.

The timeouts are socket timeouts inside the server process, so the tests configure short
ones (1–5 s) and wait on sockets, never on a sleep.
"""

from __future__ import annotations

import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from bldgwatch.console.connections import ConnectionLimits, connection_cap
from bldgwatch.demo import DEV_LOGIN

pytestmark = [pytest.mark.services]

PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: console\r\nX-Slow: "
STALLED_BODY = (
    b"POST /api/auth/token HTTP/1.1\r\nHost: console\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
)
PER_ADDRESS = 64
OTHER_CLIENT = "127.0.0.2"  # all of 127/8 reaches loopback: another client address


def _slow_client(port: int, source: str, stack: ExitStack) -> socket.socket:
    """A connection from `source` that sends part of a request head and never the rest."""
    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(PARTIAL_HEAD)
    return sock


def _outcome(sock: socket.socket) -> str:
    """How the server ended the connection: `503` (refused with an answer), `408` (a request
    body stopped coming: answered and closed), `reset` (refused while the partial head was
    unread: the answer may be lost to the reset), `closed` (closed after reading what came),
    or `open` when nothing came within the timeout."""
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "open"
    for status in ("503", "408"):
        if data.startswith(b"HTTP/1.1 " + status.encode()):
            return status
    assert data == b"", data[:200]
    return "closed"


def _other_client(url: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=OTHER_CLIENT)
    return httpx.Client(base_url=url, transport=transport, timeout=10)


def test_unfinished_request_heads_do_not_lock_everyone_out(starter: Any) -> None:
    """300 connections that never finish their head, from one address, against a console
    limited to 256 open files (soft and hard): it answers another client before the header
    timeout, refuses the connections beyond the per-address cap with a 503 (or a reset when
    their unread head was still in the kernel), and closes the others once the header
    timeout has passed. Before: the 300 sockets held every descriptor, nobody was served."""
    console = starter("256:256", header_timeout_s=5.0, max_connections_per_address=PER_ADDRESS)
    port = int(console.url.rsplit(":", 1)[1])
    with ExitStack() as stack:
        started = time.monotonic()
        slow = [_slow_client(port, "127.0.0.1", stack) for _ in range(300)]
        opened_s = time.monotonic() - started
        with _other_client(console.url) as other:
            healthz = other.get("/healthz")
            healthz_s = time.monotonic() - started
            login = other.post("/api/auth/token", data=DEV_LOGIN)
            login_s = time.monotonic() - started
        outcomes = [_outcome(sock) for sock in slow]
        closed_s = time.monotonic() - started
    figures = (
        f"opened_s={opened_s:.2f} healthz_s={healthz_s:.2f} login_s={login_s:.2f} "
        f"all_closed_s={closed_s:.2f} closed={outcomes.count('closed')} "
        f"refused_503={outcomes.count('503')} refused_reset={outcomes.count('reset')}"
    )
    sys.stdout.write(figures + "\n")
    assert healthz.status_code == 200, figures
    assert login.status_code == 200, login.text
    assert "access_token" in login.json()
    assert healthz_s < 5.0, figures  # served while the slow connections were still open
    assert outcomes.count("open") == 0, figures  # none outlived the header timeout
    assert outcomes.count("closed") == PER_ADDRESS, figures
    assert outcomes.count("503") + outcomes.count("reset") == 300 - PER_ADDRESS, figures
    assert console.proc.poll() is None


def test_connections_beyond_the_cap_get_503_until_the_slow_ones_are_closed(
    starter: Any,
) -> None:
    """With `max_connections` 20 and 19 requests held from another address whose bodies
    never come (their heads complete: nothing to shed), a request is answered 503 at once;
    once the body timeout closed them (408), it is served. The console raised its
    open-files soft limit (256) to the hard limit (4096) at start."""
    console = starter("256:4096", header_timeout_s=3.0, body_timeout_s=3.0, max_connections=20)
    port = int(console.url.rsplit(":", 1)[1])
    limits = Path(f"/proc/{console.proc.pid}/limits").read_text(encoding="utf-8")
    files = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert files.split()[3:5] == ["4096", "4096"], files
    assert "soft limit raised from 256 to 4096" in console.log.read_text(encoding="utf-8")
    with ExitStack() as stack:
        slow = []
        for _ in range(19):
            sock = _bound_socket("127.0.0.3", port, stack)
            sock.sendall(STALLED_BODY)
            slow.append(sock)
        with _other_client(console.url) as other:
            started = time.monotonic()
            busy = other.get("/healthz")
            while busy.status_code == 200 and time.monotonic() - started < 2:
                busy = other.get("/healthz")  # until the server has taken in the 19
            answered_s = time.monotonic() - started
            assert busy.status_code == 503, busy.text
            assert answered_s < 2.5, answered_s
            outcomes = [_outcome(sock) for sock in slow]
            assert outcomes == ["408"] * 19
            assert other.get("/healthz").status_code == 200
            login = other.post("/api/auth/token", data=DEV_LOGIN)
            assert login.status_code == 200, login.text
    sys.stdout.write(f"busy_answered_s={answered_s:.2f}\n")


def test_at_the_cap_the_oldest_unfinished_heads_make_room(starter: Any) -> None:
    """30 unfinished heads from one address against `max_connections` 20 and a header timeout
    of 30 s: a new client is served at once, well before the header timeout, because the
    oldest connections still waiting for their head are closed to make room; the newest
    unfinished head stays open."""
    console = starter("1024:1024", header_timeout_s=30.0, max_connections=20)
    port = int(console.url.rsplit(":", 1)[1])
    with ExitStack() as stack:
        slow = [_slow_client(port, "127.0.0.3", stack) for _ in range(30)]
        with _other_client(console.url) as other:
            started = time.monotonic()
            healthz = other.get("/healthz")
            login = other.post("/api/auth/token", data=DEV_LOGIN)
            served_s = time.monotonic() - started
        assert healthz.status_code == 200, healthz.text
        assert login.status_code == 200, login.text
        assert served_s < 5, served_s
        slow[0].settimeout(5)
        # the oldest: shed (a reset when its head was still unread in the kernel)
        assert _outcome(slow[0]) in ("closed", "reset")
        slow[-1].settimeout(0.5)
        assert _outcome(slow[-1]) == "open"  # the newest: still waiting for its head


def _bound_socket(source: str, port: int, stack: ExitStack) -> socket.socket:
    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def test_live_streams_outlive_the_header_timeout_and_leave_the_address_count(
    starter: Any,
) -> None:
    """A WebSocket is no unfinished request: once upgraded, neither the header timeout nor
    the body timeout closes it (a quiet stream was dropped after `body_timeout_s`: h11 still
    took its upgrade request as waiting for a body — found by bench/scaleout.py), and it no
    longer counts against its address's cap (here 2, both held by streams)."""
    console = starter(
        "1024:1024", header_timeout_s=1.0, body_timeout_s=1.0, max_connections_per_address=2
    )
    port = int(console.url.rsplit(":", 1)[1])
    with _other_client(console.url) as other:
        token = other.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
    url = f"ws://127.0.0.1:{port}/api/live?access_token={token}"
    with ExitStack() as stack:
        streams = [
            stack.enter_context(ws_connect(url, sock=_bound_socket("127.0.0.4", port, stack)))
            for _ in range(2)
        ]
        slow = _slow_client(port, "127.0.0.5", stack)
        assert _outcome(slow) == "closed"  # the header timeout has passed ...
        stalled = _bound_socket("127.0.0.6", port, stack)
        stalled.sendall(STALLED_BODY)
        assert _outcome(stalled) == "408"  # ... and the body timeout ...
        for stream in streams:  # ... and the streams still answer
            assert stream.ping().wait(5)
        with httpx.Client(
            base_url=console.url,
            transport=httpx.HTTPTransport(local_address="127.0.0.4"),
            timeout=10,
        ) as same_address:
            assert same_address.get("/healthz").status_code == 200


def test_trusted_proxies_are_exempt_from_the_per_address_cap() -> None:
    limits = ConnectionLimits.of(10.0, 64, ["10.0.0.0/8", "::1"])
    assert not limits.capped("10.1.2.3")  # every client behind the proxy shares its address
    assert not limits.capped("::1")
    assert limits.capped("127.0.0.1")
    assert limits.capped("192.0.2.7")
    assert not limits.capped("/run/console.sock")  # not an IP client


def test_ipv6_clients_are_counted_by_their_64() -> None:
    """One subscriber holds a whole /64: its addresses share one per-address count."""
    limits = ConnectionLimits.of(10.0, 64, ["2001:db8:ffff::/48"])
    assert limits.group("2001:db8:0:1::1") == limits.group("2001:db8:0:1:ffff::2")
    assert limits.group("2001:db8:0:1::1") == "2001:db8:0:1::/64"
    assert limits.group("2001:db8:0:2::1") != limits.group("2001:db8:0:1::1")
    assert limits.group("::ffff:192.0.2.7") == "192.0.2.7"  # IPv4-mapped: the IPv4 client
    assert limits.group("192.0.2.7") == "192.0.2.7"
    assert limits.group("2001:db8:ffff:1::9") is None  # behind a trusted proxy


@pytest.mark.parametrize(
    ("max_connections", "fd_limit", "cap"),
    [(1000, 256, 192), (1000, 65536, 1000), (20, 4096, 20), (1000, 100, 50)],
)
def test_the_connection_cap_keeps_descriptors_free(
    max_connections: int, fd_limit: int, cap: int
) -> None:
    assert connection_cap(max_connections, fd_limit) == cap
