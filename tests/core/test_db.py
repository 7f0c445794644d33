"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

import bldgwatch.alerts.models
import bldgwatch.console.models
import bldgwatch.maintenance.complaintmodels
import bldgwatch.maintenance.contractormodels
import bldgwatch.maintenance.emergencymodels
import bldgwatch.maintenance.models
import bldgwatch.maintenance.recordmodels
import bldgwatch.maintenance.requestmodels
import bldgwatch.maintenance.roundmodels
import bldgwatch.maintenance.stockmodels
import bldgwatch.rules.models  # noqa: F401 - registers the tables
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import Base, make_engine, session_factory
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.migrations import migrate

pytestmark = pytest.mark.services


def test_migrations_match_models_and_are_idempotent(empty_db_settings: DatabaseSettings) -> None:
    engine = make_engine(empty_db_settings)
    migrate(engine)
    migrate(engine)  # a second run (another process starting) changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_utc_datetimes_come_back_aware(empty_sqlite_settings: DatabaseSettings) -> None:
    from bldgwatch.rules.models import AlarmRow

    engine = make_engine(empty_sqlite_settings)
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

    from bldgwatch.migrations import script_location

    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, "two migrations share a parent: chain them"
    assert len(script.get_bases()) == 1


def _schema(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    triggers = _trigger_names(engine)
    return {
        t: {c["name"] for c in inspector.get_columns(t)}
        | set(_index_names(inspector, t))
        | triggers.get(t, set())
        for t in inspector.get_table_names()
        if t != "alembic_version"
    }


def _trigger_names(engine: Engine) -> dict[str, set[str]]:
    """Table -> its triggers (`trigger:<name>`), read from SQLite's catalogue."""
    if engine.dialect.name != "sqlite":
        return {}
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, tbl_name FROM sqlite_master WHERE type='trigger'"))
        for name, table in rows:
            found.setdefault(table, set()).add(f"trigger:{name}")
    return found


def _index_names(inspector: Any, table: str) -> list[str]:
    return [f"index:{ix['name']}" for ix in inspector.get_indexes(table)]


def _owners() -> dict[str, str]:
    """Table name -> the package that declares it (bldgwatch.<package>.models)."""
    return {
        mapper.local_table.name: mapper.class_.__module__.split(".")[1]
        for mapper in Base.registry.mappers
    }


def test_each_migration_step_changes_only_its_owners_tables(
    empty_sqlite_settings: DatabaseSettings,
) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bldgwatch.migrations import script_location

    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    steps = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
    owners = _owners()
    engine = make_engine(empty_sqlite_settings)
    before = _schema(engine)
    for step in steps:
        owner = getattr(step.module, "OWNER", None)
        assert owner in {"rules", "maintenance", "console", "alerts"}, (
            f"{step.revision} names no OWNER"
        )
        migrate(engine, step.revision)
        after = _schema(engine)
        changed = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
        assert changed, f"{step.revision} changed nothing"
        # A table no model declares any more (dropped, renamed) has no owner left to check.
        foreign = {t: owners[t] for t in changed if t in owners and owners[t] != owner}
        assert foreign == {}, f"{step.revision} ({owner}) changed other packages' tables"
        before = after
    engine.dispose()


def test_alarm_comments_move_from_the_console_to_rules(
    empty_db_settings: DatabaseSettings,
) -> None:
    from bldgwatch.rules.models import AlarmCommentRow

    engine = make_engine(empty_db_settings)
    migrate(engine, "0005_pm_plans")
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    with session_factory(engine)() as session:
        # The schema of 0005 (not the models of today, which have later columns).
        session.execute(
            text(
                "INSERT INTO alarms (id, site, building, equipment, equipment_type, rule, "
                "fault_code, family, severity, priority, state, is_open, raised_at, message, "
                "maintenance, activations, updated_at) VALUES ('a', 's', 'b', 'e', 'pump', 'r', "
                "'F', 'f', 'major', 2, 'active_unack', :yes, :when, '', 'none', 1, :when)"
            ),
            {"when": when, "yes": True},
        )
        session.commit()
        for alarm_id, note in (("a", "first"), ("gone", "of no alarm"), ("a", "second")):
            session.execute(
                text(
                    "INSERT INTO console_alarm_comments (alarm_id, at, actor, text) "
                    "VALUES (:alarm_id, :at, 'ops', :text)"
                ),
                {"alarm_id": alarm_id, "at": when, "text": note},
            )
        session.commit()
    migrate(engine)
    with session_factory(engine)() as session:
        moved = session.scalars(select(AlarmCommentRow).order_by(AlarmCommentRow.id)).all()
        assert [(c.alarm_id, c.actor, c.text, c.at) for c in moved] == [
            ("a", "ops", "first", when),
            ("a", "ops", "second", when),
        ]
    assert "console_alarm_comments" not in inspect(engine).get_table_names()
    engine.dispose()


def test_a_locked_read_waits_for_the_other_writer_and_sees_its_write(db: Engine) -> None:
    """Review 19c-s H1–H3: on SQLite `FOR UPDATE` was dropped and the driver begins only at
    the first write, so two desks both read the same row, both passed their check and the
    last write won. A locked read now holds the row (PostgreSQL) or the database's write lock
    (SQLite) until its commit: the second reader waits and reads what the first wrote."""
    sessions = session_factory(db)
    with sessions() as session:
        session.add(SiteRow(id="s", name="X"))
        session.commit()
    locked = select(SiteRow).where(SiteRow.id == "s").with_for_update()
    read_early = threading.Event()

    def second() -> None:
        with sessions() as other:
            row = other.scalars(locked).one()
            read_early.set()
            row.name += "b"
            other.commit()

    with sessions() as first:
        row = first.scalars(locked).one()
        thread = threading.Thread(target=second)
        thread.start()
        # the second desk must not get its read in while the first holds the row
        assert not read_early.wait(timeout=1.0)
        row.name += "a"
        first.commit()
    thread.join(timeout=30)
    assert read_early.is_set()
    with sessions() as session:
        assert session.get(SiteRow, "s").name == "Xab"  # type: ignore[union-attr]


def test_a_locked_read_refreshes_what_the_session_loaded_before(db: Engine) -> None:
    """A row loaded before the lock would keep its old attributes through a locked read
    (the identity map): a locked read loads it again."""
    sessions = session_factory(db)
    with sessions() as session:
        session.add(SiteRow(id="s", name="old"))
        session.commit()
    with sessions() as first:
        early = first.get(SiteRow, "s")
        with sessions() as other:
            other.get(SiteRow, "s").name = "new"  # type: ignore[union-attr]
            other.commit()
        locked = first.scalars(select(SiteRow).where(SiteRow.id == "s").with_for_update()).one()
        assert locked is early and locked.name == "new"
