"""/healthz and what the API says when a dependency or the schema is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bldgwatch.core.config import DatabaseSettings, InfluxSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from tests.console.conftest import ClientFactory
from tests.console.support import assert_problem


@pytest.fixture
def live_store(influx_settings: InfluxSettings) -> Iterator[TimeSeriesStore]:
    store = open_store(influx_settings)
    yield store
    store.close()


@pytest.fixture
def bare_db(empty_sqlite_settings: DatabaseSettings) -> Iterator[Engine]:
    """A database nobody has migrated."""
    engine = make_engine(empty_sqlite_settings)
    yield engine
    engine.dispose()


def test_healthy(
    sqlite_db: Engine, live_store: TimeSeriesStore, make_client: ClientFactory
) -> None:
    resp = make_client(sqlite_db, live_store).get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "ok",
        "database": True,
        "influxdb": True,
        "broker": True,  # this console has no broker
        "detail": {},
    }


def test_influx_unreachable_is_503(sqlite_db: Engine, make_client: ClientFactory) -> None:
    resp = make_client(sqlite_db).get("/healthz")
    assert resp.status_code == 503
    body = resp.json()
    assert (body["status"], body["database"], body["influxdb"]) == ("unavailable", True, False)
    assert "unreachable" in body["detail"]["influxdb"]


def test_missing_schema_is_reported(
    bare_db: Engine, live_store: TimeSeriesStore, make_client: ClientFactory
) -> None:
    resp = make_client(bare_db, live_store).get("/healthz")
    assert resp.status_code == 503
    body = resp.json()
    assert (body["database"], body["influxdb"]) == (False, True)
    assert "schema missing" in body["detail"]["database"]
    assert "work_orders" in body["detail"]["database"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/work-orders",
        "/api/alarms",
        "/api/sites",
        "/api/equipment",
        "/api/work-orders/1",
        "/api/alarms/x",
        "/api/equipment/demo/P-01",
    ],
)
def test_endpoints_answer_503_problems_while_the_schema_is_missing(
    bare_db: Engine, make_client: ClientFactory, path: str
) -> None:
    assert_problem(make_client(bare_db).get(path), 503, "schema missing", "db-upgrade")


def test_database_unreachable(
    live_store: TimeSeriesStore, make_client: ClientFactory, closed_influx: InfluxSettings
) -> None:
    port = closed_influx.url.rsplit(":", 1)[1]  # a port nothing listens on
    engine = make_engine(
        DatabaseSettings(url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=2")
    )
    try:
        client = make_client(engine, live_store)
        body = client.get("/healthz").json()
        assert (body["database"], body["influxdb"]) == (False, True)
        assert "unreachable" in body["detail"]["database"]
        assert_problem(client.get("/api/alarms"), 503, "database unavailable")
    finally:
        engine.dispose()
