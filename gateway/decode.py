"""Decode what one block read returned into point values (pure).

value = raw * scale + offset for numbers; a bit field yields one bool per named bit;
coils and discrete inputs yield bools; strings yield text. Integer points with the
identity scale stay integers. Non-finite floats (a device's "no value") are not
values: they are listed in `invalid` instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bldgwatch.core.profiles import PointSpec
from bldgwatch.core.registers import DataType, Order, decode, decode_bits, decode_string
from bldgwatch.gateway.errors import ShortResponseError
from bldgwatch.gateway.planner import ReadBlock

PointValue = float | int | bool | str


@dataclass(slots=True)
class BlockValues:
    """The decoded (point, value) pairs of one block, and points whose value is not finite."""

    values: list[tuple[str, PointValue]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def _scaled(raw: float | int, spec: PointSpec) -> float | int:
    if spec.scale == 1.0 and spec.offset == 0.0:
        return raw
    return raw * spec.scale + spec.offset


def decode_point(
    spec: PointSpec, words: Sequence[int] | Sequence[bool], order: Order
) -> list[tuple[str, PointValue]]:
    """Values of one point from exactly its own registers or bits."""
    if spec.type is DataType.BOOL:
        return [(spec.name, bool(words[0]))]
    regs = [int(w) for w in words]
    if spec.type is DataType.BITFIELD:
        assert spec.bits is not None
        states = decode_bits(regs[0], list(spec.bits.values()))
        return [(name, states[index]) for name, index in spec.bits.items()]
    if spec.type is DataType.STRING:
        return [(spec.name, decode_string(regs, order))]
    return [(spec.name, _scaled(decode(regs, spec.type, order), spec))]


def decode_block(
    block: ReadBlock, data: Sequence[int] | Sequence[bool], *, default_order: Order
) -> BlockValues:
    """Values of every point in `block` from the registers or bits the read returned.

    Raises ShortResponseError when `data` holds fewer items than the block asked for
    (bit reads come back padded to whole bytes, so more is fine).
    """
    if len(data) < block.count:
        raise ShortResponseError(
            f"{block.table} {block.address}+{block.count}: got only {len(data)} values"
        )
    out = BlockValues()
    for spec in block.points:
        start = spec.address - block.address
        words = data[start : start + spec.width]
        for name, value in decode_point(spec, words, spec.order or default_order):
            if isinstance(value, float) and not math.isfinite(value):
                out.invalid.append(name)
            else:
                out.values.append((name, value))
    return out
