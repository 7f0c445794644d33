"""`bldgwatch console`: serve the REST API and the dashboard with uvicorn until `stop` is set."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import uvicorn

from console.app import create_app
from console.config import ConsoleConfig, HttpSettings
from console.errors import ConsoleStartError
from core.db import make_engine
from core.tsdb import open_store

__all__ = ["ConsoleConfig", "HttpSettings", "run"]

logger = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_S = 5


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
        if self._stop.is_set():
            self.should_exit = True
        return await super().on_tick(counter)


def run(cfg: ConsoleConfig, stop: threading.Event) -> None:
    """Serve until `stop` is set, then finish open requests, close connections and return.

    The console only reads the database; it never migrates it (the writers own the schema).
    Raises ConsoleStartError when the HTTP listener cannot start (e.g. the port is taken).
    """
    if not cfg.dev:
        logger.warning("dev is false but authentication is not implemented yet: the API is open")
    engine = make_engine(cfg.database)
    store = open_store(cfg.influx)
    try:
        app = create_app(cfg, engine=engine, store=store)
        server = _StopEventServer(
            uvicorn.Config(
                app,
                host=cfg.http.host,
                port=cfg.http.port,
                log_config=None,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
                lifespan="off",
            ),
            stop,
        )
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
