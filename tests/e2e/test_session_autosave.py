"""Review of issue 12 #5: a consumer session created shortly before a broker kill. Mosquitto
writes a new session to disk only at its next autosave; a broker SIGKILLed before that forgets
the session, and what is published for it before the consumer is back goes nowhere. The
demo's and deploy's broker save every 5 s (`servers.AUTOSAVE_INTERVAL_S`), so once that
interval has passed the session, and what is queued for it after the restart, survive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.servers import AUTOSAVE_INTERVAL_S, Server, restart, start_mosquitto
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e]

TOPIC = "bw/v1/demo/workorders/P-01"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[list[Server]]:
    holder = [start_mosquitto(tmp_path / "broker")]
    yield holder
    holder[0].discard()


def _saved_since(server: Server, since_ns: int) -> bool:
    db = server.data_dir / "mosquitto.db"
    return db.exists() and db.stat().st_mtime_ns > since_ns


def test_a_durable_session_saved_by_the_short_autosave_survives_a_broker_kill(
    broker: list[Server],
) -> None:
    settings = MqttSettings(port=broker[0].port)
    client_id = f"durable-{uuid.uuid4().hex[:8]}"
    got: list[bytes] = []

    def consumer() -> MqttClient:
        client = MqttClient(settings, client_id=client_id, clean_start=False, session_expiry_s=600)
        client.subscribe(TOPIC, lambda m: got.append(bytes(m.payload)), qos=1)
        client.start()
        assert client.wait_subscribed(10)
        return client

    durable = consumer()
    created_ns = time.time_ns()
    durable.stop()  # away, as a restarting service is; nothing of the session is on disk yet
    # The broker's own autosave, not a clean stop, writes the session: within the interval.
    started = time.monotonic()
    wait_for(
        lambda: _saved_since(broker[0], created_ns),
        timeout=AUTOSAVE_INTERVAL_S + 5,
        what="the broker's autosave after the session was made",
    )
    assert time.monotonic() - started <= AUTOSAVE_INTERVAL_S + 2
    broker[0].kill()
    broker[0] = restart(broker[0])

    publisher = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}"
    )
    publisher.connect("127.0.0.1", settings.port)
    publisher.loop_start()
    try:
        for n in range(5):  # while the consumer is still away
            publisher.publish(TOPIC, f"order-{n}".encode(), qos=1).wait_for_publish(5)
        durable = consumer()
        wait_for(lambda: len(got) >= 5, timeout=20, what="what was queued for the session")
        assert got == [f"order-{n}".encode() for n in range(5)]
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        durable.stop()
