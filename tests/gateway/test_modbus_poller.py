"""The device poller with a fake transport (the transport boundary) and driven time."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.models import Quality, Reading
from bldgwatch.core.profiles import DeviceProfile, Table, load_profiles
from bldgwatch.core.registers import DataType, Order, encode
from bldgwatch.gateway.config import DeviceConfig
from bldgwatch.gateway.errors import DeviceError
from bldgwatch.gateway.modbus_poller import (
    AVAILABLE_POINT,
    Availability,
    DevicePoller,
    next_due,
)
from bldgwatch.gateway.overrides import PointOverride, apply_overrides

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due_s", "now_s", "expected_s"),
    [
        (0, 0.1, 1),  # on time
        (0, 1.0, 1),  # exactly at the next slot
        (0, 1.5, 2),  # overran: skip to the next slot on the grid
        (0, 3.2, 4),  # overran several slots: no bunching
        (10, 9.0, 11),  # clock behind: still on the grid
    ],
)
def test_next_due_is_drift_free(due_s: float, now_s: float, expected_s: float) -> None:
    got = next_due(T0 + timedelta(seconds=due_s), 1.0, T0 + timedelta(seconds=now_s))
    assert got == T0 + timedelta(seconds=expected_s)


@pytest.mark.parametrize(
    ("events", "changes"),
    [
        ("s", [True]),
        ("ss", [True, None]),
        ("fff", [None, None, False]),
        ("ffff", [None, None, False, None]),
        ("ffsff", [None, None, True, None, None]),
        ("sfffs", [True, None, None, False, True]),
    ],
)
def test_availability(events: str, changes: list[bool | None]) -> None:
    a = Availability(3)
    assert [a.success() if e == "s" else a.failure() for e in events] == changes


class FakeTransport:
    """Serves the pump map; scripted failures per call."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.connected = False
        self.up = True
        self.connects = 0
        self.exception_tables: set[Table] = set()
        self.read_time_s = 0.0
        self.poll_times: list[float] = []
        self.slow_poll = 0
        self.stop_after = 0
        self.stop = asyncio.Event()
        profile = load_profiles()["pump-generic"]
        self.tables: dict[Table, dict[int, int | bool]] = {t: {} for t in Table}
        self.tables[Table.DISCRETE] = {0: True, 1: False}
        self.tables[Table.HOLDING] = {0: 185}
        for spec in profile.points:
            if spec.table is Table.INPUT:
                regs = encode(spec.address + 1, spec.type, profile.order_of(spec))
                for i, r in enumerate(regs):
                    self.tables[Table.INPUT][spec.address + i] = r

    async def connect(self) -> bool:
        self.connects += 1
        self.connected = self.up
        return self.up

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        if table is Table.DISCRETE:  # the first block of every poll
            self.poll_times.append((self.clock.now() - T0).total_seconds())
            if len(self.poll_times) == self.stop_after:
                self.stop.set()
            if len(self.poll_times) == self.slow_poll:
                self.clock.advance(1.5)
        if not self.up:
            self.connected = False
            raise DeviceError("timeout", retryable=True)
        if table in self.exception_tables:
            raise DeviceError("exception 2", retryable=False, exception_code=2)
        return [self.tables[table].get(a, 0) for a in range(address, address + count)]

    def close(self) -> None:
        self.connected = False


async def wait_driven(_stop: asyncio.Event, delay: float, *, clock: ManualClock) -> None:
    clock.advance(delay)
    await asyncio.sleep(0)


def make_poller(
    missing: dict[Table, set[int]] | None = None,
    profile: DeviceProfile | None = None,
    **overrides: object,
) -> tuple[DevicePoller, FakeTransport, ManualClock, list[Reading]]:
    clock = ManualClock(T0)
    transport = FakeTransport(clock) if missing is None else HoleyTransport(clock, missing)
    got: list[Reading] = []
    device = DeviceConfig.model_validate(
        {
            "equipment": "P-01",
            "building": "B1",
            "profile": "pump-generic",
            "host": "h",
            "unavailable_after": 3,
            "reconnect_min_s": 2.0,
            "reconnect_max_s": 8.0,
            **overrides,
        }
    )
    poller = DevicePoller(
        device,
        profile or load_profiles()["pump-generic"],
        transport,
        sink=got.extend,
        clock=clock,
        rng=random.Random(0),
        wait=functools.partial(wait_driven, clock=clock),
    )
    return poller, transport, clock, got


def values(rs: list[Reading]) -> dict[str, object]:
    return {r.point: r.value for r in rs}


async def test_poll_decodes_every_point_with_the_poll_timestamp() -> None:
    poller, _, _, got = make_poller()
    await poller.poll_once()
    v = values(got)
    assert v["running"] is True and v["tripped"] is False
    assert v["rated_current_a"] == pytest.approx(18.5)
    assert v["motor_current_a"] == 1.0 and v["flow_m3h"] == 5.0
    assert v["bearing_temp_c"] == pytest.approx(0.9) and v["start_count"] == 13
    assert v[AVAILABLE_POINT] is True
    assert {r.ts_ms for r in got} == {to_epoch_ms(T0)}  # the poll start, not read time
    assert {r.quality for r in got} == {Quality.GOOD}
    got.clear()
    await poller.poll_once()
    assert AVAILABLE_POINT not in values(got)  # only on change


async def test_failures_mark_unavailable_once_and_recovery_marks_available(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bldgwatch.gateway.modbus_poller")
    poller, transport, clock, got = make_poller()
    await poller.poll_once()
    transport.up = False
    got.clear()
    for _ in range(5):
        clock.advance(1.0)
        await poller.poll_once()
    assert got == [Reading("P-01", AVAILABLE_POINT, to_epoch_ms(T0) + 3000, False)]
    failures = [
        r
        for r in caplog.records
        if r.msg.startswith("device %s (") or r.msg.startswith("device %s still")
    ]
    assert [r.levelno for r in failures] == [logging.ERROR] + [logging.DEBUG] * 4
    # backoff: after the read failure at t=1 s no connect is tried before 1 + [1, 2] s
    assert transport.connects <= 3
    transport.up = True
    got.clear()
    clock.advance(30.0)
    await poller.poll_once()
    assert values(got)[AVAILABLE_POINT] is True
    assert poller.availability.available is True and poller.stats.failed_polls == 5


async def test_exception_on_one_block_keeps_the_others() -> None:
    poller, transport, _, got = make_poller()
    transport.exception_tables = {Table.INPUT}
    await poller.poll_once()
    v = values(got)
    assert "flow_m3h" not in v and v["running"] is True and v[AVAILABLE_POINT] is True
    assert poller.stats.exceptions == {2: 1}


async def test_every_block_answering_exceptions_is_a_failed_poll() -> None:
    poller, transport, _, got = make_poller(unavailable_after=1)
    transport.exception_tables = set(Table)
    await poller.poll_once()
    assert got == [Reading("P-01", AVAILABLE_POINT, to_epoch_ms(T0), False)]


async def test_run_keeps_the_grid_and_skips_overrun_slots() -> None:
    poller, transport, _, _ = make_poller(poll_interval_s=1.0)
    transport.slow_poll = 3  # the third poll takes 1.5 s, so its next slot (3 s) is missed
    transport.stop_after = 6
    await poller.run(transport.stop)
    assert transport.poll_times == [0.0, 1.0, 2.0, 4.0, 5.0, 6.0]
    assert not transport.connected


class HoleyTransport(FakeTransport):
    """Answers exception 2 (illegal address) for any read touching a missing register."""

    def __init__(self, clock: ManualClock, missing: dict[Table, set[int]]) -> None:
        super().__init__(clock)
        self.missing = missing
        self.requests: list[tuple[Table, int, int]] = []

    async def read(
        self, table: Table, address: int, count: int, unit: int
    ) -> Sequence[int] | Sequence[bool]:
        self.requests.append((table, address, count))
        if self.missing.get(table, set()) & set(range(address, address + count)):
            raise DeviceError("exception 2", retryable=False, exception_code=2)
        return await super().read(table, address, count, unit)


async def test_illegal_address_is_learned_and_planned_around(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # flow_m3h (input 4+2) does not exist on this device
    poller, holey, clock, got = make_poller(missing={Table.INPUT: {4}})
    assert isinstance(holey, HoleyTransport)
    await poller.poll_once()
    first = values(got)
    assert "flow_m3h" not in first and first["vibration_mm_s"] == 7.0 and first["running"] is True
    assert poller.stats.unreadable == ["flow_m3h"]
    warnings = [r for r in caplog.records if "illegal address" in r.getMessage()]
    assert len(warnings) == 1 and "flow_m3h" in warnings[0].getMessage()
    holey.requests.clear()
    got.clear()
    clock.advance(1.0)
    await poller.poll_once()
    # The new plan reads around the hole: two input requests, neither touching register 4 or 5.
    inputs = [(a, c) for t, a, c in holey.requests if t is Table.INPUT]
    assert inputs == [(0, 4), (6, 8)]
    assert not any(t is Table.INPUT and 4 in range(a, a + c) for t, a, c in holey.requests)
    assert values(got)["start_count"] == 13
    assert poller.stats.exceptions == {2: 1}  # learned once, not paid every poll


async def test_report_by_exception_deadband_and_max_interval() -> None:
    poller, transport, clock, got = make_poller(
        deadband=0.5,
        max_report_interval_s=10,
        points=[{"name": "motor_current_a", "deadband": 2.0}],
    )
    await poller.poll_once()
    assert len(got) == 12  # the first poll reports everything (+ _available)
    got.clear()
    clock.advance(1.0)
    # vibration (input 6) moves by 1.0 > 0.5: reported; current moves by 1.0 < 2.0: not
    transport.tables[Table.INPUT].update(
        dict(enumerate(encode(8.0, DataType.FLOAT32, Order.CDAB), 6))
    )
    transport.tables[Table.INPUT].update(
        dict(enumerate(encode(2.0, DataType.FLOAT32, Order.CDAB), 0))
    )
    await poller.poll_once()
    assert values(got) == {"vibration_mm_s": 8.0}
    got.clear()
    clock.advance(9.0)  # 10 s since the first report: everything is due again
    await poller.poll_once()
    # all 11 points but vibration (reported at 1 s, so not yet due)
    assert len(got) == 10 and "vibration_mm_s" not in values(got)
    assert poller.report.suppressed == 10 + 1


async def test_illegal_address_in_a_gap_is_learned_and_read_around() -> None:
    pump = load_profiles()["pump-generic"]
    moved = apply_overrides("P-01", pump, [PointOverride(name="start_count", address=20)])
    poller, holey, clock, got = make_poller(missing={Table.INPUT: {16}}, profile=moved)
    assert isinstance(holey, HoleyTransport)
    await poller.poll_once()
    assert "start_count" in values(got) and poller.stats.unreadable == []
    holey.requests.clear()
    clock.advance(1.0)
    await poller.poll_once()
    inputs = [(a, c) for t, a, c in holey.requests if t is Table.INPUT]
    assert inputs == [(0, 12), (20, 2)]  # split at the hole, nothing re-probed
