"""DL/T 645-2007 codec: frames as the standard lays them out, values in BCD with a sign bit,
robust refusal of what is not a frame, and round trips (hypothesis)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bldgwatch.core import dlt645
from bldgwatch.core.dlt645 import (
    DATA_ITEMS,
    Frame,
    FrameError,
    FrameReader,
    ReplyError,
    check_reply,
    decode_value,
    encode_frame,
    encode_value,
    parse_frame,
)

# The read-address request every DL/T 645-2007 meter answers (as printed in meter manuals).
READ_ADDRESS_WIRE = bytes.fromhex("FEFEFEFE 68 AAAAAAAAAAAA 68 13 00 DF 16")
# Read forward active energy (DI 00 01 00 00) from whatever meter is on the line.
READ_ENERGY_WIRE = bytes.fromhex("FEFEFEFE 68 AAAAAAAAAAAA 68 11 04 33333433 AE 16")


def test_requests_are_laid_out_as_the_standard_says() -> None:
    assert encode_frame(dlt645.read_address_request()) == READ_ADDRESS_WIRE
    wire = encode_frame(dlt645.read_request(dlt645.WILDCARD, 0x00010000))
    assert wire == READ_ENERGY_WIRE


def test_address_is_bcd_lowest_byte_first() -> None:
    assert dlt645.encode_address("123456789012") == bytes.fromhex("129078563412")
    assert dlt645.decode_address(bytes.fromhex("129078563412")) == "123456789012"
    wire = encode_frame(dlt645.read_request("123456789012", 0x02010100), wakeup=0)
    assert wire[:8] == bytes.fromhex("68 129078563412 68")
    assert wire[10:14] == bytes([0x00 + 0x33, 0x01 + 0x33, 0x01 + 0x33, 0x02 + 0x33])


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901B", "12-456789012"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        dlt645.encode_address(bad)


def test_a_reply_decodes_to_the_meter_value() -> None:
    # 0x91 reply of meter 000000001234: forward energy 123456.78 kWh (BCD 78 56 34 12)
    body = bytes.fromhex("68 341200000000 68 91 08") + bytes(
        b + 0x33 for b in bytes.fromhex("00000100 78563412")
    )
    wire = bytes.fromhex("FEFE") + body + bytes([sum(body) & 0xFF, 0x16])
    frame = parse_frame(wire)
    assert frame == Frame("000000001234", 0x91, bytes.fromhex("00000100 78563412"))
    reply = check_reply(dlt645.read_request("000000001234", 0x00010000), frame)
    assert reply.di == 0x00010000 and not reply.follows
    assert dlt645.decode_values(reply.payload, DATA_ITEMS[0x00010000]) == [123456.78]


@pytest.mark.parametrize(
    ("di", "value", "raw"),
    [
        (0x02010100, 220.1, "0122"),  # XXX.X V
        (0x02020100, -1.5, "001580"),  # XXX.XXX A, signed: sign in the top bit of the top byte
        (0x02030000, 12.3456, "563412"),  # XX.XXXX kW
        (0x02030000, -0.0001, "010080"),
        (0x02060000, -0.987, "8789"),  # X.XXX
        (0x02800002, 50.02, "0250"),  # XX.XX Hz
        (0x00000000, -12.34, "34120080"),  # combined energy is signed
    ],
)
def test_values_in_each_format(di: int, value: float, raw: str) -> None:
    fmt = DATA_ITEMS[di].fmt
    assert encode_value(value, fmt) == bytes.fromhex(raw)
    assert decode_value(bytes.fromhex(raw), fmt) == pytest.approx(value)


def test_phase_identifiers_count_the_phase_in_di1() -> None:
    assert DATA_ITEMS[0x02010300].name == "phase C voltage"
    assert DATA_ITEMS[0x02020200].name == "phase B current"
    assert DATA_ITEMS[0x0201FF00].count == 3
    assert dlt645.parse_di("02800002") == 0x02800002


def test_values_outside_a_format_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode_value(1_000_000.0, DATA_ITEMS[0x00010000].fmt)
    with pytest.raises(ValueError, match="does not fit"):
        encode_value(80.0, DATA_ITEMS[0x02030000].fmt)  # the sign bit caps signed formats
    with pytest.raises(ValueError, match="unsigned"):
        encode_value(-1.0, DATA_ITEMS[0x02010100].fmt)
    with pytest.raises(FrameError, match="not BCD"):
        decode_value(bytes.fromhex("1A22"), DATA_ITEMS[0x02010100].fmt)


def _frame(address: str = "000000001234", data: bytes = b"\x00\x00\x01\x00") -> bytes:
    return encode_frame(Frame(address, 0x91, data + bytes.fromhex("78563412")), wakeup=2)


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "no start byte"),
        (b"\xfe\xfe", "no start byte"),
        (_frame()[:9], "short frame"),
        (_frame()[:-3], "short frame"),
        (_frame()[:-2] + b"\x00\x16", "bad checksum"),
        (_frame()[:-1] + b"\x17", "no end byte"),
        (b"\x01\x02" + _frame(), "noise before the frame"),
        (_frame() + b"\x00", "after the frame"),
        (_frame()[:9] + b"\x00" + _frame()[10:], "second 0x68"),
    ],
)
def test_bad_frames_are_refused_with_a_reason(wire: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        parse_frame(wire)


def test_the_reader_skips_noise_and_bad_frames_and_finds_the_good_one() -> None:
    good = _frame()
    bad = bytearray(good)
    bad[-2] ^= 0xFF
    reader = FrameReader()
    stream = b"\x00\x11" + bytes(bad) + b"\x68\x68" + good
    frames = [f for i in range(0, len(stream), 3) for f in reader.feed(stream[i : i + 3])]
    assert frames == [parse_frame(good)]
    assert any("bad checksum" in p for p in reader.problems)
    assert reader.noise >= 2
    assert reader.pending() is None
    reader.feed(good[:7])
    assert reader.pending() is not None and "short frame" in reader.pending()  # type: ignore[operator]


def test_a_stray_start_that_looks_like_a_long_frame_does_not_hold_back_a_good_one() -> None:
    good = _frame()
    stray = bytes.fromhex("68 000000000000 68 91 FF")  # claims 255 data bytes that never come
    reader = FrameReader()
    assert reader.feed(stray + good) == [parse_frame(good)]
    assert any("a whole frame follows it" in p for p in reader.problems)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Frame("000000009999", 0x91, bytes.fromhex("00000100 00000000")), "reply from address"),
        (Frame("000000001234", 0xD1, bytes([0x02])), "no data for this identifier"),
        (Frame("000000001234", 0x91, bytes.fromhex("00010102 0022")), "identifier 02010100"),
        (Frame("000000001234", 0x93, dlt645.encode_address("000000001234")), "function 0x13"),
        (Frame("000000001234", 0x11, bytes.fromhex("00000100")), "not a reply"),
        (Frame("000000001234", 0x91, b"\x00"), "no data identifier"),
    ],
)
def test_replies_that_do_not_answer_the_request_are_refused(reply: Frame, reason: str) -> None:
    with pytest.raises(ReplyError, match=reason):
        check_reply(dlt645.read_request("000000001234", 0x00010000), reply)


def test_a_wildcard_request_accepts_any_meter_and_a_follow_up_carries_its_sequence() -> None:
    request = dlt645.read_request(dlt645.WILDCARD, 0x00010000)
    reply = dlt645.data_reply("230000000001", 0x00010000, b"\x00" * 4, follows=True)
    got = check_reply(request, parse_frame(encode_frame(reply)))
    assert got.address == "230000000001" and got.follows
    follow = dlt645.read_follow_request("230000000001", 0x00010000, 1)
    answer = Frame("230000000001", 0x92, bytes.fromhex("00000100 0102 01"))
    assert check_reply(follow, answer).payload == b"\x01\x02"
    with pytest.raises(ReplyError, match="sequence"):
        check_reply(follow, Frame("230000000001", 0x92, bytes.fromhex("00000100 02")))


def test_a_read_address_reply_gives_the_meter_s_address() -> None:
    reply = parse_frame(encode_frame(dlt645.address_reply("230000000417")))
    assert reply.control == 0x93 and dlt645.check_address_reply(reply) == "230000000417"
    with pytest.raises(ReplyError, match="does not answer read address"):
        dlt645.check_address_reply(Frame("230000000417", 0x91, b"\0" * 6))
    with pytest.raises(ReplyError, match="names address"):
        dlt645.check_address_reply(
            Frame("230000000417", 0x93, dlt645.encode_address("230000000418"))
        )
    with pytest.raises(ReplyError, match="not BCD"):
        dlt645.check_address_reply(Frame("230000000417", 0x93, b"\xff" * 6))


addresses = st.text(alphabet="0123456789", min_size=12, max_size=12)
frames = st.builds(
    Frame,
    address=addresses,
    control=st.integers(0, 255),
    data=st.binary(max_size=dlt645.MAX_DATA),
)


@given(frames, st.integers(0, 8))
def test_frames_round_trip(frame: Frame, wakeup: int) -> None:
    assert parse_frame(encode_frame(frame, wakeup=wakeup)) == frame


@given(frames, st.binary(max_size=20), st.integers(1, 7))
def test_the_reader_finds_a_frame_after_any_noise_in_any_pieces(
    frame: Frame, noise: bytes, piece: int
) -> None:
    stream = noise.replace(b"\x68", b"\x00") + encode_frame(frame)
    reader = FrameReader()
    found = [f for i in range(0, len(stream), piece) for f in reader.feed(stream[i : i + piece])]
    assert found == [frame]


@given(st.binary(max_size=60))
def test_garbage_never_raises_anything_but_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        parse_frame(data)
    reader = FrameReader()
    for frame in reader.feed(data):
        assert parse_frame(dlt645.encode_frame(frame)) == frame


@given(st.sampled_from(sorted(DATA_ITEMS)), st.data())
def test_values_round_trip_in_every_known_format(di: int, data: st.DataObject) -> None:
    fmt = DATA_ITEMS[di].fmt
    top = round(fmt.largest * 10**fmt.decimals)
    count = data.draw(st.integers(-top if fmt.signed else 0, top))
    value = count / 10**fmt.decimals
    assert decode_value(encode_value(value, fmt), fmt) == pytest.approx(value, abs=1e-9)
