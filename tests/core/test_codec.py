"""Readings wire codec: round trip, whole-batch rejects and per-reading rejects."""

from __future__ import annotations

import orjson
import pytest

from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch


def _batch() -> ReadingBatch:
    return ReadingBatch(
        site="demo",
        gateway="gw-1",
        seq=7,
        equipment={"P-01": EquipmentInfo("pump", "B1"), "E-01": EquipmentInfo("elevator", "B1")},
        readings=[
            Reading("P-01", "bearing_temp_c", 1_767_225_600_000, 51.5),
            Reading("P-01", "running", 1_767_225_600_000, True),
            Reading("E-01", "floor", 1_767_225_600_100, 3, Quality.UNCERTAIN),
        ],
        sent_ms=1_767_225_600_200,
    )


def test_round_trip_keeps_every_field() -> None:
    batch = _batch()
    decoded = decode_batch(encode_batch(batch))
    assert decoded.rejected == []
    assert decoded.batch == batch


def _doc() -> dict[str, object]:
    doc: dict[str, object] = orjson.loads(encode_batch(_batch()))
    return doc


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update(schema=2), "schema_version"),
        (lambda d: d.update(schema=True), "schema_version"),
        (lambda d: d.update(schema=1.0), "schema_version"),
        (lambda d: d.update(extra=1), "unknown_field"),
        (lambda d: d.update(seq=-1), "bad_schema"),
        (lambda d: d.update(site=""), "bad_schema"),
        (lambda d: d["readings"].update(ts=[1]), "bad_schema"),
        (lambda d: d["readings"].pop("quality"), "bad_schema"),
        (lambda d: d.update(equipment={"P-01": {"type": "pump"}}), "bad_schema"),
    ],
)
def test_unusable_batches_are_rejected_with_a_reason(mutate: object, reason: str) -> None:
    doc = _doc()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(DecodeError) as err:
        decode_batch(orjson.dumps(doc))
    assert err.value.reason == reason


@pytest.mark.parametrize("token", [b"Infinity", b"-Infinity", b"1e999"])
def test_infinite_values_are_rejected_alone(token: bytes) -> None:
    payload = encode_batch(_batch()).replace(b"51.5", token)
    decoded = decode_batch(payload)
    assert [(r.index, r.reason) for r in decoded.rejected] == [(0, "non_finite")]
    assert len(decoded.batch.readings) == 2


def test_malformed_json_is_named() -> None:
    with pytest.raises(DecodeError) as err:
        decode_batch(b"{not json")
    assert err.value.reason == "malformed_json"


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("equipment", "X-99", "unknown_equipment"),
        ("point", "", "bad_point"),
        ("ts", "yesterday", "bad_timestamp"),
        ("value", "hot", "bad_value"),
        ("value", 424242.5, "non_finite"),  # replaced by NaN / Infinity below
        ("quality", 7, "bad_quality"),
    ],
)
def test_bad_readings_are_rejected_and_good_ones_kept(
    column: str, value: object, reason: str
) -> None:
    doc = _doc()
    cols = doc["readings"]
    assert isinstance(cols, dict)
    cols[column][1] = value
    payload = orjson.dumps(doc).replace(b"424242.5", b"NaN")
    decoded = decode_batch(payload)
    assert [r.reason for r in decoded.rejected] == [reason]
    assert decoded.rejected[0].index == 1
    assert [r.point for r in decoded.batch.readings] == ["bearing_temp_c", "floor"]
