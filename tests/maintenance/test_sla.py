"""SLA clocks: table of priorities and fault-code overrides, from the event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.maintenance.config import SlaPolicy
from bldgwatch.maintenance.sla import compute_due

AT = datetime(2026, 5, 1, 23, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("priority", "fault_code", "response", "resolution"),
    [
        (1, "PUMP_BEARING_TEMP", timedelta(minutes=30), timedelta(hours=4)),
        (2, "PUMP_BEARING_TEMP", timedelta(hours=2), timedelta(hours=24)),
        (3, None, timedelta(hours=8), timedelta(hours=72)),
        (4, None, timedelta(hours=24), timedelta(days=7)),
        # entrapment: rescue arrival within 30 min whatever the priority
        (2, "ELEV_ENTRAPMENT", timedelta(minutes=30), timedelta(hours=24)),
        (3, "ELEV_ENTRAPMENT_FLOOR", timedelta(minutes=30), timedelta(hours=72)),
        (2, "ELEV_ENTRAPMENT_BETWEEN_FLOORS", timedelta(minutes=30), timedelta(hours=24)),
        (2, "ELEV_ENTRAPMENTS_LOG", timedelta(hours=2), timedelta(hours=24)),
    ],
)
def test_default_clocks(
    priority: int, fault_code: str | None, response: timedelta, resolution: timedelta
) -> None:
    due = compute_due(SlaPolicy(), priority=priority, fault_code=fault_code, started_at=AT)
    assert due.response_due == AT + response
    assert due.resolution_due == AT + resolution
    assert due.started_at == AT


def test_entrapment_basis_names_rescue_arrival() -> None:
    due = compute_due(SlaPolicy(), priority=2, fault_code="ELEV_ENTRAPMENT_FLOOR", started_at=AT)
    assert "rescue arrival" in due.basis
    assert due.as_detail()["response_min"] == 30


def test_overrides_merge_over_defaults() -> None:
    policy = SlaPolicy.model_validate(
        {
            "priorities": {"1": {"response_min": 15, "resolution_h": 2}},
            "fault_codes": {
                "ELEV_ENTRAPMENT": {"response_min": 45},
                "SP_LEAKAGE*": {"resolution_h": 8},
            },
        }
    )
    assert compute_due(policy, priority=1, fault_code=None, started_at=AT).response_due == (
        AT + timedelta(minutes=15)
    )
    # untouched priorities keep their defaults
    assert compute_due(policy, priority=3, fault_code=None, started_at=AT).resolution_due == (
        AT + timedelta(hours=72)
    )
    ent = compute_due(policy, priority=2, fault_code="ELEV_ENTRAPMENT_FLOOR", started_at=AT)
    assert ent.response_due == AT + timedelta(minutes=45)
    leak = compute_due(policy, priority=3, fault_code="SP_LEAKAGE_HIGH", started_at=AT)
    assert leak.response_due == AT + timedelta(hours=8)
    assert leak.resolution_due == AT + timedelta(hours=8)


def test_longest_pattern_wins() -> None:
    policy = SlaPolicy.model_validate(
        {"fault_codes": {"ELEV_ENTRAPMENT_BETWEEN": {"response_min": 20}}}
    )
    due = compute_due(policy, priority=2, fault_code="ELEV_ENTRAPMENT_BETWEEN", started_at=AT)
    assert due.response_due == AT + timedelta(minutes=20)
    due = compute_due(policy, priority=2, fault_code="ELEV_ENTRAPMENT_FLOOR", started_at=AT)
    assert due.response_due == AT + timedelta(minutes=30)


def test_naive_start_and_bad_priority_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        compute_due(SlaPolicy(), priority=1, fault_code=None, started_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="priority"):
        compute_due(SlaPolicy(), priority=5, fault_code=None, started_at=AT)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="priorities"):
        parse_config({"priorities": {"7": {"response_min": 1, "resolution_h": 1}}}, SlaPolicy)
    with pytest.raises(ConfigError, match=r"fault_codes\.X\.response_min"):
        parse_config({"fault_codes": {"X": {"response_min": -1}}}, SlaPolicy)
