"""Per-reading checks beyond the wire codec's (pure; the caller passes the time).

`core.codec.decode_batch` already refuses what is malformed; here are the checks that need
context: the clock (future and too-old timestamps), the topic the batch came on, the
site register (which gateway owns which equipment, `core.register`), and what line protocol
cannot carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.codec import Decoded
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.safejson import DEFAULT_LIMITS, DecodeLimits
from bldgwatch.core.topics import parse_readings

# Characters that would split or corrupt a line of line protocol.
_CONTROL = re.compile("[\x00-\x1f\x7f]")

# InfluxDB refuses a field or tag named `time`.
RESERVED_KEYS = frozenset({"time"})


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """What ingest accepts."""

    max_future_s: float = 300.0
    max_age_s: float = 2_592_000.0
    registry: EquipmentRegister | None = None  # None: any equipment from any gateway
    limits: DecodeLimits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused reading (by index in its message) or, with index None, a whole message."""

    reason: str
    detail: str
    index: int | None = None


@dataclass(slots=True)
class Checked:
    """The readings worth writing (in `batch`) and the ones refused, codec's included."""

    batch: ReadingBatch
    rejections: list[Rejection] = field(default_factory=list)


def bad_identifier(value: str, *, measurement: bool = False) -> bool:
    """True when line protocol cannot carry `value` as a name or tag value.

    Control characters would split or corrupt a line; a trailing backslash would escape the
    separator after it; a measurement starting with `#` would read as a comment.
    """
    if _CONTROL.search(value) or value.endswith("\\"):
        return True
    return measurement and (value == "" or value.startswith("#"))


def check_topic(topic: str, batch: ReadingBatch) -> None:
    """Raise DecodeError unless the batch came on its own site's and gateway's topic."""
    parts = parse_readings(topic)
    if parts is None:
        raise DecodeError("bad_topic", f"{topic!r} is not a readings topic")
    if (parts.site, parts.gateway) != (batch.site, batch.gateway):
        raise DecodeError(
            "topic_mismatch",
            f"topic says {parts.site}/{parts.gateway}, batch says {batch.site}/{batch.gateway}",
        )


def validate(topic: str, decoded: Decoded, *, now: datetime, policy: ValidationPolicy) -> Checked:
    """Check a decoded batch as received on `topic` at `now`.

    Raises DecodeError when the message as a whole is unusable (wrong topic, names line
    protocol cannot carry); otherwise returns the good readings and every rejection.
    """
    batch = decoded.batch
    check_topic(topic, batch)
    for name, value in (("site", batch.site), ("gateway", batch.gateway)):
        if bad_identifier(value):
            raise DecodeError("bad_identifier", f"{name} {value!r} cannot be a tag value")
    rejections = [Rejection(r.reason, r.detail, r.index) for r in decoded.rejected]
    # The codec drops rejected readings; recover each kept reading's index in the message.
    refused = {r.index for r in decoded.rejected}
    indexes = (i for i in range(len(batch.readings) + len(refused)) if i not in refused)
    now_ms = to_epoch_ms(now)
    good, refused_here = _split(batch, indexes, now_ms=now_ms, policy=policy)
    rejections.extend(refused_here)
    rejections.sort(key=lambda r: -1 if r.index is None else r.index)
    kept = ReadingBatch(
        site=batch.site,
        gateway=batch.gateway,
        seq=batch.seq,
        equipment=batch.equipment,
        readings=good,
        sent_ms=batch.sent_ms,
    )
    return Checked(batch=kept, rejections=rejections)


def equipment_ok(
    policy: ValidationPolicy, batch: tuple[str, str], equipment: str, info: EquipmentInfo
) -> bool:
    """True when readings of this equipment, in a batch of (site, gateway), pass every
    equipment-level check."""
    return (
        not bad_identifier(equipment)
        and not bad_identifier(info.type, measurement=True)
        and not bad_identifier(info.building)
        and _check_registry(batch, equipment, info, policy.registry) is None
    )


def _split(
    batch: ReadingBatch, indexes: Iterable[int], *, now_ms: int, policy: ValidationPolicy
) -> tuple[list[Reading], list[Rejection]]:
    """The good readings and the rejections, in order (the hot path).

    Equipment and point checks are made once per distinct name; a reading that fails any
    cheap test goes through `check_reading`, which names the first problem exactly.
    """
    source = (batch.site, batch.gateway)
    ok_equipment = {
        eq for eq, info in batch.equipment.items() if equipment_ok(policy, source, eq, info)
    }
    ok_points: dict[str, bool] = {}
    lowest = now_ms - policy.max_age_s * 1000
    highest = now_ms + policy.max_future_s * 1000
    good: list[Reading] = []
    refused: list[Rejection] = []
    for index, reading in zip(indexes, batch.readings, strict=False):
        point_ok = ok_points.get(reading.point)
        if point_ok is None:
            point = reading.point
            point_ok = ok_points[point] = not bad_identifier(point) and point not in RESERVED_KEYS
        if point_ok and reading.equipment in ok_equipment and lowest <= reading.ts_ms <= highest:
            good.append(reading)
            continue
        problem = check_reading(batch, reading, now_ms=now_ms, policy=policy)
        if problem is None:
            good.append(reading)
        else:
            refused.append(Rejection(problem[0], problem[1], index))
    return good, refused


def check_reading(
    batch: ReadingBatch, reading: Reading, *, now_ms: int, policy: ValidationPolicy
) -> tuple[str, str] | None:
    """(reason, detail) when one reading must not be written, else None."""
    info = batch.equipment[reading.equipment]
    where = f"{reading.equipment}.{reading.point}"
    if bad_identifier(reading.equipment) or bad_identifier(reading.point):
        return "bad_identifier", f"{where!r}: names line protocol cannot carry"
    if bad_identifier(info.type, measurement=True) or bad_identifier(info.building):
        return (
            "bad_identifier",
            f"{reading.equipment}: type/building {info.type!r}/{info.building!r}",
        )
    if reading.point in RESERVED_KEYS:
        return "bad_point", f"{where}: {reading.point!r} is reserved by InfluxDB"
    if reading.ts_ms > now_ms + policy.max_future_s * 1000:
        ahead = (reading.ts_ms - now_ms) / 1000
        return "future_timestamp", f"{where}: {ahead:.0f} s ahead of the clock"
    if reading.ts_ms < now_ms - policy.max_age_s * 1000:
        age = (now_ms - reading.ts_ms) / 1000
        return "too_old", f"{where}: {age:.0f} s old, beyond {policy.max_age_s:.0f} s"
    return _check_registry((batch.site, batch.gateway), reading.equipment, info, policy.registry)


def _check_registry(
    batch: tuple[str, str],
    equipment: str,
    info: EquipmentInfo,
    registry: EquipmentRegister | None,
) -> tuple[str, str] | None:
    if registry is None:
        return None
    return registry.check(batch[0], batch[1], equipment, info)
