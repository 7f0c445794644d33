"""The line buffer and writer against a fake store at the transport boundary; time driven."""

from __future__ import annotations

import threading

import pytest

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.tsdb import TsdbError
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.errors import WriterAbortedError, WriterClosedError
from bldgwatch.ingest.writer import (
    BatchWriter,
    Delivery,
    WriterSettings,
    http_status,
)
from tests.ingest.fakes import FakeStore
from tests.waiting import wait_for


class Harness:
    """A writer wired to a fake store, recording acks, dead-lettered lines and sleeps."""

    def __init__(self, store: FakeStore | None = None, **settings: float) -> None:
        self.store = store or FakeStore()
        self.clock = ManualClock()
        self.acks: list[int] = []
        self.rejected: list[tuple[int, str]] = []
        self.sleeps: list[float] = []
        self.counters = Counters()
        defaults: dict[str, float] = {
            "batch_lines": 100,
            "batch_messages": 50,
            "flush_interval_s": 0.5,
            "max_pending_lines": 1000,
        }
        defaults.update(settings)
        self.writer = BatchWriter(
            self.store,
            settings=WriterSettings(
                batch_lines=int(defaults["batch_lines"]),
                batch_messages=int(defaults["batch_messages"]),
                flush_interval_s=defaults["flush_interval_s"],
                max_pending_lines=int(defaults["max_pending_lines"]),
            ),
            ack=lambda d: self.acks.append(d.mid),
            reject_line=lambda d, line, _why: self.rejected.append((d.mid, line)),
            counters=self.counters,
            monotonic=lambda: self.clock.now().timestamp(),
            sleep=self.sleeps.append,
            jitter=lambda: 0.0,
        )

    def submit(self, mid: int, *lines: str) -> None:
        self.writer.submit(Delivery(mid=mid, qos=1, topic="bw/v1/s/g/readings", seq=mid), lines)


def test_retries_then_acks_in_order_and_never_before_the_write() -> None:
    h = Harness()
    acks_at_write: list[list[int]] = []
    h.store.on_write = lambda _lines: acks_at_write.append(list(h.acks))
    h.store.failures = [
        TsdbError("InfluxDB unreachable: refused", retryable=True),
        TsdbError("InfluxDB 503: busy", retryable=True),
    ]
    h.submit(1, "m a=1 1")
    h.submit(2, "m a=2 2", "m a=3 3")
    h.submit(3, "m a=4 4")
    assert h.writer.flush_batch() == 4
    assert acks_at_write == [[], [], []]
    assert h.acks == [1, 2, 3]
    assert h.store.kept == ["m a=1 1", "m a=2 2", "m a=3 3", "m a=4 4"]
    assert h.sleeps == [0.1, 0.2]  # exponential, jitter 0 → lower half of the range
    assert h.counters.get("retries") == 2
    assert h.counters.get("written") == 4
    assert h.writer.pending_lines == 0


def test_429_honours_retry_after() -> None:
    h = Harness()
    h.store.failures = [TsdbError("InfluxDB 429: slow down", retryable=True, retry_after=7.0)]
    h.submit(1, "m a=1 1")
    h.writer.flush_batch()
    assert h.sleeps == [7.0]
    assert h.acks == [1]


def test_missing_database_is_recreated_and_retried() -> None:
    h = Harness()
    h.store.failures = [TsdbError('InfluxDB 404: database not found: "x"', retryable=False)]
    h.submit(1, "m a=1 1")
    h.writer.flush_batch()
    assert h.store.ensured == 1
    assert (h.acks, h.store.kept) == ([1], ["m a=1 1"])


@pytest.mark.parametrize("number_lines", [False, True], ids=["influx1-no-numbers", "numbered"])
def test_partial_write_dead_letters_the_bad_lines_and_keeps_the_rest(number_lines: bool) -> None:
    h = Harness(FakeStore(number_lines=number_lines))
    h.submit(1, "m a=1 1", "m BAD 2")
    h.submit(2, "m a=3 3", "m a=4 4", "m BAD 5", "m a=6 6")
    h.writer.flush_batch()
    assert h.rejected == [(1, "m BAD 2"), (2, "m BAD 5")]
    assert set(h.store.kept) == {"m a=1 1", "m a=3 3", "m a=4 4", "m a=6 6"}
    assert h.acks == [1, 2]
    assert h.counters.reasons("rejected") == {"write_rejected": 2}
    assert h.counters.get("written") == 4


def test_a_wholly_unparseable_body_is_bisected_to_its_bad_lines() -> None:
    h = Harness()
    h.submit(1, "m BAD 1")
    h.submit(2, "m BAD 2", "m BAD 3")
    h.writer.flush_batch()
    assert h.rejected == [(1, "m BAD 1"), (2, "m BAD 2"), (2, "m BAD 3")]
    assert h.acks == [1, 2]


def test_flush_by_size() -> None:
    h = Harness(batch_lines=3)
    h.submit(1, "m a=1 1", "m a=2 2")
    assert not h.writer.flush_due()
    h.submit(2, "m a=3 3", "m a=4 4")
    assert h.writer.flush_due()
    assert h.writer.poll() == 3
    # Message 2 had one of its two lines written: it must wait.
    assert h.acks == [1]
    assert h.writer.pending_lines == 1
    assert not h.writer.flush_due()
    h.clock.advance(0.5)
    assert h.writer.poll() == 1
    assert h.acks == [1, 2]


def test_flush_by_message_count() -> None:
    h = Harness(batch_messages=3)
    h.submit(1, "m a=1 1")
    h.submit(2)  # no lines: does not count
    h.submit(3, "m a=3 3", "m a=4 4")
    assert not h.writer.flush_due()
    h.submit(4, "m a=5 5")
    assert h.writer.poll() == 4
    assert h.acks == [1, 2, 3, 4]
    h.submit(5, "m a=6 6")
    assert not h.writer.flush_due()


def test_flush_by_interval_since_the_first_pending_line() -> None:
    h = Harness(flush_interval_s=0.5)
    assert h.writer.poll() == 0
    h.submit(1, "m a=1 1")
    h.clock.advance(0.3)
    h.submit(2, "m a=2 2")
    h.clock.advance(0.19)
    assert h.writer.poll() == 0
    h.clock.advance(0.01)
    assert h.writer.poll() == 2
    assert h.acks == [1, 2]
    assert h.store.calls == [["m a=1 1", "m a=2 2"]]


def test_message_without_lines_is_acked_in_turn() -> None:
    h = Harness()
    h.submit(1)
    assert h.acks == [1]  # nothing ahead of it
    h.submit(2, "m a=1 1")
    h.submit(3)
    assert h.acks == [1]  # waits for message 2
    h.clock.advance(1)
    h.writer.poll()
    assert h.acks == [1, 2, 3]


def test_full_buffer_blocks_the_submitter_until_a_flush() -> None:
    h = Harness(batch_lines=3, max_pending_lines=4)
    h.submit(1, "m a=1 1", "m a=2 2", "m a=3 3")
    entered = threading.Event()
    done = threading.Event()

    def producer() -> None:
        entered.set()
        h.submit(2, "m a=4 4", "m a=5 5")
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert entered.wait(5)
    assert not done.wait(0.2)  # blocked: 3 + 2 > 4
    assert h.writer.pending_lines == 3
    h.writer.flush_batch()
    wait_for(done.is_set, timeout=5, what="submit to unblock")
    thread.join()
    assert h.writer.pending_lines == 2


def test_one_message_larger_than_the_buffer_is_still_taken() -> None:
    h = Harness(batch_lines=2, max_pending_lines=2)
    h.submit(1, *(f"m a={i} {i}" for i in range(5)))
    assert [h.writer.flush_batch() for _ in range(3)] == [2, 2, 1]
    assert h.acks == [1]
    assert [len(c) for c in h.store.calls] == [2, 2, 1]


def _threaded(store: FakeStore, acks: list[int]) -> BatchWriter:
    settings = WriterSettings(
        batch_lines=100, flush_interval_s=60.0, backoff_initial_s=0.01, backoff_max_s=0.05
    )
    return BatchWriter(
        store,
        settings=settings,
        ack=lambda d: acks.append(d.mid),
        reject_line=lambda *_: None,
        counters=Counters(),
    )


def test_close_flushes_and_acks_everything() -> None:
    store, acks = FakeStore(), list[int]()
    writer = _threaded(store, acks)
    writer.start()
    writer.submit(Delivery(1, 1, "t"), ["m a=1 1"])
    writer.submit(Delivery(2, 1, "t"), ["m a=2 2"])
    assert writer.close(timeout=10)
    assert acks == [1, 2]
    assert store.kept == ["m a=1 1", "m a=2 2"]
    with pytest.raises(WriterClosedError):
        writer.submit(Delivery(3, 1, "t"), ["m a=3 3"])


def test_close_gives_up_on_a_dead_server_without_acking() -> None:
    store, acks = FakeStore(), list[int]()
    store.failures = [TsdbError("InfluxDB unreachable", retryable=True)] * 10_000
    writer = _threaded(store, acks)
    writer.start()
    writer.submit(Delivery(1, 1, "t"), ["m a=1 1"])
    assert not writer.close(timeout=0.3)
    assert acks == []
    assert writer.pending_lines == 1


def test_the_writer_thread_flushes_a_full_batch_without_waiting() -> None:
    store, acks = FakeStore(), list[int]()
    writer = BatchWriter(
        store,
        settings=WriterSettings(batch_lines=2, flush_interval_s=3600.0),
        ack=lambda d: acks.append(d.mid),
        reject_line=lambda *_: None,
        counters=Counters(),
    )
    writer.start()
    try:
        writer.submit(Delivery(1, 1, "t"), ["m a=1 1", "m a=2 2"])
        wait_for(lambda: acks == [1], timeout=5, what="the size-triggered flush")
    finally:
        writer.close(timeout=5)


@pytest.mark.parametrize(
    ("message", "status"),
    [("InfluxDB 503: x", 503), ("InfluxDB unreachable: y", None), ("boom", None)],
)
def test_http_status(message: str, status: int | None) -> None:
    assert http_status(TsdbError(message, retryable=False)) == status


def test_an_unexpected_error_neither_kills_the_thread_nor_loses_lines() -> None:
    store, acks = FakeStore(), list[int]()
    store.failures = [RuntimeError("surprise")]
    writer = _threaded(store, acks)
    writer.start()
    writer.submit(Delivery(1, 1, "t"), ["m a=1 1"])
    assert writer.close(timeout=10)
    assert acks == [1]
    assert store.kept == ["m a=1 1"]
    assert len(store.calls) == 2


def test_an_aborted_flush_gives_its_lines_back() -> None:
    h = Harness()

    def abort(_seconds: float) -> None:
        raise WriterAbortedError("stop now")

    h.writer = BatchWriter(
        h.store,
        settings=WriterSettings(),
        ack=lambda d: h.acks.append(d.mid),
        reject_line=lambda *_: None,
        counters=h.counters,
        monotonic=lambda: h.clock.now().timestamp(),
        sleep=abort,
    )
    h.store.failures = [TsdbError("InfluxDB 500: x", retryable=True)]
    h.submit(1, "m a=1 1")
    with pytest.raises(WriterAbortedError):
        h.writer.flush_batch()
    assert (h.acks, h.writer.pending_lines) == ([], 1)
    assert h.writer.flush_batch() == 1
    assert h.acks == [1]
