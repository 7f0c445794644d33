"""Builders shared by the rules tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.models import Quality, Reading
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.schema import Rule, parse_rule

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
T0_MS = to_epoch_ms(T0)

PUMP = Equipment("demo", "P-01", "pump", "B1", {"bearing_temp_alarm_c": 85.0}, {"current_a": 20.0})
PUMP_2 = Equipment("demo", "P-02", "pump", "B1", {"bearing_temp_alarm_c": 70.0}, {})
LIFT = Equipment("demo", "E-01", "elevator", "B1")


def at(seconds: float) -> datetime:
    """T0 plus seconds."""
    return T0 + timedelta(seconds=seconds)


def reading(
    point: str,
    t_s: float,
    value: float | bool,
    *,
    equipment: str = "P-01",
    quality: Quality = Quality.GOOD,
) -> Reading:
    """A reading t_s seconds after T0."""
    return Reading(equipment, point, T0_MS + int(t_s * 1000), value, quality)


def rule(**overrides: Any) -> Rule:
    """The bearing rule of the demo, with overrides."""
    raw: dict[str, Any] = {
        "id": "pump.bearing_temp_high",
        "kind": "threshold",
        "equipment_type": "pump",
        "point": "bearing_temp_c",
        "op": ">",
        "limit": {"param": "bearing_temp_alarm_c", "default": 85},
        "deadband": 5,
        "on_delay_s": 5,
        "off_delay_s": 5,
        "severity": "major",
        "priority": 2,
        "fault_code": "PUMP_BEARING_TEMP",
        "family": "bearing",
        "maintenance": "reactive",
        "message": "{equipment}: bearing {value:.1f} > {limit:.1f}",
    }
    raw.update(overrides)
    return parse_rule(raw, source="test", index=0)
