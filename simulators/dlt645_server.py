"""Serve simulated electricity meters over DL/T 645-2007 on a serial port (8E1, as the standard
asks; 2400 baud by default), one or several meters on the line, each answering to its meter
number as its address.

`answer` (pure) decides what the meters on a line reply to one request frame; `Dlt645Server`
reads the port without blocking the event loop and writes the replies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import serial

from bldgwatch.core import dlt645
from bldgwatch.core.dlt645 import DataItem, Frame, FrameReader
from bldgwatch.core.profiles import Dlt645Profile
from bldgwatch.simulators.equipment import SimulatedEquipment

logger = logging.getLogger(__name__)


@dataclass
class MeterBinding:
    """One meter on a line: the identifiers its profile maps to points, and its equipment."""

    profile: Dlt645Profile
    equipment: SimulatedEquipment

    def __post_init__(self) -> None:
        self.items: dict[int, tuple[DataItem, list[str]]] = {}
        for point in self.profile.points:
            item, names = point.item(), point.point_names()
            self.items[item.di] = (item, names)
            members = dlt645.block_members(item)
            for di, name in zip(members, names if members else [], strict=True):
                member = dlt645.DATA_ITEMS.get(di)
                if member is not None:
                    self.items.setdefault(di, (member, [name]))

    @property
    def address(self) -> str:
        """The meter number as its 12-digit address (it changes when the meter is replaced)."""
        return f"{int(self.equipment.values()['meter_number']):012d}"

    def reply(self, request: Frame) -> Frame:
        """The meter's reply to a read-data request addressed to it."""
        address = self.address
        if self.equipment.exception_code is not None:
            return dlt645.error_reply(address, request.function, dlt645.ERR_OTHER)
        di = int.from_bytes(request.data[:4], "little") if len(request.data) >= 4 else -1
        found = self.items.get(di)
        if found is None:
            return dlt645.error_reply(address, request.function, dlt645.ERR_NO_DATA)
        item, names = found
        values = self.equipment.values()
        try:
            payload = dlt645.encode_values([float(values[n]) for n in names], item)
        except ValueError as err:
            logger.warning("%s: %s cannot be sent: %s", self.equipment.equipment, names, err)
            return dlt645.error_reply(address, request.function, dlt645.ERR_OTHER)
        return dlt645.data_reply(address, di, payload)


def answer(meters: Sequence[MeterBinding], request: Frame) -> Frame | None:
    """What the line answers: the addressed meter's reply, or nothing (a broadcast, an address
    nobody has, a silent meter, or several meters reached by a wildcard at once)."""
    if request.from_meter or request.address == dlt645.BROADCAST:
        return None
    reached = [
        m
        for m in meters
        if m.equipment.answering and dlt645.address_matches(request.address, m.address)
    ]
    if len(reached) != 1:
        return None  # nobody, or replies colliding on the line
    meter = reached[0]
    if request.function == dlt645.READ_ADDRESS:
        return dlt645.address_reply(meter.address)
    if request.function == dlt645.READ_DATA:
        return meter.reply(request)
    return dlt645.error_reply(meter.address, request.function, dlt645.ERR_OTHER)


class Dlt645Server:
    """The meters of one serial port."""

    def __init__(
        self, serial_port: str, meters: Sequence[MeterBinding], *, baudrate: int = 2400
    ) -> None:
        if not meters:
            raise ValueError("a DL/T 645 line needs at least one meter")
        self.serial_port = serial_port
        self.baudrate = baudrate
        self.meters = list(meters)
        self.requests = 0
        self.refused = 0  # pieces of the byte stream that were not a frame
        self.last_refusal: str | None = None
        self._reader = FrameReader()
        self._port: serial.Serial | None = None

    @property
    def where(self) -> str:
        """The serial device, for messages."""
        return self.serial_port

    def refresh(self) -> None:
        """Nothing to rebuild: replies are made from the equipment's values when asked."""

    async def start(self) -> None:
        """Open the port and answer in the background (on the running loop)."""
        self._port = serial.Serial(
            self.serial_port,
            baudrate=self.baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_EVEN,
            stopbits=serial.STOPBITS_ONE,
            timeout=0,
        )
        asyncio.get_running_loop().add_reader(self._port.fileno(), self._on_readable)
        logger.info("DL/T 645 %s serving meters %s", self.where, [m.address for m in self.meters])

    async def stop(self) -> None:
        """Stop answering and close the port."""
        if self._port is not None:
            asyncio.get_running_loop().remove_reader(self._port.fileno())
            self._port.close()
            self._port = None

    def _on_readable(self) -> None:
        port = self._port
        if port is None:
            return
        try:
            data = port.read(4096)
        except serial.SerialException as err:
            logger.warning("DL/T 645 %s: read failed: %s", self.where, err)
            return
        for request in self._reader.feed(data):
            self.requests += 1
            reply = answer(self.meters, request)
            if reply is not None:
                port.write(dlt645.encode_frame(reply))
        for problem in self._reader.problems:
            self.refused += 1
            self.last_refusal = problem
            logger.debug("DL/T 645 %s: %s", self.where, problem)
        self._reader.problems.clear()
