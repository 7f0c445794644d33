"""Hostile review of issue 12 #5 ("nothing lost through broker restarts") for alarm events:
the gateway covers a broker SIGKILLed before its autosave by resending what it got PUBACKs
for; the rules service's outbox forgets an event at its PUBACK and has no such cover."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from bldgwatch.core import topics
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.service import run
from bldgwatch.servers import Server, restart
from tests.persistent import SessionConsumer, saving_broker
from tests.rules.wire import SITE
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[list[Server]]:
    yield from saving_broker(tmp_path)


class Notifier(SessionConsumer[AlarmEvent]):
    """A consumer of alarm events with a persistent session, like alerts and maintenance."""

    def __init__(self, settings: MqttSettings) -> None:
        super().__init__(settings, topics.ALL_ALARMS, AlarmEvent, name="notifier")


def test_an_alarm_event_acknowledged_just_before_a_broker_kill_still_reaches_its_consumers(
    tmp_path: Path, broker: list[Server], sqlite_settings: DatabaseSettings
) -> None:
    """FINDING (high): the alerts service is down for a moment (restarting under the
    supervisor) while an elevator overspeeds. Rules publishes the P1 alarm event; Mosquitto
    queues it in alerts' persistent session and PUBACKs it; rules deletes its outbox row.
    The broker is then SIGKILLed before its next autosave and restarted: the queued
    event is gone, rules never sends it again, and alerts (and maintenance) never hear of
    the alarm: no one is woken, no work order. docs/architecture.md covers this window only
    for readings (the gateway's resend_window_s); alarm and work-order events have no
    cover."""
    port = broker[0].port
    settings = MqttSettings(port=port)
    notifier = Notifier(settings)
    notifier.client.stop()  # alerts is away; its session stays on the broker
    broker[0].stop()  # a clean stop saves the session, so only the event is at stake
    broker[0] = restart(broker[0])

    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE))
    config = RulesConfig(
        instance=f"review12-{uuid.uuid4().hex[:8]}",
        mqtt=settings,
        database=sqlite_settings,
        site_files=[site],
        packs=["elevator"],
        status_interval_s=0.5,
        outbox_sweep_s=1.0,
    )
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), daemon=True)
    thread.start()
    watcher_events: list[bytes] = []
    watcher = MqttClient(settings, client_id=f"watch-{uuid.uuid4().hex[:8]}")
    watcher.subscribe(topics.ALL_ALARMS, lambda m: watcher_events.append(bytes(m.payload)), qos=1)
    watcher.subscribe(
        "bw/v1/_svc/rules/+/status", lambda m: watcher_events.append(b"status"), qos=1
    )
    gateway = MqttClient(settings, client_id=f"gw-{uuid.uuid4().hex[:8]}")
    watcher.start()
    gateway.start()
    db = make_engine(sqlite_settings)
    try:
        wait_for(lambda: b"status" in watcher_events, timeout=30, what="rules up")
        batch = ReadingBatch(
            "demo",
            "gw-1",
            1,
            {"E-01": EquipmentInfo("elevator", "B1")},
            [Reading("E-01", "speed_m_s", int(time.time() * 1000), 3.0)],
        )
        gateway.publish(topics.readings("demo", "gw-1"), encode_batch(batch), qos=1)
        wait_for(lambda: any(e != b"status" for e in watcher_events), timeout=20, what="the alarm")

        def outbox_empty() -> bool:
            with db.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM alarm_outbox")).scalar() == 0

        wait_for(outbox_empty, timeout=20, what="rules' outbox confirmed")
        broker[0].kill()  # SIGKILL, before any autosave
        broker[0] = restart(broker[0])
        notifier.reconnect()
        wait_for(lambda: notifier.events, timeout=30, what="the alarm event after the broker kill")
        assert {e.rule for e in notifier.events} >= {"elevator.overspeed_1_2"}
    finally:
        stop.set()
        thread.join(30)
        for client in (notifier.client, watcher, gateway):
            client.stop()
        db.dispose()
