"""Readings batch → InfluxDB line protocol (pure).

Schema: measurement = equipment type; tags = site, building, equipment, gateway; one line per
(equipment, source timestamp) with every point of that instant as a field; timestamps in ms.
Identical (measurement, tags, timestamp) makes a redelivered batch overwrite itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import lineproto
from core.models import Quality, ReadingBatch, Value

PRECISION = "ms"


@dataclass(frozen=True, slots=True)
class BatchLines:
    """The lines of one batch and what was left out of them."""

    lines: list[str]
    points: int
    dropped_bad_quality: int


def batch_to_lines(batch: ReadingBatch) -> BatchLines:
    """Line protocol for a decoded (and validated) batch.

    Readings of BAD quality are left out and counted; UNCERTAIN ones are written. Lines keep
    the order in which their (equipment, timestamp) first appears; a point given twice for
    the same instant keeps its last value. Every reading's equipment must be in the batch's
    equipment table (the codec guarantees it).
    """
    groups: dict[tuple[str, int], dict[str, Value]] = {}
    dropped = 0
    points = 0
    for reading in batch.readings:
        if reading.quality is Quality.BAD:
            dropped += 1
            continue
        points += 1
        groups.setdefault((reading.equipment, reading.ts_ms), {})[reading.point] = reading.value
    lines = []
    for (equipment, ts_ms), fields in groups.items():
        info = batch.equipment[equipment]
        tags = {
            "site": batch.site,
            "building": info.building,
            "equipment": equipment,
            "gateway": batch.gateway,
        }
        lines.append(lineproto.line(info.type, tags, fields, ts_ms))
    return BatchLines(lines=lines, points=points, dropped_bad_quality=dropped)
