"""The whole gateway: run() in a thread against an in-test Modbus TCP server and real Mosquitto."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from bldgwatch.core import topics
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import MqttSettings, parse_config
from bldgwatch.core.models import Reading
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.profiles import Table, load_profiles
from bldgwatch.core.registers import DataType, encode
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.gateway.queue import ReadingQueue
from bldgwatch.gateway.service import run
from bldgwatch.servers import free_port
from tests.waiting import wait_for

PUMP_VALUES: dict[str, float | bool] = {
    "running": True,
    "tripped": False,
    "motor_current_a": 15.25,
    "outlet_pressure_bar": 3.5,
    "flow_m3h": 42.0,
    "vibration_mm_s": 2.75,
    "bearing_temp_c": 61.3,
    "winding_temp_c": 70.1,
    "run_hours": 1234.5,
    "start_count": 77,
    "rated_current_a": 18.5,
}


def pump_tables() -> dict[Table, list[Any]]:
    """The pump-generic register map filled with PUMP_VALUES, encoded with core.registers."""
    profile = load_profiles()["pump-generic"]
    tables: dict[Table, list[Any]] = {t: [] for t in Table}
    for spec in profile.points:
        value = PUMP_VALUES[spec.name]
        words: list[Any] = (
            [bool(value)]
            if spec.type is DataType.BOOL
            else encode(
                (float(value) - spec.offset) / spec.scale, spec.type, profile.order_of(spec)
            )
        )
        cells = tables[spec.table]
        cells.extend(
            [0 if spec.type is not DataType.BOOL else False]
            * (spec.address + len(words) - len(cells))
        )
        cells[spec.address : spec.address + len(words)] = words
    return tables


@pytest.fixture
def modbus_server() -> Iterator[int]:
    """A pymodbus TCP server (unit 1, the pump map) on a free port, in its own thread."""
    tables = pump_tables()
    device = SimDevice(
        id=1,
        simdata=(
            [SimData(0, values=[False], datatype=SimType.BITS)],
            [SimData(0, values=tables[Table.DISCRETE], datatype=SimType.BITS)],
            [SimData(0, values=tables[Table.HOLDING], datatype=SimType.REGISTERS)],
            [SimData(0, values=tables[Table.INPUT], datatype=SimType.REGISTERS)],
        ),
    )
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[ModbusTcpServer] = []

    async def serve() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        holder.append(server)
        await server.serve_forever(background=True)
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(10)
    assert ready.wait(10)
    yield port
    stopping = holder[0].shutdown()  # type: ignore[no-untyped-call]
    asyncio.run_coroutine_threadsafe(stopping, loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


class Inbox:
    """Everything that arrives on a topic filter (paho thread → test thread)."""

    def __init__(self, settings: MqttSettings, topic_filter: str) -> None:
        self.lock = threading.Lock()
        self.messages: list[paho.MQTTMessage] = []
        self.client = MqttClient(settings, client_id=f"t-{uuid.uuid4().hex[:8]}")
        self.client.subscribe(topic_filter, self._on)
        self.client.start()
        assert self.client.wait_connected(10)

    def _on(self, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(msg)

    def readings(self) -> list[Reading]:
        with self.lock:
            return [r for m in self.messages for r in decode_batch(bytes(m.payload)).batch.readings]

    def last_json(self) -> dict[str, Any] | None:
        with self.lock:
            return orjson.loads(self.messages[-1].payload) if self.messages else None

    def close(self) -> None:
        self.client.stop()


def latest(rs: list[Reading], equipment: str, point: str) -> Reading | None:
    found = [r for r in rs if r.equipment == equipment and r.point == point]
    return found[-1] if found else None


def test_gateway_end_to_end(
    tmp_path: Path, mqtt_settings: MqttSettings, modbus_server: int
) -> None:
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    sensor_topic = f"sensors/t/{gw}/TS-01"
    cfg = parse_config(
        {
            "site": "t",
            "gateway_id": gw,
            "mqtt": {"host": "127.0.0.1", "port": mqtt_settings.port},
            "queue": {"path": str(tmp_path / "q.sqlite"), "flush_interval_s": 0.1},
            "status_interval_s": 0.5,
            "devices": [
                {
                    "equipment": "P-01",
                    "building": "B1",
                    "profile": "pump-generic",
                    "host": "127.0.0.1",
                    "port": modbus_server,
                    "unit": 1,
                    "poll_interval_s": 0.2,
                },
                {
                    "equipment": "P-02",
                    "building": "B1",
                    "profile": "pump-generic",
                    "host": "127.0.0.1",
                    "port": free_port(),
                    "poll_interval_s": 0.2,
                    "timeout_s": 0.3,
                    "unavailable_after": 2,
                    "reconnect_min_s": 0.1,
                    "reconnect_max_s": 0.2,
                },
            ],
            "mqtt_sensors": [
                {
                    "equipment": "TS-01",
                    "type": "temp_sensor",
                    "building": "B1",
                    "topic": sensor_topic,
                    "points": {"temperature_c": "data.temp"},
                    "timestamp_path": "ts",
                },
            ],
        },
        GatewayConfig,
    )
    inbox = Inbox(mqtt_settings, topics.readings("t", gw))
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(cfg, stop), name="gateway")
    thread.start()
    try:
        wait_for(
            lambda: latest(inbox.readings(), "P-01", "bearing_temp_c"),
            timeout=20,
            what="P-01 readings",
        )
        rs = inbox.readings()
        for point, expected in PUMP_VALUES.items():
            reading = latest(rs, "P-01", point)
            assert reading is not None, point
            assert reading.value == pytest.approx(expected), point
            assert isinstance(reading.value, bool) == isinstance(expected, bool), point
        p01 = [
            m for m in inbox.messages if "P-01" in decode_batch(bytes(m.payload)).batch.equipment
        ]
        assert decode_batch(bytes(p01[0].payload)).batch.equipment["P-01"].type == "pump"
        assert latest(rs, "P-01", "_available").value is True  # type: ignore[union-attr]

        wait_for(
            lambda: latest(inbox.readings(), "P-02", "_available"),
            timeout=20,
            what="P-02 marked unavailable",
        )
        assert latest(inbox.readings(), "P-02", "_available").value is False  # type: ignore[union-attr]

        inbox.client.publish(sensor_topic, b"not json")
        inbox.client.publish(
            sensor_topic, orjson.dumps({"ts": "2026-01-01T00:00:00Z", "data": {"temp": 21.5}})
        )
        ts01 = wait_for(
            lambda: latest(inbox.readings(), "TS-01", "temperature_c"),
            timeout=20,
            what="the sensor reading",
        )
        assert (ts01.value, ts01.ts_ms) == (21.5, 1_767_225_600_000)

        status = Inbox(mqtt_settings, topics.gateway_status("t", gw))  # retained: arrives at once
        doc = wait_for(status.last_json, timeout=10, what="the retained status")
        assert doc["state"] == "online"
        wait_for(
            lambda: (status.last_json() or {}).get("sensors", {}).get("bad_payloads"),
            timeout=10,
            what="the bad payload counted in the status",
        )
        last = status.last_json()
        assert last is not None
        assert last["sensors"]["bad_payloads"] == {"malformed_json": 1}
        assert last["devices"]["P-01"]["available"] is True
        assert last["devices"]["P-02"]["available"] is False
        status.close()
    finally:
        stop.set()
        thread.join(30)
        inbox.close()
    assert not thread.is_alive()
    queue = ReadingQueue(tmp_path / "q.sqlite", max_bytes=1 << 30)
    assert queue.stats().depth == 0  # the clean stop flushed everything
    queue.close()
    after = Inbox(mqtt_settings, topics.gateway_status("t", gw))
    try:
        doc = wait_for(after.last_json, timeout=10, what="the retained offline status")
        assert doc["state"] == "offline"
    finally:
        after.close()
