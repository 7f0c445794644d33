"""MQTT sensor payloads → readings (pure), and the hub's counting of bad payloads."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.deadletter import DeadLetters
from bldgwatch.core.models import Reading
from bldgwatch.gateway.config import SensorConfig
from bldgwatch.gateway.errors import PayloadError
from bldgwatch.gateway.mqtt_sensors import SensorHub, parse_payload

RECEIVED = 1_767_225_600_000


def sensor(**kw: Any) -> SensorConfig:
    base: dict[str, Any] = {
        "equipment": "TS-01",
        "type": "temp_sensor",
        "building": "B1",
        "topic": "s/TS-01",
        "points": {"temperature_c": "data.temp", "humidity_pct": "data.rh"},
    }
    return SensorConfig.model_validate({**base, **kw})


# (case, sensor overrides, payload, expected (point, ts, value) list)
GOOD = [
    (
        "receive time",
        {},
        b'{"data": {"temp": 21.5, "rh": 40}}',
        [("temperature_c", RECEIVED, 21.5), ("humidity_pct", RECEIVED, 40)],
    ),
    ("partial update", {}, b'{"data": {"rh": 41}}', [("humidity_pct", RECEIVED, 41)]),
    (
        "epoch ms",
        {"timestamp_path": "ts"},
        b'{"ts": 1000, "data": {"temp": 1}}',
        [("temperature_c", 1000, 1)],
    ),
    (
        "iso with Z",
        {"timestamp_path": "meta.at"},
        b'{"meta": {"at": "2026-01-01T00:00:01.5Z"}, "data": {"temp": 2}}',
        [("temperature_c", RECEIVED + 1500, 2)],
    ),
    (
        "iso with offset",
        {"timestamp_path": "at"},
        b'{"at": "2026-01-01T08:00:00+08:00", "data": {"temp": 3}}',
        [("temperature_c", RECEIVED, 3)],
    ),
    (
        "array index and bool",
        {"points": {"alarm": "flags.0"}},
        b'{"flags": [true, false]}',
        [("alarm", RECEIVED, True)],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "payload", "expected"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD]
)
def test_good_payloads(
    overrides: dict[str, Any], payload: bytes, expected: list[tuple[str, int, object]]
) -> None:
    got = parse_payload(sensor(**overrides), payload, received_ms=RECEIVED)
    assert [(r.point, r.ts_ms, r.value) for r in got] == expected
    assert {r.equipment for r in got} == {"TS-01"}


# (case, sensor overrides, payload, reason)
BAD = [
    ("not json", {}, b"{oops", "malformed_json"),
    ("not an object", {}, b"[1, 2]", "bad_schema"),
    ("no configured point", {}, b'{"data": {}}', "no_points"),
    ("string value", {}, b'{"data": {"temp": "hot"}}', "bad_value"),
    ("null value", {}, b'{"data": {"temp": null}}', "bad_value"),
    ("missing timestamp", {"timestamp_path": "ts"}, b'{"data": {"temp": 1}}', "bad_timestamp"),
    (
        "naive iso",
        {"timestamp_path": "ts"},
        b'{"ts": "2026-01-01T00:00:00", "data": {"temp": 1}}',
        "bad_timestamp",
    ),
    (
        "garbage time",
        {"timestamp_path": "ts"},
        b'{"ts": "yesterday", "data": {"temp": 1}}',
        "bad_timestamp",
    ),
    (
        "negative epoch",
        {"timestamp_path": "ts"},
        b'{"ts": -5, "data": {"temp": 1}}',
        "bad_timestamp",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "payload", "reason"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_payloads(overrides: dict[str, Any], payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(sensor(**overrides), payload, received_ms=RECEIVED)
    assert info.value.reason == reason


def test_hub_counts_bad_payloads_and_passes_good_ones() -> None:
    got: list[Reading] = []
    hub = SensorHub(sink=got.extend, clock=ManualClock())
    s = sensor()
    hub.handle(s, b"nope")
    hub.handle(s, b"nope")
    hub.handle(s, b'{"data": {"temp": 20}}')
    assert [r.value for r in got] == [20]
    assert hub.counters() == {"messages": 3, "readings": 1, "bad_payloads": {"malformed_json": 2}}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"data": {"temp": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}", "too_deep"),
        (b'{"ts": 1, "data": {"temp": 18446744073709551615}}', "number_too_large"),
        (b'{"data": {"temp": ' + b"9" * 400 + b"}}", "malformed_json"),
        (b'{"data": {"temp": 1}, "pad": "' + b"x" * 2_000_000 + b'"}', "oversize"),
        (b'{"data": {"temp": 1}, "ts": 1e300}', "bad_timestamp"),
        (b"\xff\xfe", "malformed_json"),
    ],
)
def test_hostile_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        parse_payload(sensor(timestamp_path="ts"), payload, received_ms=RECEIVED)
    assert err.value.reason == reason


def test_the_hub_dead_letters_on_the_gateways_own_topic() -> None:
    sent: list[tuple[str, bytes]] = []
    got: list[list[Reading]] = []
    hub = SensorHub(
        sink=got.append,
        clock=ManualClock(),
        dead_letters=DeadLetters(
            "gateway",
            lambda t, p: sent.append((t, p)),
            topic_for=lambda _s: "bw/v1/demo/gw-1/deadletter",
        ),
    )
    hub.handle(sensor(), b"[" * 5000, topic="s/TS-01")
    hub.handle(sensor(), b'{"data": {"temp": 20.5}}', topic="s/TS-01")
    assert [(t, orjson.loads(p)["reason"]) for t, p in sent] == [
        ("bw/v1/demo/gw-1/deadletter", "too_deep")
    ]
    assert hub.counters()["bad_payloads"] == {"too_deep": 1}
    assert len(got) == 1
