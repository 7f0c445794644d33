"""Modbus transports: what a poller needs of a connection, and Modbus TCP through pymodbus.

`read_table` is the one place a function code (1–4) is chosen and an exception response is
turned into a DeviceError; the TCP transport here and the RTU bus (gateway.rtu) share it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from pymodbus.client import AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ModbusException

from bldgwatch.core.profiles import BIT_TABLES, Table
from bldgwatch.gateway.errors import DeviceError

logger = logging.getLogger(__name__)


class Link(Protocol):
    """What every poller needs from its connection."""

    @property
    def connected(self) -> bool:
        """True while the connection is up."""
        ...

    async def connect(self) -> bool:
        """Open the connection; False when it cannot be opened now."""
        ...

    def close(self) -> None:
        """Close the connection (it may be opened again)."""
        ...


class ModbusTransport(Link, Protocol):
    """What a poller needs from a Modbus connection."""

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        """Registers or bits; DeviceError on failure (retryable: the connection is suspect)."""
        ...


class TcpTransport:
    """Modbus TCP through pymodbus's asyncio client; reconnects are left to the poller."""

    def __init__(self, host: str, port: int, *, timeout_s: float, retries: int) -> None:
        self._where = f"{host}:{port}"
        # reconnect_delay=0: no reconnect loop inside pymodbus, the poller owns the backoff.
        self._client = AsyncModbusTcpClient(
            host,
            port=port,
            timeout=timeout_s,
            retries=retries,
            reconnect_delay=0,
            name=self._where,
        )

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def connect(self) -> bool:
        try:
            return bool(await self._client.connect())
        except (OSError, ModbusException, TimeoutError) as err:
            logger.debug("connect to %s failed: %s", self._where, err)
            return False

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        return await read_table(self._client, self._where, table, address, count=count, unit=unit)

    def close(self) -> None:
        self._client.close()


async def read_table(
    client: ModbusBaseClient, where: str, table: Table, address: int, *, count: int, unit: int
) -> Sequence[int] | Sequence[bool]:
    """One read request of a table (FC1–4); DeviceError says whether a retry can help."""
    readers = {
        Table.COIL: client.read_coils,
        Table.DISCRETE: client.read_discrete_inputs,
        Table.HOLDING: client.read_holding_registers,
        Table.INPUT: client.read_input_registers,
    }
    try:
        resp = await readers[table](address, count=count, device_id=unit)
    except (ModbusException, OSError, TimeoutError) as err:
        raise DeviceError(f"{where} {table} {address}+{count}: {err}", retryable=True) from err
    if resp.isError():
        code = getattr(resp, "exception_code", None)
        raise DeviceError(
            f"{where} {table} {address}+{count}: exception {code}",
            retryable=False,
            exception_code=code,
        )
    data: Sequence[int] | Sequence[bool] = resp.bits if table in BIT_TABLES else resp.registers
    return data
