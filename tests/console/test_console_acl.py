"""Hostile review of issue 12 #3 on the demo's broker (accounts and ACL): what the console's
own account may read."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as paho
import pytest

from bldgwatch.console.liveness import READINGS
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.servers import Server

pytestmark = pytest.mark.services


def test_the_console_account_receives_the_readings_its_liveness_subscribes_to(
    demo_broker: Server,
) -> None:
    """FINDING (high, the demo and every deployment with the ACL): the console's broker
    bridge (console/bus.py) subscribes to `bw/v1/+/+/readings` at QoS 0 to measure data age
    (docs/wire-format.md: "the console reads them and the readings topics (at QoS 0) for data
    age"), but the generated ACL (bldgwatch/broker_auth.py, deploy/mosquitto/acl) gives the
    `console` account only alarms, work orders and statuses. Under the demo's own broker the
    console never sees a reading: every gateway and device shows no data age, the header's
    "fresh" is false for ever, and "live" never holds, however healthy the plant. Tests of
    liveness run on the anonymous broker, so none notices."""
    auth = demo_broker.auth
    assert auth is not None
    got = threading.Event()

    def on_reading(msg: paho.MQTTMessage) -> None:
        got.set()

    console = MqttClient(
        auth.settings(MqttSettings(port=demo_broker.port), "console"),
        client_id=f"console-{uuid.uuid4().hex[:8]}",
    )
    console.subscribe(READINGS, on_reading, qos=0)
    gateway = MqttClient(
        auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1"),
        client_id=f"gw-{uuid.uuid4().hex[:8]}",
    )
    console.start()
    gateway.start()
    try:
        assert console.wait_subscribed(10)
        assert gateway.wait_connected(10)
        batch = ReadingBatch(
            "demo",
            "gw-1",
            1,
            {"P-01": EquipmentInfo("pump", "B1")},
            [Reading("P-01", "flow_m3h", 1_767_225_600_000, 5.0)],
        )
        for _ in range(3):
            gateway.publish("bw/v1/demo/gw-1/readings", encode_batch(batch), qos=1)
            if got.wait(3):
                break
        assert got.is_set(), "the console's account never received a readings message"
    finally:
        console.stop()
        gateway.stop()
