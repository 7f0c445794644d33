"""Modbus RTU over a socat pty pair: three unit ids on one line, one owner, requests
serialised with the configured inter-frame delay (seen from the device side)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from bldgwatch.core.config import MqttSettings
from tests.gateway.harness import (
    LOAD_POINTS,
    Collector,
    in_process_config,
    serving,
    write_load_profile,
)
from tests.waiting import wait_for

GAP_S = 0.05


class SerialDevices:
    """A pymodbus RTU server answering units 1–3 on a pty, recording each PDU's time."""

    def __init__(self, port: Path) -> None:
        self.events: list[tuple[float, bool]] = []  # (monotonic time, sending)
        self.lock = threading.Lock()
        devices = [
            SimDevice(
                id=unit,
                simdata=(
                    [SimData(0, count=16, values=False, datatype=SimType.BITS)],
                    [SimData(0, count=16, values=False, datatype=SimType.BITS)],
                    [
                        SimData(
                            0,
                            values=[100 * unit + i for i in range(LOAD_POINTS)],
                            datatype=SimType.REGISTERS,
                        )
                    ],
                    [SimData(0, count=1, values=0, datatype=SimType.REGISTERS)],
                ),
            )
            for unit in (1, 2, 3)
        ]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        holder: list[ModbusSerialServer] = []

        async def serve() -> None:
            holder.append(
                ModbusSerialServer(devices, port=str(port), baudrate=19200, trace_pdu=self._trace)
            )
            await holder[0].serve_forever(background=True)

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self._server = holder[0]

    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        with self.lock:
            self.events.append((time.monotonic(), sending))
        return pdu

    def close(self) -> None:
        stopping = self._server.shutdown()  # type: ignore[no-untyped-call]
        asyncio.run_coroutine_threadsafe(stopping, self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.mark.timeout(120)
def test_three_units_on_one_line_are_served_in_turn(
    tmp_path: Path, pty_pair: tuple[Path, Path], mqtt_settings: MqttSettings
) -> None:
    gw_end, device_end = pty_pair
    devices = SerialDevices(device_end)
    profile = write_load_profile(tmp_path / "profiles")
    cfg = in_process_config(
        tmp_path,
        mqtt_settings,
        "gw-rtu",
        profiles_dir=str(tmp_path / "profiles"),
        serial_ports=[
            {
                "name": "bus1",
                "device": str(gw_end),
                "baudrate": 19200,
                "inter_frame_delay_s": GAP_S,
                "timeout_s": 1.0,
            }
        ],
        devices=[
            {
                "equipment": f"R-0{unit}",
                "building": "B1",
                "profile": profile,
                "serial_port": "bus1",
                "unit": unit,
                "poll_interval_s": 0.2,
            }
            for unit in (1, 2, 3)
        ],
    )
    collector = Collector(mqtt_settings, "t", "gw-rtu")
    try:
        with serving(cfg) as gateway:
            wait_for(
                lambda: (
                    all((f"R-0{u}", "r49") in collector.values for u in (1, 2, 3))
                    and len(devices.events) > 64
                ),
                timeout=30,
                what="readings of all three units",
            )
    finally:
        devices.close()
        collector.close()
    for unit in (1, 2, 3):  # each unit's own registers, not a neighbour's
        assert collector.values[(f"R-0{unit}", "r07")] == 100 * unit + 7
    with devices.lock:
        events = list(devices.events)
    kinds = [sending for _, sending in events]
    # One exchange at a time: request, response, request, response ...
    assert all(kinds[i] != kinds[i + 1] for i in range(len(kinds) - 1))
    quiet = [
        events[i + 1][0] - events[i][0]
        for i in range(len(events) - 1)
        if events[i][1] and not events[i + 1][1]
    ]
    assert len(quiet) >= 30 and min(quiet) >= GAP_S * 0.9, min(quiet)
    assert gateway.buses["bus1"].exchanges >= len(quiet)
