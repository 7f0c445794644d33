"""Fixtures of the console tests: a migrated database, a console app and its test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from console.app import create_app
from console.config import ConsoleConfig
from core.clock import Clock
from core.config import DatabaseSettings, InfluxSettings
from core.db import make_engine, migrate
from core.servers import free_port
from core.tsdb import TimeSeriesStore, open_store

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def db(db_settings: DatabaseSettings) -> Iterator[Engine]:
    """A migrated database, on SQLite and on PostgreSQL."""
    engine = make_engine(db_settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_db(sqlite_settings: DatabaseSettings) -> Iterator[Engine]:
    """A migrated SQLite database."""
    engine = make_engine(sqlite_settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def closed_influx() -> InfluxSettings:
    """InfluxDB settings pointing at a port nothing listens on."""
    return InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=2)


@pytest.fixture
def make_client(closed_influx: InfluxSettings) -> Iterator[ClientFactory]:
    """Build a test client for an engine (and optionally a store and clock)."""
    stores: list[TimeSeriesStore] = []
    clients: list[TestClient] = []

    def factory(
        engine: Engine,
        store: TimeSeriesStore | None = None,
        clock: Clock | None = None,
        **client_kw: object,
    ) -> TestClient:
        if store is None:
            store = open_store(closed_influx)
            stores.append(store)
        app = create_app(ConsoleConfig(dev=True), engine=engine, store=store, clock=clock)
        client = TestClient(app, **client_kw)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
    for store in stores:
        store.close()
