"""Modbus register encoding and decoding, shared by the simulators and the gateway (pure)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from enum import StrEnum


class DataType(StrEnum):
    """How a point's registers hold its value."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"  # a coil or discrete input
    BITFIELD = "bitfield"  # named bits of one 16-bit status word
    STRING = "string"  # ASCII, two characters per register


class Order(StrEnum):
    """Byte and word order of multi-register values, named by where bytes A B C D land.

    ABCD is big-endian bytes in big-endian words (the Modbus default); CDAB swaps words
    (common in PLCs for float32); BADC swaps bytes within each word; DCBA is fully little-endian.
    """

    ABCD = "ABCD"
    CDAB = "CDAB"
    BADC = "BADC"
    DCBA = "DCBA"


_STRUCT: dict[DataType, str] = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
}

REGISTER_COUNT: dict[DataType, int] = {
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT32: 2,
    DataType.FLOAT64: 4,
    DataType.BITFIELD: 1,
    DataType.BOOL: 1,
}


def _to_wire(raw: bytes, order: Order) -> list[int]:
    """Big-endian value bytes → registers in the given order."""
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    if order in (Order.CDAB, Order.DCBA):
        words.reverse()
    if order in (Order.BADC, Order.DCBA):
        words = [w[::-1] for w in words]
    return [int.from_bytes(w, "big") for w in words]


def _from_wire(registers: Sequence[int], order: Order) -> bytes:
    """Registers in the given order → big-endian value bytes."""
    words = [(r & 0xFFFF).to_bytes(2, "big") for r in registers]
    if order in (Order.BADC, Order.DCBA):
        words = [w[::-1] for w in words]
    if order in (Order.CDAB, Order.DCBA):
        words.reverse()
    return b"".join(words)


def encode(value: float | int, dtype: DataType, order: Order = Order.ABCD) -> list[int]:
    """Registers that hold `value` as `dtype` in `order`; integers are rounded and clamped."""
    fmt = _STRUCT.get(dtype)
    if fmt is None:
        raise ValueError(f"{dtype} is not a numeric register type")
    if dtype in (DataType.FLOAT32, DataType.FLOAT64):
        raw = struct.pack(">" + fmt, float(value))
    else:
        bits = 8 * struct.calcsize(fmt)
        signed = fmt.islower()
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        raw = struct.pack(">" + fmt, max(lo, min(hi, round(value))))
    return _to_wire(raw, order)


def decode(registers: Sequence[int], dtype: DataType, order: Order = Order.ABCD) -> float | int:
    """Value of `dtype` held in `registers` (exactly as many as the type needs)."""
    fmt = _STRUCT.get(dtype)
    if fmt is None:
        raise ValueError(f"{dtype} is not a numeric register type")
    need = REGISTER_COUNT[dtype]
    if len(registers) != need:
        raise ValueError(f"{dtype} needs {need} registers, got {len(registers)}")
    value: float | int = struct.unpack(">" + fmt, _from_wire(registers, order))[0]
    return value


def encode_string(text: str, count: int, order: Order = Order.ABCD) -> list[int]:
    """ASCII text padded with NULs into `count` registers."""
    raw = text.encode("ascii", errors="replace")[: 2 * count].ljust(2 * count, b"\0")
    swap = order in (Order.BADC, Order.DCBA)
    return [
        int.from_bytes(raw[i : i + 2][::-1] if swap else raw[i : i + 2], "big")
        for i in range(0, len(raw), 2)
    ]


def decode_string(registers: Sequence[int], order: Order = Order.ABCD) -> str:
    """Text held in registers, NUL padding removed."""
    swap = order in (Order.BADC, Order.DCBA)
    raw = b"".join((r & 0xFFFF).to_bytes(2, "little" if swap else "big") for r in registers)
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace")


def encode_bits(bits: dict[int, bool]) -> int:
    """One status word from bit index → state."""
    word = 0
    for index, state in bits.items():
        if state:
            word |= 1 << index
    return word


def decode_bits(word: int, indexes: Sequence[int]) -> dict[int, bool]:
    """Bit index → state for the requested bits of a status word."""
    return {i: bool((word >> i) & 1) for i in indexes}
