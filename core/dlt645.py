"""DL/T 645-2007 (多功能电能表通信协议) frames and data, shared by the gateway and the simulator
(pure: bytes in, bytes out).

A frame on the RS-485 line is

    FE FE FE FE  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA…  CS  16

wake-up bytes (any number of 0xFE, ignored by the receiver), a start byte, the meter's address
as 12 BCD digits in 6 bytes with the lowest byte first (0xAA digits are wildcards: AAAAAAAAAAAA
reaches whatever meter is on the line; 999999999999 is broadcast and gets no reply), a second
start byte, the control code, the data length, the data with 0x33 added to every byte on the wire,
the checksum (sum of every byte from the first 0x68 to the last data byte, mod 256) and 0x16.

Control code bits: 7 direction (1: from the meter), 6 error reply, 5 more frames follow,
4–0 function (0x11 read data, 0x12 read follow-up data, 0x13 read address). A read request's
data is the 4-byte data identifier (DI), lowest byte first; the normal reply (0x91, or 0xB1 when
follow-up frames hold the rest) repeats the DI and adds the value bytes; an error reply (0xD1)
carries one error byte. Values are BCD, lowest byte first; in signed formats the top bit of the
highest byte is the sign.

`FrameReader` finds frames in a byte stream (noise and wake-up bytes before a frame are skipped)
and records why it refused what was not a frame; `parse_frame` refuses a whole buffer that is
not one frame with a `FrameError` naming the reason. Neither raises anything else on bad input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

START = 0x68
END = 0x16
WAKEUP = 0xFE
OFFSET = 0x33
HEADER = 10  # 68, six address bytes, 68, C, L
MAX_DATA = 200  # the standard's longest data field of a read (data bytes, L)

WILDCARD = "AAAAAAAAAAAA"
BROADCAST = "999999999999"

# Control codes (function in bits 4–0, flags above)
READ_DATA = 0x11
READ_FOLLOW = 0x12
READ_ADDRESS = 0x13
FROM_METER = 0x80
ERROR_REPLY = 0x40
FOLLOWS = 0x20
FUNCTION = 0x1F

# Error byte of an error reply (bit → meaning)
ERROR_BITS: dict[int, str] = {
    0: "other error",
    1: "no data for this identifier",
    2: "password wrong or not authorised",
    3: "baud rate cannot be changed",
    4: "too many year time zones",
    5: "too many daily periods",
    6: "too many tariffs",
}
ERR_OTHER = 0x01
ERR_NO_DATA = 0x02


class FrameError(ValueError):
    """Bytes that are not a usable DL/T 645 frame; the message names why."""


class ShortFrameError(FrameError):
    """The start of a frame whose remaining bytes have not arrived (yet)."""


class ReplyError(ValueError):
    """A frame that is not the reply the request asked for (or an error reply)."""

    def __init__(self, message: str, *, error_byte: int | None = None) -> None:
        super().__init__(message)
        self.error_byte = error_byte


# -- addresses ------------------------------------------------------------------------------
def encode_address(address: str) -> bytes:
    """12 digits (0-9, or A as a wildcard digit) → 6 bytes, lowest byte first."""
    text = address.upper()
    if len(text) != 12 or any(c not in "0123456789A" for c in text):
        raise ValueError(f"address {address!r}: give 12 digits (A for a wildcard digit)")
    return bytes(int(text[i : i + 2], 16) for i in range(10, -1, -2))


def decode_address(raw: bytes) -> str:
    """6 bytes, lowest first → 12 digits; FrameError when a nibble is neither a digit nor A."""
    text = raw[::-1].hex().upper()
    if len(raw) != 6 or any(c not in "0123456789A" for c in text):
        raise FrameError(f"address bytes {raw.hex(' ')} are not BCD")
    return text


def address_matches(wanted: str, got: str) -> bool:
    """Whether a reply from `got` answers a request to `wanted` (A digits match any)."""
    return len(wanted) == len(got) and all(w in ("A", g) for w, g in zip(wanted, got, strict=True))


# -- data identifiers and values --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DataFormat:
    """How one value is held: `length` BCD bytes with `decimals` decimals, maybe signed."""

    length: int
    decimals: int
    signed: bool = False
    unit: str = ""

    @property
    def largest(self) -> float:
        """The largest magnitude the format holds (999999.99 for XXXXXX.XX)."""
        digits = 2 * self.length
        top = 8 * 10 ** (digits - 1) - 1 if self.signed else 10**digits - 1
        return float(top) / float(10**self.decimals)


@dataclass(frozen=True, slots=True)
class DataItem:
    """A data identifier the codec knows: what it means and its format; block identifiers
    hold `count` values one after another."""

    di: int
    name: str
    fmt: DataFormat
    count: int = 1


ENERGY = DataFormat(4, 2, unit="kWh")  # XXXXXX.XX
COMBINED_ENERGY = DataFormat(4, 2, signed=True, unit="kWh")
VOLTAGE = DataFormat(2, 1, unit="V")  # XXX.X
CURRENT = DataFormat(3, 3, signed=True, unit="A")  # XXX.XXX
POWER = DataFormat(3, 4, signed=True, unit="kW")  # XX.XXXX
POWER_FACTOR = DataFormat(2, 3, signed=True)  # X.XXX
FREQUENCY = DataFormat(2, 2, unit="Hz")  # XX.XX

_PHASES = ("A", "B", "C")


def _items() -> dict[int, DataItem]:
    items = [
        DataItem(0x00000000, "combined active energy, total", COMBINED_ENERGY),
        DataItem(0x00010000, "forward active energy, total", ENERGY),
        DataItem(0x00020000, "reverse active energy, total", ENERGY),
        DataItem(0x0201FF00, "phase voltages (block A, B, C)", VOLTAGE, 3),
        DataItem(0x0202FF00, "phase currents (block A, B, C)", CURRENT, 3),
        DataItem(0x0203FF00, "active power (block total, A, B, C)", POWER, 4),
        DataItem(0x0206FF00, "power factor (block total, A, B, C)", POWER_FACTOR, 4),
        DataItem(0x02030000, "active power, total", POWER),
        DataItem(0x02060000, "power factor, total", POWER_FACTOR),
        DataItem(0x02800002, "grid frequency", FREQUENCY),
    ]
    for n, phase in enumerate(_PHASES, start=1):
        items += [
            DataItem(0x02010000 | n << 8, f"phase {phase} voltage", VOLTAGE),
            DataItem(0x02020000 | n << 8, f"phase {phase} current", CURRENT),
            DataItem(0x02030000 | n << 8, f"phase {phase} active power", POWER),
            DataItem(0x02060000 | n << 8, f"phase {phase} power factor", POWER_FACTOR),
        ]
    return {item.di: item for item in items}


DATA_ITEMS: dict[int, DataItem] = _items()
"""The data identifiers this codec knows, by DI."""


def block_members(item: DataItem) -> list[int]:
    """The single identifiers a block identifier (DI1 = FF) gathers, in its order: phases A, B,
    C (and the total first when the block has four values); empty for a single identifier."""
    if item.count == 1 or (item.di >> 8) & 0xFF != 0xFF:
        return []
    first = 1 if item.count == 3 else 0
    return [(item.di & ~0xFF00) | (n << 8) for n in range(first, first + item.count)]


def parse_di(text: str) -> int:
    """'02010100' (DI3 DI2 DI1 DI0, as the standard writes them) → the DI number."""
    if len(text) != 8:
        raise ValueError(f"data identifier {text!r}: give 8 hex digits, e.g. 02010100")
    try:
        return int(text, 16)
    except ValueError:
        raise ValueError(f"data identifier {text!r}: give 8 hex digits, e.g. 02010100") from None


def di_text(di: int) -> str:
    """The DI as the standard writes it (DI3 first)."""
    return f"{di:08X}"


def di_bytes(di: int) -> bytes:
    """The DI as it goes in a frame: DI0 first."""
    return di.to_bytes(4, "little")


def encode_value(value: float, fmt: DataFormat) -> bytes:
    """One value as BCD, lowest byte first; ValueError when it does not fit the format."""
    count = round(abs(value) * 10**fmt.decimals)
    negative = value < 0 and count > 0
    if negative and not fmt.signed:
        raise ValueError(f"{value} is negative; the format is unsigned")
    if count > round(fmt.largest * 10**fmt.decimals):
        raise ValueError(
            f"{value} does not fit {fmt.length} BCD bytes with {fmt.decimals} decimals"
        )
    digits = f"{count:0{2 * fmt.length}d}"
    raw = bytearray(int(digits[i : i + 2], 16) for i in range(len(digits) - 2, -1, -2))
    if negative:
        raw[-1] |= 0x80
    return bytes(raw)


def decode_value(raw: bytes, fmt: DataFormat) -> float:
    """One BCD value (lowest byte first); FrameError when it is not BCD or the wrong size."""
    if len(raw) != fmt.length:
        raise FrameError(f"value of {len(raw)} bytes, the format has {fmt.length}")
    data = bytearray(raw)
    negative = False
    if fmt.signed and data[-1] & 0x80:
        negative = True
        data[-1] &= 0x7F
    text = bytes(data[::-1]).hex()
    if not text.isdigit():
        raise FrameError(f"value bytes {raw.hex(' ')} are not BCD")
    number = int(text) / float(10**fmt.decimals)
    return -number if negative else number


def decode_values(payload: bytes, item: DataItem) -> list[float]:
    """The values of a (block) item from a reply's value bytes."""
    need = item.fmt.length * item.count
    if len(payload) != need:
        raise FrameError(f"{di_text(item.di)}: {len(payload)} value bytes, the format needs {need}")
    size = item.fmt.length
    return [decode_value(payload[i : i + size], item.fmt) for i in range(0, need, size)]


def encode_values(values: Iterable[float], item: DataItem) -> bytes:
    """Value bytes of a (block) item."""
    out = [encode_value(v, item.fmt) for v in values]
    if len(out) != item.count:
        raise ValueError(f"{di_text(item.di)} holds {item.count} values, got {len(out)}")
    return b"".join(out)


# -- frames ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: the address (12 digits), the control code and the data as meant (before the
    0x33 the wire adds)."""

    address: str
    control: int
    data: bytes = b""

    @property
    def function(self) -> int:
        """The function code (bits 4–0 of the control code)."""
        return self.control & FUNCTION

    @property
    def from_meter(self) -> bool:
        """A reply (direction bit set)."""
        return bool(self.control & FROM_METER)

    @property
    def error(self) -> bool:
        """An error reply."""
        return bool(self.control & ERROR_REPLY)

    @property
    def follows(self) -> bool:
        """More frames hold the rest of the reply."""
        return bool(self.control & FOLLOWS)


def checksum(body: bytes) -> int:
    """The frame checksum: sum of the bytes from the first 0x68, mod 256."""
    return sum(body) & 0xFF


def encode_frame(frame: Frame, *, wakeup: int = 4) -> bytes:
    """The bytes of a frame on the wire, after `wakeup` 0xFE bytes."""
    if len(frame.data) > 255:
        raise ValueError(f"a frame holds at most 255 data bytes, got {len(frame.data)}")
    if not 0 <= frame.control <= 0xFF:
        raise ValueError(f"control code {frame.control} is not a byte")
    scrambled = bytes((b + OFFSET) & 0xFF for b in frame.data)
    body = (
        bytes([START])
        + encode_address(frame.address)
        + bytes([START, frame.control, len(frame.data)])
        + scrambled
    )
    return bytes([WAKEUP] * wakeup) + body + bytes([checksum(body), END])


def _check(buf: bytes, start: int) -> tuple[Frame, int]:
    """The frame at `start` (a 0x68) and its length; FrameError when incomplete or bad."""
    if len(buf) - start < HEADER:
        raise ShortFrameError(f"short frame: {len(buf) - start} bytes, a header has {HEADER}")
    if buf[start + 7] != START:
        raise FrameError(f"no second 0x68 after the address (got 0x{buf[start + 7]:02X})")
    length = buf[start + 9]
    total = HEADER + length + 2
    if len(buf) - start < total:
        raise ShortFrameError(
            f"short frame: {len(buf) - start} bytes, its length byte {length} needs {total}"
        )
    body = buf[start : start + HEADER + length]
    got = buf[start + HEADER + length]
    if checksum(body) != got:
        raise FrameError(f"bad checksum: computed 0x{checksum(body):02X}, frame has 0x{got:02X}")
    if buf[start + total - 1] != END:
        raise FrameError(f"no end byte 0x16 (got 0x{buf[start + total - 1]:02X})")
    address = decode_address(bytes(body[1:7]))
    data = bytes((b - OFFSET) & 0xFF for b in body[HEADER:])
    return Frame(address, body[8], data), total


def parse_frame(buf: bytes) -> Frame:
    """Exactly one frame (wake-up bytes before it allowed); FrameError naming what is wrong."""
    start = 0
    while start < len(buf) and buf[start] == WAKEUP:
        start += 1
    if start == len(buf):
        raise FrameError("no frame: no start byte 0x68")
    if buf[start] != START:
        raise FrameError(f"noise before the frame: 0x{buf[start]:02X} where 0x68 should start it")
    frame, total = _check(buf, start)
    if start + total != len(buf):
        raise FrameError(f"{len(buf) - start - total} bytes after the frame's end")
    return frame


@dataclass
class FrameReader:
    """Frames from a byte stream fed in pieces: noise and wake-up bytes are skipped, a bad
    frame is dropped, and `problems` says what was refused (oldest first)."""

    buffer: bytearray = field(default_factory=bytearray)
    problems: list[str] = field(default_factory=list)
    noise: int = 0  # bytes skipped that were neither wake-up bytes nor part of a frame

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; the frames now complete."""
        self.buffer += data
        frames: list[Frame] = []
        while True:
            start = self.buffer.find(START)
            skipped = self.buffer[: len(self.buffer) if start < 0 else start]
            junk = sum(1 for b in skipped if b != WAKEUP)
            if junk:
                self.noise += junk
                self.problems.append(f"{junk} bytes of noise skipped")
            if start < 0:
                self.buffer.clear()
                return frames
            del self.buffer[:start]
            try:
                frame, total = _check(bytes(self.buffer), 0)
            except ShortFrameError as err:
                later = self._complete_frame_after_start()
                if later is None:
                    return frames  # wait for more
                self.problems.append(f"{err}; a whole frame follows it")
                del self.buffer[:later]
                continue
            except FrameError as err:
                self.problems.append(str(err))
                del self.buffer[:1]  # resynchronise on the next 0x68
                continue
            del self.buffer[:total]
            frames.append(frame)

    def _complete_frame_after_start(self) -> int | None:
        """Where a whole, valid frame starts after the buffer's first byte: a stray 0x68 (or
        a frame cut short) must not hold back a good frame behind it until the timeout."""
        buf = bytes(self.buffer)
        at = buf.find(START, 1)
        while at >= 0:
            try:
                _check(buf, at)
            except FrameError:
                at = buf.find(START, at + 1)
                continue
            return at
        return None

    def pending(self) -> str | None:
        """Why the bytes still buffered are not a frame (None when nothing waits)."""
        if not self.buffer:
            return None
        try:
            _check(bytes(self.buffer), 0)
        except FrameError as err:
            return str(err)
        return None


# -- requests and replies -------------------------------------------------------------------
def read_request(address: str, di: int) -> Frame:
    """Read data (0x11) of one identifier."""
    return Frame(address, READ_DATA, di_bytes(di))


def read_follow_request(address: str, di: int, seq: int) -> Frame:
    """Read the follow-up frame `seq` (1, 2, …) of an identifier whose reply said more follows."""
    return Frame(address, READ_FOLLOW, di_bytes(di) + bytes([seq & 0xFF]))


def read_address_request() -> Frame:
    """Read address (0x13), to the wildcard: the one meter on the line answers."""
    return Frame(WILDCARD, READ_ADDRESS)


def data_reply(address: str, di: int, payload: bytes, *, follows: bool = False) -> Frame:
    """A meter's normal reply to read data: 0x91, or 0xB1 when follow-up frames hold more."""
    control = READ_DATA | FROM_METER | (FOLLOWS if follows else 0)
    return Frame(address, control, di_bytes(di) + payload)


def error_reply(address: str, function: int, error: int) -> Frame:
    """A meter's error reply (0xD1 for read data) with its error byte."""
    return Frame(address, function | FROM_METER | ERROR_REPLY, bytes([error]))


def address_reply(address: str) -> Frame:
    """A meter's reply to read address (0x93): its address as the data."""
    return Frame(address, READ_ADDRESS | FROM_METER, encode_address(address))


def describe_error(error: int) -> str:
    """The meanings of an error byte's bits."""
    meanings = [text for bit, text in ERROR_BITS.items() if error & (1 << bit)]
    return ", ".join(meanings) or f"error byte 0x{error:02X}"


def check_address_reply(reply: Frame) -> str:
    """The address a read-address reply (0x93) carries; ReplyError when it is not one."""
    if not reply.from_meter:
        raise ReplyError("a request, not a reply (an echo on the line?)")
    if reply.function != READ_ADDRESS or reply.error:
        raise ReplyError(f"control 0x{reply.control:02X} does not answer read address")
    if len(reply.data) != 6:
        raise ReplyError(f"read-address reply with {len(reply.data)} data bytes, not 6")
    try:
        address = decode_address(reply.data)
    except FrameError as err:
        raise ReplyError(str(err)) from None
    if address != reply.address:
        raise ReplyError(f"reply from {reply.address} names address {address}")
    return address


@dataclass(frozen=True, slots=True)
class DataReply:
    """The useful part of a read-data reply."""

    address: str
    di: int
    payload: bytes
    follows: bool


def check_reply(request: Frame, reply: Frame) -> DataReply:
    """The data of `reply` if it answers `request` (read data or follow-up); ReplyError names
    why not: an error reply, another meter's address, another function or identifier."""
    if not reply.from_meter:
        raise ReplyError("a request, not a reply (an echo on the line?)")
    if not address_matches(request.address, reply.address):
        raise ReplyError(
            f"reply from address {reply.address}, the request went to {request.address}"
        )
    if reply.function != request.function:
        raise ReplyError(
            f"reply to function 0x{reply.function:02X}, the request was 0x{request.function:02X}"
        )
    if reply.error:
        code = reply.data[0] if reply.data else 0
        raise ReplyError(f"meter answered an error: {describe_error(code)}", error_byte=code)
    if len(reply.data) < 4:
        raise ReplyError(f"reply data of {len(reply.data)} bytes has no data identifier")
    di = int.from_bytes(reply.data[:4], "little")
    asked = int.from_bytes(request.data[:4], "little")
    if di != asked:
        raise ReplyError(f"reply for identifier {di_text(di)}, the request asked {di_text(asked)}")
    payload = reply.data[4:]
    if request.function == READ_FOLLOW:
        if not payload or payload[-1] != request.data[4]:
            raise ReplyError("follow-up reply with the wrong sequence number")
        payload = payload[:-1]
    return DataReply(reply.address, di, payload, reply.follows)
