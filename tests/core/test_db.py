"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

import console.models  # noqa: F401 - registers the tables
import maintenance.models  # noqa: F401 - registers the tables
import rules.models  # noqa: F401 - registers the tables
from core.config import DatabaseSettings
from core.db import Base, make_engine, migrate, session_factory
from maintenance.models import SiteRow

pytestmark = pytest.mark.services


def test_migrations_match_models_and_are_idempotent(db_settings: DatabaseSettings) -> None:
    engine = make_engine(db_settings)
    migrate(engine)
    migrate(engine)  # a second run (another process starting) changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_utc_datetimes_come_back_aware(sqlite_settings: DatabaseSettings) -> None:
    from rules.models import AlarmRow

    engine = make_engine(sqlite_settings)
    migrate(engine)
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    with session_factory(engine)() as session:
        session.add(SiteRow(id="s", name="S"))
        session.add(
            AlarmRow(
                id="a",
                site="s",
                building="b",
                equipment="e",
                equipment_type="pump",
                rule="r",
                fault_code="F",
                family="f",
                severity="major",
                priority=2,
                state="active_unack",
                is_open=True,
                raised_at=when,
                message="",
                maintenance="none",
                activations=1,
                updated_at=when,
            )
        )
        session.commit()
    with session_factory(engine)() as session:
        row = session.scalars(select(AlarmRow)).one()
        assert row.raised_at == when
        assert row.raised_at.tzinfo is not None


def test_the_migration_history_is_one_line() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from core.db import script_location

    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, "two migrations share a parent: chain them"
    assert len(script.get_bases()) == 1
