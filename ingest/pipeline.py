"""One readings message through ingest: decode → validate → lines → the writer's buffer,
or, when unusable, to the dead letter (and acknowledged once earlier messages are)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from core.clock import Clock
from core.codec import decode_batch
from core.errors import DecodeError
from ingest.counters import Counters
from ingest.deadletter import DeadLetter, DeadLetterBox
from ingest.lines import batch_to_lines
from ingest.validate import Rejection, ValidationPolicy, validate
from ingest.writer import Delivery

logger = logging.getLogger(__name__)

# How many rejected readings' details one dead letter spells out.
DETAILS_PER_LETTER = 5


class LineSubmitter(Protocol):
    """Where a message's lines go (the writer's buffer); acks follow the write."""

    def submit(self, delivery: Delivery, lines: Sequence[str]) -> None:
        """Queue lines; block while full; raise WriterClosedError when closing."""
        ...


class ReadingsPipeline:
    """Handles readings messages; counts what it receives, rejects and drops."""

    def __init__(
        self,
        *,
        writer: LineSubmitter,
        dead_letters: DeadLetterBox,
        counters: Counters,
        policy: ValidationPolicy,
        clock: Clock,
    ) -> None:
        self._writer = writer
        self._dead = dead_letters
        self._counters = counters
        self._policy = policy
        self._clock = clock

    def handle(self, delivery: Delivery, payload: bytes) -> None:
        """Process one message. Raises WriterClosedError when ingest is stopping."""
        self._counters.inc("received")
        seq: int | None = None
        try:
            decoded = decode_batch(payload)
            seq = decoded.batch.seq
            checked = validate(delivery.topic, decoded, now=self._clock.now(), policy=self._policy)
        except DecodeError as err:
            self._counters.inc_reason("rejected", err.reason)
            logger.debug("refused message on %s: %s", delivery.topic, err)
            self._dead.send(DeadLetter(err.reason, err.detail, delivery.topic, seq, payload))
            # Nothing to write; the writer acks it in turn.
            self._writer.submit(replace(delivery, seq=seq), [])
            return
        delivery = replace(delivery, seq=seq)
        self._counters.inc("readings", len(checked.batch.readings) + len(checked.rejections))
        self._reject_readings(delivery, checked.rejections, payload)
        out = batch_to_lines(checked.batch)
        if out.dropped_bad_quality:
            self._counters.inc_reason("dropped", "bad_quality", out.dropped_bad_quality)
        self._writer.submit(delivery, out.lines)

    def _reject_readings(
        self, delivery: Delivery, rejections: list[Rejection], payload: bytes
    ) -> None:
        """Count each refused reading; send one dead letter per reason for the message."""
        by_reason: dict[str, list[Rejection]] = {}
        for rejection in rejections:
            by_reason.setdefault(rejection.reason, []).append(rejection)
        for reason, group in by_reason.items():
            self._counters.inc_reason("rejected", reason, len(group))
            shown = "; ".join(f"[{r.index}] {r.detail}" for r in group[:DETAILS_PER_LETTER])
            more = len(group) - DETAILS_PER_LETTER
            detail = f"{len(group)} reading(s): {shown}" + (f"; +{more} more" if more > 0 else "")
            self._dead.send(DeadLetter(reason, detail, delivery.topic, delivery.seq, payload))
