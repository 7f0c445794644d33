"""A third-party master (the real `mbpoll`) reads what the profiles promise."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import timedelta

import pytest

from bldgwatch.core.models import Value
from bldgwatch.core.profiles import DeviceProfile, PointSpec, Table, load_profiles
from bldgwatch.core.registers import DataType, Order, decode, decode_bits
from bldgwatch.servers import free_port
from bldgwatch.simulators.devices import MODBUS_MODELS
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.modbus_server import ModbusDeviceServer, UnitBinding, table_sizes
from tests.simulators.helpers import T0
from tests.tools import require_binary

PROFILES = {
    "pump": "pump-generic",
    "elevator": "elevator-generic",
    "shaft_panel": "shaft-panel-generic",
    "electricity_meter": "electricity-meter-sdm",
    "water_meter": "water-meter-modbus",
}
TYPE_FLAG = {Table.COIL: "0", Table.DISCRETE: "1", Table.INPUT: "3", Table.HOLDING: "4"}
LINE = re.compile(r"^\[(\d+)\]:\s+(-?[0-9.eE+-]+)", re.MULTILINE)


async def mbpoll(port: int, table: Table, start: int, count: int) -> list[float]:
    """Run mbpoll once on unit 1; the values it prints, in order.

    `start` is 0-based; mbpoll's -r is 1-based.
    """
    mbpoll = require_binary("mbpoll")
    args = ["-m", "tcp", "-p", str(port), "-a", "1", "-t", TYPE_FLAG[table]]
    args += ["-r", str(start + 1), "-c", str(count), "-1", "-o", "2"]
    proc = await asyncio.create_subprocess_exec(
        mbpoll, *args, "127.0.0.1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return [float(value) for _ref, value in LINE.findall(out.decode())]


def expected(spec: PointSpec, values: dict[str, Value]) -> float:
    return float(values[spec.name])


def close(spec: PointSpec, got: float, want: float) -> bool:
    if spec.type is DataType.FLOAT32:
        return got == pytest.approx(want, rel=1e-5)
    return abs(got - want) <= spec.scale / 2 + 1e-9


async def check_raw_tables(port: int, profile: DeviceProfile, values: dict[str, Value]) -> None:
    """mbpoll's raw registers and bits, decoded with the profile, give the model's values."""
    tables = {t: await mbpoll(port, t, 0, n) for t, n in table_sizes(profile).items()}
    for spec in profile.points:
        words = [int(x) for x in tables[spec.table][spec.address : spec.address + spec.width]]
        if spec.type is DataType.BOOL:
            assert bool(words[0]) == bool(values[spec.name]), spec.name
        elif spec.type is DataType.BITFIELD:
            assert spec.bits is not None
            states = decode_bits(words[0], list(spec.bits.values()))
            for name, bit in spec.bits.items():
                assert states[bit] == bool(values[name]), name
        else:
            got = decode(words, spec.type, profile.order_of(spec)) * spec.scale + spec.offset
            assert close(spec, got, expected(spec, values)), (spec.name, got, values[spec.name])


async def check_typed_points(port: int, profile: DeviceProfile, values: dict[str, Value]) -> int:
    """mbpoll's own 32-bit float / int decoding, with the profile's word order, agrees."""
    checked = 0
    for spec in profile.points:
        if spec.type not in (DataType.FLOAT32, DataType.INT32, DataType.UINT32):
            continue
        kind = ":float" if spec.type is DataType.FLOAT32 else ":int"
        order = profile.order_of(spec)
        assert order in (Order.ABCD, Order.CDAB)
        big = ["-B"] if order is Order.ABCD else []  # mbpoll's default is CDAB
        got = await mbpoll_typed(port, spec, kind, big)
        raw = got if spec.type is not DataType.UINT32 else got % 2**32
        assert close(spec, raw * spec.scale + spec.offset, expected(spec, values)), spec.name
        checked += 1
    return checked


async def mbpoll_typed(port: int, spec: PointSpec, kind: str, extra: list[str]) -> float:
    mbpoll = require_binary("mbpoll")
    args = ["-m", "tcp", "-p", str(port), "-a", "1", "-t", TYPE_FLAG[spec.table] + kind, *extra]
    args += ["-r", str(spec.address + 1), "-c", "1", "-1", "-o", "2", "127.0.0.1"]
    proc = await asyncio.create_subprocess_exec(
        mbpoll, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    [(_ref, value)] = LINE.findall(out.decode())
    return float(value)


@pytest.mark.parametrize("kind", sorted(PROFILES))
async def test_mbpoll_reads_what_the_profile_promises(kind: str) -> None:
    profile = load_profiles()[PROFILES[kind]]
    eq = SimulatedEquipment("X-01", MODBUS_MODELS[kind].build(start=T0, rng=random.Random(4)))
    for i in range(1, 181):
        eq.step(T0 + timedelta(seconds=i))
    server = ModbusDeviceServer("127.0.0.1", free_port(), [UnitBinding(1, profile, eq)])
    await server.start()
    try:
        values = eq.values()
        await check_raw_tables(server.port, profile, values)
        typed = await check_typed_points(server.port, profile, values)
        assert typed >= (1 if kind != "elevator" else 2)
    finally:
        await server.stop()
