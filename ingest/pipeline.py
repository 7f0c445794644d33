"""One readings message through ingest: decode → validate → lines → the writer's buffer,
or, when unusable, to the dead letter (and acknowledged once earlier messages are)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bldgwatch.core.clock import Clock, to_epoch_ms
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.seqledger import SeqLedger, SeqVerdict
from bldgwatch.core.topics import parse_readings
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.deadletter import DeadLetter, DeadLetterBox
from bldgwatch.ingest.fastpath import fast_lines
from bldgwatch.ingest.lines import BatchLines, batch_to_lines
from bldgwatch.ingest.validate import Rejection, ValidationPolicy, validate
from bldgwatch.ingest.writer import Delivery

logger = logging.getLogger(__name__)

# How many rejected readings' details one dead letter spells out.
DETAILS_PER_LETTER = 5


class LineSubmitter(Protocol):
    """Where a message's lines go (the writer's buffer); acks follow the write."""

    def submit(self, delivery: Delivery, lines: Sequence[str]) -> None:
        """Queue lines; block while full; raise WriterClosedError when closing."""
        ...


class MessagePipeline:
    """What every message handler of ingest shares: where lines and dead letters go, the
    counters, the validation policy and the clock."""

    def __init__(
        self,
        *,
        writer: LineSubmitter,
        dead_letters: DeadLetterBox,
        counters: Counters,
        policy: ValidationPolicy,
        clock: Clock,
        ledger: SeqLedger | None = None,
    ) -> None:
        self._writer = writer
        self._dead = dead_letters
        self._counters = counters
        self._policy = policy
        self._clock = clock
        self._ledger = ledger or SeqLedger()

    def refuse_failed(self, delivery: Delivery, payload: bytes, err: Exception) -> None:
        """Dead-letter and acknowledge a message whose handling raised (`handler_failed`)."""
        self._counters.inc("handler_failures")
        self._refuse(delivery, payload, DecodeError("handler_failed", repr(err)), None)

    def _refuse(
        self, delivery: Delivery, payload: bytes, err: DecodeError, seq: int | None
    ) -> None:
        self._counters.inc_reason("rejected", err.reason)
        logger.debug("refused message on %s: %s", delivery.topic, err)
        self._dead.send(DeadLetter(err.reason, err.detail, delivery.topic, seq, payload))
        # Nothing to write; the writer acks it in turn.
        self._writer.submit(replace(delivery, seq=seq), [])

    def _dead_letters_by_reason(
        self,
        topic: str,
        seq: int | None,
        payload: bytes,
        problems: Iterable[tuple[str, str]],
        *,
        what: str,
        tell_more: bool,
    ) -> None:
        """Count each refused item (`(reason, shown detail)`) under its reason and send one
        dead letter per reason for the message, spelling out the first few items (and, with
        `tell_more`, how many more there were)."""
        by_reason: dict[str, list[str]] = {}
        for reason, shown in problems:
            by_reason.setdefault(reason, []).append(shown)
        for reason, group in by_reason.items():
            self._counters.inc_reason("rejected", reason, len(group))
            detail = f"{len(group)} {what}: " + "; ".join(group[:DETAILS_PER_LETTER])
            more = len(group) - DETAILS_PER_LETTER
            if tell_more and more > 0:
                detail += f"; +{more} more"
            self._dead.send(DeadLetter(reason, detail, topic, seq, payload))


class ReadingsPipeline(MessagePipeline):
    """Handles readings messages; counts what it receives, rejects and drops."""

    def handle(self, delivery: Delivery, payload: bytes) -> None:
        """Process one message. Raises WriterClosedError when ingest is stopping."""
        self._counters.inc("received")
        now = self._clock.now()
        fast = fast_lines(delivery.topic, payload, now_ms=to_epoch_ms(now), policy=self._policy)
        if fast is not None:
            where = parse_readings(delivery.topic)
            assert where is not None  # the fast path takes only its own topic
            try:
                self._check_seq(where.site, where.gateway, fast.seq, fast.digest)
            except DecodeError as err:
                self._refuse(delivery, payload, err, fast.seq)
                return
            self._submit(replace(delivery, seq=fast.seq, newest_ms=fast.newest_ms), fast.out, 0)
            return
        self._full_path(delivery, payload, now)

    def _check_seq(self, site: str, gateway: str, seq: int, digest: bytes) -> None:
        """DecodeError `duplicate_seq` when the seq came before with other content."""
        if self._ledger.record(site, gateway, seq, digest) is SeqVerdict.CONFLICT:
            logger.warning("%s/%s reused seq %d with other readings: refused", site, gateway, seq)
            raise DecodeError(
                "duplicate_seq", f"seq {seq} of {gateway} came before with other readings"
            )

    def _full_path(self, delivery: Delivery, payload: bytes, now: datetime) -> None:
        """Decode and check reading by reading, naming every problem."""
        seq: int | None = None
        try:
            decoded = decode_batch(payload, self._policy.limits)
            seq = decoded.batch.seq
            checked = validate(delivery.topic, decoded, now=now, policy=self._policy)
            batch = decoded.batch
            self._check_seq(batch.site, batch.gateway, seq, decoded.digest())
        except DecodeError as err:
            self._refuse(delivery, payload, err, seq)
            return
        newest = max((r.ts_ms for r in checked.batch.readings), default=None)
        delivery = replace(delivery, seq=seq, newest_ms=newest)
        self._reject_readings(delivery, checked.rejections, payload)
        self._submit(delivery, batch_to_lines(checked.batch), len(checked.rejections))

    def _submit(self, delivery: Delivery, out: BatchLines, rejected: int) -> None:
        self._counters.inc("readings", out.points + out.dropped_bad_quality + rejected)
        if out.dropped_bad_quality:
            self._counters.inc_reason("dropped", "bad_quality", out.dropped_bad_quality)
        self._writer.submit(delivery, out.lines)

    def _reject_readings(
        self, delivery: Delivery, rejections: list[Rejection], payload: bytes
    ) -> None:
        """Count each refused reading; send one dead letter per reason for the message."""
        problems = ((r.reason, f"[{r.index}] {r.detail}") for r in rejections)
        self._dead_letters_by_reason(
            delivery.topic, delivery.seq, payload, problems, what="reading(s)", tell_more=True
        )
