"""Line-protocol payloads (Telegraf's MQTT output, `data_format = "influx"`), checked strictly.

Each line is parsed (measurement, tags, fields, optional timestamp) with the escaping rules
of InfluxDB line protocol; a line is kept only when InfluxDB would take it and its time is
within the accepted window. Kept lines are written as they came, with the timestamp
rewritten to milliseconds (ingest's write precision); a line without one gets the receive
time. Refused lines go to the dead letter with the reason, counted per reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from bldgwatch.core.clock import Clock, to_epoch_ms
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.deadletter import DeadLetterBox
from bldgwatch.ingest.pipeline import LineSubmitter, MessagePipeline
from bldgwatch.ingest.validate import RESERVED_KEYS, ValidationPolicy
from bldgwatch.ingest.writer import Delivery

logger = logging.getLogger(__name__)

_PER_MS = {"ns": 1_000_000, "us": 1_000, "ms": 1}
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+i$")
_UINT = re.compile(r"^\d+u$")
_BOOL = frozenset({"t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"})
_TIMESTAMP = re.compile(r"^-?\d+$")


class LineError(ValueError):
    """A line InfluxDB would refuse (or we do), with the counted reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A well-formed line: everything before the timestamp, and the timestamp if given."""

    head: str
    measurement: str
    timestamp: int | None


def _scan_name(line: str, i: int, stops: str) -> tuple[str, int]:
    """Read an escaped name from `i` up to an unescaped char in `stops` (or the end)."""
    out: list[str] = []
    n = len(line)
    while i < n and line[i] not in stops:
        if line[i] == "\\" and i + 1 < n:
            out.append(line[i : i + 2])
            i += 2
            continue
        out.append(line[i])
        i += 1
    return "".join(out), i


def _scan_field_value(line: str, i: int) -> tuple[str, int]:
    if i < len(line) and line[i] == '"':
        j = i + 1
        while j < len(line):
            if line[j] == "\\":
                j += 2
                continue
            if line[j] == '"':
                return line[i : j + 1], j + 1
            j += 1
        raise LineError("bad_line", "unterminated string field")
    j = i
    while j < len(line) and line[j] not in ", ":
        j += 1
    return line[i:j], j


def _check_value(key: str, value: str) -> None:
    if value.startswith('"'):
        return
    if _FLOAT.match(value) or _INT.match(value) or _UINT.match(value) or value in _BOOL:
        return
    raise LineError("bad_value", f"field {key!r}: {value!r} is not a line-protocol value")


def _check_key(kind: str, key: str) -> None:
    if not key:
        raise LineError("bad_line", f"empty {kind} key")
    if key in RESERVED_KEYS:
        raise LineError("bad_point", f"{kind} key {key!r} is reserved by InfluxDB")


def _scan_tags(line: str, i: int) -> int:
    while i < len(line) and line[i] == ",":
        key, i = _scan_name(line, i + 1, ",= ")
        _check_key("tag", key)
        if i >= len(line) or line[i] != "=":
            raise LineError("bad_line", f"tag {key!r} has no value")
        value, i = _scan_name(line, i + 1, ", =")
        if not value:
            raise LineError("bad_line", f"tag {key!r} has an empty value")
    return i


def _scan_fields(line: str, i: int) -> int:
    while True:
        key, i = _scan_name(line, i, ",= ")
        _check_key("field", key)
        if i >= len(line) or line[i] != "=":
            raise LineError("bad_line", f"field {key!r} has no value")
        value, i = _scan_field_value(line, i + 1)
        _check_value(key, value)
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        return i


def parse_line(line: str) -> ParsedLine:
    """Parse one line strictly; raise LineError naming what is wrong."""
    if any(ord(c) < 0x20 for c in line):
        raise LineError("bad_line", "control character in line")
    measurement, i = _scan_name(line, 0, ", ")
    if not measurement or measurement.startswith("#"):
        raise LineError("bad_line", "missing measurement")
    i = _scan_tags(line, i)
    if i >= len(line) or line[i] != " ":
        raise LineError("bad_line", "no fields")
    i = _scan_fields(line, i + 1)
    head, rest = line[:i], line[i:]
    if rest == "":
        return ParsedLine(head, measurement, None)
    if rest[0] != " " or not _TIMESTAMP.match(rest[1:]):
        raise LineError("bad_line", f"bad timestamp {rest.strip()[:40]!r}")
    return ParsedLine(head, measurement, int(rest[1:]))


def to_ms(timestamp: int, precision: str) -> int:
    """A timestamp of `precision` in milliseconds (rounded down)."""
    if precision == "s":
        return timestamp * 1000
    return timestamp // _PER_MS[precision]


def check_lines(
    payload: bytes, *, now: datetime, precision: str, policy: ValidationPolicy
) -> tuple[list[str], list[LineError]]:
    """The lines to write (ms timestamps) and the refused ones, from one payload."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        return [], [LineError("bad_encoding", str(err))]
    now_ms = to_epoch_ms(now)
    kept: list[str] = []
    refused: list[LineError] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            parsed = parse_line(line)
            ts_ms = now_ms if parsed.timestamp is None else to_ms(parsed.timestamp, precision)
            if ts_ms > now_ms + policy.max_future_s * 1000:
                raise LineError("future_timestamp", f"{parsed.measurement}: ahead of the clock")
            if ts_ms < now_ms - policy.max_age_s * 1000:
                raise LineError("too_old", f"{parsed.measurement}: beyond the retention")
        except LineError as err:
            refused.append(err)
            continue
        kept.append(f"{parsed.head} {ts_ms}")
    return kept, refused


class TelegrafPipeline(MessagePipeline):
    """Handles line-protocol messages: check, dead-letter the bad lines, submit the rest."""

    def __init__(
        self,
        *,
        writer: LineSubmitter,
        dead_letters: DeadLetterBox,
        counters: Counters,
        policy: ValidationPolicy,
        clock: Clock,
        precision: str,
    ) -> None:
        super().__init__(
            writer=writer, dead_letters=dead_letters, counters=counters, policy=policy, clock=clock
        )
        self._precision = precision

    def handle(self, delivery: Delivery, payload: bytes) -> None:
        """Process one message. Raises WriterClosedError when ingest is stopping."""
        self._counters.inc("received")
        kept, refused = check_lines(
            payload, now=self._clock.now(), precision=self._precision, policy=self._policy
        )
        self._counters.inc("readings", len(kept) + len(refused))
        problems = ((e.reason, e.detail) for e in refused)
        self._dead_letters_by_reason(
            delivery.topic, None, payload, problems, what="line(s)", tell_more=False
        )
        self._writer.submit(delivery, kept)
