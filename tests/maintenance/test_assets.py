"""Asset register: site import is an upsert, export round-trips, history per equipment."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.site import BuildingSpec, EquipmentSpec
from bldgwatch.maintenance.assets import equipment_history, export_site, import_site
from bldgwatch.maintenance.errors import UnknownSite
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow
from tests.maintenance.conftest import EventFactory, demo_site


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_twice_updates_never_duplicates(sessions: sessionmaker[Session]) -> None:
    spec = demo_site()
    with sessions() as s:
        first = import_site(s, spec)
        s.commit()
    assert first.added == 5  # one building, four equipment
    changed = spec.model_copy(
        update={
            "buildings": [*spec.buildings, BuildingSpec(id="B2", name="Tower B")],
            "equipment": [
                e.model_copy(update={"last_overhaul": date(2025, 1, 1)}) if e.id == "P-01" else e
                for e in spec.equipment
            ]
            + [EquipmentSpec(id="P-02", type="pump", building="B2")],
        }
    )
    with sessions() as s:
        second = import_site(s, changed)
        s.commit()
    assert (second.added, second.updated, second.unchanged) == (2, 1, 4)
    with sessions() as s:
        assert _count(s, SiteRow) == 1
        assert _count(s, BuildingRow) == 2
        assert _count(s, EquipmentRow) == 5
        pump = s.get(EquipmentRow, ("demo", "P-01"))
        assert pump is not None
        assert pump.last_overhaul == date(2025, 1, 1)
        assert pump.rated == {"current_a": 12.0}


def test_export_round_trips(sessions: sessionmaker[Session]) -> None:
    spec = demo_site()
    with sessions() as s:
        import_site(s, spec)
        s.commit()
    with sessions() as s:
        exported = export_site(s, "demo")
    assert exported == spec.model_copy(
        update={"equipment": sorted(spec.equipment, key=lambda e: e.id)}
    )
    with sessions() as s, pytest.raises(UnknownSite):
        export_site(s, "nowhere")


def test_equipment_history(sessions: sessionmaker[Session], make_event: EventFactory) -> None:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    first = make_event()
    process_event(sessions, first)
    process_event(
        sessions,
        make_event(
            transition="acknowledge",
            state="active_ack",
            previous_state="active_unack",
            alarm_id=first.alarm_id,
        ),
    )
    process_event(sessions, make_event(equipment="E-01", equipment_type="elevator"))
    with sessions() as s:
        history = equipment_history(s, "demo", "P-01")
    assert history.asset is not None and history.asset.type == "pump"
    assert len(history.work_orders) == 1
    assert [a.alarm_id for a in history.alarms] == [first.alarm_id, first.alarm_id]
    assert [e.to_status for e in history.events] == ["open", "open"]
    assert "acknowledge" in history.events[1].note


def test_a_pump_curve_and_the_meter_feeding_it_round_trip(sessions: sessionmaker[Session]) -> None:
    spec = demo_site()
    curve = [
        {"flow_m3h": 0.0, "head_m": 50.0},
        {"flow_m3h": 40.0, "head_m": 38.0, "efficiency": 0.72},
    ]
    pump = next(e for e in spec.equipment if e.type == "pump")
    equipment = [
        e.model_copy(
            update={"curve": EquipmentSpec.model_validate({**e.model_dump(), "curve": curve}).curve}
        )
        if e.id == pump.id
        else e
        for e in spec.equipment
    ]
    meter = EquipmentSpec(
        id="EM-P", type="electricity_meter", building=pump.building, serves=pump.id
    )
    spec = spec.model_copy(update={"equipment": [*equipment, meter]})
    with sessions() as s:
        import_site(s, spec)
        s.commit()
    with sessions() as s:
        row = s.get(EquipmentRow, ("demo", pump.id))
        assert row is not None and row.curve == curve
        assert s.get(EquipmentRow, ("demo", "EM-P")).serves == pump.id  # type: ignore[union-attr]
        exported = export_site(s, "demo")
    again = {e.id: e for e in exported.equipment}
    assert (
        again[pump.id].curve
        == EquipmentSpec.model_validate({**pump.model_dump(), "curve": curve}).curve
    )
    assert again["EM-P"].serves == pump.id
