"""A work order the console opens follows the owner's policy: the SLA clocks (and stage
settings and roster) the running maintenance service is configured with, which it stores at
start (`maintenance.policy`) — not built-in defaults. Found by the hostile review of issue 11.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.maintenance.service import run as run_maintenance
from bldgwatch.servers import free_port
from tests.console.conftest import auth_headers, seed_users
from tests.console.seed import T0, add, assets

pytestmark = pytest.mark.services

SITE_SLA = {"priorities": {3: {"response_min": 60, "resolution_h": 8}}}
"""The site's contract: P3 response within an hour (the built-in default is 480 min)."""


@pytest.fixture
def closed_influx() -> InfluxSettings:
    """InfluxDB settings pointing at a port nothing listens on (readings are not needed)."""
    return InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=2)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(minutes=30))


@pytest.fixture
def maintenance_service(
    sqlite_db: Engine,
    sqlite_settings: DatabaseSettings,
    mqtt_settings: MqttSettings,
    clock: ManualClock,
) -> Iterator[MaintenanceConfig]:
    """The owner, running with the site's SLA."""
    add(sqlite_db, *assets())
    cfg = MaintenanceConfig.model_validate(
        {
            "instance": f"review-sla-{os.getpid()}",
            "mqtt": mqtt_settings.model_dump(),
            "database": sqlite_settings.model_dump(),
            "sla": SITE_SLA,
            "plans": {"enabled": False},
        }
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_maintenance, args=(cfg, stop), kwargs={"clock": clock}, daemon=True
    )
    thread.start()
    yield cfg
    stop.set()
    thread.join(timeout=30)


@pytest.fixture
def client(
    sqlite_db: Engine,
    mqtt_settings: MqttSettings,
    closed_influx: InfluxSettings,
    clock: ManualClock,
    maintenance_service: MaintenanceConfig,
) -> Iterator[TestClient]:
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    app = create_app(
        ConsoleConfig(dev=True, mqtt=mqtt_settings), engine=sqlite_db, store=store, clock=clock
    )
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def test_a_console_repair_request_follows_the_owners_sla(
    client: TestClient, clock: ManualClock
) -> None:
    resp = client.post(
        "/api/work-orders",
        json={"site": "demo", "equipment": "P-01", "title": "pump noisy", "priority": 3},
        headers=auth_headers(client, "supervisor"),
    )
    assert resp.status_code == 201, resp.text
    due = datetime.fromisoformat(resp.json()["response_due"])
    assert due == clock.now() + timedelta(minutes=60), (
        f"response due {due - clock.now()} after the request; the owner's SLA says 1:00:00"
    )
