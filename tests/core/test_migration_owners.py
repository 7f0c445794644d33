"""A table belongs to the package whose migration step created it: no later step of another
package may change it (a move between packages is one step per owner). Found by the hostile
review of issue 11.
"""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from bldgwatch.migrations import migrate, script_location


def _schema(engine: object) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {
        t: {c["name"] for c in inspector.get_columns(t)}
        for t in inspector.get_table_names()
        if t != "alembic_version"
    }


def test_no_step_changes_a_table_another_package_created(
    empty_sqlite_settings: DatabaseSettings,
) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    steps = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
    engine = make_engine(empty_sqlite_settings)
    created_by: dict[str, str] = {}
    before = _schema(engine)
    foreign: list[str] = []
    for step in steps:
        owner = step.module.OWNER
        migrate(engine, step.revision)
        after = _schema(engine)
        for table in before.keys() | after.keys():
            if before.get(table) == after.get(table):
                continue
            creator = created_by.setdefault(table, owner)
            if creator != owner:
                foreign.append(f"{step.revision} ({owner}) changes {table} ({creator}'s)")
        before = after
    engine.dispose()
    assert foreign == []
