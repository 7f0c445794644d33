"""Fixtures of the maintenance tests: the demo site and alarm events (the migrated store,
`db` and `sessions`, comes from tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bldgwatch.core.models import AlarmEvent, AlarmState, MaintenanceAction, Severity
from bldgwatch.core.site import BuildingSpec, EquipmentSpec, SiteSpec

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

EventFactory = Callable[..., AlarmEvent]


def demo_site(pump_installed: date | None = date(2020, 6, 1)) -> SiteSpec:
    """The demo building: one elevator, one pump, one shaft panel, one sensor."""
    return SiteSpec(
        site="demo",
        name="Demo Tower",
        timezone="UTC",  # the tests' days and months are UTC's unless they say otherwise
        since=date(2025, 1, 1),  # managed since then: the tests' months have figures
        buildings=[BuildingSpec(id="B1", name="Tower A")],
        equipment=[
            EquipmentSpec(id="E-01", type="elevator", building="B1", installed=date(2018, 1, 1)),
            EquipmentSpec(
                id="P-01",
                type="pump",
                building="B1",
                installed=pump_installed,
                machine_class="I",
                rated={"current_a": 12.0},
                params={"bearing_temp_max_c": 80},
            ),
            EquipmentSpec(id="SP-01", type="shaft_panel", building="B1"),
            EquipmentSpec(id="TS-01", type="temp_sensor", building="B1"),
        ],
    )


def _event(**overrides: Any) -> AlarmEvent:
    fields: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "alarm_id": str(uuid.uuid4()),
        "site": "demo",
        "building": "B1",
        "equipment": "P-01",
        "equipment_type": "pump",
        "rule": "pump.bearing_temp_high",
        "fault_code": "PUMP_BEARING_TEMP",
        "family": "bearing",
        "severity": Severity.MAJOR,
        "priority": 2,
        "transition": "activate",
        "state": AlarmState.ACTIVE_UNACK,
        "previous_state": AlarmState.NORMAL,
        "at": T0,
        "value": 92.5,
        "message": "bearing temperature high",
        "maintenance": MaintenanceAction.REACTIVE,
    }
    fields.update(overrides)
    return AlarmEvent(**fields)


@pytest.fixture
def make_event() -> EventFactory:
    """Build an AlarmEvent: a reactive activation of P-01's bearing alarm unless overridden."""
    return _event
