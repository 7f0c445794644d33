"""Issue 12 #5 for work-order events: the maintenance service deletes an event's outbox row at
the broker's PUBACK, so a broker SIGKILLed before it saved that event would lose it for every
consumer session that was away. The service keeps confirmed events for `resend_window_s` and
publishes them again after the reconnect (core/resend.py); the copy is deduped on event_id."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import func, select

from bldgwatch.core import topics
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.maintenance.models import WorkOrderOutboxRow
from bldgwatch.maintenance.service import run
from bldgwatch.servers import Server, restart
from tests.maintenance.conftest import EventFactory, demo_site
from tests.persistent import SessionConsumer, saving_broker
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[list[Server]]:
    yield from saving_broker(tmp_path)


class OrderWatcher(SessionConsumer[WorkOrderEvent]):
    """A consumer of work-order events with a persistent session (a CMMS bridge, say)."""

    def __init__(self, settings: MqttSettings) -> None:
        super().__init__(settings, topics.ALL_WORK_ORDERS, WorkOrderEvent, name="orders")


def _status(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return messages[-1] if messages else {}


@dataclass
class Acknowledged:
    """A maintenance service that opened an order and had its event acknowledged (its outbox
    row deleted at the PUBACK) while a persistent consumer of work-order events was away."""

    watcher: OrderWatcher
    statuses: list[dict[str, Any]]

    def republished(self) -> int:
        """Events the service published again after a reconnect (its status)."""
        return int(_status(self.statuses).get("outbox", {}).get("republished", 0))


@contextmanager
def acknowledged_event(
    tmp_path: Path,
    broker: list[Server],
    sqlite_settings: DatabaseSettings,
    make_event: EventFactory,
    **config: Any,
) -> Iterator[Acknowledged]:
    """The setting of the broker-kill tests, up to the acknowledged event (`config`: more
    MaintenanceConfig fields); the service and the clients are stopped at the end."""
    settings = MqttSettings(port=broker[0].port)
    watcher = OrderWatcher(settings)
    watcher.client.stop()  # away; its session stays on the broker
    broker[0].stop()  # a clean stop saves the session, so only the event is at stake
    broker[0] = restart(broker[0])

    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(demo_site().model_dump(mode="json")))
    cfg = MaintenanceConfig(
        instance=f"m-{uuid.uuid4().hex[:8]}",
        mqtt=settings,
        database=sqlite_settings,
        site_files=[site],
        status_interval_s=0.2,
        outbox_poll_s=0.2,
        session_expiry_s=600,
        **config,
    )
    statuses: list[dict[str, Any]] = []
    probe = MqttClient(settings, client_id=f"probe-{uuid.uuid4().hex[:8]}")
    probe.subscribe(
        topics.service_status("maintenance", cfg.instance),
        lambda m: statuses.append(orjson.loads(m.payload)),
    )
    probe.start()
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(cfg, stop), daemon=True)
    thread.start()
    db = make_engine(sqlite_settings)

    def outbox_empty() -> bool:
        with session_factory(db)() as session:
            return session.scalar(select(func.count()).select_from(WorkOrderOutboxRow)) == 0

    try:
        wait_for(
            lambda: _status(statuses).get("state") == "running", timeout=30, what="maintenance"
        )
        alarm = make_event().model_dump_json(by_alias=True).encode()
        probe.publish(topics.alarms("demo", "P-01"), alarm, qos=1).wait_for_publish(5)
        wait_for(
            lambda: _status(statuses).get("outbox", {}).get("published", 0) >= 1,
            timeout=30,
            what="the work-order event confirmed by the broker",
        )
        wait_for(outbox_empty, timeout=10, what="the outbox row deleted at the PUBACK")
        yield Acknowledged(watcher, statuses)
    finally:
        stop.set()
        thread.join(30)
        for client in (watcher.client, probe):
            client.stop()
        db.dispose()


def test_a_work_order_event_acknowledged_just_before_a_broker_kill_still_arrives(
    tmp_path: Path,
    broker: list[Server],
    sqlite_settings: DatabaseSettings,
    make_event: EventFactory,
) -> None:
    with acknowledged_event(tmp_path, broker, sqlite_settings, make_event) as acked:
        broker[0].kill()  # SIGKILL, before any autosave: the queued event is gone
        broker[0] = restart(broker[0])
        wait_for(
            lambda: acked.republished() >= 1,
            timeout=30,
            what="the event published again after the reconnect",
        )
        watcher = acked.watcher
        watcher.reconnect()
        wait_for(lambda: watcher.events, timeout=30, what="the order event after the kill")
        assert [(e.change, e.equipment) for e in watcher.events] == [("created", "P-01")]
