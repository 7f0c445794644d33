"""Hostile JSON: every payload is a DecodeError with a reason or a decoded batch, never a
crash (RecursionError, OverflowError, UnicodeEncodeError, ...); the limits are settings."""

from __future__ import annotations

import json
import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.safejson import DecodeLimits, load_json, load_json_lenient, nesting_depth

GOOD = ReadingBatch(
    site="demo",
    gateway="gw-1",
    seq=1,
    equipment={"P-01": EquipmentInfo("pump", "B1")},
    readings=[
        Reading("P-01", "bearing_temp_c", 1_767_225_600_000, 51.5),
        Reading("P-01", "current_a", 1_767_225_600_000, 12.0),
    ],
)


def _with_value(raw: bytes) -> bytes:
    """The good batch with its first value replaced by the raw JSON text `raw`."""
    return encode_batch(GOOD).replace(b"51.5", raw, 1)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"9" * 400, "number_too_large"),
        (b"-" + b"9" * 400, "number_too_large"),
        (b"NaN", "non_finite"),
        (b"-Infinity", "non_finite"),
        (b"1e999", "non_finite"),
        (b"[[1]]", "bad_value"),
        (b'"12"', "bad_value"),
        (b"null", "bad_value"),
        (b"18446744073709551615", "number_too_large"),  # fits orjson's u64, not an int64
    ],
)
def test_a_bad_value_costs_only_its_own_reading(raw: bytes, reason: str) -> None:
    decoded = decode_batch(_with_value(raw))
    assert [r.reason for r in decoded.rejected] == [reason]
    assert [r.point for r in decoded.batch.readings] == ["current_a"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "too_deep"),
        (_with_value(b"[" * 40 + b"1" + b"]" * 40), "too_deep"),
        (_with_value(b"NaN").replace(b'"P-01"', b'"\\ud800"', 1), "malformed_json"),
        (b'{"schema": 1, "site": "\xff\xfe"}', "malformed_json"),
        (encode_batch(GOOD)[:-7], "malformed_json"),
        (b"", "malformed_json"),
        (b"x" * 2_000_000, "oversize"),
    ],
)
def test_an_unusable_message_is_one_decode_error(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_batch(payload)
    assert err.value.reason == reason


def test_limits_are_settings() -> None:
    small = DecodeLimits(max_message_bytes=1024, max_depth=3, max_int_digits=3)
    with pytest.raises(DecodeError, match="oversize"):
        load_json(b"[" + b"1," * 600 + b"1]", small)
    with pytest.raises(DecodeError, match="too_deep"):
        load_json(b'{"a": {"b": [[1]]}}', small)
    assert load_json(b'{"a": {"b": [1]}}', small) == {"a": {"b": [1]}}
    doc = load_json_lenient(b"[1234, 123, NaN]", small)
    assert doc[0] == "1234" and doc[1] == 123 and math.isnan(doc[2])
    with pytest.raises(DecodeError, match="too_deep"):
        load_json_lenient(b"[[[[NaN]]]]", small)


def test_nesting_depth_skips_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[", "b": [1, {"c": "}}"}]}') == 3


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(["seq", "sent", "site", "equipment", "readings", "x"]), value=json_values
)
def test_any_field_value_is_decoded_or_refused_with_a_reason(field: str, value: object) -> None:
    doc = orjson.loads(encode_batch(GOOD))
    doc[field] = value
    payload = json.dumps(doc).encode()  # the stdlib writes NaN, infinities and huge integers
    try:
        decode_batch(payload)
    except DecodeError as err:
        assert err.reason


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=300))
def test_any_bytes_are_decoded_or_refused_with_a_reason(payload: bytes) -> None:
    try:
        decode_batch(payload)
    except DecodeError as err:
        assert err.reason
