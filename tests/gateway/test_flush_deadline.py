"""Issue 22 point 2: polled readings are written in one transaction and sent as one batch by
their deadline, not only when a batch is full or at the flush interval, and a status change
leaves at once. The transport boundary is faked (the Broker of test_batch_limits); the queue
is the real SQLite one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bldgwatch.core.clock import SystemClock
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.models import Quality, Reading
from bldgwatch.gateway.config import QueueSettings
from bldgwatch.gateway.intake import Intake, PriorityWatch
from bldgwatch.gateway.publisher import BatchPublisher
from bldgwatch.gateway.queue import ReadingQueue
from tests.gateway.test_batch_limits import NOW_MS, Broker
from tests.gateway.test_batch_limits import _publisher as limits_publisher

LONG_S = 60.0  # a flush interval no test waits for


def _publisher(tmp_path: Path, broker: Broker, **kw: Any) -> tuple[BatchPublisher, ReadingQueue]:
    return limits_publisher(
        tmp_path, broker, SystemClock(), max_inflight=10, flush_interval_s=LONG_S, **kw
    )


async def _until_sent(broker: Broker, n: int) -> None:
    while len(broker.sent) < n:
        await asyncio.sleep(0.005)  # yields to the publisher's task; bounded by wait_for


async def _running(pub: BatchPublisher, broker: Broker) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(pub.run(stop))
    await asyncio.wait_for(_until_sent(broker, 0), 1)
    await asyncio.sleep(0)  # run() has started and made its first (empty) fill
    return stop, task


def _flow(n: int) -> list[Reading]:
    return [Reading("P-01", "flow_m3h", NOW_MS + i, float(i)) for i in range(n)]


def _intake(pub: BatchPublisher, queue: ReadingQueue, deadline_s: float) -> Intake:
    def commit(readings: list[Reading], urgent: bool) -> None:  # as the gateway service does
        queue.put(readings)
        pub.notify(len(readings), urgent=urgent)

    return Intake(commit, deadline_s=deadline_s, max_readings=500, watch=PriorityWatch())


async def test_polls_leave_together_by_their_deadline_not_the_flush_interval(
    tmp_path: Path,
) -> None:
    broker = Broker(max_packet_size=None)
    pub, queue = _publisher(tmp_path, broker)
    intake = _intake(pub, queue, 0.05)
    stop, task = await _running(pub, broker)
    intake.put(_flow(2))
    intake.put(_flow(3)[2:])  # a second poll within the deadline
    assert intake.pending == 3 and queue.stats().depth == 0  # gathered, not yet written
    await asyncio.wait_for(_until_sent(broker, 1), LONG_S / 4)
    assert [r.value for r in decode_batch(broker.sent[1]).batch.readings] == [0.0, 1.0, 2.0]
    assert len(broker.sent) == 1  # one transaction, one batch
    pub.on_puback(1, 0)  # the queue keeps seq/ack: acknowledged, then gone
    assert queue.stats().depth == 0
    stop.set()
    pub.wake()
    await task
    queue.close()


async def test_a_status_change_is_written_and_sent_at_once(tmp_path: Path) -> None:
    broker = Broker(max_packet_size=None)
    pub, queue = _publisher(tmp_path, broker)
    intake = _intake(pub, queue, 5.0)  # a deadline no test waits for
    stop, task = await _running(pub, broker)
    intake.put([Reading("P-01", "tripped", NOW_MS, False), *_flow(2)])
    assert queue.stats().depth == 0
    intake.put([Reading("P-01", "tripped", NOW_MS + 500, True)])
    assert queue.stats().depth == 4  # written with what was gathered, before any await
    await asyncio.wait_for(_until_sent(broker, 1), LONG_S / 4)
    assert len(decode_batch(broker.sent[1]).batch.readings) == 4
    assert intake.urgent_commits == 1
    stop.set()
    pub.wake()
    await task
    queue.close()


async def test_without_a_deadline_every_poll_is_written_at_once(tmp_path: Path) -> None:
    committed: list[tuple[int, bool]] = []
    intake = Intake(
        lambda rs, urgent: committed.append((len(rs), urgent)),
        deadline_s=0.0,
        max_readings=500,
        watch=PriorityWatch(),
    )
    intake.put(_flow(3))
    intake.put(_flow(2))
    assert committed == [(3, False), (2, False)] and intake.pending == 0


async def test_a_full_batch_is_written_without_waiting(tmp_path: Path) -> None:
    committed: list[int] = []
    intake = Intake(
        lambda rs, urgent: committed.append(len(rs)),
        deadline_s=5.0,
        max_readings=4,
        watch=PriorityWatch(),
    )
    intake.put(_flow(3))
    assert committed == []
    intake.put(_flow(2))
    assert committed == [5]
    intake.put(_flow(1))
    intake.flush()  # as the gateway does before it stops
    assert committed == [5, 1] and intake.pending == 0


async def test_a_small_batch_waits_unless_urgent(tmp_path: Path) -> None:
    broker = Broker(max_packet_size=None)
    pub, queue = _publisher(tmp_path, broker)
    stop, task = await _running(pub, broker)
    queue.put(_flow(3))
    pub.notify(3)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_until_sent(broker, 1), 0.3)
    pub.notify(1, urgent=True)  # a priority reading takes what waits with it, at once
    await asyncio.wait_for(_until_sent(broker, 1), LONG_S / 4)
    assert len(decode_batch(broker.sent[1]).batch.readings) == 3
    stop.set()
    pub.wake()
    await task
    queue.close()


def test_priority_is_a_changed_status_or_a_watched_point() -> None:
    watch = PriorityWatch(["*fault*"])

    def r(point: str, value: float | bool, quality: Quality = Quality.GOOD) -> Reading:
        return Reading("E-01", point, NOW_MS, value, quality)

    assert not watch.urgent([r("door_open", False), r("fault_code", 0), r("speed_m_s", 1.0)])
    assert not watch.urgent([r("door_open", False), r("fault_code", 0), r("speed_m_s", 1.6)])
    assert watch.urgent([r("door_open", True)])  # a status bit changed
    assert not watch.urgent([r("door_open", True)])
    assert watch.urgent([r("fault_code", 17)])  # a watched code changed
    assert watch.urgent([r("door_open", True, Quality.BAD)])  # its quality changed
    assert not watch.urgent([Reading("E-02", "door_open", NOW_MS, True)])  # first of E-02


def test_the_deadline_is_validated() -> None:
    assert QueueSettings().flush_deadline_s > 0
    with pytest.raises(ConfigError, match="flush_deadline_s"):
        parse_config({"flush_interval_s": 0.5, "flush_deadline_s": 1.0}, QueueSettings, source="t")
    with pytest.raises(ConfigError, match="flush_deadline_s"):
        parse_config({"flush_deadline_s": -1}, QueueSettings, source="t")
    with pytest.raises(ConfigError, match="priority_points"):
        parse_config({"priority_points": [" "]}, QueueSettings, source="t")
