"""Polling one device: drift-free schedule, reconnects, availability, report-by-exception;
for Modbus devices the block plan.

One asyncio task per device (`run`). A failed device is marked unavailable after N consecutive
failed polls (its first failure logged at ERROR, repeats at DEBUG until it recovers) and emits a
reading of point `_available` whenever that changes; other devices go on. `Poller` holds what
every protocol shares; `DevicePoller` reads Modbus blocks (gateway.dlt645_poller's
`MeterPoller` reads DL/T 645 identifiers). The transport is a seam (gateway.transport):
`TcpTransport` wraps pymodbus's TCP client and gateway.rtu's `RtuUnit` a unit on a shared
serial line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bldgwatch.core.backoff import Backoff
from bldgwatch.core.clock import Clock, to_epoch_ms
from bldgwatch.core.models import Quality, Reading
from bldgwatch.core.profiles import DeviceProfile, Table
from bldgwatch.gateway.config import DeviceConfig, PolledDeviceConfig
from bldgwatch.gateway.decode import BlockValues, decode_block
from bldgwatch.gateway.errors import DeviceError, ShortResponseError
from bldgwatch.gateway.planner import Plan, ReadBlock, plan_profile
from bldgwatch.gateway.rbe import EVERY_POLL, ExceptionFilter, ReportRule
from bldgwatch.gateway.transport import Link, ModbusTransport

logger = logging.getLogger(__name__)

AVAILABLE_POINT = "_available"
ILLEGAL_ADDRESS = 2

ReadingSink = Callable[[list[Reading]], None]
Waiter = Callable[[asyncio.Event, float], Awaitable[None]]


# -- pure parts -----------------------------------------------------------------------------
def next_due(due: datetime, interval_s: float, now: datetime) -> datetime:
    """The next poll time on the grid `due + k * interval` strictly after `due` and not before
    `now`: no drift, and polls missed while one overran are skipped, not bunched."""
    step = timedelta(seconds=interval_s)
    nxt = due + step
    if nxt < now:
        nxt += step * math.ceil((now - nxt) / step)
    return nxt


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


def default_rule(device: PolledDeviceConfig) -> ReportRule:
    """The report-by-exception rule of a device's points: its deadband, or every poll."""
    max_ms = int(device.max_report_interval_s * 1000)
    return ReportRule(device.deadband, max_ms) if device.deadband is not None else EVERY_POLL


def report_rules(device: DeviceConfig, profile: DeviceProfile) -> ExceptionFilter:
    """The report-by-exception filter of a device: its deadband, refined per point."""
    default = default_rule(device)
    overrides = {o.name: o for o in device.points}
    rules: dict[str, ReportRule] = {}
    for spec in profile.points:
        change = overrides.get(spec.name)
        if change is None or (change.deadband is None and change.max_report_interval_s is None):
            continue
        deadband = change.deadband if change.deadband is not None else device.deadband
        interval = change.max_report_interval_s or device.max_report_interval_s
        rule = ReportRule(deadband, int(interval * 1000)) if deadband is not None else EVERY_POLL
        rules.update(dict.fromkeys(spec.point_names(), rule))
    return ExceptionFilter(rules, default)


@dataclass(slots=True)
class PollerStats:
    """Counters of one device, shown in the gateway status."""

    polls: int = 0
    failed_polls: int = 0
    answered_polls: int = 0
    """Polls that ended with an answer (`polls` counts a poll when it starts)."""
    readings: int = 0
    reconnects: int = 0
    exceptions: dict[int, int] = field(default_factory=dict)
    last_error: str | None = None
    unreadable: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)


async def wait_or_stop(stop: asyncio.Event, delay_s: float) -> None:
    """Sleep for `delay_s` unless `stop` is set first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay_s)


# -- the poller -------------------------------------------------------------------------------
class Poller(ABC):
    """Polls one device on its schedule and hands readings to `sink` (same thread); what a
    protocol reads in one poll is its `_read_all`."""

    def __init__(
        self,
        device: PolledDeviceConfig,
        transport: Link,
        *,
        report: ExceptionFilter,
        sink: ReadingSink,
        clock: Clock,
        wait: Waiter = wait_or_stop,
        rng: random.Random | None = None,
    ) -> None:
        self.device = device
        self.report = report
        self.stats = PollerStats()
        self.availability = Availability(device.unavailable_after)
        self._transport = transport
        self._sink = sink
        self._clock = clock
        self._wait = wait
        self._backoff = Backoff(
            device.reconnect_min_s, device.reconnect_max_s, jitter=(rng or random.Random()).random
        )
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
        """One poll: connect if needed, read everything, emit readings and availability."""
        now = self._clock.now()
        ts = to_epoch_ms(now)
        self.stats.polls += 1
        if not self._transport.connected:
            problem = await self._connect(now)
            if problem is not None:
                self._failed(ts, problem)
                return
        try:
            readings, errors = await self._read_all(ts)
        except DeviceError as err:
            self._transport.close()
            self._reconnect_at = now + timedelta(seconds=self._backoff.next_delay())
            self._failed(ts, str(err))
            return
        if errors and not readings:
            self._failed(ts, errors[0])
            return
        self._succeeded(ts, readings)

    @abstractmethod
    async def _read_all(self, ts: int) -> tuple[list[Reading], list[str]]:
        """Readings of what answered and the errors asking again will not cure; a DeviceError
        that a retry may cure (the connection is suspect) is raised."""

    async def _connect(self, now: datetime) -> str | None:
        """Connect unless the backoff says wait; the problem when not connected."""
        if self._reconnect_at is not None and now < self._reconnect_at:
            wait_s = (self._reconnect_at - now).total_seconds()
            return f"not connected; next attempt in {wait_s:.1f} s"
        self.stats.reconnects += 1
        if await self._transport.connect():
            return None
        self._reconnect_at = now + timedelta(seconds=self._backoff.next_delay())
        return f"cannot connect to {self.device.where}"

    def _failed(self, ts: int, reason: str) -> None:
        self.stats.failed_polls += 1
        self.stats.last_error = reason
        first = self.availability.failures == 0
        changed = self.availability.failure()
        if first:
            logger.error(
                "device %s (%s) failed: %s", self.device.equipment, self.device.where, reason
            )
        else:
            logger.debug("device %s still failing: %s", self.device.equipment, reason)
        if changed is not None:
            logger.warning(
                "device %s is unavailable after %d failed polls",
                self.device.equipment,
                self.availability.failures,
            )
            self.report.reset()
            self._sink([Reading(self.device.equipment, AVAILABLE_POINT, ts, False)])

    def _succeeded(self, ts: int, readings: list[Reading]) -> None:
        recovered = self.availability.failures > 0
        self._backoff.reset()
        self._reconnect_at = None
        changed = self.availability.success()
        if recovered:
            logger.info("device %s recovered", self.device.equipment)
        if self.report.active:
            readings = self.report.keep(readings)
        if changed is not None:
            readings.append(Reading(self.device.equipment, AVAILABLE_POINT, ts, True))
        self.stats.last_error = None
        self.stats.answered_polls += 1
        self.stats.readings += len(readings)
        if readings:
            self._sink(readings)


class DevicePoller(Poller):
    """Polls one Modbus device: its profile's blocks, learning addresses it refuses."""

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
        super().__init__(
            device,
            transport,
            report=report_rules(device, profile),
            sink=sink,
            clock=clock,
            wait=wait,
            rng=rng,
        )
        self.device: DeviceConfig = device
        self.profile = profile
        self.plan: Plan = plan_profile(profile, max_gap=device.max_gap)
        self.bad: dict[Table, set[int]] = {}
        self._modbus = transport

    async def _read_all(self, ts: int) -> tuple[list[Reading], list[str]]:
        return await self._read_blocks(ts)

    async def _read_blocks(self, ts: int) -> tuple[list[Reading], list[str]]:
        """Readings of every block that answered; non-retryable errors collected, others raised."""
        readings: list[Reading] = []
        errors: list[str] = []
        if not self.plan.blocks:
            errors.append(f"no readable point (illegal address: {', '.join(self.plan.skipped)})")
        learned = False
        for block in self.plan.blocks:
            try:
                values = await self._read_block(block)
            except DeviceError as err:
                if err.retryable:
                    raise
                self._count_exception(block, err)
                if err.exception_code == ILLEGAL_ADDRESS:
                    values = await self._probe(block)
                    learned = True
                    if not values.values:
                        errors.append(str(err))
                else:
                    errors.append(str(err))
                    continue
            except ShortResponseError as err:
                errors.append(str(err))
                continue
            readings.extend(self._to_readings(values, ts))
        if learned:
            self._replan()
        return readings, errors

    async def _read_block(self, block: ReadBlock) -> BlockValues:
        data = await self._modbus.read(block.table, block.address, block.count, self.device.unit)
        return decode_block(block, data, default_order=self.profile.order)

    def _to_readings(self, values: BlockValues, ts: int) -> list[Reading]:
        out: list[Reading] = []
        for name, value in values.values:
            if isinstance(value, str):  # text (serials, versions) is not a reading: status
                self.stats.texts[name] = value
            else:
                out.append(Reading(self.device.equipment, name, ts, value, Quality.GOOD))
        return out

    async def _probe(self, block: ReadBlock) -> BlockValues:
        """A block answered "illegal address": read its points one by one, learn the bad ones."""
        found = BlockValues()
        for spec in block.points:
            single = ReadBlock(block.table, spec.address, spec.width, (spec,))
            try:
                values = await self._read_block(single)
            except DeviceError as err:
                if err.retryable or err.exception_code != ILLEGAL_ADDRESS:
                    raise
                self.bad.setdefault(block.table, set()).update(
                    range(spec.address, spec.address + spec.width)
                )
                logger.warning(
                    "device %s: point %s (%s %d+%d) answers illegal address; "
                    "polling around it from now on",
                    self.device.equipment,
                    spec.name,
                    block.table,
                    spec.address,
                    spec.width,
                )
                continue
            found.values.extend(values.values)
            found.invalid.extend(values.invalid)
        if len(found.values) and not self._learned_in(block):
            # Every point answers alone: the illegal addresses are in the gaps between them.
            used = {a for p in block.points for a in range(p.address, p.address + p.width)}
            gaps = set(range(block.address, block.end)) - used
            self.bad.setdefault(block.table, set()).update(gaps)
            logger.warning(
                "device %s: %s %d+%d has illegal addresses between its points; "
                "reading around them from now on",
                self.device.equipment,
                block.table,
                block.address,
                block.count,
            )
        return found

    def _learned_in(self, block: ReadBlock) -> bool:
        bad = self.bad.get(block.table, set())
        return any(block.address <= a < block.end for a in bad)

    def _replan(self) -> None:
        self.plan = plan_profile(
            self.profile,
            max_gap=self.device.max_gap,
            bad={t: frozenset(a) for t, a in self.bad.items()},
        )
        self.stats.unreadable = list(self.plan.skipped)

    def _count_exception(self, block: ReadBlock, err: DeviceError) -> None:
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
