"""Modbus RTU: one owner per serial port, every unit id on the line served in turn.

An RS-485 line carries one exchange at a time. `RtuBus` owns the port's pymodbus serial
client; each device on the line gets an `RtuUnit` handle (the poller's transport) whose
reads queue on the bus's lock, and after every exchange the line stays quiet for the
port's inter-frame delay before the next request goes out. A unit that times out only
costs its own exchange: the port is reopened only when the port itself fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusException

from bldgwatch.core.profiles import Table
from bldgwatch.gateway.config import SerialPortConfig
from bldgwatch.gateway.transport import read_table

logger = logging.getLogger(__name__)


class RtuBus:
    """The single owner of one serial port."""

    def __init__(self, port: SerialPortConfig) -> None:
        self.port = port
        self.gap_s = port.frame_gap_s()
        self.exchanges = 0
        self._client = AsyncModbusSerialClient(
            port.device,
            baudrate=port.baudrate,
            bytesize=port.bytesize,
            parity=port.parity,
            stopbits=port.stopbits,
            timeout=port.timeout_s,
            retries=port.retries,
            reconnect_delay=0,  # the pollers own the backoff
            name=port.name,
        )
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return bool(self._client.connected)

    async def connect(self) -> bool:
        """Open the port (once, however many units ask)."""
        async with self._lock:
            if self._client.connected:
                return True
            try:
                return bool(await self._client.connect())
            except (OSError, ModbusException, TimeoutError) as err:
                logger.debug("cannot open %s (%s): %s", self.port.name, self.port.device, err)
                return False

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        """One exchange with one unit, then the inter-frame quiet time, under the bus lock."""
        where = f"{self.port.name} unit {unit}"
        async with self._lock:
            try:
                return await read_table(self._client, where, table, address, count=count, unit=unit)
            finally:
                self.exchanges += 1
                await asyncio.sleep(self.gap_s)

    def unit(self) -> RtuUnit:
        """A transport handle for one device on this line."""
        return RtuUnit(self)

    def close(self) -> None:
        """Close the port (at shutdown)."""
        self._client.close()


class RtuUnit:
    """A device's view of a shared bus (implements the poller's ModbusTransport)."""

    def __init__(self, bus: RtuBus) -> None:
        self._bus = bus

    @property
    def connected(self) -> bool:
        return self._bus.connected

    async def connect(self) -> bool:
        return await self._bus.connect()

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        return await self._bus.read(table, address, count, unit)

    def close(self) -> None:
        """A unit that failed does not close the line the other units share."""
