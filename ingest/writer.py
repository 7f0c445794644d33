"""The line buffer and its writer thread: batch lines from many messages, write them to
InfluxDB with retries, and acknowledge each message only once all its lines are stored.

The MQTT thread calls `submit`; it blocks while the buffer is full, so the broker holds the
rest (backpressure). One writer thread takes up to `batch_lines` lines at a time, when
that many are waiting, when `batch_messages` messages wait for their ack (the broker sends
only so many unacknowledged messages; waiting for more would stall until the interval), or
when `flush_interval_s` has passed since the oldest waiting line came.
Retryable errors are retried with exponential backoff and jitter, forever: nothing is
dropped. Lines InfluxDB refuses (partial writes, unparseable lines) are found — by the
server's line numbers where it gives them, by bisection where it does not, which is safe
because rewriting a point is idempotent — and handed to `reject_line` for the dead letter.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bldgwatch.core import lineproto
from bldgwatch.core.backoff import backoff_delay
from bldgwatch.core.tsdb import PartialWriteError, TsdbError
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.errors import WriterAbortedError, WriterClosedError
from bldgwatch.ingest.lines import PRECISION
from bldgwatch.ingest.store import LineStore

logger = logging.getLogger(__name__)

WRITE_REJECTED = "write_rejected"
# Statuses that say "this data", not "this server": find and dead-letter the bad lines.
_DATA_STATUSES = frozenset({400, 413})
_STATUS = re.compile(r"^InfluxDB (\d{3})\b")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A received message whose acknowledgement waits until its lines are written."""

    mid: int
    qos: int
    topic: str
    seq: int | None = None
    session: int = 0
    newest_ms: int | None = None  # the newest reading's timestamp, for the lag gauge


AckFn = Callable[[Delivery], None]
# (message the line came from, the line, why InfluxDB refused it)
RejectLineFn = Callable[[Delivery, str, str], None]


@dataclass(frozen=True, slots=True)
class WriterSettings:
    """Batching, bounding and retry settings of the writer."""

    batch_lines: int = 5000
    batch_messages: int = 20
    flush_interval_s: float = 0.5
    max_pending_lines: int = 200_000
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 30.0


def http_status(err: TsdbError) -> int | None:
    """The HTTP status an adapter put at the head of its message, if any."""
    found = _STATUS.match(str(err))
    return int(found.group(1)) if found else None


@dataclass(slots=True)
class _Entry:
    delivery: Delivery
    lines: list[str]
    arrived: float
    taken: int = 0
    done: int = 0


_Slice = tuple[_Entry, int, int]


class BatchWriter:
    """Buffer lines of many messages; write them in batches; ack messages once stored."""

    def __init__(
        self,
        store: LineStore,
        *,
        settings: WriterSettings,
        ack: AckFn,
        reject_line: RejectLineFn,
        counters: Counters,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._s = settings
        self._ack = ack
        self._reject_line = reject_line
        self._counters = counters
        self._monotonic = monotonic
        self._sleep = sleep or self._abortable_sleep
        self._jitter = jitter
        self._cond = threading.Condition()
        self._ack_lock = threading.Lock()
        self._entries: deque[_Entry] = deque()
        self._pending = 0  # lines submitted and not yet written
        self._untaken = 0  # of those, lines no flush has taken yet
        self._waiting = 0  # messages with lines no flush has taken yet
        self._closed = False
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None

    # -- producer side (the MQTT thread) ------------------------------------------------
    def submit(self, delivery: Delivery, lines: Sequence[str]) -> None:
        """Queue a message's lines; block while the buffer is full.

        Raises WriterClosedError once the writer is closing; the message then stays
        unacknowledged and the broker redelivers it.
        """
        n = len(lines)
        with self._cond:
            while (
                not self._closed
                and self._pending > 0
                and self._pending + n > self._s.max_pending_lines
            ):
                self._cond.wait()
            if self._closed:
                raise WriterClosedError("the writer is closed")
            self._entries.append(_Entry(delivery, list(lines), self._monotonic()))
            self._pending += n
            self._untaken += n
            self._waiting += 1 if n else 0
            self._cond.notify_all()
        if n == 0:
            self._release_done()

    @property
    def pending_lines(self) -> int:
        """Lines submitted and not yet written."""
        with self._cond:
            return self._pending

    # -- consumer side (the writer thread, or a test driving it) ---------------------------
    def flush_due(self) -> bool:
        """True when a batch is full (lines or messages) or the oldest line waited enough."""
        with self._cond:
            wait = self._due_in()
        return wait is not None and wait <= 0

    def poll(self) -> int:
        """Flush one batch if one is due; the number of lines written or refused."""
        return self.flush_batch() if self.flush_due() else 0

    def flush_batch(self) -> int:
        """Take up to `batch_lines` waiting lines, write them, ack completed messages.

        Raises WriterAbortedError when told to abort while retrying.
        """
        with self._cond:
            chunk = self._take()
        if not chunk:
            return 0
        lines = [line for e, a, b in chunk for line in e.lines[a:b]]
        owners = [e.delivery for e, a, b in chunk for _ in range(b - a)]
        try:
            refused = self._write(lines)
        except BaseException:
            with self._cond:
                self._untake(chunk)  # unwritten: a later flush takes these lines again
            raise
        for index, detail in refused:
            self._reject_line(owners[index], lines[index], detail)
        self._counters.inc("written", len(lines) - len(refused))
        if refused:
            self._counters.inc_reason("rejected", WRITE_REJECTED, len(refused))
        with self._cond:
            for entry, a, b in chunk:
                entry.done += b - a
                self._pending -= b - a
            self._cond.notify_all()
        self._release_done()
        return len(lines)

    # -- thread lifetime ---------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def close(self, timeout: float) -> bool:
        """Take no more messages, write what is buffered, stop the thread.

        Waits up to `timeout` seconds for the last writes; after that a retrying write is
        abandoned (its messages stay unacknowledged). True when everything was written.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "InfluxDB writes still failing at shutdown; leaving %d lines "
                    "unacknowledged for redelivery",
                    self.pending_lines,
                )
                self._abort.set()
                self._thread.join()
        return self.pending_lines == 0

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    wait = self._due_in()
                    if wait is None and self._closed:
                        return
                    if wait is not None and (wait <= 0 or self._closed):
                        break
                    self._cond.wait(wait)
            try:
                self.flush_batch()
            except WriterAbortedError:
                return
            except Exception:
                # The thread's top: a surprise must not stop the writes (and the acks).
                logger.exception("InfluxDB write failed unexpectedly; retrying")
                if self._abort.wait(self._s.backoff_max_s):
                    return

    # -- internals ---------------------------------------------------------------------
    def _due_in(self) -> float | None:
        """Seconds until a flush is due (<= 0: now), None with nothing waiting. Needs the lock."""
        if self._untaken == 0:
            return None
        if self._untaken >= self._s.batch_lines or self._waiting >= self._s.batch_messages:
            return 0.0
        oldest = next(e for e in self._entries if e.taken < len(e.lines))
        return oldest.arrived + self._s.flush_interval_s - self._monotonic()

    def _take(self) -> list[_Slice]:
        """Hand the oldest waiting lines, at most one batch, to a flush. Needs the lock."""
        chunk: list[_Slice] = []
        room = self._s.batch_lines
        for entry in self._entries:
            n = min(len(entry.lines) - entry.taken, room)
            if n <= 0:
                continue
            chunk.append((entry, entry.taken, entry.taken + n))
            entry.taken += n
            self._waiting -= 1 if entry.taken == len(entry.lines) else 0
            room -= n
            if room == 0:
                break
        self._untaken -= self._s.batch_lines - room
        return chunk

    def _untake(self, chunk: list[_Slice]) -> None:
        """Give a chunk's lines back, as if never taken. Needs the lock."""
        for entry, a, b in chunk:
            self._waiting += 1 if entry.taken == len(entry.lines) else 0
            entry.taken = a
            self._untaken += b - a

    def _release_done(self) -> None:
        """Ack, in arrival order, every message at the head whose lines are all written."""
        with self._ack_lock:
            done: list[Delivery] = []
            with self._cond:
                while self._entries and self._entries[0].done == len(self._entries[0].lines):
                    done.append(self._entries.popleft().delivery)
            for delivery in done:
                self._ack(delivery)
            self._counters.inc("acked", len(done))

    def _write(self, lines: list[str]) -> list[tuple[int, str]]:
        """Write `lines`; return the (index, reason) of each line InfluxDB refused."""
        try:
            self._write_retrying(lines)
        except PartialWriteError as err:
            flagged = sorted({n - 1 for n in err.bad_lines if 1 <= n <= len(lines)})
            if not flagged:
                return self._bisect(lines, err)
            # Trust the server's line numbers, but confirm by writing the rest again.
            bad = set(flagged)
            rest = [i for i in range(len(lines)) if i not in bad]
            refused = [(i, str(err)) for i in flagged]
            refused += [(rest[j], why) for j, why in self._write([lines[i] for i in rest])]
            return sorted(refused)
        except TsdbError as err:  # a data error: _write_retrying re-raises no other
            return self._bisect(lines, err)
        return []

    def _bisect(self, lines: list[str], err: TsdbError) -> list[tuple[int, str]]:
        if len(lines) == 1:
            return [(0, str(err))]
        mid = len(lines) // 2
        left = self._write(lines[:mid])
        right = [(i + mid, why) for i, why in self._write(lines[mid:])]
        return left + right

    def _write_retrying(self, lines: list[str]) -> None:
        """Write until it succeeds; raise only PartialWriteError or a data error."""
        body = lineproto.join(lines)
        attempt = 0
        while True:
            try:
                self._store.write(body, precision=PRECISION)
            except PartialWriteError:
                raise
            except TsdbError as err:
                status = http_status(err)
                if not err.retryable and status in _DATA_STATUSES:
                    raise
                self._before_retry(err, status, attempt)
                attempt += 1
            else:
                if attempt:
                    logger.info("InfluxDB write succeeded after %d retries", attempt)
                return

    def _before_retry(self, err: TsdbError, status: int | None, attempt: int) -> None:
        delay = backoff_delay(
            attempt,
            initial=self._s.backoff_initial_s,
            maximum=self._s.backoff_max_s,
            retry_after=err.retry_after,
            jitter=self._jitter(),
        )
        log = logger.warning if attempt == 0 else logger.debug
        log("InfluxDB write failed (%s); retry %d in %.1f s", err, attempt + 1, delay)
        self._counters.inc("retries")
        if status == 404:
            self._recreate_database()
        self._sleep(delay)

    def _recreate_database(self) -> None:
        """A 404 from /write means the database is gone; create it again."""
        try:
            self._store.ensure_database()
        except TsdbError as err:
            logger.debug("cannot create the database yet: %s", err)

    def _abortable_sleep(self, seconds: float) -> None:
        if self._abort.wait(seconds):
            raise WriterAbortedError("writer aborted while retrying")
