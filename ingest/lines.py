"""Readings → InfluxDB line protocol (pure).

Schema: measurement = equipment type; tags = site, building, equipment, gateway; one line per
(equipment, source timestamp) with every point of that instant as a field; timestamps in ms.
Identical (measurement, tags, timestamp) makes a redelivered batch overwrite itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import ne, or_

import orjson

from bldgwatch.core import lineproto
from bldgwatch.core.models import EquipmentInfo, ReadingBatch, Value

PRECISION = "ms"
BAD_QUALITY = 2


@dataclass(frozen=True, slots=True)
class BatchLines:
    """The lines of one batch and what was left out of them."""

    lines: list[str]
    points: int
    dropped_bad_quality: int


@dataclass(frozen=True, slots=True)
class Columns:
    """Readings as parallel columns (the wire's layout), quality as 0/1/2."""

    equipment: Sequence[str]
    point: Sequence[str]
    ts: Sequence[int]
    value: Sequence[Value]
    quality: Sequence[int]


def batch_to_lines(batch: ReadingBatch) -> BatchLines:
    """Line protocol for a decoded (and validated) batch; see `columns_to_lines`."""
    rs = batch.readings
    cols = Columns(
        [r.equipment for r in rs],
        [r.point for r in rs],
        [r.ts_ms for r in rs],
        [r.value for r in rs],
        [int(r.quality) for r in rs],
    )
    return columns_to_lines(batch.site, batch.gateway, batch.equipment, cols)


def columns_to_lines(
    site: str, gateway: str, equipment: Mapping[str, EquipmentInfo], cols: Columns
) -> BatchLines:
    """Line protocol for validated readings (the hot path).

    Readings of BAD quality are left out and counted; UNCERTAIN ones are written. Lines keep
    the order in which their (equipment, timestamp) first appears; a point given twice for
    the same instant keeps its last value. Every equipment must be in `equipment`. Same text
    as `core.lineproto.line`, with the escaping done once per equipment and point name.
    """
    fast = _common_lines(site, gateway, equipment, cols)
    if fast is not None:
        return fast
    groups: dict[tuple[str, int], dict[str, Value]] = {}
    dropped = 0
    for eq, point, ts, value, quality in zip(
        cols.equipment, cols.point, cols.ts, cols.value, cols.quality, strict=True
    ):
        if quality == BAD_QUALITY:
            dropped += 1
            continue
        fields = groups.get((eq, ts))
        if fields is None:
            fields = groups[(eq, ts)] = {}
        fields[point] = value
    series: dict[str, str] = {}
    keys: dict[str, str] = {}
    lines = []
    for (eq, ts), fields in groups.items():
        head = series.get(eq)
        if head is None:
            head = series[eq] = series_key(site, gateway, eq, equipment[eq])
        parts = []
        for point, value in fields.items():
            name = keys.get(point)
            if name is None:
                name = keys[point] = lineproto.escape_key(point)
            if value is True or value is False:
                parts.append(f"{name}={'true' if value else 'false'}")
            else:
                parts.append(f"{name}={float(value)!r}")
        lines.append(f"{head} {','.join(parts)} {ts}")
    return BatchLines(lines, len(cols.ts) - dropped, dropped)


def _float_texts(values: Sequence[Value]) -> list[str] | None:
    """`repr` of every value, all floats, formatted in one C call (orjson), or None.

    orjson writes a float as Python's `repr` does except below 1e-4, where it spells out
    the zeros (0.00001) or writes a bare exponent (2.5e-7): messages with such a value, or
    with integers or booleans, go the per-value way.
    """
    if {type(v) for v in values} != {float}:
        return None
    text = orjson.dumps(values)
    if b"e-" in text or b"0.0000" in text:
        return None
    return text[1:-1].decode().split(",")


def _common_lines(
    site: str, gateway: str, equipment: Mapping[str, EquipmentInfo], cols: Columns
) -> BatchLines | None:
    """The lines of the common message, or None: every reading good, every value a float,
    each (equipment, time) in one run of readings with no point twice. Lines are cut from
    one string joined in C (separator, field name, value per reading); Python turns once
    per line, not per reading."""
    eqs, points, stamps = list(cols.equipment), list(cols.point), list(cols.ts)
    n = len(stamps)
    if n == 0 or BAD_QUALITY in cols.quality:
        return None
    texts = _float_texts(cols.value)
    if texts is None:
        return None
    new_run = map(or_, map(ne, eqs[1:], eqs[:-1]), map(ne, stamps[1:], stamps[:-1]))
    starts = [0, *compress(range(1, n), new_run)]
    names = {p: lineproto.escape_key(p) + "=" for p in set(points)}
    seps = [","] * n
    series: dict[str, str] = {}
    seen: set[tuple[str, int]] = set()
    for a, b in zip(starts, [*starts[1:], n], strict=True):
        eq, ts = eqs[a], stamps[a]
        if (eq, ts) in seen or len(set(points[a:b])) != b - a:
            return None  # one instant's readings in two runs, or a point twice: below
        seen.add((eq, ts))
        head = series.get(eq)
        if head is None:
            head = series[eq] = series_key(site, gateway, eq, equipment[eq])
        seps[a] = f" {stamps[a - 1]}\n{head} " if a else f"{head} "
    parts = [""] * (3 * n)
    parts[0::3] = seps
    parts[1::3] = map(names.__getitem__, points)
    parts[2::3] = texts
    parts.append(f" {stamps[-1]}")
    return BatchLines("".join(parts).split("\n"), n, 0)


@lru_cache(maxsize=65_536)
def series_key(site: str, gateway: str, equipment: str, info: EquipmentInfo) -> str:
    """Measurement and sorted tags of one equipment's lines (remembered: the same equipment
    comes in every message of its gateway)."""
    tags = {"site": site, "building": info.building, "equipment": equipment, "gateway": gateway}
    tag_part = "".join(
        f",{lineproto.escape_key(k)}={lineproto.escape_key(v)}"
        for k, v in sorted(tags.items())
        if v != ""
    )
    return f"{lineproto.escape_measurement(info.type)}{tag_part}"
