"""Durable queue: batches survive restarts with their seq, acks delete, the quota drops oldest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from bldgwatch.core.models import Quality, Reading
from bldgwatch.gateway.queue import ROW_OVERHEAD, ReadingQueue

BIG = 1 << 30


def readings(n: int, *, start: int = 0, eq: str = "P-01") -> list[Reading]:
    return [Reading(eq, "flow_m3h", 1_000 + i, float(i)) for i in range(start, start + n)]


def drain(q: ReadingQueue, size: int = 1000) -> list[Reading]:
    out: list[Reading] = []
    while (b := q.next_batch(size)) is not None:
        out.extend(b.readings)
        q.ack(b.seq)
    return out


def test_values_and_quality_round_trip(tmp_path: Path) -> None:
    q = ReadingQueue(tmp_path / "q.sqlite", max_bytes=BIG)
    sent = [
        Reading("E-01", "running", 1, True),
        Reading("E-01", "door_open", 2, False),
        Reading("E-01", "floor", 3, -2),
        Reading("P-01", "flow_m3h", 4, 12.75, Quality.UNCERTAIN),
        Reading("P-01", "start_count", 5, 2**40),
    ]
    q.put(sent)
    batch = q.next_batch(10)
    assert batch is not None
    assert batch.readings == sent
    assert [type(r.value) for r in batch.readings] == [bool, bool, int, float, int]


def test_batches_take_oldest_first_with_increasing_seq(tmp_path: Path) -> None:
    q = ReadingQueue(tmp_path / "q.sqlite", max_bytes=BIG)
    q.put(readings(5))
    q.put(readings(3, start=5))
    b1, b2, b3 = q.next_batch(4), q.next_batch(4), q.next_batch(4)
    assert b1 is not None and b2 is not None
    assert (b1.seq, [r.ts_ms for r in b1.readings]) == (1, [1000, 1001, 1002, 1003])
    assert (b2.seq, [r.ts_ms for r in b2.readings]) == (2, [1004, 1005, 1006, 1007])
    assert b3 is None
    assert q.stats().batches == 2


def test_unacked_batch_is_reserved_after_reopen_with_same_seq(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = ReadingQueue(path, max_bytes=BIG)
    q.put(readings(10))
    first = q.next_batch(6)
    q.close()

    q = ReadingQueue(path, max_bytes=BIG)
    again = q.next_batch(6)
    assert again == first
    rest = q.next_batch(6)
    assert rest is not None and rest.seq == 2 and len(rest.readings) == 4
    assert q.next_batch(6) is None


def test_ack_deletes_and_seq_keeps_counting_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = ReadingQueue(path, max_bytes=BIG)
    q.put(readings(4))
    b = q.next_batch(10)
    assert b is not None
    assert q.ack(b.seq) is True
    assert q.ack(b.seq) is False
    assert q.stats().depth == 0 and q.stats().batches == 0
    assert q.batch(b.seq) is None
    q.close()
    q = ReadingQueue(path, max_bytes=BIG)
    assert q.next_batch(10) is None
    q.put(readings(1))
    nxt = q.next_batch(10)
    assert nxt is not None and nxt.seq == b.seq + 1


def test_stats_depth_bytes_oldest(tmp_path: Path) -> None:
    q = ReadingQueue(tmp_path / "q.sqlite", max_bytes=BIG)
    assert q.stats().oldest_ts_ms is None
    q.put(readings(3))
    s = q.stats()
    row = len("P-01") + len("flow_m3h") + ROW_OVERHEAD
    assert (s.depth, s.bytes, s.oldest_ts_ms, s.dropped) == (3, 3 * row, 1000, 0)


def test_quota_drops_oldest_and_counts_persistently(tmp_path: Path) -> None:
    row = len("P-01") + len("flow_m3h") + ROW_OVERHEAD
    path = tmp_path / "q.sqlite"
    q = ReadingQueue(path, max_bytes=10 * row)
    q.put(readings(8))
    q.put(readings(5, start=8))  # 13 rows, 3 over quota
    s = q.stats()
    assert (s.depth, s.dropped) == (10, 3)
    q.close()
    q = ReadingQueue(path, max_bytes=10 * row)
    assert q.stats().dropped == 3
    assert [r.ts_ms for r in drain(q)] == list(range(1003, 1013))


def test_quota_drops_whole_oldest_batches_first(tmp_path: Path) -> None:
    row = len("P-01") + len("flow_m3h") + ROW_OVERHEAD
    q = ReadingQueue(tmp_path / "q.sqlite", max_bytes=6 * row)
    q.put(readings(4))
    old = q.next_batch(4)
    assert old is not None
    q.put(readings(3, start=4))  # 7 rows: the oldest batch (4 rows) goes as a whole
    assert q.batch(old.seq) is None
    assert q.ack(old.seq) is False
    assert q.stats().dropped == 4
    assert [r.ts_ms for r in drain(q)] == [1004, 1005, 1006]


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from bldgwatch.core.models import Reading
    from bldgwatch.gateway.queue import ReadingQueue
    q = ReadingQueue(Path(sys.argv[1]), max_bytes=1 << 30)
    i = 0
    while True:
        q.put([Reading("P-01", f"p{k}", i, float(i)) for k in range(5)])
        print(i, flush=True)
        i += 1
""")


def test_nothing_put_is_lost_when_killed(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
        text=True,
    )
    assert proc.stdout is not None
    confirmed = -1
    for line in proc.stdout:
        confirmed = int(line)
        if confirmed >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert confirmed >= 150
    q = ReadingQueue(path, max_bytes=1 << 30)
    got = drain(q)
    puts = {r.ts_ms for r in got}
    assert set(range(confirmed + 1)) <= puts
    assert len(got) == 5 * len(puts)  # every put is whole: one transaction each
