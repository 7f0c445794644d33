"""The console's HTTP connections, below the ASGI app: slow or piled-up clients cannot take
every file descriptor of the process.

uvicorn bounds only idle keep-alive connections (`timeout_keep_alive`); a client that opens
a connection and never finishes its request head holds a descriptor for ever, and it
accepts connections without bound. The guards, set up by `console.service`:

- a header timeout: a connection whose request head is not complete within
  `http.header_timeout_s` of its opening (or of the previous response) is closed;
- a body timeout: once the head is complete, a request whose body stops coming for
  `http.body_timeout_s` (between the head and the first chunk, or between two chunks) is
  answered 408 (when nothing was answered yet) and closed; the app's own slowness (reading
  paused by flow control) does not count;
- a cap per client address (`http.max_connections_per_address`; trusted proxies exempt;
  IPv6 clients grouped by their /64, which one subscriber holds whole): a connection beyond
  it is answered 503 and closed at once, before it is read;
- a cap on all connections (uvicorn's `limit_concurrency`, at most `http.max_connections`
  and always `RESERVED_FDS` below the open-files limit): a request beyond it is answered
  503, so the process keeps descriptors for its database, broker and InfluxDB. When a new
  connection reaches the cap, the oldest connections still waiting for a request head are
  closed to make room: they cost the least to sacrifice (nothing was asked yet), and slow
  heads from a few addresses can then never lock out a new client;
- WebSocket streams count against that cap as well: an upgrade beyond it (after shedding
  waiting heads) is answered 503 and closed. (uvicorn checks `limit_concurrency` only for
  HTTP requests.) The per-user cap of live streams is the route's (`live.max_streams_per_user`).

At start the open-files soft limit is raised to the hard limit (`raise_fd_limit`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

RESERVED_FDS = 64
"""Descriptors kept out of the connection cap: database pool, broker, InfluxDB, logs, files."""

UNLIMITED_TARGET = 65536
"""The soft limit asked for when the hard limit is unlimited."""

_REFUSAL = b"too many connections from your address\n"
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
)
"""What a connection beyond its address's cap gets before it is closed."""


def _plain(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (status, len(text), text)
    )


BODY_TIMED_OUT = _plain(b"408 Request Timeout", b"request body not received in time\n")
"""What a request whose body stopped coming gets before it is closed (if nothing was sent)."""

BUSY = _plain(b"503 Service Unavailable", b"too many connections\n")
"""What a WebSocket upgrade beyond the connection cap gets before it is closed."""

IPV6_GROUP = 64
"""IPv6 clients are counted per /64 for the per-address cap."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_group(host: str) -> str:
    """Whom a client at `host` counts as: its address, its /64 for IPv6 (one subscriber holds
    a whole /64), an IPv4-mapped IPv6 address as IPv4; a host that is no IP address as it is."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a Unix socket path or a name: not an IP client
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_GROUP), strict=False))
    return str(address)


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a request head and the gaps in its body may take, how many connections one
    address may hold, and how many all together (`cap`; None: no shedding, no stream cap)."""

    header_timeout_s: float
    per_address: int
    exempt: tuple[Network, ...] = ()
    body_timeout_s: float = 10.0
    cap: int | None = None

    @classmethod
    def of(
        cls,
        header_timeout_s: float,
        per_address: int,
        trusted_proxies: Sequence[str],
        *,
        body_timeout_s: float = 10.0,
        cap: int | None = None,
    ) -> ConnectionLimits:
        """Limits with the trusted proxies (addresses or networks) exempt from the per-address
        cap: every client behind them shares their address."""
        exempt = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        return cls(header_timeout_s, per_address, exempt, body_timeout_s, cap)

    def capped(self, host: str) -> bool:
        """True when connections from `host` count against the per-address cap."""
        return self.group(host) is not None

    def group(self, host: str) -> str | None:
        """Whom a connection from `host` counts against for the per-address cap: the address,
        its /64 for IPv6 (an IPv4-mapped one as IPv4); None when not capped (trusted proxy,
        Unix socket)."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a Unix socket path or a name: not an IP client
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self.exempt):
            return None
        return address_group(str(address))


def raise_fd_limit() -> int:
    """Raise the open-files soft limit to the hard limit (logged); the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as err:
            logger.warning(
                "open files: could not raise the soft limit %d to %d: %s", soft, target, err
            )
            return soft
        logger.info("open files: soft limit raised from %d to %d (hard %d)", soft, target, hard)
        return target
    logger.info("open files: soft limit %d (hard %d)", soft, hard)
    return soft if soft != resource.RLIM_INFINITY else UNLIMITED_TARGET


def connection_cap(max_connections: int, fd_limit: int) -> int:
    """The most connections served at once: `max_connections`, and `RESERVED_FDS` below the
    open-files limit (at least half that limit when it is very low)."""
    room = max(fd_limit - RESERVED_FDS, fd_limit // 2, 1)
    return min(max_connections, room)


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the guards of `limits` (one counter of open connections
    per address and one queue of connections waiting for a head, shared by the server's
    connections)."""

    class GuardedH11Protocol(_Guarded):
        guard = limits
        open_by_address: ClassVar[Counter[str]] = Counter()
        waiting: ClassVar[dict[_Guarded, None]] = {}

    return GuardedH11Protocol


class _Guarded(H11Protocol):
    guard: ClassVar[ConnectionLimits]
    open_by_address: ClassVar[Counter[str]]
    waiting: ClassVar[dict[_Guarded, None]]
    """Connections whose head timer runs, oldest first: whom the cap sheds."""
    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _counted: str | None = None
    _upgraded = False
    """Handed to the WebSocket protocol: no HTTP timer applies any more."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        group = self.guard.group(self.client[0] if self.client else "")
        if group is not None:
            if self.open_by_address[group] >= self.guard.per_address:
                logger.debug("%s holds %d connections: refused", group, self.guard.per_address)
                transport.write(REFUSED)
                transport.close()
                return
            self.open_by_address[group] += 1
            self._counted = group
        self._make_room()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._stop_body_timer()
        self._uncount()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._upgraded:  # h11 still says SEND_BODY for the upgrade's request: no body comes
            return
        state = self.conn.their_state
        if self._head_timer is not None and state is not h11.IDLE:
            self._disarm()  # the head is complete: the body timer applies from here
        if state is h11.SEND_BODY and not self.transport.is_closing():
            self._start_body_timer()  # every chunk restarts it: it times the gaps
        else:
            self._stop_body_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request's head has the same time

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True  # a quiet stream was closed as a stalled body after 10 s
        self._disarm()
        self._stop_body_timer()
        self._uncount()  # the connection is the WebSocket protocol's from here
        if self._make_room():
            logger.warning("connection cap reached: WebSocket upgrade refused")
            self.transport.write(BUSY)
            self.transport.close()
            return
        super().handle_websocket_upgrade(event)

    def _make_room(self) -> bool:
        """At the connection cap, close the oldest connections still waiting for a head
        until this one fits; True when it does not (nothing left to shed)."""
        cap = self.guard.cap
        if cap is None or len(self.connections) < cap:
            return False
        live = sum(not c.transport.is_closing() for c in self.connections)
        while live >= cap:
            victim = next((c for c in self.waiting if c is not self), None)
            if victim is None:
                return True
            logger.debug("connection cap %d reached: the oldest unfinished head closed", cap)
            victim._disarm()
            victim.transport.close()
            live -= 1
        return False

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.guard.header_timeout_s, self._timed_out)
        self.waiting[self] = None

    def _disarm(self) -> None:
        self.waiting.pop(self, None)
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _start_body_timer(self) -> None:
        self._stop_body_timer()
        self._body_timer = self.loop.call_later(self.guard.body_timeout_s, self._body_timed_out)

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _uncount(self) -> None:
        if self._counted is not None:
            self.open_by_address[self._counted] -= 1
            if self.open_by_address[self._counted] <= 0:
                del self.open_by_address[self._counted]
            self._counted = None

    def _timed_out(self) -> None:
        self._head_timer = None
        self.waiting.pop(self, None)
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            logger.debug("no complete request head within %ss: closed", self.guard.header_timeout_s)
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if (
            self._upgraded
            or self.transport.is_closing()
            or self.conn.their_state is not h11.SEND_BODY
        ):
            return
        if self.flow.read_paused:  # the app is not reading yet: not the client's delay
            self._start_body_timer()
            return
        logger.debug("request body stalled for %ss: closed", self.guard.body_timeout_s)
        if self.cycle is not None and not self.cycle.response_started:
            self.transport.write(BODY_TIMED_OUT)
        self.transport.close()
