"""Serial lines: one owner per port, every Modbus RTU unit and DL/T 645 meter served in turn.

An RS-485 line carries one exchange at a time. `RtuBus` owns the port: pymodbus's serial
client for Modbus RTU, or the raw port (pyserial) for DL/T 645-2007 frames. Each device on the
line gets a handle (`RtuUnit`, a Modbus poller's transport; `MeterLine`, a DL/T 645 poller's)
whose exchanges queue on the bus's lock, and after every exchange the line stays quiet for the
port's inter-frame delay before the next request goes out. A line with both kinds of device
hands the port from one protocol to the other (it closes one and opens the other) when the next
exchange needs it. A device that times out only costs its own exchange: the port is reopened
only when the port itself fails.
"""

from __future__ import annotations

import asyncio
import logging
import termios
import time
from collections.abc import Sequence

import serial
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusException

from bldgwatch.core import dlt645
from bldgwatch.core.profiles import Table
from bldgwatch.gateway.config import SerialPortConfig
from bldgwatch.gateway.errors import DeviceError
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
        self._raw: serial.Serial | None = None  # the port, while DL/T 645 has it
        self._lock = asyncio.Lock()
        self.handovers = 0  # times the port passed between Modbus and DL/T 645

    @property
    def connected(self) -> bool:
        """True while the port is open (for either protocol)."""
        return self._raw is not None or bool(self._client.connected)

    async def connect(self) -> bool:
        """Open the port for Modbus (once, however many units ask)."""
        async with self._lock:
            return self.connected or await self._open_modbus()

    async def connect_raw(self) -> bool:
        """Open the port for DL/T 645 (once, however many meters ask)."""
        async with self._lock:
            return self.connected or await self._open_raw()

    async def _open_modbus(self) -> bool:
        try:
            return bool(await self._client.connect())
        except (OSError, ModbusException, TimeoutError, termios.error) as err:
            logger.debug("cannot open %s (%s): %s", self.port.name, self.port.device, err)
            return False

    async def _open_raw(self) -> bool:
        p = self.port
        try:
            self._raw = await asyncio.to_thread(
                serial.Serial,
                p.device,
                baudrate=p.baudrate,
                bytesize=p.bytesize,
                parity=p.parity,
                stopbits=p.stopbits,
                timeout=min(0.05, p.timeout_s),
            )
        except (OSError, ValueError, termios.error) as err:  # SerialException is an OSError
            logger.debug("cannot open %s (%s): %s", p.name, p.device, err)
            return False
        return True

    async def _hand_to(self, protocol: str) -> None:
        """Make the port usable by `protocol` (under the lock); DeviceError when it cannot."""
        if protocol == "modbus" and not self._client.connected:
            if self._raw is not None:
                self._close_raw()
                self.handovers += 1
            ok = await self._open_modbus()
        elif protocol == "dlt645" and self._raw is None:
            if self._client.connected:
                self._client.close()
                self.handovers += 1
            ok = await self._open_raw()
        else:
            return
        if not ok:
            raise DeviceError(f"cannot open {self.port.name} ({self.port.device})", retryable=True)

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        """One exchange with one unit, then the inter-frame quiet time, under the bus lock."""
        where = f"{self.port.name} unit {unit}"
        async with self._lock:
            try:
                await self._hand_to("modbus")
                return await read_table(self._client, where, table, address, count=count, unit=unit)
            finally:
                self.exchanges += 1
                await asyncio.sleep(self.gap_s)

    async def exchange(self, request: dlt645.Frame) -> dlt645.Frame:
        """One DL/T 645 request and the first reply frame on the line (echoes of requests and
        noise skipped), with the port's retries after a timeout; then the quiet time.
        DeviceError (retryable) when no frame came, naming what was refused meanwhile."""
        wire = dlt645.encode_frame(request)
        async with self._lock:
            try:
                await self._hand_to("dlt645")
                problem = ""
                for _attempt in range(self.port.retries + 1):
                    reply, problem = await asyncio.to_thread(self._raw_exchange, wire)
                    if reply is not None:
                        return reply
                where = f"{self.port.name} meter {request.address}"
                raise DeviceError(
                    f"{where}: no reply within {self.port.timeout_s} s{problem}", retryable=True
                )
            finally:
                self.exchanges += 1
                await asyncio.sleep(self.gap_s)

    def _raw_exchange(self, wire: bytes) -> tuple[dlt645.Frame | None, str]:
        """Write a request and read until a reply frame or the timeout (in a worker thread)."""
        port = self._raw
        if port is None:
            return None, " (port closed)"
        reader = dlt645.FrameReader()
        try:
            port.reset_input_buffer()
            port.write(wire)
            deadline = time.monotonic() + self.port.timeout_s
            while time.monotonic() < deadline:
                for frame in reader.feed(port.read(256)):
                    if frame.from_meter:
                        return frame, ""
        except (OSError, ValueError, termios.error) as err:
            self._close_raw()  # reopened by the next exchange
            raise DeviceError(f"{self.port.name}: {err}", retryable=True) from err
        refused = [*reader.problems, *filter(None, [reader.pending()])]
        return None, f" ({'; '.join(refused[-3:])})" if refused else ""

    def _close_raw(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def unit(self) -> RtuUnit:
        """A transport handle for one device on this line."""
        return RtuUnit(self)

    def meter(self) -> MeterLine:
        """A DL/T 645 handle for one meter on this line."""
        return MeterLine(self)

    def close(self) -> None:
        """Close the port (at shutdown)."""
        self._client.close()
        self._close_raw()


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


class MeterLine:
    """A DL/T 645 meter's view of a shared bus (the DL/T 645 poller's transport)."""

    def __init__(self, bus: RtuBus) -> None:
        self._bus = bus

    @property
    def connected(self) -> bool:
        return self._bus.connected

    async def connect(self) -> bool:
        return await self._bus.connect_raw()

    async def exchange(self, request: dlt645.Frame) -> dlt645.Frame:
        return await self._bus.exchange(request)

    def close(self) -> None:
        """A meter that failed does not close the line the other devices share."""
