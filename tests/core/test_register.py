"""The register (who owns which equipment), the time window and the seq ledger: pure tables."""

from __future__ import annotations

import pytest

from bldgwatch.core.models import EquipmentInfo
from bldgwatch.core.register import EquipmentRegister, TimeWindow
from bldgwatch.core.seqledger import SeqLedger, SeqVerdict, content_digest
from bldgwatch.core.site import SiteSpec

SITE = SiteSpec.model_validate(
    {
        "site": "demo",
        "buildings": [{"id": "B1"}],
        "equipment": [
            {"id": "E-01", "type": "elevator", "building": "B1", "gateway": "gw-1"},
            {"id": "P-01", "type": "pump", "building": "B1", "gateway": "gw-2"},
            {"id": "X-01", "type": "pump", "building": "B1"},  # in the register, unmonitored
        ],
    }
)
PUMP = EquipmentInfo("pump", "B1")


@pytest.mark.parametrize(
    ("site", "gateway", "equipment", "info", "reason"),
    [
        ("demo", "gw-2", "P-01", PUMP, None),
        ("demo", "gw-2", "P-01", None, None),
        ("demo", "gw-1", "P-01", PUMP, "not_owner"),
        ("demo", "gw-evil", "E-01", None, "not_owner"),
        ("demo", "gw-1", "X-01", PUMP, "not_owner"),
        ("demo", "gw-1", "NOPE", PUMP, "unknown_equipment"),
        ("ghost", "gw-1", "E-01", None, "unknown_equipment"),
        ("demo", "gw-2", "P-01", EquipmentInfo("pump", "B9"), "registry_mismatch"),
        ("demo", "gw-2", "P-01", EquipmentInfo("elevator", "B1"), "registry_mismatch"),
    ],
)
def test_a_gateway_speaks_only_for_its_own_equipment(
    site: str, gateway: str, equipment: str, info: EquipmentInfo | None, reason: str | None
) -> None:
    problem = EquipmentRegister([SITE]).check(site, gateway, equipment, info)
    assert (problem[0] if problem else None) == reason


def test_a_gateway_id_in_the_register_must_be_a_topic_level() -> None:
    doc = SITE.model_dump()
    doc["equipment"][0]["gateway"] = "gw/evil"
    with pytest.raises(ValueError, match="gateway"):
        SiteSpec.model_validate(doc)


NOW = 1_767_225_600_000


@pytest.mark.parametrize(
    ("offset_s", "reason"),
    [
        (0, None),
        (299, None),
        (301, "future_timestamp"),
        (365 * 86400, "future_timestamp"),
        (-86400, None),
        (-31 * 86400, "too_old"),
    ],
)
def test_the_time_window(offset_s: float, reason: str | None) -> None:
    problem = TimeWindow().check(NOW + int(offset_s * 1000), NOW)
    assert (problem[0] if problem else None) == reason
    assert TimeWindow(max_future_s=0).check(NOW + 1, NOW) is not None


def test_the_ledger_tells_a_redelivery_from_a_conflict() -> None:
    ledger = SeqLedger(per_gateway=2, gateways=2)
    a, b = content_digest({"P": 1}, [1]), content_digest({"P": 1}, [2])
    assert ledger.record("s", "g", 1, a) is SeqVerdict.NEW
    assert ledger.record("s", "g", 1, a) is SeqVerdict.REPEAT
    assert ledger.record("s", "g", 1, b) is SeqVerdict.CONFLICT
    assert ledger.record("s", "other", 1, b) is SeqVerdict.NEW  # seqs are per gateway
    ledger.record("s", "g", 2, a)
    ledger.record("s", "g", 3, a)  # per_gateway=2: seq 1 is forgotten
    assert ledger.record("s", "g", 1, b) is SeqVerdict.NEW
    ledger.record("s", "third", 1, a)  # gateways=2: the least recent gateway goes
    assert ledger.record("s", "other", 1, a) is SeqVerdict.NEW
