"""Decoding a block's registers into point values: every DataType and every Order."""

from __future__ import annotations

import math

import pytest

from bldgwatch.core.profiles import PointSpec, Table
from bldgwatch.core.registers import DataType, Order, encode, encode_bits, encode_string
from bldgwatch.gateway.decode import decode_block, decode_point
from bldgwatch.gateway.errors import ShortResponseError
from bldgwatch.gateway.planner import ReadBlock

NUMERIC_VALUES: dict[DataType, float | int] = {
    DataType.INT16: -1234,
    DataType.UINT16: 54321,
    DataType.INT32: -123_456_789,
    DataType.UINT32: 3_000_000_000,
    DataType.INT64: -9_000_000_000_000_000,
    DataType.UINT64: 18_000_000_000_000_000_000,
    DataType.FLOAT32: 12.5,
    DataType.FLOAT64: -98765.4321,
}


def spec(dtype: DataType, **kw: object) -> PointSpec:
    table = Table.COIL if dtype is DataType.BOOL else Table.HOLDING
    return PointSpec(name="p", table=table, address=0, type=dtype, **kw)


@pytest.mark.parametrize("order", list(Order))
@pytest.mark.parametrize("dtype", list(NUMERIC_VALUES))
def test_numeric_roundtrip_every_type_and_order(dtype: DataType, order: Order) -> None:
    value = NUMERIC_VALUES[dtype]
    regs = encode(value, dtype, order)
    [(name, got)] = decode_point(spec(dtype), regs, order)
    assert name == "p"
    assert got == value
    assert type(got) is type(value)


def test_orders_really_differ() -> None:
    regs = encode(12.5, DataType.FLOAT32, Order.CDAB)
    [(_, wrong)] = decode_point(spec(DataType.FLOAT32), regs, Order.ABCD)
    assert wrong != 12.5


# (case, dtype, scale, offset, registers, expected)
SCALED = [
    ("tenths", DataType.INT16, 0.1, 0.0, encode(-215, DataType.INT16), -21.5),
    ("offset only", DataType.UINT16, 1.0, -40.0, [100], 60.0),
    ("scale and offset", DataType.UINT16, 0.5, 10.0, [30], 25.0),
    ("uint32 scaled", DataType.UINT32, 0.1, 0.0, encode(123456, DataType.UINT32), 12345.6),
    ("identity keeps ints", DataType.INT32, 1.0, 0.0, encode(-7, DataType.INT32), -7),
]


@pytest.mark.parametrize(
    ("dtype", "scale", "offset", "regs", "expected"),
    [c[1:] for c in SCALED],
    ids=[c[0] for c in SCALED],
)
def test_scale_and_offset(
    dtype: DataType, scale: float, offset: float, regs: list[int], expected: float
) -> None:
    [(_, got)] = decode_point(spec(dtype, scale=scale, offset=offset), regs, Order.ABCD)
    assert got == pytest.approx(expected)
    assert type(got) is type(expected)


@pytest.mark.parametrize(("bit", "expected"), [(True, True), (False, False), (1, True), (0, False)])
def test_bool(bit: bool | int, expected: bool) -> None:
    assert decode_point(spec(DataType.BOOL), [bit], Order.ABCD) == [("p", expected)]


def test_bitfield_yields_one_bool_per_named_bit() -> None:
    bits = {"running": 0, "door_open": 3, "fire_mode": 10, "alarm": 15}
    word = encode_bits({0: True, 3: False, 10: True, 15: True, 4: True})
    got = decode_point(spec(DataType.BITFIELD, bits=bits), [word], Order.ABCD)
    assert got == [("running", True), ("door_open", False), ("fire_mode", True), ("alarm", True)]


@pytest.mark.parametrize("order", list(Order))
def test_string_every_order(order: Order) -> None:
    regs = encode_string("PUMP-7", 4, order)
    assert decode_point(spec(DataType.STRING, count=4), regs, order) == [("p", "PUMP-7")]


def _holding(name: str, address: int, dtype: DataType, **kw: object) -> PointSpec:
    return PointSpec(name=name, table=Table.HOLDING, address=address, type=dtype, **kw)


def test_block_with_gaps_offsets_and_per_point_order() -> None:
    a = _holding("a", 10, DataType.INT16, scale=0.1)
    b = _holding("b", 13, DataType.FLOAT32)  # device default order CDAB
    c = _holding("c", 15, DataType.UINT32, order=Order.ABCD)
    block = ReadBlock(Table.HOLDING, 10, 7, (a, b, c))
    data = [
        *encode(215, DataType.INT16),
        0xDEAD,
        0xBEEF,
        *encode(3.25, DataType.FLOAT32, Order.CDAB),
        *encode(70000, DataType.UINT32),
    ]
    got = decode_block(block, data, default_order=Order.CDAB)
    assert got.values == [("a", pytest.approx(21.5)), ("b", 3.25), ("c", 70000)]
    assert got.invalid == []


def test_coil_block_from_padded_bits() -> None:
    points = tuple(
        PointSpec(name=n, table=Table.COIL, address=i, type=DataType.BOOL)
        for i, n in ((0, "x"), (2, "y"))
    )
    block = ReadBlock(Table.COIL, 0, 3, points)
    got = decode_block(
        block, [True, True, False, False, False, False, False, False], default_order=Order.ABCD
    )
    assert got.values == [("x", True), ("y", False)]


def test_non_finite_float_is_invalid_not_a_value() -> None:
    f = _holding("f", 0, DataType.FLOAT32)
    g = _holding("g", 2, DataType.INT16)
    block = ReadBlock(Table.HOLDING, 0, 3, (f, g))
    got = decode_block(block, [*encode(math.nan, DataType.FLOAT32), 5], default_order=Order.ABCD)
    assert got.values == [("g", 5)]
    assert got.invalid == ["f"]


def test_short_response_is_an_error() -> None:
    block = ReadBlock(Table.HOLDING, 0, 2, (_holding("f", 0, DataType.FLOAT32),))
    with pytest.raises(ShortResponseError, match="got only 1"):
        decode_block(block, [1], default_order=Order.ABCD)
