"""`run()` in a thread against the real Mosquitto: control topic, sensors, ground truth."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from pymodbus.client import ModbusTcpClient

from bldgwatch.core import topics
from bldgwatch.core.config import MqttSettings, parse_config
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.registers import DataType, decode
from bldgwatch.servers import free_port
from bldgwatch.simulators.config import SimulatorConfig
from bldgwatch.simulators.service import TickStats, run
from tests.waiting import wait_for

pytestmark = pytest.mark.services


class Inbox:
    """Messages received by a test client, per topic."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_topic: dict[str, list[Any]] = {}

    def handler(self, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.by_topic.setdefault(msg.topic, []).append(orjson.loads(msg.payload))

    def last(self, topic: str) -> Any:
        with self.lock:
            items = self.by_topic.get(topic, [])
            return items[-1] if items else None


@pytest.fixture
def observer(mqtt_settings: MqttSettings) -> Iterator[tuple[MqttClient, Inbox]]:
    inbox = Inbox()
    client = MqttClient(mqtt_settings, client_id=f"t-{uuid.uuid4().hex[:8]}")
    client.subscribe("sensors/#", inbox.handler)
    client.subscribe("bw/v1/_sim/#", inbox.handler)
    client.start()
    assert client.wait_connected(10)
    yield client, inbox
    client.stop()


def bearing_temp(port: int) -> float | None:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    try:
        if not client.connect():  # type: ignore[no-untyped-call]
            return None
        response = client.read_input_registers(8, count=1, device_id=1)
        if response.isError():
            return None
        return float(decode(response.registers, DataType.INT16)) * 0.1
    finally:
        client.close()  # type: ignore[no-untyped-call]


def active_faults(inbox: Inbox, site: str) -> list[tuple[str, str]] | None:
    status = inbox.last(topics.sim_status(site))
    if status is None:
        return None
    return [(item["equipment"], item["fault"]) for item in status["active"]]


def test_run_serves_devices_sensors_control_and_ground_truth(
    mqtt_settings: MqttSettings, observer: tuple[MqttClient, Inbox], tmp_path: Path
) -> None:
    client, inbox = observer
    site, port = f"t{uuid.uuid4().hex[:8]}", free_port()
    truth = tmp_path / "truth.jsonl"
    cfg = parse_config(
        {
            "site": site,
            "speed": 5.0,
            "step_s": 0.1,
            "mqtt": mqtt_settings.model_dump(),
            "ground_truth": str(truth),
            "devices": [
                {"equipment": "P-01", "kind": "pump", "profile": "pump-generic", "port": port}
            ],
            "sensors": [
                {
                    "equipment": "TS-01",
                    "kind": "temp_sensor",
                    "topic": f"sensors/{site}/TS-01",
                    "interval_s": 1.0,
                }
            ],
        },
        SimulatorConfig,
    )
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(cfg, stop), name="simulator")
    thread.start()
    try:
        reading = wait_for(
            lambda: inbox.last(f"sensors/{site}/TS-01"), timeout=15, what="a sensor message"
        )
        assert set(reading) == {"temperature_c", "ts"} and reading["ts"].endswith("Z")
        assert 15 < reading["temperature_c"] < 35
        assert wait_for(lambda: active_faults(inbox, site) == [], timeout=10, what="status")
        before = wait_for(lambda: bearing_temp(port), timeout=10, what="a Modbus answer")
        assert before < 70

        control = topics.sim_control(site)
        client.publish(control, b"{not json")
        client.publish(control, b'{"equipment":"P-01","fault":"entrapment","action":"start"}')
        client.publish(
            control,
            orjson.dumps(
                {
                    "equipment": "P-01",
                    "fault": "bearing_overheat",
                    "action": "start",
                    "params": {"rate_c_per_s": 3},
                }
            ),
        )
        wait_for(
            lambda: active_faults(inbox, site) == [("P-01", "bearing_overheat")],
            timeout=10,
            what="the fault in the status",
        )
        wait_for(lambda: (bearing_temp(port) or 0) > 85, timeout=20, what="bearing above 85 C")

        client.publish(
            control,
            orjson.dumps({"equipment": "P-01", "fault": "bearing_overheat", "action": "stop"}),
        )
        wait_for(lambda: active_faults(inbox, site) == [], timeout=10, what="fault stopped")
        lines = wait_for(
            lambda: truth.read_bytes().splitlines() if truth.exists() else None,
            timeout=10,
            what="a ground-truth line",
        )
        first = orjson.loads(lines[0])
        assert (first["equipment"], first["fault"]) == ("P-01", "bearing_overheat")
        assert first["start"] < first["end"] and first["params"]["rate_c_per_s"] == 3

        client.publish(
            control, orjson.dumps({"equipment": "TS-01", "fault": "stuck", "action": "start"})
        )
        wait_for(
            lambda: active_faults(inbox, site) == [("TS-01", "stuck")],
            timeout=10,
            what="stuck in the status",
        )
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    lines = truth.read_bytes().splitlines()
    assert len(lines) == 2
    assert orjson.loads(lines[1])["fault"] == "stuck"  # open episode closed at shutdown
    final = wait_for(
        lambda: (s := inbox.last(topics.sim_status(site))) and not s["running"] and s,
        timeout=10,
        what="the final status",
    )
    assert final["active"] == []
    assert bearing_temp(port) is None  # the server is gone


def test_tick_stats_count_overruns() -> None:
    stats = TickStats()
    for took in (0.01, 0.3, 0.05, 0.25):
        stats.add(took, 0.2)
    assert (stats.count, stats.overruns, stats.slowest_s) == (4, 2, 0.3)
