"""The fast path for the common readings message: well formed, on its own topic, and every
reading valid. Whole columns are checked at once (sets of distinct names, min/max of the
timestamps) and turned into lines without building a Reading per value.

It accepts only what the full path (core.codec.decode_batch + ingest.validate) accepts, and
yields the same lines; anything else returns None and the caller takes the full path, which
names every problem exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bldgwatch.core.codec import MAX_INT
from bldgwatch.core.models import SCHEMA_VERSION, EquipmentInfo
from bldgwatch.core.seqledger import content_digest
from bldgwatch.core.topics import parse_readings
from bldgwatch.ingest.lines import BatchLines, Columns, columns_to_lines
from bldgwatch.ingest.validate import RESERVED_KEYS, ValidationPolicy, bad_identifier, equipment_ok

_TOP_FIELDS = frozenset({"schema", "site", "gateway", "seq", "sent", "equipment", "readings"})
_COLUMNS = frozenset({"equipment", "point", "ts", "value", "quality"})
_INFO_KEYS = frozenset({"type", "building"})
_VALUE_TYPES = frozenset({float, int, bool})
_INT = frozenset({int})
_QUALITIES = frozenset({0, 1, 2})


@dataclass(frozen=True, slots=True)
class FastResult:
    """A clean message's lines, its sequence number and its newest reading's time."""

    out: BatchLines
    seq: int
    newest_ms: int | None
    digest: bytes  # of the content, for the seq ledger (core.seqledger)


def fast_lines(
    topic: str, payload: bytes, *, now_ms: int, policy: ValidationPolicy
) -> FastResult | None:
    """The lines of a clean message, or None (take the full path)."""
    if len(payload) > policy.limits.max_message_bytes:
        return None  # the full path refuses it, naming the limit
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    try:
        return _fast(topic, doc, now_ms, policy) if type(doc) is dict else None
    except (TypeError, KeyError, AttributeError):
        return None  # an unhashable or missing piece: the full path says what


def _fast(
    topic: str, doc: dict[str, Any], now_ms: int, policy: ValidationPolicy
) -> FastResult | None:
    if not _header_ok(topic, doc):
        return None
    equipment = _equipment(doc["equipment"])
    source = (doc["site"], doc["gateway"])
    cols = _columns(source, doc["readings"], equipment, now_ms, policy) if equipment else None
    if equipment is None or cols is None:
        return None
    out = columns_to_lines(doc["site"], doc["gateway"], equipment, cols)
    newest = max(cols.ts) if cols.ts else None
    digest = content_digest(doc["equipment"], doc["readings"])
    return FastResult(out, doc["seq"], newest, digest)


def _header_ok(topic: str, doc: dict[str, Any]) -> bool:
    schema, seq, sent = doc.get("schema"), doc.get("seq"), doc.get("sent")
    site, gateway = doc.get("site"), doc.get("gateway")
    if not (
        doc.keys() <= _TOP_FIELDS
        and type(schema) is int
        and schema == SCHEMA_VERSION
        and type(site) is str
        and site != ""
        and type(gateway) is str
        and gateway != ""
        and type(seq) is int
        and 0 <= seq <= MAX_INT
        and (sent is None or (type(sent) is int and 0 <= sent <= MAX_INT))
    ):
        return False
    parts = parse_readings(topic)
    return (
        parts is not None
        and (parts.site, parts.gateway) == (site, gateway)
        and not bad_identifier(site)
        and not bad_identifier(gateway)
    )


def _equipment(raw: Any) -> dict[str, EquipmentInfo] | None:
    """The equipment table when every entry is well formed."""
    if type(raw) is not dict:
        return None
    table = {}
    for eq_id, info in raw.items():
        if (
            type(info) is not dict
            or info.keys() != _INFO_KEYS
            or type(info["type"]) is not str
            or type(info["building"]) is not str
        ):
            return None
        table[eq_id] = EquipmentInfo(type=info["type"], building=info["building"])
    return table


def _columns(
    source: tuple[str, str],
    cols: Any,
    equipment: dict[str, EquipmentInfo],
    now_ms: int,
    policy: ValidationPolicy,
) -> Columns | None:
    if type(cols) is not dict or cols.keys() != _COLUMNS:
        return None
    c = Columns(cols["equipment"], cols["point"], cols["ts"], cols["value"], cols["quality"])
    if not all(type(x) is list for x in (c.equipment, c.point, c.ts, c.value, c.quality)):
        return None
    n = len(c.ts)
    if not (len(c.equipment) == len(c.point) == len(c.value) == len(c.quality) == n):
        return None
    clean = _names_ok(source, c, equipment, policy) and _values_ok(c, now_ms, policy)
    return c if clean else None


def _names_ok(
    source: tuple[str, str],
    c: Columns,
    equipment: dict[str, EquipmentInfo],
    policy: ValidationPolicy,
) -> bool:
    used = set(c.equipment)
    return (
        used <= equipment.keys()
        and all(equipment_ok(policy, source, eq, equipment[eq]) for eq in used)
        and all(
            type(p) is str and p != "" and p not in RESERVED_KEYS and not bad_identifier(p)
            for p in set(c.point)
        )
    )


def _values_ok(c: Columns, now_ms: int, policy: ValidationPolicy) -> bool:
    if c.ts and not (
        {type(t) for t in c.ts} <= _INT
        and min(c.ts) >= 0
        and now_ms - policy.max_age_s * 1000 <= min(c.ts)
        and max(c.ts) <= now_ms + policy.max_future_s * 1000
    ):
        return False
    # orjson never yields NaN or infinities, so every float here is finite; an integer past
    # 64 signed bits (orjson takes unsigned ones) goes to the full path, which names it.
    return (
        {type(v) for v in c.value} <= _VALUE_TYPES
        and _ints_in_range(c.value)
        and _within(c.value, policy.limits.max_abs_value)
        and {type(q) for q in c.quality} <= _INT
        and set(c.quality) <= _QUALITIES
    )


def _within(values: Sequence[float | int | bool], bound: float) -> bool:
    """Every value within ±`bound` (`decode.max_abs_value`); beyond it the full path refuses
    the reading as value_out_of_range."""
    return not values or (min(values) >= -bound and max(values) <= bound)


def _ints_in_range(values: Sequence[float | int | bool]) -> bool:
    """No integer past 64 signed bits (floats of any finite size are fine)."""
    if not values or (min(values) >= -MAX_INT and max(values) <= MAX_INT):
        return True  # the common case, at C speed
    return all(-MAX_INT <= v <= MAX_INT for v in values if type(v) is int)
