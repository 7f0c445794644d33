"""Polling one Modbus TCP device: drift-free schedule, block plan, reconnects, availability.

One asyncio task per device (`DevicePoller.run`). A failed device is marked unavailable after
N consecutive failed polls (its first failure logged at ERROR, repeats at DEBUG until it
recovers) and emits a reading of point `_available` whenever that changes; other devices go on.
The transport is a seam: `TcpTransport` wraps pymodbus; an RTU bus shared by several unit ids
can implement the same protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from core.clock import Clock, to_epoch_ms
from core.models import Quality, Reading
from core.profiles import BIT_TABLES, DeviceProfile, Table
from gateway.config import DeviceConfig
from gateway.decode import decode_block
from gateway.errors import DeviceError, ShortResponseError
from gateway.planner import Plan, ReadBlock, plan_profile

logger = logging.getLogger(__name__)

AVAILABLE_POINT = "_available"

ReadingSink = Callable[[list[Reading]], None]
Waiter = Callable[[asyncio.Event, float], Awaitable[None]]


class ModbusTransport(Protocol):
    """What a poller needs from a Modbus connection."""

    @property
    def connected(self) -> bool:
        """True while the connection is up."""
        ...

    async def connect(self) -> bool:
        """Open the connection; False when it cannot be opened now."""
        ...

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        """Registers or bits; DeviceError on failure (retryable: the connection is suspect)."""
        ...

    def close(self) -> None:
        """Close the connection (it may be opened again)."""
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
        readers = {
            Table.COIL: self._client.read_coils,
            Table.DISCRETE: self._client.read_discrete_inputs,
            Table.HOLDING: self._client.read_holding_registers,
            Table.INPUT: self._client.read_input_registers,
        }
        try:
            resp = await readers[table](address, count=count, device_id=unit)
        except (ModbusException, OSError, TimeoutError) as err:
            raise DeviceError(
                f"{self._where} {table} {address}+{count}: {err}", retryable=True
            ) from err
        if resp.isError():
            code = getattr(resp, "exception_code", None)
            raise DeviceError(
                f"{self._where} {table} {address}+{count}: exception {code}",
                retryable=False,
                exception_code=code,
            )
        data: Sequence[int] | Sequence[bool] = resp.bits if table in BIT_TABLES else resp.registers
        return data

    def close(self) -> None:
        self._client.close()


# -- pure parts -----------------------------------------------------------------------------
def next_due(due: datetime, interval_s: float, now: datetime) -> datetime:
    """The next poll time on the grid `due + k * interval` strictly after `due` and not before
    `now`: no drift, and polls missed while one overran are skipped, not bunched."""
    step = timedelta(seconds=interval_s)
    nxt = due + step
    if nxt < now:
        nxt += step * math.ceil((now - nxt) / step)
    return nxt


class Backoff:
    """Jittered exponential delays: the n-th is uniform in [d/2, d], d = min(max, min * 2^n)."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self._min, self._max = min_s, max(max_s, min_s)
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        """Delay before the next attempt; grows with each call until reset()."""
        ceiling = min(self._max, self._min * 2.0 ** min(self._attempt, 32))
        self._attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Back to the shortest delay (after a success)."""
        self._attempt = 0


class Availability:
    """Consecutive-failure counting; `available` is None until the first verdict."""

    def __init__(self, unavailable_after: int) -> None:
        self.unavailable_after = unavailable_after
        self.available: bool | None = None
        self.failures = 0

    def success(self) -> bool | None:
        """Record a good poll; the new state when it changed, else None."""
        self.failures = 0
        return self._set(True)

    def failure(self) -> bool | None:
        """Record a failed poll; the new state when it changed, else None."""
        self.failures += 1
        if self.failures >= self.unavailable_after:
            return self._set(False)
        return None

    def _set(self, state: bool) -> bool | None:
        if self.available is state:
            return None
        self.available = state
        return state


@dataclass(slots=True)
class PollerStats:
    """Counters of one device, shown in the gateway status."""

    polls: int = 0
    failed_polls: int = 0
    readings: int = 0
    reconnects: int = 0
    exceptions: dict[int, int] = field(default_factory=dict)
    last_error: str | None = None


async def wait_or_stop(stop: asyncio.Event, delay_s: float) -> None:
    """Sleep for `delay_s` unless `stop` is set first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay_s)


# -- the poller -------------------------------------------------------------------------------
class DevicePoller:
    """Polls one device on its schedule and hands readings to `sink` (same thread)."""

    def __init__(
        self,
        device: DeviceConfig,
        profile: DeviceProfile,
        transport: ModbusTransport,
        *,
        sink: ReadingSink,
        clock: Clock,
        wait: Waiter = wait_or_stop,
        rng: random.Random | None = None,
    ) -> None:
        self.device = device
        self.profile = profile
        self.plan: Plan = plan_profile(profile, max_gap=device.max_gap)
        self.stats = PollerStats()
        self.availability = Availability(device.unavailable_after)
        self._transport = transport
        self._sink = sink
        self._clock = clock
        self._wait = wait
        self._backoff = Backoff(device.reconnect_min_s, device.reconnect_max_s, rng)
        self._reconnect_at: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, then close the connection."""
        due = self._clock.now()
        try:
            while not stop.is_set():
                delay = (due - self._clock.now()).total_seconds()
                if delay > 0:
                    await self._wait(stop, delay)
                    if stop.is_set():
                        break
                await self.poll_once()
                due = next_due(due, self.device.poll_interval_s, self._clock.now())
        finally:
            self._transport.close()

    async def poll_once(self) -> None:
        """One poll: connect if needed, read every block, emit readings and availability."""
        now = self._clock.now()
        ts = to_epoch_ms(now)
        self.stats.polls += 1
        if not self._transport.connected:
            problem = await self._connect(now)
            if problem is not None:
                self._failed(ts, problem)
                return
        try:
            readings, errors = await self._read_blocks(ts)
        except DeviceError as err:
            self._transport.close()
            self._reconnect_at = now + timedelta(seconds=self._backoff.next_delay())
            self._failed(ts, str(err))
            return
        if errors and not readings:
            self._failed(ts, errors[0])
            return
        self._succeeded(ts, readings)

    async def _connect(self, now: datetime) -> str | None:
        """Connect unless the backoff says wait; the problem when not connected."""
        if self._reconnect_at is not None and now < self._reconnect_at:
            wait_s = (self._reconnect_at - now).total_seconds()
            return f"not connected; next attempt in {wait_s:.1f} s"
        self.stats.reconnects += 1
        if await self._transport.connect():
            return None
        self._reconnect_at = now + timedelta(seconds=self._backoff.next_delay())
        return f"cannot connect to {self.device.host}:{self.device.port}"

    async def _read_blocks(self, ts: int) -> tuple[list[Reading], list[str]]:
        """Readings of every block that answered; non-retryable errors collected, others raised."""
        readings: list[Reading] = []
        errors: list[str] = []
        for block in self.plan.blocks:
            try:
                data = await self._transport.read(
                    block.table, block.address, block.count, self.device.unit
                )
                values = decode_block(block, data, default_order=self.profile.order)
            except DeviceError as err:
                if err.retryable:
                    raise
                self._exception(block, err)
                errors.append(str(err))
                continue
            except ShortResponseError as err:
                errors.append(str(err))
                continue
            readings.extend(
                Reading(self.device.equipment, name, ts, value, Quality.GOOD)
                for name, value in values.values
                if not isinstance(value, str)  # text (serials, versions) is not a reading
            )
        return readings, errors

    def _exception(self, block: ReadBlock, err: DeviceError) -> None:
        # Seam for learned bad addresses (exception 2): split the block, re-plan around them.
        code = err.exception_code or 0
        self.stats.exceptions[code] = self.stats.exceptions.get(code, 0) + 1
        logger.debug(
            "%s: %s %s+%s answered exception %s",
            self.device.equipment,
            block.table,
            block.address,
            block.count,
            code,
        )

    def _failed(self, ts: int, reason: str) -> None:
        self.stats.failed_polls += 1
        self.stats.last_error = reason
        first = self.availability.failures == 0
        changed = self.availability.failure()
        if first:
            logger.error(
                "device %s (%s:%s unit %s) failed: %s",
                self.device.equipment,
                self.device.host,
                self.device.port,
                self.device.unit,
                reason,
            )
        else:
            logger.debug("device %s still failing: %s", self.device.equipment, reason)
        if changed is not None:
            logger.warning(
                "device %s is unavailable after %d failed polls",
                self.device.equipment,
                self.availability.failures,
            )
            self._sink([Reading(self.device.equipment, AVAILABLE_POINT, ts, False)])

    def _succeeded(self, ts: int, readings: list[Reading]) -> None:
        recovered = self.availability.failures > 0
        self._backoff.reset()
        self._reconnect_at = None
        changed = self.availability.success()
        if recovered:
            logger.info("device %s recovered", self.device.equipment)
        if changed is not None:
            readings.append(Reading(self.device.equipment, AVAILABLE_POINT, ts, True))
        self.stats.readings += len(readings)
        self.stats.last_error = None
        if readings:
            self._sink(readings)
