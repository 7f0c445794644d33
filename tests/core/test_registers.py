"""Register encoding and decoding for every type and byte/word order (golden values)."""

from __future__ import annotations

import pytest

from bldgwatch.core.registers import (
    DataType,
    Order,
    decode,
    decode_bits,
    decode_string,
    encode,
    encode_bits,
    encode_string,
)

# 0x41200000 is float32 10.0: bytes A=0x41 B=0x20 C=0x00 D=0x00.
GOLDEN_FLOAT32 = {
    Order.ABCD: [0x4120, 0x0000],
    Order.CDAB: [0x0000, 0x4120],
    Order.BADC: [0x2041, 0x0000],
    Order.DCBA: [0x0000, 0x2041],
}


@pytest.mark.parametrize(("order", "regs"), GOLDEN_FLOAT32.items())
def test_float32_golden(order: Order, regs: list[int]) -> None:
    assert encode(10.0, DataType.FLOAT32, order) == regs
    assert decode(regs, DataType.FLOAT32, order) == 10.0


def test_int32_word_order() -> None:
    assert encode(0x01020304, DataType.INT32, Order.ABCD) == [0x0102, 0x0304]
    assert encode(0x01020304, DataType.INT32, Order.CDAB) == [0x0304, 0x0102]
    assert decode([0xFFFF, 0xFFFE], DataType.INT32) == -2


@pytest.mark.parametrize(
    "dtype", [t for t in DataType if t not in (DataType.BOOL, DataType.BITFIELD, DataType.STRING)]
)
@pytest.mark.parametrize("order", list(Order))
def test_round_trip_every_numeric_type(dtype: DataType, order: Order) -> None:
    value = 1234.5 if dtype.value.startswith("float") else 1234
    assert decode(encode(value, dtype, order), dtype, order) == value


@pytest.mark.parametrize(
    ("dtype", "value", "stored"),
    [(DataType.INT16, 40000, 32767), (DataType.UINT16, -5, 0), (DataType.UINT16, 2.6, 3)],
)
def test_integers_are_rounded_and_clamped(dtype: DataType, value: float, stored: int) -> None:
    assert decode(encode(value, dtype), dtype) == stored


def test_wrong_register_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="float32 needs 2 registers, got 1"):
        decode([1], DataType.FLOAT32)


def test_strings_and_bits() -> None:
    regs = encode_string("PUMP-7", 4)
    assert len(regs) == 4
    assert decode_string(regs) == "PUMP-7"
    assert decode_string(encode_string("AB", 1, Order.BADC), Order.BADC) == "AB"
    word = encode_bits({0: True, 3: True, 5: False})
    assert word == 0b1001
    assert decode_bits(word, [0, 3, 5]) == {0: True, 3: True, 5: False}
