"""Validation beyond the codec: clock, topic, registry, names line protocol cannot carry."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.site import SiteSpec
from bldgwatch.ingest.validate import (
    Checked,
    Rejection,
    ValidationPolicy,
    bad_identifier,
    validate,
)

CLOCK = ManualClock()
NOW = to_epoch_ms(CLOCK.now())
TOPIC = "bw/v1/demo/gw-1/readings"
PUMP = EquipmentInfo("pump", "B1")


def _payload(*readings: Reading, equipment: dict[str, EquipmentInfo] | None = None) -> bytes:
    table = equipment or {"P-01": PUMP}
    return encode_batch(ReadingBatch("demo", "gw-1", 5, table, list(readings)))


def _check(
    payload: bytes, *, topic: str = TOPIC, policy: ValidationPolicy | None = None
) -> Checked:
    policy = policy or ValidationPolicy()
    return validate(topic, decode_batch(payload), now=CLOCK.now(), policy=policy)


def _r(point: str = "flow", ts: int = NOW, eq: str = "P-01") -> Reading:
    return Reading(eq, point, ts, 1.0, Quality.GOOD)


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        pytest.param(_r(), None, id="now"),
        pytest.param(_r(ts=NOW + 300_000), None, id="exactly-max-future"),
        pytest.param(_r(ts=NOW + 300_001), "future_timestamp", id="beyond-max-future"),
        pytest.param(_r(ts=NOW - 2_592_000_000), None, id="exactly-max-age"),
        pytest.param(_r(ts=NOW - 2_592_000_001), "too_old", id="beyond-max-age"),
        pytest.param(_r(ts=0), "too_old", id="epoch"),
        pytest.param(_r(point="time"), "bad_point", id="reserved-field-name"),
        pytest.param(_r(point="a\nb"), "bad_identifier", id="newline-in-point"),
        pytest.param(_r(point="tail\\"), "bad_identifier", id="trailing-backslash"),
        pytest.param(_r(point="a b,c=d"), None, id="escapable-chars-fine"),
    ],
)
def test_reading_checks(reading: Reading, reason: str | None) -> None:
    checked = _check(_payload(reading))
    if reason is None:
        assert checked.batch.readings == [reading]
        assert checked.rejections == []
    else:
        assert checked.batch.readings == []
        assert [r.reason for r in checked.rejections] == [reason]
        assert checked.rejections[0].index == 0


def test_limits_come_from_the_policy() -> None:
    policy = ValidationPolicy(max_future_s=10, max_age_s=60)
    checked = _check(_payload(_r(ts=NOW + 11_000), _r(ts=NOW - 61_000), _r()), policy=policy)
    assert [r.reason for r in checked.rejections] == ["future_timestamp", "too_old"]
    assert len(checked.batch.readings) == 1


def test_rejections_keep_message_indexes_across_codec_and_validation() -> None:
    doc = orjson.loads(_payload(_r("a"), _r("b"), _r("c"), _r("d", ts=NOW + 10**9)))
    doc["readings"]["value"][1] = "high"  # the codec refuses reading 1
    checked = _check(orjson.dumps(doc))
    assert [(r.index, r.reason) for r in checked.rejections] == [
        (1, "bad_value"),
        (3, "future_timestamp"),
    ]
    assert [r.point for r in checked.batch.readings] == ["a", "c"]


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("bw/v1/other/gw-1/readings", "topic_mismatch"),
        ("bw/v1/demo/gw-2/readings", "topic_mismatch"),
        ("bw/v1/demo/gw-1/status", "bad_topic"),
        ("elsewhere", "bad_topic"),
    ],
)
def test_topic_must_match_the_batch(topic: str, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        _check(_payload(_r()), topic=topic)
    assert err.value.reason == reason


def test_equipment_table_with_unusable_names_is_refused() -> None:
    table = {"P-01": EquipmentInfo("#pump", "B1"), "P-02": EquipmentInfo("pump", "B\r1")}
    checked = _check(_payload(_r(), _r(eq="P-02"), equipment=table))
    assert [r.reason for r in checked.rejections] == ["bad_identifier", "bad_identifier"]


def test_site_with_control_characters_refuses_the_message() -> None:
    payload = encode_batch(ReadingBatch("de\tmo", "gw-1", 1, {"P-01": PUMP}, [_r()]))
    with pytest.raises(DecodeError) as err:
        _check(payload, topic="bw/v1/de\tmo/gw-1/readings")
    assert err.value.reason == "bad_identifier"


def _site() -> SiteSpec:
    return SiteSpec.model_validate(
        {
            "site": "demo",
            "buildings": [{"id": "B1"}],
            "equipment": [{"id": "P-01", "type": "pump", "building": "B1", "gateway": "gw-1"}],
        }
    )


@pytest.mark.parametrize(
    ("equipment", "info", "reason"),
    [
        ("P-01", PUMP, None),
        ("P-09", PUMP, "unknown_equipment"),
        ("P-01", EquipmentInfo("elevator", "B1"), "registry_mismatch"),
    ],
)
def test_registry(equipment: str, info: EquipmentInfo, reason: str | None) -> None:
    policy = ValidationPolicy(registry=EquipmentRegister([_site()]))
    checked = _check(_payload(_r(eq=equipment), equipment={equipment: info}), policy=policy)
    assert [r.reason for r in checked.rejections] == ([] if reason is None else [reason])


def test_a_reading_from_a_gateway_that_does_not_own_the_equipment_is_refused() -> None:
    policy = ValidationPolicy(registry=EquipmentRegister([_site()]))
    batch = ReadingBatch("demo", "gw-evil", 5, {"P-01": PUMP}, [_r()])
    checked = _check(encode_batch(batch), topic="bw/v1/demo/gw-evil/readings", policy=policy)
    assert [r.reason for r in checked.rejections] == ["not_owner"]
    assert checked.batch.readings == []


def test_without_a_registry_any_equipment_is_accepted() -> None:
    checked = _check(_payload(_r(eq="X-99"), equipment={"X-99": PUMP}))
    assert checked.rejections == []


def test_clock_moves_the_window() -> None:
    clock = ManualClock()
    payload = _payload(_r(ts=NOW + 600_000))
    policy = ValidationPolicy()
    first = validate(TOPIC, decode_batch(payload), now=clock.now(), policy=policy)
    clock.advance(timedelta(minutes=6))
    later = validate(TOPIC, decode_batch(payload), now=clock.now(), policy=policy)
    assert [r.reason for r in first.rejections] == ["future_timestamp"]
    assert later.rejections == [] and len(later.batch.readings) == 1


@pytest.mark.parametrize(
    ("value", "measurement", "bad"),
    [
        ("pump", True, False),
        ("", True, True),
        ("", False, False),
        ("#x", True, True),
        ("#x", False, False),
        ("a\x7fb", False, True),
        ("ü", False, False),
    ],
)
def test_bad_identifier(value: str, measurement: bool, bad: bool) -> None:
    assert bad_identifier(value, measurement=measurement) is bad


def test_rejection_defaults_to_whole_message() -> None:
    assert Rejection("x", "y").index is None
