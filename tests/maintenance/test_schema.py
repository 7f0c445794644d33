"""The maintenance tables (0002, 0004_maintenance, 0018_maintenance_work_life) are exactly what
the models declare."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bldgwatch.maintenance.contractormodels
import bldgwatch.maintenance.emergencymodels
import bldgwatch.maintenance.models
import bldgwatch.maintenance.recordmodels
import bldgwatch.maintenance.requestmodels
import bldgwatch.maintenance.roundmodels
import bldgwatch.maintenance.stockmodels  # noqa: F401 - registers the tables
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import Base, make_engine
from bldgwatch.migrations import migrate

pytestmark = pytest.mark.services

OURS = {
    t.name
    for t in Base.metadata.sorted_tables
    if t.name
    in {
        "sites",
        "buildings",
        "equipment",
        "work_orders",
        "work_order_events",
        "incident_alarms",
        "work_order_parts",
        "work_order_labour",
        "pm_plan_state",
        "budget_entries",
        "pm_scheduler_jobs",
        "parts",
        "work_order_charges",
        "work_order_booking_keys",
        "work_order_attachments",
        "work_order_followups",
        "kpi_targets",
        "report_runs",
        "request_points",
        "public_requests",
        "contractors",
        "contractor_contracts",
        "contractor_accounts",
        "part_fits",
        "stores",
        "stock",
        "stock_movements",
        "purchase_requests",
        "purchase_lines",
        "checklist_templates",
        "inspection_rounds",
        "round_runs",
        "round_scans",
        "round_entries",
        "order_checks",
        "emergency_plans",
        "emergency_plan_revisions",
        "drills",
        "entrapment_rescues",
        "round_photos",
        "round_missed_notices",
        "site_workdays",
        "energy_baselines",
        "energy_targets",
    }
}


def _table_of(diff: object) -> str | None:
    for part in diff if isinstance(diff, tuple) else (diff,):
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if name in OURS:
            return str(name)
        if isinstance(part, str) and part in OURS:
            return part
    return None


def test_maintenance_tables_match_their_migrations(empty_db_settings: DatabaseSettings) -> None:
    engine = make_engine(empty_db_settings)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    flat = [d for group in diff for d in (group if isinstance(group, list) else [group])]
    ours = [d for d in flat if _table_of(d) in OURS]
    assert ours == []
    assert len(OURS) == 44
