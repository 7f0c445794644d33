"""The console's HTTP connections, below the ASGI app: slow or piled-up clients cannot take
every file descriptor of the process.

uvicorn bounds only idle keep-alive connections (`timeout_keep_alive`); a client that opens
a connection and never finishes its request head holds a descriptor for ever, and it
accepts connections without bound. Three guards, set up by `console.service`:

- a header timeout: a connection whose request head is not complete within
  `http.header_timeout_s` of its opening (or of the previous response) is closed;
- a cap per client address (`http.max_connections_per_address`; trusted proxies exempt): a
  connection beyond it is answered 503 and closed at once, before it is read;
- a cap on all connections (uvicorn's `limit_concurrency`, at most `http.max_connections`
  and always `RESERVED_FDS` below the open-files limit): a request beyond it is answered
  503, so the process keeps descriptors for its database, broker and InfluxDB.

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

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a request head may take and how many connections one address may hold."""

    header_timeout_s: float
    per_address: int
    exempt: tuple[Network, ...] = ()

    @classmethod
    def of(
        cls, header_timeout_s: float, per_address: int, trusted_proxies: Sequence[str]
    ) -> ConnectionLimits:
        """Limits with the trusted proxies (addresses or networks) exempt from the per-address
        cap: every client behind them shares their address."""
        exempt = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        return cls(header_timeout_s, per_address, exempt)

    def capped(self, host: str) -> bool:
        """True when connections from `host` count against the per-address cap."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a Unix socket path or a name: not an IP client
            return False
        return not any(address in net for net in self.exempt)


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
    """uvicorn's h11 protocol with the header timeout and the per-address cap of `limits`
    (one counter of open connections per address, shared by the server's connections)."""

    class GuardedH11Protocol(_Guarded):
        guard = limits
        open_by_address: ClassVar[Counter[str]] = Counter()

    return GuardedH11Protocol


class _Guarded(H11Protocol):
    guard: ClassVar[ConnectionLimits]
    open_by_address: ClassVar[Counter[str]]
    _head_timer: asyncio.TimerHandle | None = None
    _counted: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else ""
        if self.guard.capped(host):
            if self.open_by_address[host] >= self.guard.per_address:
                logger.debug("%s holds %d connections: refused", host, self.guard.per_address)
                transport.write(REFUSED)
                transport.close()
                return
            self.open_by_address[host] += 1
            self._counted = host
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._uncount()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is not None and self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete: the app's limits apply from here

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request's head has the same time

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()
        self._uncount()  # the connection is the WebSocket protocol's from here
        super().handle_websocket_upgrade(event)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.guard.header_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _uncount(self) -> None:
        if self._counted is not None:
            self.open_by_address[self._counted] -= 1
            if self.open_by_address[self._counted] <= 0:
                del self.open_by_address[self._counted]
            self._counted = None

    def _timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            logger.debug("no complete request head within %ss: closed", self.guard.header_timeout_s)
            self.transport.close()
