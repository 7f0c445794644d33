"""Durable reading queue on SQLite (WAL): nothing put is lost before the broker acknowledges it.

Readings are stored as rows; `next_batch` gives the oldest unsent rows the next sequence
number and persists that assignment, so a batch re-sent after a restart carries the same
seq and the same readings. `ack(seq)` moves the batch to `recent`, where it stays for the
resend window: a broker killed before its autosave wrote a message it had acknowledged loses
it, and the publisher sends such batches again after a reconnect (docs/gateway.md). A batch
the broker refuses as too large goes back to unsent (`rebatch`) or, a single reading, to the
local `dead_letters` table. A byte quota drops the oldest readings (whole batches first, as
they are the oldest) and counts what it dropped.

One connection, used from one thread (the gateway's asyncio thread).
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from bldgwatch.core.models import Quality, Reading

# Estimated bytes a row costs beyond its two strings (ids, numbers, index entries, page slack).
ROW_OVERHEAD = 48
_KIND_NUMBER = 0
_KIND_BOOL = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    equipment TEXT NOT NULL,
    point TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    value,
    kind INTEGER NOT NULL,
    quality INTEGER NOT NULL,
    batch_seq INTEGER
);
CREATE INDEX IF NOT EXISTS ix_readings_unsent ON readings(id) WHERE batch_seq IS NULL;
CREATE INDEX IF NOT EXISTS ix_readings_batch ON readings(batch_seq) WHERE batch_seq IS NOT NULL;
CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('next_seq', 1), ('dropped', 0);
CREATE TABLE IF NOT EXISTS recent (
    seq INTEGER PRIMARY KEY, acked_ms INTEGER NOT NULL, readings BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    readings BLOB NOT NULL
);
"""
_READING_COLUMNS = "equipment, point, ts_ms, value, kind, quality"
_ROW_BYTES = f"length(equipment) + length(point) + {ROW_OVERHEAD}"


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    """A batch as stored: its sequence number and readings (oldest first)."""

    seq: int
    readings: list[Reading]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Depth and age of the queue, and what the quota dropped (ever)."""

    depth: int
    bytes: int
    batches: int
    oldest_ts_ms: int | None
    dropped: int
    dead_lettered: int = 0  # batches the broker refused even with one reading (kept locally)


def _row_bytes(r: Reading) -> int:
    return len(r.equipment) + len(r.point) + ROW_OVERHEAD


def _to_reading(row: tuple[str, str, int, float | int, int, int]) -> Reading:
    equipment, point, ts_ms, value, kind, quality = row
    return Reading(
        equipment, point, ts_ms, bool(value) if kind == _KIND_BOOL else value, Quality(quality)
    )


class ReadingQueue:
    """The gateway's durable queue (see the module doc)."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed put survives power loss too (gateways live with power cuts).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        count, size = self._db.execute(
            f"SELECT COUNT(*), COALESCE(SUM({_ROW_BYTES}), 0) FROM readings"  # noqa: S608
        ).fetchone()
        self._depth: int = count
        self._bytes: int = size
        self._served: set[int] = set()

    def close(self) -> None:
        """Close the database (unacknowledged batches stay for the next start)."""
        self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> int:
        value: int = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
        return value

    # -- writing ----------------------------------------------------------------------------
    def put(self, readings: Sequence[Reading]) -> None:
        """Store readings in one transaction; when it returns they are on disk."""
        if not readings:
            return
        rows = [
            (
                r.equipment,
                r.point,
                r.ts_ms,
                int(r.value) if isinstance(r.value, bool) else r.value,
                _KIND_BOOL if isinstance(r.value, bool) else _KIND_NUMBER,
                int(r.quality),
            )
            for r in readings
        ]
        with self._tx() as db:
            db.executemany(
                "INSERT INTO readings(equipment, point, ts_ms, value, kind, quality) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._depth += len(rows)
            self._bytes += sum(_row_bytes(r) for r in readings)
            if self._bytes > self._max_bytes:
                self._drop_oldest(db, self._bytes - self._max_bytes)

    def _drop_oldest(self, db: sqlite3.Connection, excess: int) -> None:
        freed = 0
        seqs: set[int] = set()
        last_unsent: int | None = None
        cur = db.execute(f"SELECT id, batch_seq, {_ROW_BYTES} FROM readings ORDER BY id")  # noqa: S608
        for row_id, seq, size in cur:
            if freed >= excess:
                break
            freed += size
            if seq is None:
                last_unsent = row_id
            else:
                seqs.add(seq)
        cur.close()
        dropped = 0
        for seq in sorted(seqs):
            dropped += self._delete_batch(db, seq)
            self._served.discard(seq)
        if last_unsent is not None:
            n, size = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM({_ROW_BYTES}), 0) FROM readings "  # noqa: S608
                "WHERE batch_seq IS NULL AND id <= ?",
                (last_unsent,),
            ).fetchone()
            db.execute("DELETE FROM readings WHERE batch_seq IS NULL AND id <= ?", (last_unsent,))
            self._depth -= n
            self._bytes -= size
            dropped += n
        db.execute("UPDATE meta SET value = value + ? WHERE key = 'dropped'", (dropped,))

    def _delete_batch(self, db: sqlite3.Connection, seq: int) -> int:
        n, size = db.execute(
            f"SELECT COUNT(*), COALESCE(SUM({_ROW_BYTES}), 0) FROM readings "  # noqa: S608
            "WHERE batch_seq = ?",
            (seq,),
        ).fetchone()
        db.execute("DELETE FROM readings WHERE batch_seq = ?", (seq,))
        db.execute("DELETE FROM batches WHERE seq = ?", (seq,))
        self._depth -= n
        self._bytes -= size
        return int(n)

    # -- batches ----------------------------------------------------------------------------
    def next_batch(
        self, max_readings: int, *, now_ms: int = 0, live_since_ms: int | None = None
    ) -> QueuedBatch | None:
        """The next batch to send, or None when nothing waits.

        Default (backlog order): batches assigned earlier (before a restart) and not yet
        served by this instance come first, oldest first, with their original seq; then the
        oldest unsent readings get the next seq. With `live_since_ms`, the batch holds the
        newest unsent readings stamped at or after that time instead (live readings sent
        ahead of a draining backlog); None when there are none.
        """
        if live_since_ms is None:
            old = self._db.execute("SELECT seq FROM batches ORDER BY seq").fetchall()
            for (seq,) in old:
                if seq not in self._served:
                    self._served.add(seq)
                    return self.batch(seq)
        with self._tx() as db:
            span = self._unsent_span(db, max_readings, live_since_ms)
            if span is None:
                return None
            seq = self._meta("next_seq")
            db.execute(
                "UPDATE readings SET batch_seq = ? WHERE batch_seq IS NULL AND id BETWEEN ? AND ?",
                (seq, *span),
            )
            db.execute("INSERT INTO batches(seq, created_ms) VALUES (?, ?)", (seq, now_ms))
            db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
        self._served.add(seq)
        return self.batch(seq)

    @staticmethod
    def _unsent_span(
        db: sqlite3.Connection, limit: int, live_since_ms: int | None
    ) -> tuple[int, int] | None:
        """First and last row id of the next batch's readings (all unsent rows between)."""
        if live_since_ms is None:
            ids = db.execute(
                "SELECT id FROM readings WHERE batch_seq IS NULL ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
            return (ids[0][0], ids[-1][0]) if ids else None
        rows = db.execute(
            "SELECT id, ts_ms FROM readings WHERE batch_seq IS NULL ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        live = list(itertools.takewhile(lambda row: row[1] >= live_since_ms, rows))
        return (live[-1][0], live[0][0]) if live else None

    def waiting(self, live_since_ms: int) -> tuple[bool, bool]:
        """(backlog, live): whether unsent readings (or re-servable batches) older than
        `live_since_ms` wait, and whether unsent readings at or after it wait."""
        old = self._db.execute("SELECT seq FROM batches").fetchall()
        reserve = any(seq not in self._served for (seq,) in old)
        first = self._db.execute(
            "SELECT ts_ms FROM readings WHERE batch_seq IS NULL ORDER BY id LIMIT 1"
        ).fetchone()
        last = self._db.execute(
            "SELECT ts_ms FROM readings WHERE batch_seq IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        backlog = reserve or (first is not None and first[0] < live_since_ms)
        live = last is not None and last[0] >= live_since_ms
        return backlog, live

    def batch(self, seq: int) -> QueuedBatch | None:
        """A stored batch by seq, or None when it was acknowledged or dropped."""
        if self._db.execute("SELECT 1 FROM batches WHERE seq = ?", (seq,)).fetchone() is None:
            return None
        return QueuedBatch(seq, [_to_reading(row) for row in self._rows(seq)])

    def ack(self, seq: int, *, now_ms: int = 0, keep_ms: int = 0) -> bool:
        """Take an acknowledged batch out of the queue; False when it is no longer there.

        With `keep_ms`, its readings stay in `recent` that long after `now_ms` (for a resend
        after the broker lost them), and older recent batches are forgotten.
        """
        with self._tx() as db:
            found = db.execute("SELECT 1 FROM batches WHERE seq = ?", (seq,)).fetchone()
            if found is not None:
                if keep_ms > 0:
                    db.execute(
                        "INSERT OR REPLACE INTO recent(seq, acked_ms, readings) VALUES (?, ?, ?)",
                        (seq, now_ms, orjson.dumps(self._rows(seq))),
                    )
                    db.execute("DELETE FROM recent WHERE acked_ms < ?", (now_ms - keep_ms,))
                self._delete_batch(db, seq)
        self._served.discard(seq)
        return found is not None

    def _rows(self, seq: int) -> list[tuple[str, str, int, float | int, int, int]]:
        rows: list[tuple[str, str, int, float | int, int, int]] = self._db.execute(
            f"SELECT {_READING_COLUMNS} FROM readings WHERE batch_seq = ? ORDER BY id",  # noqa: S608
            (seq,),
        ).fetchall()
        return rows

    def recent_since(self, since_ms: int) -> list[QueuedBatch]:
        """Acknowledged batches kept since `since_ms` (epoch ms of their ack), oldest first."""
        found = self._db.execute(
            "SELECT seq, readings FROM recent WHERE acked_ms >= ? ORDER BY seq", (since_ms,)
        ).fetchall()
        return [
            QueuedBatch(seq, [_to_reading(tuple(row)) for row in orjson.loads(blob)])
            for seq, blob in found
        ]

    def forget_recent(self, seq: int) -> None:
        """A kept batch was sent again and acknowledged: it need not be kept any more."""
        self._db.execute("DELETE FROM recent WHERE seq = ?", (seq,))

    def unserve(self, seq: int) -> None:
        """Serve a batch again (the broker refused it for a while, e.g. not authorised)."""
        self._served.discard(seq)

    def rebatch(self, seq: int) -> None:
        """Return a batch the broker refused as too large to unsent: its readings go again,
        in smaller batches with new seqs (the refused seq was never delivered)."""
        with self._tx() as db:
            db.execute("UPDATE readings SET batch_seq = NULL WHERE batch_seq = ?", (seq,))
            db.execute("DELETE FROM batches WHERE seq = ?", (seq,))
        self._served.discard(seq)

    def dead_letter(self, seq: int, reason: str, *, now_ms: int) -> int:
        """Move a batch the broker refuses even alone to the local dead letters; how many
        readings it held (kept in `dead_letters` for an operator, never sent again)."""
        with self._tx() as db:
            rows = self._rows(seq)
            db.execute(
                "INSERT INTO dead_letters(seq, reason, at_ms, readings) VALUES (?, ?, ?, ?)",
                (seq, reason, now_ms, orjson.dumps(rows)),
            )
            self._delete_batch(db, seq)
        self._served.discard(seq)
        return len(rows)

    # -- stats ------------------------------------------------------------------------------
    def stats(self) -> QueueStats:
        """Depth (readings, sent-unacked included), bytes, batches, oldest timestamp, drops."""
        oldest = self._db.execute("SELECT ts_ms FROM readings ORDER BY id LIMIT 1").fetchone()
        batches = self._db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
        dead = self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        return QueueStats(
            depth=self._depth,
            bytes=self._bytes,
            batches=batches,
            oldest_ts_ms=oldest[0] if oldest else None,
            dropped=self._meta("dropped"),
            dead_lettered=dead,
        )

    @property
    def unsent_waiting(self) -> bool:
        """True when readings wait that are in no batch yet."""
        row = self._db.execute("SELECT 1 FROM readings WHERE batch_seq IS NULL LIMIT 1").fetchone()
        return row is not None
