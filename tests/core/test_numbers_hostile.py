"""Hostile review of issue 12: numbers that the decoder or the evaluator take when they should
not (pure: the codec and the rolling statistics)."""

from __future__ import annotations

import orjson

from bldgwatch.core.codec import decode_batch
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.rules.logic import RollingStats

T0_MS = 1_767_225_600_000


def _batch(value_text: bytes) -> bytes:
    doc = {
        "schema": 1,
        "site": "demo",
        "gateway": "gw-1",
        "seq": 1,
        "equipment": {"P-01": {"type": "pump", "building": "B1"}},
        "readings": {
            "equipment": ["P-01"],
            "point": ["bearing_temp_c"],
            "ts": [T0_MS],
            "value": ["PLACEHOLDER"],
            "quality": [0],
        },
    }
    return orjson.dumps(doc).replace(b'"PLACEHOLDER"', value_text)


def test_a_30_digit_integer_value_is_refused_as_number_too_large() -> None:
    """FINDING (medium): docs/wire-format.md says an integer past 64 signed bits is
    `number_too_large` and costs its reading. That holds only on the standard-library fallback
    (taken when the payload has NaN/Infinity, or the integer is so long that orjson's float
    overflows). A 21..308-digit integer in an otherwise valid batch is parsed by orjson as a
    float (123456789012345678901234567890 -> 1.23e29) and accepted as a good reading: it is
    stored by ingest and evaluated by rules."""
    decoded = decode_batch(_batch(b"123456789012345678901234567890"))
    assert [r.reason for r in decoded.rejected] == ["number_too_large"]
    assert decoded.batch.readings == []


def test_decode_max_int_digits_is_honoured_on_the_normal_path() -> None:
    """FINDING (low): `decode.max_int_digits` is an explicit setting (issue 12 #1: decoding
    limits are settings), but it is consulted only by the NaN fallback parser. With
    max_int_digits=3 a 7-digit integer is accepted when the batch has no NaN, and refused as
    number_too_large when a NaN elsewhere in the batch sends it through the fallback: the
    same reading's fate depends on its neighbours."""
    # 13 digits: the millisecond timestamps still fit (with 3, as first written, the 13-digit
    # timestamp is refused first, as `bad_timestamp`, on either path).
    limits = DecodeLimits(max_int_digits=13)
    decoded = decode_batch(_batch(b"12345678901234"), limits)
    assert [r.reason for r in decoded.rejected] == ["number_too_large"]


def test_one_huge_finite_reading_does_not_poison_the_rolling_mean_after_it_left_the_window() -> (
    None
):
    """FINDING (high): a finite but absurd value (1e200; a float32 register with garbage bits
    decodes to ~3e38, equally finite) passes the codec, ingest and rules as a good reading.
    RollingStats keeps incremental sums and subtracts a sample when it leaves the window:
    (1e200 + 20 + ...) - 1e200 == 0 by cancellation, so for the next 10,000 updates
    (_RESUM_EVERY) the mean, stddev and slope of that point are wrong: here the mean of
    ten readings of 20.0 is 0.0 and the slope 68/s. Every statistical rule on the point is
    blind (or falsely active) for hours; one message does it."""
    stats = RollingStats(window_ms=10_000)
    stats.add(T0_MS, 1e200)
    for i in range(1, 40):
        stats.add(T0_MS + i * 1000, 20.0)
    assert stats.n == 11
    assert abs(stats.mean() - 20.0) < 1e-6
    assert stats.stddev() < 1e-6
    slope = stats.slope_per_s()
    assert slope is None or abs(slope) < 1e-6
