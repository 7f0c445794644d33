"""Serve simulated equipment over Modbus TCP: one pymodbus server per host:port, one unit
per device, register images built from each device's profile after every model step."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from bldgwatch.core.models import Value
from bldgwatch.core.profiles import BIT_TABLES, DeviceProfile, PointSpec, Table
from bldgwatch.core.registers import DataType, encode, encode_bits, encode_string
from bldgwatch.simulators.equipment import SimulatedEquipment

logger = logging.getLogger(__name__)

TABLE_OF_FUNCTION: dict[int, Table] = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE,
    3: Table.HOLDING,
    6: Table.HOLDING,
    16: Table.HOLDING,
    22: Table.HOLDING,
    23: Table.HOLDING,
    4: Table.INPUT,
}
BLOCK_ORDER = (Table.COIL, Table.DISCRETE, Table.HOLDING, Table.INPUT)  # pymodbus's tuple


# -- register images (pure) ---------------------------------------------------------------
def table_sizes(profile: DeviceProfile) -> dict[Table, int]:
    """Registers (or bits) each table of a profile spans, from address 0."""
    sizes: dict[Table, int] = {}
    for spec in profile.points:
        sizes[spec.table] = max(sizes.get(spec.table, 0), spec.address + spec.width)
    return sizes


def raw_of(value: Value, spec: PointSpec) -> float:
    """The raw number a device holds for an engineering value: (value - offset) / scale."""
    return (float(value) - spec.offset) / spec.scale


def encode_point(profile: DeviceProfile, spec: PointSpec, values: Mapping[str, Value]) -> list[int]:
    """Registers (or 0/1 bits for coil/discrete points) holding one point."""
    if spec.type is DataType.BOOL:
        return [int(bool(values[spec.name]))]
    if spec.type is DataType.BITFIELD:
        assert spec.bits is not None
        return [encode_bits({bit: bool(values[name]) for name, bit in spec.bits.items()})]
    if spec.type is DataType.STRING:  # a text the model may not set (then blank, as NULs)
        return encode_string(str(values.get(spec.name, "")), spec.width, profile.order_of(spec))
    return encode(raw_of(values[spec.name], spec), spec.type, profile.order_of(spec))


def build_image(profile: DeviceProfile, values: Mapping[str, Value]) -> dict[Table, list[int]]:
    """Every table of a profile as a list from address 0: registers, or 0/1 per bit."""
    image = {table: [0] * size for table, size in table_sizes(profile).items()}
    for spec in profile.points:
        words = encode_point(profile, spec, values)
        image[spec.table][spec.address : spec.address + len(words)] = words
    return image


def pack_bits(bits: Sequence[int]) -> list[int]:
    """Bits (bit 0 first) packed 16 to a register, padded with zeros."""
    packed = [0] * ((len(bits) + 15) // 16)
    for i, bit in enumerate(bits):
        if bit:
            packed[i // 16] |= 1 << (i % 16)
    return packed


# -- the server ---------------------------------------------------------------------------
@dataclass
class UnitBinding:
    """One device on a server: its unit id, register map and the equipment it shows."""

    unit: int
    profile: DeviceProfile
    equipment: SimulatedEquipment
    image: dict[Table, list[int]] = field(default_factory=dict)
    answering: bool = True
    exception: int | None = None
    stale: bool = True

    def refresh(self) -> None:
        """Take the equipment's state after a model step; the image is rebuilt lazily, on the
        first request after the step, so a large fleet costs only what is polled."""
        self.answering = self.equipment.answering
        self.exception = self.equipment.exception_code
        self.stale = True

    def current_image(self) -> dict[Table, list[int]]:
        """The register image of the equipment's values at the last refresh."""
        if self.stale:
            self.image = build_image(self.profile, self.equipment.values())
            self.stale = False
        return self.image


def _blocks(
    profile: DeviceProfile,
) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
    sizes = table_sizes(profile)
    blocks: list[list[SimData]] = []
    for table in BLOCK_ORDER:
        size = sizes.get(table)
        if table in BIT_TABLES:
            blocks.append(
                [SimData(0, count=max(16, size or 0), values=False, datatype=SimType.BITS)]
            )
        elif size:
            blocks.append([SimData(0, count=size, values=0, datatype=SimType.REGISTERS)])
        else:
            blocks.append([SimData(0, count=1, datatype=SimType.INVALID)])
    coils, discrete, holding, inputs = blocks
    return coils, discrete, holding, inputs


class ModbusDeviceServer:
    """A Modbus TCP server on host:port, or an RTU server on a serial port (`rtu`),
    answering for one or several units."""

    def __init__(self, host: str, port: int, units: Sequence[UnitBinding]) -> None:
        if not units:
            raise ValueError("a Modbus server needs at least one unit")
        self.host = host
        self._port = port
        self.units = {binding.unit: binding for binding in units}
        self.serial_port: str | None = None
        self.baudrate = 19200
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    @classmethod
    def rtu(
        cls, serial_port: str, units: Sequence[UnitBinding], *, baudrate: int = 19200
    ) -> ModbusDeviceServer:
        """An RTU server on a serial device; units nobody has get no answer, as on a bus."""
        server = cls("", 0, units)
        server.serial_port, server.baudrate = serial_port, baudrate
        return server

    @property
    def where(self) -> str:
        """host:port or the serial device, for messages."""
        return self.serial_port or f"{self.host}:{self.port}"

    @property
    def port(self) -> int:
        """The port listened on (the real one when started on port 0)."""
        if self._server is not None and self._server.transport is not None:
            sockets = getattr(self._server.transport, "sockets", None)
            if sockets:
                return int(sockets[0].getsockname()[1])
        return self._port

    def refresh(self) -> None:
        """Rebuild every unit's image; call after each model step."""
        for binding in self.units.values():
            binding.refresh()

    async def start(self) -> None:
        """Bind and serve in the background."""
        self.refresh()
        devices = [
            SimDevice(
                unit,
                simdata=_blocks(binding.profile),
                action=functools.partial(self._on_request, unit),
            )
            for unit, binding in self.units.items()
        ]
        # Unit 0 catches requests to ids nobody has: over TCP it answers as a gateway does
        # (0x0B) over the address span the real units use (beyond it: illegal address); on a
        # serial bus nobody answers at all.
        span = max(max(table_sizes(b.profile).values()) for b in self.units.values())
        catch_all = SimData(0, count=max(16, span), values=0, datatype=SimType.REGISTERS)
        if self.serial_port is not None:
            devices.append(SimDevice(0, simdata=[catch_all], action=self._on_absent_unit))
            self._server = ModbusSerialServer(
                devices,
                port=self.serial_port,
                baudrate=self.baudrate,
                ignore_missing_devices=True,
            )
        else:
            devices.append(SimDevice(0, simdata=[catch_all], action=self._on_unknown_unit))
            self._server = ModbusTcpServer(
                devices, address=(self.host, self._port), ignore_missing_devices=True
            )
        await self._server.serve_forever(background=True)
        logger.info("Modbus %s serving units %s", self.where, sorted(self.units))

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def _on_unknown_unit(self, *_args: object) -> ExcCodes:
        return ExcCodes.GATEWAY_NO_RESPONSE

    async def _on_absent_unit(self, *_args: object) -> ExcCodes:
        raise NoSuchIdException("no such unit on this bus")  # no answer at all

    async def _on_request(
        self,
        unit: int,
        function_code: int,
        _start_address: int,
        _address: int,
        _count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus action: copy the unit's image into the block it is about to answer from."""
        binding = self.units[unit]
        if not binding.answering:
            # With ignore_missing_devices the request gets no answer at all: a silent device.
            raise NoSuchIdException(f"unit {unit} is silent")
        if binding.exception is not None:
            return ExcCodes(binding.exception)
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # simulated devices are read-only
        table = TABLE_OF_FUNCTION.get(function_code)
        image = binding.current_image().get(table) if table is not None else None
        if image is None:
            return ExcCodes.ILLEGAL_ADDRESS
        words = pack_bits(image) if table in BIT_TABLES else image
        registers[: len(words)] = words
        return None
