"""Readings wire codec (schema 1): orjson, columnar arrays. See docs/wire-format.md.

A batch on the wire::

    {"schema": 1, "site": "demo", "gateway": "gw-1", "seq": 42, "sent": 1767225600000,
     "equipment": {"P-01": {"type": "pump", "building": "B1"}},
     "readings": {"equipment": ["P-01"], "point": ["bearing_temp_c"],
                  "ts": [1767225600000], "value": [45.2], "quality": [0]}}

Columns make a batch small and fast to encode and decode; the equipment table names the
measurement and building tag once per batch instead of once per reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import SCHEMA_VERSION, EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.safejson import DEFAULT_LIMITS, DecodeLimits, OversizedNumber, load_json_lenient
from bldgwatch.core.seqledger import content_digest

MAX_INT = 2**63 - 1
"""Largest integer a sequence number or timestamp may be (InfluxDB and SQL take 64 bits)."""
_TOP_FIELDS = frozenset({"schema", "site", "gateway", "seq", "sent", "equipment", "readings"})
_COLUMNS = ("equipment", "point", "ts", "value", "quality")


def encode_batch(batch: ReadingBatch) -> bytes:
    """Serialise a batch to the wire."""
    rs = batch.readings
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "site": batch.site,
        "gateway": batch.gateway,
        "seq": batch.seq,
        "equipment": {
            k: {"type": v.type, "building": v.building} for k, v in batch.equipment.items()
        },
        "readings": {
            "equipment": [r.equipment for r in rs],
            "point": [r.point for r in rs],
            "ts": [r.ts_ms for r in rs],
            "value": [r.value for r in rs],
            "quality": [int(r.quality) for r in rs],
        },
    }
    if batch.sent_ms is not None:
        doc["sent"] = batch.sent_ms
    return orjson.dumps(doc)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A reading (by index in its batch) that failed validation, with the counted reason."""

    index: int
    reason: str
    detail: str


@dataclass(slots=True)
class Decoded:
    """A decoded batch: the good readings are in `batch`, the bad ones in `rejected`."""

    batch: ReadingBatch
    rejected: list[Rejected] = field(default_factory=list)
    content: tuple[Any, Any] = ((), ())  # the raw equipment table and reading columns

    def digest(self) -> bytes:
        """A digest of the batch's content, the same for every resend of it (core.seqledger)."""
        return content_digest(*self.content)


def _require(cond: bool, reason: str, detail: str) -> None:
    if not cond:
        raise DecodeError(reason, detail)


def _decode_equipment(raw: Any) -> dict[str, EquipmentInfo]:
    _require(isinstance(raw, dict), "bad_schema", "equipment must be an object")
    table: dict[str, EquipmentInfo] = {}
    for eq_id, info in raw.items():
        _require(
            isinstance(info, dict)
            and isinstance(info.get("type"), str)
            and isinstance(info.get("building"), str)
            and set(info) <= {"type", "building"},
            "bad_schema",
            f"equipment {eq_id!r} needs exactly string fields type and building",
        )
        table[eq_id] = EquipmentInfo(type=info["type"], building=info["building"])
    return table


def _check_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, OversizedNumber):
        return "number_too_large"
    if not isinstance(value, int | float):
        return "bad_value"
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        return "number_too_large"
    if isinstance(value, float) and not math.isfinite(value):
        return "non_finite"
    return None


def decode_batch(payload: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> Decoded:
    """Parse and check a readings message within `limits` (size, depth, number size).

    Raises DecodeError when the message as a whole is unusable; readings that are bad on
    their own are returned in `rejected` and the good ones are kept. A `NaN`, an infinity or
    a too-long integer costs only the reading that carries it (core.safejson).
    """
    doc = load_json_lenient(payload, limits)
    _require(isinstance(doc, dict), "bad_schema", "top level must be an object")
    schema = doc.get("schema")
    _require(
        type(schema) is int and schema == SCHEMA_VERSION,
        "schema_version",
        f"expected schema {SCHEMA_VERSION}, got {doc.get('schema')!r}",
    )
    unknown = set(doc) - _TOP_FIELDS
    _require(not unknown, "unknown_field", f"unknown fields {sorted(unknown)}")
    for name in ("site", "gateway"):
        _require(
            isinstance(doc.get(name), str) and doc[name] != "",
            "bad_schema",
            f"{name} must be a non-empty string",
        )
    seq = doc.get("seq")
    _require(
        type(seq) is int and 0 <= seq <= MAX_INT,
        "bad_schema",
        "seq must be a non-negative 64-bit integer",
    )
    sent = doc.get("sent")
    _require(
        sent is None or (type(sent) is int and 0 <= sent <= MAX_INT),
        "bad_schema",
        "sent must be epoch milliseconds",
    )
    equipment = _decode_equipment(doc.get("equipment"))
    cols = doc.get("readings")
    _require(
        isinstance(cols, dict) and set(cols) == set(_COLUMNS),
        "bad_schema",
        f"readings must be an object with exactly the columns {list(_COLUMNS)}",
    )
    _require(
        all(isinstance(cols[c], list) for c in _COLUMNS),
        "bad_schema",
        "every readings column must be an array",
    )
    n = len(cols["ts"])
    _require(
        all(len(cols[c]) == n for c in _COLUMNS), "bad_schema", "readings columns differ in length"
    )
    batch = ReadingBatch(
        site=doc["site"], gateway=doc["gateway"], seq=seq, equipment=equipment, sent_ms=sent
    )
    out = Decoded(batch=batch, content=(doc["equipment"], cols))
    for i, (eq, pt, ts, val, q) in enumerate(
        zip(
            cols["equipment"],
            cols["point"],
            cols["ts"],
            cols["value"],
            cols["quality"],
            strict=True,
        )
    ):
        reason = _check_reading(equipment, (eq, pt, ts, val, q))
        if reason is not None:
            out.rejected.append(Rejected(i, reason[0], reason[1]))
            continue
        batch.readings.append(Reading(eq, pt, ts, val, Quality(q)))
    return out


def _check_reading(
    equipment: dict[str, EquipmentInfo], row: tuple[Any, Any, Any, Any, Any]
) -> tuple[str, str] | None:
    eq, pt, ts, val, q = row
    if not isinstance(eq, str) or eq not in equipment:
        return "unknown_equipment", f"equipment {eq!r} is not in the batch's equipment table"
    if not isinstance(pt, str) or not pt:
        return "bad_point", f"point {pt!r} of {eq} is not a non-empty string"
    if type(ts) is not int or not 0 <= ts <= MAX_INT:
        return "bad_timestamp", f"{eq}.{pt}: timestamp {ts!r} is not epoch milliseconds"
    bad_value = _check_value(val)
    if bad_value is not None:
        return bad_value, f"{eq}.{pt}: value {val!r} is not a finite number or boolean"
    if q not in (0, 1, 2) or isinstance(q, bool):
        return "bad_quality", f"{eq}.{pt}: quality {q!r} is not 0, 1 or 2"
    return None
