"""Assigning a work order in the console reaches the technician: the change goes through
`maintenance.desk`, and the maintenance service (real broker, its own identity) publishes the
event and sends the assignment notice by webhook and e-mail from its outbox."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_string
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.notify import NotifySettings, SmtpSettings, WebhookTarget
from bldgwatch.maintenance.roster import RosterSettings, Technician
from bldgwatch.maintenance.service import MaintenanceConfig
from bldgwatch.maintenance.service import run as run_maintenance
from tests.console.conftest import auth_headers, seed_users
from tests.console.seed import T0, add, assets, work_order
from tests.maintenance.servers import Mail, http_sink, smtp_sink
from tests.waiting import wait_for

pytestmark = pytest.mark.services

TECH2 = Technician(
    id="tech2", name="Li Wei", sites=["demo"], skills=["mechanical"], email="tech2@example.org"
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(minutes=30))  # the seeded order is not overdue yet


@pytest.fixture
def channels() -> Iterator[tuple[list[bytes], str, list[Mail], int]]:
    """A webhook receiver and a mail server on loopback."""
    with http_sink() as (hook, url), smtp_sink() as (mails, port):
        yield hook.bodies, url, mails, port


@pytest.fixture
def maintenance_service(
    sqlite_db: Engine,
    sqlite_settings: DatabaseSettings,
    mqtt_settings: MqttSettings,
    clock: ManualClock,
    channels: tuple[list[bytes], str, list[Mail], int],
) -> Iterator[None]:
    """The maintenance service with a roster and both notice channels."""
    _, url, _, smtp_port = channels
    rows = assets()
    for row in rows:  # this test reads the notices in English
        if isinstance(row, SiteRow):
            row.language = "en"
    add(sqlite_db, *rows)
    add(sqlite_db, work_order(0))
    cfg = MaintenanceConfig(
        instance=f"console-notices-{os.getpid()}",
        mqtt=mqtt_settings,
        database=sqlite_settings,
        roster=RosterSettings(technicians=[TECH2]),
        notify=NotifySettings(webhooks=[WebhookTarget(url=url)], smtp=SmtpSettings(port=smtp_port)),
        outbox_poll_s=0.2,
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_maintenance, args=(cfg, stop), kwargs={"clock": clock}, daemon=True
    )
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture
def client(
    sqlite_db: Engine,
    mqtt_settings: MqttSettings,
    closed_influx: InfluxSettings,
    clock: ManualClock,
    maintenance_service: None,
) -> Iterator[TestClient]:
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    cfg = ConsoleConfig(dev=True, mqtt=mqtt_settings)
    app = create_app(cfg, engine=sqlite_db, store=store, clock=clock)
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def test_assigning_in_the_console_sends_the_assignment_notice(
    client: TestClient, channels: tuple[list[bytes], str, list[Mail], int]
) -> None:
    hooks, _, mails, _ = channels
    token = auth_headers(client, "engineer")["Authorization"].split()[1]
    with client.websocket_connect(f"/api/live?access_token={token}") as ws:
        assert orjson.loads(ws.receive_text())["kind"] == "hello"
        resp = client.post(
            "/api/work-orders/1/assign",
            json={"technician": "tech2", "note": "pump room, level B1"},
            headers=auth_headers(client, "supervisor"),
        )
        assert resp.status_code == 200, resp.text
        assert (resp.json()["status"], resp.json()["assigned_to"]) == ("assigned", "tech2")

        # The webhook and the mail come from the maintenance service's relay.
        [body] = wait_for(lambda: list(hooks), timeout=30, what="the assignment webhook")
        notice: dict[str, Any] = orjson.loads(body)
        assert (notice["kind"], notice["work_order_id"], notice["assigned_to"]) == (
            "assigned",
            1,
            "tech2",
        )
        assert notice["recipients"] == ["tech2@example.org"]
        assert "assigned to Li Wei" in notice["text"]
        [mail] = wait_for(lambda: list(mails), timeout=30, what="the assignment e-mail")
        assert mail.recipients == ["tech2@example.org"]
        assert message_from_string(mail.data)["Subject"].startswith("[bldgwatch assigned] #1 P2")

        # ... and the event reaches the console's clients through the broker.
        hub = client.app.state.hub  # type: ignore[attr-defined]
        wait_for(lambda: hub.last_id, timeout=30, what="the work-order event on the live hub")
        while True:
            live = orjson.loads(ws.receive_text())
            if live["kind"] == "work_order":
                break
        assert (live["data"]["change"], live["data"]["assigned_to"]) == ("assigned", "tech2")
        assert live["data"]["work_order_id"] == 1
    assert len(hooks) == 1 and len(mails) == 1
