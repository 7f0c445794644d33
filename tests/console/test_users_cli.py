"""The first admin: `bldgwatch console-user`, the dev admin, and the console's own tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import bldgwatch.console.models
from bldgwatch.console.models import UserRow
from bldgwatch.console.security import verify_password
from bldgwatch.console.users import DEV_ADMIN, ensure_dev_admin
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import Base, make_engine
from tests.console.seed import T0

CONSOLE_TABLES = {t.name for t in Base.metadata.sorted_tables if t.name.startswith("console_")}


def test_console_tables_match_their_migration(db: Engine) -> None:
    assert {
        bldgwatch.console.models.UserRow.__tablename__,
        bldgwatch.console.models.ApiTokenRow.__tablename__,
        bldgwatch.console.models.PreferenceRow.__tablename__,
        bldgwatch.console.models.SessionRow.__tablename__,
        bldgwatch.console.models.RefreshTokenRow.__tablename__,
        bldgwatch.console.models.AuditRow.__tablename__,
        bldgwatch.console.models.GatewayConfigRow.__tablename__,
    } == CONSOLE_TABLES

    def ours(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
        if type_ == "schema":
            return True
        table = name if type_ == "table" else parents.get("table_name")
        return table in CONSOLE_TABLES

    def our_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in CONSOLE_TABLES

    with db.connect() as conn:
        opts = {"include_name": ours, "include_object": our_object}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_console_user_command_creates_then_resets(
    tmp_path: Path, empty_sqlite_settings: DatabaseSettings
) -> None:
    config = tmp_path / "console.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": empty_sqlite_settings.url}}))
    env = {**os.environ, "BLDGWATCH_PASSWORD": "first admin pw"}
    cmd = [sys.executable, "-m", "bldgwatch.cli", "console-user", "--config", str(config)]
    cmd += ["--name", "boss", "--role", "admin"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert "user boss created" in first.stdout
    env["BLDGWATCH_PASSWORD"] = "second admin pw"
    second = subprocess.run(
        [*cmd, "--site", "demo"], env=env, capture_output=True, text=True, check=False
    )
    assert "user boss updated" in second.stdout
    engine = make_engine(empty_sqlite_settings)
    with Session(engine) as session:
        row = session.get(UserRow, "boss")
        assert row is not None and row.roles == ["admin"] and row.sites == ["demo"]
        assert verify_password(row.password_hash, "second admin pw")
    engine.dispose()
    bad = subprocess.run(
        [*cmd[:-1], "wizard"], env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "wizard" in bad.stderr


def test_dev_admin_is_created_once(sqlite_db: Engine) -> None:
    ensure_dev_admin(sqlite_db, "dev pass phrase", T0)
    ensure_dev_admin(sqlite_db, "another password", T0)  # an existing admin is left alone
    with Session(sqlite_db) as session:
        row = session.get(UserRow, DEV_ADMIN)
        assert row is not None and row.sites is None and "admin" in row.roles
        assert verify_password(row.password_hash, "dev pass phrase")
