"""Fixtures shared by every test: the real servers (Mosquitto, InfluxDB 1.x, PostgreSQL) on
free ports, settings that reach them, and the relational store.

`mosquitto` takes anonymous clients (the tests of one component); `demo_broker` is the demo's
broker, with an account per component and the ACL (the end-to-end and identity tests).

Outside CI a missing server skips the tests that need it; with CI=true it fails them.

The relational store: `db_settings` (SQLite and PostgreSQL) and `sqlite_settings` are
migrated to the newest schema, as the `bldgwatch` command leaves it before it starts a
service. Each worker migrates one template per backend and each test gets a copy of it
(migrating takes 0.2-0.4 s, about half the time of a console API test; a copy takes
milliseconds and is the same database). `db` and `sqlite_db` are engines on them and
`sessions` a session factory on `db`; `empty_db_settings` and `empty_sqlite_settings` are
fresh, unmigrated databases (for the tests of the migrations themselves and of a missing
schema).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.files import ensure_private
from bldgwatch.demo import start_demo_broker
from bldgwatch.migrations import migrate
from bldgwatch.servers import Server, ServerError, start_influxd, start_mosquitto
from tests.ordering import spread_long_tests
from tests.pgserver import create_pg_database, start_postgres
from tests.tools import unavailable


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, each worker's share of the tests starts with its long ones (tests.ordering)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    items[:] = spread_long_tests(items, workers)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Mosquitto broker for the whole session."""
    try:
        server = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    except ServerError as err:
        unavailable(f"mosquitto unavailable: {err}")
    yield server
    server.discard()


@pytest.fixture(scope="session")
def demo_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Mosquitto as the demo runs it: an account per component, the ACL, no anonymous."""
    try:
        server = start_demo_broker(tmp_path_factory.mktemp("demo-broker"))
    except ServerError as err:
        unavailable(f"mosquitto unavailable: {err}")
    yield server
    server.discard()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An InfluxDB 1.x server for the whole session."""
    try:
        server = start_influxd(tmp_path_factory.mktemp("influxd"))
    except ServerError as err:
        unavailable(f"influxd unavailable: {err}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A PostgreSQL cluster for the whole session."""
    try:
        server = start_postgres(tmp_path_factory.mktemp("postgres"))
    except (ServerError, OSError) as err:
        unavailable(f"postgresql unavailable: {err}")
    yield server
    server.stop()


@pytest.fixture
def mqtt_settings(mosquitto: Server) -> MqttSettings:
    """Settings reaching the session's broker."""
    return MqttSettings(host="127.0.0.1", port=mosquitto.port)


@pytest.fixture
def influx_settings(influxd: Server) -> InfluxSettings:
    """Settings for a fresh database of its own on the session's InfluxDB."""
    return InfluxSettings(url=influxd.extra["url"], database=f"t_{uuid.uuid4().hex[:12]}")


def _migrated(settings: DatabaseSettings) -> DatabaseSettings:
    # Services expect a migrated store: the `bldgwatch` command migrates before it starts one.
    engine = make_engine(settings)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return settings


@pytest.fixture
def empty_sqlite_settings(tmp_path: Path) -> DatabaseSettings:
    """A fresh, empty SQLite file (for the tests of the migrations themselves)."""
    return DatabaseSettings(url=f"sqlite:///{tmp_path / 'bldgwatch.db'}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest schema, once per worker (copied, never used)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "bldgwatch.db"
    _migrated(DatabaseSettings(url=f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template(postgres: Server) -> str:
    """A PostgreSQL database migrated to the newest schema, once per worker (copied with
    `CREATE DATABASE ... TEMPLATE`, never connected to again)."""
    name = f"template_{uuid.uuid4().hex[:12]}"
    _migrated(DatabaseSettings(url=create_pg_database(postgres, name)))
    return name


def sqlite_copy(template: Path, url: str) -> DatabaseSettings:
    """A copy of the migrated `template` at the SQLite `url` (milliseconds, not a migration)."""
    path = Path(url.removeprefix("sqlite:///"))
    ensure_private(path)  # created 0600, as `make_engine` creates a database file
    target = sqlite3.connect(path)
    source = sqlite3.connect(template)
    try:
        source.backup(target)  # the whole database, page by page, whatever its journal mode
    finally:
        source.close()
        target.close()
    return DatabaseSettings(url=url)


@pytest.fixture
def sqlite_settings(
    empty_sqlite_settings: DatabaseSettings, sqlite_template: Path
) -> DatabaseSettings:
    """A fresh SQLite file with the newest schema."""
    return sqlite_copy(sqlite_template, empty_sqlite_settings.url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseSettings:
    """The relational store on SQLite and on PostgreSQL (a fresh, empty database each)."""
    if request.param == "sqlite":
        return DatabaseSettings(url=f"sqlite:///{tmp_path / 'bldgwatch.db'}")
    server: Server = request.getfixturevalue("postgres")
    return DatabaseSettings(url=create_pg_database(server, f"t_{uuid.uuid4().hex[:12]}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseSettings:
    """The relational store on SQLite and on PostgreSQL, migrated to the newest schema (a
    fresh copy of the worker's template each)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        return sqlite_copy(template, f"sqlite:///{tmp_path / 'bldgwatch.db'}")
    server: Server = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    copied = request.getfixturevalue("pg_template")
    return DatabaseSettings(url=create_pg_database(server, name, template=copied))


@pytest.fixture
def db(db_settings: DatabaseSettings) -> Iterator[Engine]:
    """An engine on the migrated store, on SQLite and on PostgreSQL."""
    engine = make_engine(db_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_db(sqlite_settings: DatabaseSettings) -> Iterator[Engine]:
    """An engine on a migrated SQLite file."""
    engine = make_engine(sqlite_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db: Engine) -> sessionmaker[Session]:
    """A session factory on the migrated store (SQLite and PostgreSQL)."""
    return session_factory(db)
