"""On the wire: the Modbus TCP server answers with the model's values per the profile."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from pymodbus.client import AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ModbusException

from bldgwatch.core.models import Value
from bldgwatch.core.profiles import DeviceProfile, PointSpec, Table, load_profiles
from bldgwatch.core.registers import DataType, decode, decode_bits, decode_string
from bldgwatch.servers import free_port
from bldgwatch.simulators.devices import MODBUS_MODELS
from bldgwatch.simulators.equipment import SimulatedEquipment
from bldgwatch.simulators.modbus_server import (
    ModbusDeviceServer,
    UnitBinding,
    build_image,
    pack_bits,
    table_sizes,
)
from tests.simulators.helpers import T0

PROFILES = {
    "pump": "pump-generic",
    "elevator": "elevator-generic",
    "shaft_panel": "shaft-panel-generic",
    "electricity_meter": "electricity-meter-sdm",
    "water_meter": "water-meter-modbus",
}


def profile_of(kind: str) -> DeviceProfile:
    return load_profiles()[PROFILES[kind]]


def stepped(kind: str, equipment: str = "X-01", seconds: int = 120) -> SimulatedEquipment:
    eq = SimulatedEquipment(equipment, MODBUS_MODELS[kind].build(start=T0, rng=random.Random(9)))
    for i in range(1, seconds + 1):
        eq.step(T0 + timedelta(seconds=i))
    return eq


async def read_table(client: ModbusBaseClient, table: Table, count: int, unit: int) -> list[int]:
    calls = {
        Table.COIL: client.read_coils,
        Table.DISCRETE: client.read_discrete_inputs,
        Table.HOLDING: client.read_holding_registers,
        Table.INPUT: client.read_input_registers,
    }
    response = await calls[table](0, count=count, device_id=unit)
    assert not response.isError(), response
    if table in (Table.COIL, Table.DISCRETE):
        return [int(bit) for bit in response.bits[:count]]
    return list(response.registers)


async def read_device(
    client: ModbusBaseClient, profile: DeviceProfile, unit: int
) -> dict[str, float]:
    """Decode every point of the profile from what the server sends."""
    tables = {
        table: await read_table(client, table, size, unit)
        for table, size in table_sizes(profile).items()
    }
    out: dict[str, float] = {}
    for spec in profile.points:
        regs = tables[spec.table][spec.address : spec.address + spec.width]
        if spec.type is DataType.BOOL:
            out[spec.name] = float(regs[0])
        elif spec.type is DataType.BITFIELD:
            assert spec.bits is not None
            states = decode_bits(regs[0], list(spec.bits.values()))
            out.update({name: float(states[bit]) for name, bit in spec.bits.items()})
        else:
            raw = decode(regs, spec.type, profile.order_of(spec))
            out[spec.name] = raw * spec.scale + spec.offset
    return out


def assert_matches(profile: DeviceProfile, wire: dict[str, float], model: dict[str, Value]) -> None:
    for spec in profile.points:
        for name in spec.point_names():
            expected = float(model[name])
            if spec.type is DataType.FLOAT32:  # float32 rounding only
                assert wire[name] == pytest.approx(expected, rel=1e-6), name
            else:  # integers hold value / scale rounded: off by at most half a step
                tolerance = spec.scale / 2 + 1e-9
                assert abs(wire[name] - expected) <= tolerance, (name, wire[name], expected)


async def serve(units: list[UnitBinding]) -> tuple[ModbusDeviceServer, AsyncModbusTcpClient]:
    server = ModbusDeviceServer("127.0.0.1", free_port(), units)
    await server.start()
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=1, retries=0)
    assert await client.connect()
    return server, client


@pytest.mark.parametrize("kind", sorted(PROFILES))
async def test_registers_decode_to_the_model_values(kind: str) -> None:
    profile = profile_of(kind)
    eq = stepped(kind)
    server, client = await serve([UnitBinding(1, profile, eq)])
    try:
        assert_matches(profile, await read_device(client, profile, 1), eq.values())
        eq.step(T0 + timedelta(seconds=500))
        server.refresh()
        assert_matches(profile, await read_device(client, profile, 1), eq.values())
    finally:
        client.close()
        await server.stop()


async def test_several_units_on_one_port_and_an_unknown_unit() -> None:
    pump, lift = stepped("pump", "P-01"), stepped("elevator", "E-01")
    server, client = await serve(
        [UnitBinding(1, profile_of("pump"), pump), UnitBinding(2, profile_of("elevator"), lift)]
    )
    try:
        assert_matches(
            profile_of("pump"), await read_device(client, profile_of("pump"), 1), pump.values()
        )
        assert_matches(
            profile_of("elevator"),
            await read_device(client, profile_of("elevator"), 2),
            lift.values(),
        )
        unknown = await client.read_holding_registers(0, count=1, device_id=7)
        assert unknown.isError() and unknown.exception_code == 0x0B
        absent_table = await client.read_coils(0, count=1, device_id=1)  # the pump has no coils
        assert absent_table.isError() and absent_table.exception_code == 0x02
        beyond = await client.read_input_registers(10, count=10, device_id=1)
        assert beyond.isError() and beyond.exception_code == 0x02
        write = await client.write_register(0, 5, device_id=1)
        assert write.isError()
    finally:
        client.close()
        await server.stop()


async def test_silent_unit_does_not_answer_while_the_other_does() -> None:
    pump, lift = stepped("pump", "P-01"), stepped("elevator", "E-01")
    server, client = await serve(
        [UnitBinding(1, profile_of("pump"), pump), UnitBinding(2, profile_of("elevator"), lift)]
    )
    try:
        pump.start_fault("silent", None, T0 + timedelta(seconds=121))
        server.refresh()
        with pytest.raises(ModbusException):
            await client.read_input_registers(0, count=2, device_id=1)
        if not client.connected:
            assert await client.connect()
        lift_regs = await client.read_holding_registers(0, count=2, device_id=2)
        assert not lift_regs.isError()
        pump.stop_fault("silent", T0 + timedelta(seconds=130))
        server.refresh()
        assert not (await client.read_input_registers(0, count=2, device_id=1)).isError()
    finally:
        client.close()
        await server.stop()


def test_image_encodes_scale_offset_and_order() -> None:
    profile = profile_of("pump")
    values: dict[str, Value] = {name: 0 for spec in profile.points for name in spec.point_names()}
    values.update(bearing_temp_c=52.34, running=True, motor_current_a=1.5, start_count=70000)
    image = build_image(profile, values)
    assert image[Table.DISCRETE] == [1, 0]
    assert image[Table.INPUT][8] == 523  # 52.34 / 0.1, rounded
    assert image[Table.INPUT][0:2] == [0x0000, 0x3FC0]  # 1.5 as float32, words swapped (CDAB)
    assert image[Table.INPUT][12:14] == [0x0001, 0x1170]  # uint32 70000, ABCD


def test_a_string_point_holds_its_text_or_blanks() -> None:
    pump = profile_of("pump")
    spec = PointSpec(name="model", table=Table.HOLDING, address=40, type=DataType.STRING, count=4)
    profile = pump.model_copy(update={"points": [*pump.points, spec]})
    values: dict[str, Value] = {name: 0 for sp in pump.points for name in sp.point_names()}
    image = build_image(profile, {**values, "model": "KSB-80"})
    assert decode_string(image[Table.HOLDING][40:44], profile.order_of(spec)) == "KSB-80"
    blank = build_image(profile, values)  # the model sets no text: NULs, read as ""
    assert blank[Table.HOLDING][40:44] == [0, 0, 0, 0]


def test_pack_bits() -> None:
    assert pack_bits([1, 0, 1]) == [0b101]
    assert pack_bits([0] * 16 + [1]) == [0, 1]


async def test_modbus_exception_fault_answers_with_its_code_until_cleared() -> None:
    pump = stepped("pump", "P-01")
    server, client = await serve([UnitBinding(1, profile_of("pump"), pump)])
    try:
        pump.start_fault("modbus_exception", {"code": 4}, T0 + timedelta(seconds=121))
        server.refresh()
        failed = await client.read_input_registers(0, count=2, device_id=1)
        assert failed.isError() and failed.exception_code == 0x04
        pump.stop_fault("modbus_exception", T0 + timedelta(seconds=130))
        server.refresh()
        assert_matches(
            profile_of("pump"), await read_device(client, profile_of("pump"), 1), pump.values()
        )
    finally:
        client.close()
        await server.stop()
