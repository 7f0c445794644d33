"""The register of preventive plans the service runs (what the console shows)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.config import CounterPlan, PlanSettings
from bldgwatch.maintenance.models import PmPlanRow
from bldgwatch.maintenance.pm import register_plans

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.services
def test_defaults_are_registered_and_reregistering_updates(db: Engine) -> None:
    sessions = session_factory(db)
    with sessions() as session:
        assert register_plans(session, PlanSettings(), T0) == 8
        session.commit()
    with sessions() as session:
        rows = {r.id: r for r in session.scalars(select(PmPlanRow))}
    kinds = sorted((r.kind, r.equipment_type) for r in rows.values())
    assert kinds == [("calendar", "elevator")] * 4 + [("calendar", "shaft_panel")] * 2 + [
        ("counter", "elevator"),
        ("counter", "pump"),
    ]
    assert any(r.schedule == "every 15 days from local midnight" for r in rows.values())
    assert any(r.schedule == "every 2000 run_hours" for r in rows.values())
    assert all(r.enabled and r.tasks for r in rows.values() if r.kind == "calendar")

    only_pump = PlanSettings(
        calendar=[],
        counters=[
            CounterPlan(
                id="pump-1000h",
                equipment_type="pump",
                field="run_hours",
                every=1000,
                title="Pump service",
            )
        ],
    )
    with sessions() as session:
        assert register_plans(session, only_pump, T0) == 1
        session.commit()
    with sessions() as session:
        rows = {r.id: r for r in session.scalars(select(PmPlanRow))}
    assert len(rows) == 9  # dropped plans stay on record, disabled
    assert [r.id for r in rows.values() if r.enabled] == ["pump-1000h"]
    assert rows["pump-1000h"].schedule == "every 1000 run_hours"
