"""What of a readings message reaches the evaluator: ownership, time window, seq conflicts,
hostile values; each refusal is a dead letter with its reason (pure, the time is passed)."""

from __future__ import annotations

import orjson
import pytest

from bldgwatch.core.codec import encode_batch
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.register import EquipmentRegister, TimeWindow
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.seqledger import SeqLedger
from bldgwatch.core.site import SiteSpec
from bldgwatch.core.topics import ReadingsTopic
from bldgwatch.rules.intake import Intake, IntakePolicy, screen
from tests.rules.helpers import T0_MS

SITE = SiteSpec.model_validate(
    {
        "site": "demo",
        "buildings": [{"id": "B1"}],
        "equipment": [
            {"id": "E-01", "type": "elevator", "building": "B1", "gateway": "gw-1"},
            {"id": "P-01", "type": "pump", "building": "B1", "gateway": "gw-1"},
        ],
    }
)
TABLE = {"E-01": EquipmentInfo("elevator", "B1"), "P-01": EquipmentInfo("pump", "B1")}
TOPIC = "bw/v1/demo/gw-1/readings"
YEAR_MS = 365 * 86_400_000


def _policy() -> IntakePolicy:
    return IntakePolicy(
        register=EquipmentRegister([SITE]),
        window=TimeWindow(),
        limits=DecodeLimits(),
        ledger=SeqLedger(),
    )


def _payload(
    readings: list[Reading],
    *,
    gateway: str = "gw-1",
    seq: int = 1,
    table: dict[str, EquipmentInfo] | None = None,
) -> bytes:
    batch = ReadingBatch("demo", gateway, seq, dict(table or TABLE), readings)
    return encode_batch(batch)


def _screen(payload: bytes, policy: IntakePolicy, *, gateway: str = "gw-1") -> Intake:
    where = ReadingsTopic("demo", gateway)
    return screen(f"bw/v1/demo/{gateway}/readings", where, payload, now_ms=T0_MS, policy=policy)


def test_good_readings_pass_and_bad_ones_are_dead_lettered_by_reason() -> None:
    readings = [
        Reading("E-01", "speed_m_s", T0_MS, 1.0),
        Reading("E-01", "speed_m_s", T0_MS + YEAR_MS, 3.0),  # a year ahead
        Reading("E-01", "speed_m_s", T0_MS - YEAR_MS, 3.0),  # a year old
        Reading("NOPE", "speed_m_s", T0_MS, 3.0),
        Reading("P-01", "bearing_temp_c", T0_MS, 50.0),
    ]
    table = {**TABLE, "NOPE": EquipmentInfo("elevator", "B1")}
    intake = screen(
        TOPIC,
        ReadingsTopic("demo", "gw-1"),
        _payload(readings, table=table),
        now_ms=T0_MS,
        policy=_policy(),
    )
    assert [(r.equipment, r.value) for r in intake.readings] == [("E-01", 1.0), ("P-01", 50.0)]
    assert intake.refused == {"future_timestamp": 1, "too_old": 1, "unknown_equipment": 1}
    assert sorted(letter.reason for letter in intake.letters) == sorted(intake.refused)
    assert all(letter.seq == 1 and letter.topic == TOPIC for letter in intake.letters)


def test_a_gateway_cannot_speak_for_equipment_it_does_not_own() -> None:
    forged = _payload([Reading("E-01", "speed_m_s", T0_MS, 3.0)], gateway="gw-evil")
    intake = screen(
        "bw/v1/demo/gw-evil/readings",
        ReadingsTopic("demo", "gw-evil"),
        forged,
        now_ms=T0_MS,
        policy=_policy(),
    )
    assert intake.readings == []
    assert intake.refused == {"not_owner": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (_payload([Reading("E-01", "speed_m_s", T0_MS, 1.0)], gateway="gw-2"), "topic_mismatch"),
        (b"[" * 200_000 + b"]" * 200_000, "too_deep"),
        (b"\xff" * 10, "malformed_json"),
        (b"{}", "schema_version"),
    ],
)
def test_an_unusable_message_is_one_dead_letter(payload: bytes, reason: str) -> None:
    intake = screen(TOPIC, ReadingsTopic("demo", "gw-1"), payload, now_ms=T0_MS, policy=_policy())
    assert (intake.readings, intake.refused) == ([], {})
    assert [letter.reason for letter in intake.letters] == [reason]


def test_a_huge_value_costs_only_its_reading() -> None:
    doc = orjson.loads(_payload([Reading("E-01", "speed_m_s", T0_MS, 1.0)] * 2))
    doc["readings"]["value"][1] = 0
    payload = orjson.dumps(doc).replace(b",0]", b"," + b"9" * 400 + b"]")
    intake = screen(TOPIC, ReadingsTopic("demo", "gw-1"), payload, now_ms=T0_MS, policy=_policy())
    assert len(intake.readings) == 1
    assert intake.refused == {"number_too_large": 1}


def test_the_same_seq_with_other_readings_is_refused_and_a_redelivery_is_not() -> None:
    policy = _policy()
    first = _payload([Reading("E-01", "speed_m_s", T0_MS, 1.0)], seq=5)
    again = _payload([Reading("E-01", "speed_m_s", T0_MS, 1.0)], seq=5)
    other = _payload([Reading("E-01", "speed_m_s", T0_MS, 9.0)], seq=5)
    assert len(_screen(first, policy).readings) == 1
    assert len(_screen(again, policy).readings) == 1
    conflict = _screen(other, policy)
    assert conflict.readings == []
    assert [letter.reason for letter in conflict.letters] == ["duplicate_seq"]
