"""A scenario served for real: several units on one port per building, stages in the truth."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from pathlib import Path

import orjson
import pytest
from pymodbus.client import AsyncModbusTcpClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException

from bldgwatch.core.config import MqttSettings
from bldgwatch.servers import free_port
from bldgwatch.simulators.fleet import build_fleet, serve_fleet
from bldgwatch.simulators.scenario import expand, load_scenario
from tests.waiting import wait_for

pytestmark = pytest.mark.services
SCENARIOS = Path(__file__).resolve().parents[2] / "simulators" / "scenarios"
DEMO, PORTFOLIO = SCENARIOS / "demo.yaml", SCENARIOS / "portfolio.yaml"


def units_answering(port: int) -> list[int]:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    try:
        if not client.connect():  # type: ignore[no-untyped-call]
            return []
        lift = client.read_holding_registers(0, count=1, device_id=1)  # E-01: status word
        pump = client.read_input_registers(0, count=2, device_id=2)  # P-01
        panel = client.read_input_registers(0, count=2, device_id=3)  # SP-01
        return [i + 1 for i, r in enumerate((lift, pump, panel)) if not r.isError()]
    finally:
        client.close()  # type: ignore[no-untyped-call]


def test_demo_scenario_serves_and_records_stages(
    mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    port = free_port()
    scn = load_scenario(DEMO).model_copy(
        update={"base_port": port, "mqtt": mqtt_settings, "speed": 60.0, "step_s": 0.1}
    )
    truth, history = tmp_path / "truth.jsonl", tmp_path / "history.csv"
    services = build_fleet(scn, ground_truth=truth, history=history)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(serve_fleet(services, stop)))
    thread.start()
    try:
        assert wait_for(lambda: units_answering(port) == [1, 2, 3], timeout=15, what="3 units")
        # bearing_overheat runs from 30 s to 150 s simulated: 2.5 s of wall time at 60x
        lines = wait_for(
            lambda: truth.read_bytes().splitlines() if truth.exists() else None,
            timeout=30,
            what="the first episode",
        )
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    first = orjson.loads(lines[0])
    assert (first["equipment"], first["fault"]) == ("P-01", "bearing_overheat")
    assert first["stage"] in {"early", "mid", "late"}
    rows = history.read_text().splitlines()
    assert rows[0] == "asset_id,asset_class,event,at" and len(rows) > 4


def free_port_range(count: int) -> int:
    """A base port with `count` consecutive free ports."""
    for base in range(22000, 60000, 211):
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no free port range")


async def last_units_answer(ports: list[int], unit: int) -> bool:
    """Each building's server answers for its last unit (a shaft panel). A server that is
    not up yet, or too slow on a busy machine, is "not yet", not a failure."""
    for port in ports:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        try:
            if not await client.connect():
                return False
            response = await client.read_input_registers(0, count=14, device_id=unit)
            if response.isError() or len(response.registers) != 14:
                return False
        except ModbusException:
            return False
        finally:
            client.close()
    return True


def test_portfolio_serves_a_thousand_devices_from_one_process(mqtt_settings: MqttSettings) -> None:
    scn = load_scenario(PORTFOLIO)
    assets = expand(scn)
    buildings = len({a.building for a in assets})
    base = free_port_range(buildings)
    scn = scn.model_copy(update={"base_port": base, "mqtt": mqtt_settings})
    services = build_fleet(scn, ground_truth=None, history=None)
    assert sum(len(svc.cfg.devices) for svc in services) == len(assets) >= 1000
    last_unit = max(a.unit for a in assets)
    ports = list(range(base, base + buildings))
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(serve_fleet(services, stop)))
    thread.start()
    try:
        wait_for(
            lambda: asyncio.run(last_units_answer(ports, last_unit)),
            timeout=60,
            what="every building's server",
        )
        wait_for(lambda: all(svc.ticks.count >= 3 for svc in services), timeout=30, what="ticks")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert all(svc.ticks.overruns == 0 for svc in services)
