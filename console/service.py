"""`bldgwatch console`: serve the REST API and the dashboard with uvicorn until `stop` is set."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.connections import (
    ConnectionLimits,
    connection_cap,
    guarded_protocol,
    raise_fd_limit,
)
from bldgwatch.console.errors import ConsoleStartError
from bldgwatch.console.security import resolve_secret
from bldgwatch.console.users import ensure_dev_admin, sync_all_technicians
from bldgwatch.console.wsframes import FramedWebSocketProtocol
from bldgwatch.core.clock import SystemClock
from bldgwatch.core.db import make_engine
from bldgwatch.core.runner import settle_heap
from bldgwatch.core.sdnotify import HEARTBEAT
from bldgwatch.core.tsdb import open_store

__all__ = ["run"]

logger = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_S = 5


TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Keep tokens sent in the URL (`/api/live?access_token=…`) out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_IN_URL.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


class _StopEventServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the caller and exits when `stop` is set."""

    def __init__(self, config: uvicorn.Config, stop: threading.Event) -> None:
        super().__init__(config)
        self._stop = stop

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The runner turns SIGINT/SIGTERM into `stop`; uvicorn must not take them over.
        yield

    async def on_tick(self, counter: int) -> bool:
        HEARTBEAT.beat()  # the event loop turns (uvicorn ticks every 0.1 s)
        if self.started:  # listening: systemd may start what comes after the console
            HEARTBEAT.ready()
        if self._stop.is_set():
            self.should_exit = True
        return await super().on_tick(counter)


def check(cfg: ConsoleConfig) -> None:
    """What must hold before anything is touched: outside dev mode a strong secret
    (InsecureSecretError, a ConfigError)."""
    resolve_secret(os.environ, dev=cfg.dev)


def _server_config(cfg: ConsoleConfig, app: FastAPI) -> uvicorn.Config:
    """uvicorn's settings: the open-files limit raised, connections capped below it, request
    heads and bodies timed (`console.connections`)."""
    cap = connection_cap(cfg.http.max_connections, raise_fd_limit())
    logger.info(
        "connections: at most %d (%d per address), request heads within %ss, body pauses up to %ss",
        cap,
        cfg.http.max_connections_per_address,
        cfg.http.header_timeout_s,
        cfg.http.body_timeout_s,
    )
    limits = ConnectionLimits.of(
        cfg.http.header_timeout_s,
        cfg.http.max_connections_per_address,
        cfg.http.trusted_proxies,
        body_timeout_s=cfg.http.body_timeout_s,
        cap=cap,
    )
    return uvicorn.Config(
        app,
        host=cfg.http.host,
        port=cfg.http.port,
        http=guarded_protocol(limits),
        limit_concurrency=cap,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
        # Forwarding headers count only from `http.trusted_proxies` (the app applies
        # them); uvicorn's own handling would trust loopback by default.
        proxy_headers=False,
        ws=FramedWebSocketProtocol,  # uvicorn's websockets-sansio, plus frames built once
        ws_ping_interval=20,
        ws_per_message_deflate=False,  # small JSON events: compression costs more
    )


def run(cfg: ConsoleConfig, stop: threading.Event) -> None:
    """Serve until `stop` is set, then finish open requests, close connections and return.

    Expects a migrated database (the `bldgwatch` command migrates before it starts the
    console); in dev mode makes sure the `admin` user exists. Raises InsecureSecretError (a
    ConfigError: exit 2) outside dev mode without a strong BLDGWATCH_SECRET, and
    ConsoleStartError when the HTTP listener cannot start (e.g. the port is taken).
    """
    resolve_secret(os.environ, dev=cfg.dev)  # refuse to start before touching anything
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
    engine = make_engine(cfg.database)
    store = open_store(cfg.influx)
    try:
        if cfg.dev:
            ensure_dev_admin(engine, cfg.security.dev_admin_password, SystemClock().now())
        techs = sync_all_technicians(engine, SystemClock().now())
        logger.info("%d technician users kept in maintenance's directory", techs)
        app = create_app(cfg, engine=engine, store=store)
        server = _StopEventServer(_server_config(cfg, app), stop)
        settle_heap()  # the app and its models live as long as the process
        logger.info("console on http://%s:%d", cfg.http.host, cfg.http.port)
        try:
            server.run()
        except SystemExit as err:  # uvicorn exits when it cannot bind
            raise ConsoleStartError(
                f"console could not listen on {cfg.http.host}:{cfg.http.port}"
            ) from err
        if not stop.is_set():
            raise ConsoleStartError("console HTTP server stopped without being asked to")
    finally:
        store.close()
        engine.dispose()
    logger.info("console stopped")
