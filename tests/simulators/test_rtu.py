"""Modbus RTU: several units on one serial port, read through a socat pty pair."""

from __future__ import annotations

from typing import Any

import pytest
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusException

from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.simulators.config import SimulatorConfig
from bldgwatch.simulators.modbus_server import ModbusDeviceServer, UnitBinding
from bldgwatch.simulators.service import build_servers
from bldgwatch.simulators.simulation import Simulation
from tests.simulators.helpers import T0
from tests.simulators.test_modbus_server import assert_matches, profile_of, read_device, stepped


async def test_three_units_on_one_serial_port(pty_pair: tuple[str, str]) -> None:
    server_end, client_end = pty_pair
    pump, lift, panel = stepped("pump", "P-01"), stepped("elevator", "E-01"), stepped("shaft_panel")
    units = [
        UnitBinding(1, profile_of("pump"), pump),
        UnitBinding(2, profile_of("elevator"), lift),
        UnitBinding(7, profile_of("shaft_panel"), panel),
    ]
    server = ModbusDeviceServer.rtu(server_end, units, baudrate=38400)
    await server.start()
    client = AsyncModbusSerialClient(client_end, baudrate=38400, timeout=0.5, retries=0)
    try:
        assert await client.connect()
        for unit, kind, eq in ((1, "pump", pump), (2, "elevator", lift), (7, "shaft_panel", panel)):
            wire = await read_device(client, profile_of(kind), unit)
            assert_matches(profile_of(kind), wire, eq.values())
        with pytest.raises(ModbusException):  # on a bus, nobody answers for a missing unit
            await client.read_holding_registers(0, count=1, device_id=9)
        pump.start_fault("modbus_exception", {"code": 6}, T0)
        server.refresh()
        busy = await client.read_input_registers(0, count=2, device_id=1)
        assert busy.isError() and busy.exception_code == 6
    finally:
        client.close()
        await server.stop()


def rtu_config(devices: list[dict[str, Any]]) -> SimulatorConfig:
    return parse_config({"devices": devices}, SimulatorConfig)


def test_config_groups_rtu_devices_by_serial_port() -> None:
    cfg = rtu_config(
        [
            {
                "equipment": "P-1",
                "kind": "pump",
                "profile": "pump-generic",
                "serial_port": "/dev/x",
                "unit": 1,
            },
            {
                "equipment": "P-2",
                "kind": "pump",
                "profile": "pump-generic",
                "serial_port": "/dev/x",
                "unit": 2,
            },
            {"equipment": "P-3", "kind": "pump", "profile": "pump-generic", "port": 15020},
        ]
    )
    servers = build_servers(cfg, Simulation.from_config(cfg, start=T0))
    assert sorted((s.where, sorted(s.units)) for s in servers) == [
        ("/dev/x", [1, 2]),
        ("127.0.0.1:15020", [1]),
    ]


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ([{"serial_port": "/dev/x", "port": 15020}], "exactly one of port"),
        ([{}], "exactly one of port"),
        ([{"serial_port": "/dev/x"}, {"serial_port": "/dev/x"}], "both use /dev/x unit 1"),
        (
            [{"serial_port": "/dev/x"}, {"serial_port": "/dev/x", "unit": 2, "baudrate": 9600}],
            "one baudrate",
        ),
    ],
)
def test_bad_rtu_configs(devices: list[dict[str, Any]], message: str) -> None:
    base = {"kind": "pump", "profile": "pump-generic"}
    full = [{"equipment": f"P-{i}", **base, **dev} for i, dev in enumerate(devices)]
    with pytest.raises(ConfigError, match=message):
        rtu_config(full)
