"""Backlog versus live readings: the mixer's share and the queue's live batches (no broker)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bldgwatch.core.clock import ManualClock, from_epoch_ms
from bldgwatch.core.models import EquipmentInfo, Reading
from bldgwatch.gateway.publisher import BatchPublisher, ShareMixer
from bldgwatch.gateway.queue import ReadingQueue


@pytest.mark.parametrize(
    ("share", "backlog_of_10"),
    [(0.8, 8), (0.5, 5), (1.0, 10), (0.0, 0), (0.25, 2)],
)
def test_mixer_gives_the_backlog_its_share(share: float, backlog_of_10: int) -> None:
    mixer = ShareMixer(share)
    picks = [mixer.choose(backlog=True, live=True) for _ in range(10)]
    assert picks.count("backlog") == backlog_of_10
    assert picks.count("live") == 10 - backlog_of_10


def test_mixer_without_contention_takes_what_waits() -> None:
    mixer = ShareMixer(0.0)
    assert mixer.choose(backlog=True, live=False) == "backlog"
    assert mixer.choose(backlog=False, live=True) == "live"
    assert mixer.choose(backlog=False, live=False) is None


def test_live_batch_takes_only_the_newest_readings(tmp_path: Path) -> None:
    q = ReadingQueue(tmp_path / "q.sqlite", max_bytes=1 << 30)
    q.put([Reading("P-01", "a", ts, float(ts)) for ts in range(100)])  # backlog
    q.put([Reading("P-01", "a", ts, float(ts)) for ts in range(1000, 1003)])  # live
    assert q.waiting(live_since_ms=1000) == (True, True)
    live = q.next_batch(10, live_since_ms=1000)
    assert live is not None and [r.ts_ms for r in live.readings] == [1000, 1001, 1002]
    assert q.waiting(live_since_ms=1000) == (True, False)
    assert q.next_batch(10, live_since_ms=1000) is None
    old = q.next_batch(10)
    assert old is not None and [r.ts_ms for r in old.readings] == list(range(10))
    assert (live.seq, old.seq) == (1, 2)
    q.close()


class FakeClient:
    """The MQTT client at the transport boundary: records what is published."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.max_packet_size: int | None = None  # what the broker's CONNACK announced
        self.sent: list[bytes] = []

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> Any:
        self.sent.append(payload)

        class Info:
            mid = len(self.sent)

        return Info()


def test_publisher_interleaves_live_batches_at_the_configured_share(tmp_path: Path) -> None:
    now_ms = 1_767_225_600_000
    q = ReadingQueue(tmp_path / "q.sqlite", max_bytes=1 << 30)
    q.put([Reading("P-01", "a", now_ms - 60_000 + i, 1.0) for i in range(1000)])  # outage
    q.put([Reading("P-01", "a", now_ms - 100 + i, 1.0) for i in range(50)])  # live
    client = FakeClient()
    pub = BatchPublisher(
        queue=q,
        client=client,
        topic="bw/v1/t/gw/readings",
        site="t",
        gateway="gw",
        equipment={"P-01": EquipmentInfo("pump", "B1")},
        batch_max_readings=10,
        max_inflight=10,
        flush_interval_s=1.0,
        clock=ManualClock(from_epoch_ms(now_ms)),
        backlog_share=0.8,
        live_window_s=5.0,
    )
    assert pub.fill() == 10
    assert (pub.stats.backlog_batches, pub.stats.live_batches) == (8, 2)
    q.close()
