"""The composition root's database commands answer bad input in one line, exit 2: a bad
`--url`, a database whose schema is newer than this release, `assets export` on a database
nobody migrated. Found by the hostile review of issue 11.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import yaml

from tests.clirun import bldgwatch


def _clear(done: subprocess.CompletedProcess[str]) -> None:
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out[-1500:]
    assert done.returncode == 2, out[-1500:]


def test_db_upgrade_with_a_bad_url(tmp_path: Path) -> None:
    _clear(bldgwatch("db-upgrade", "--url", "not-a-url", cwd=tmp_path))


def _future_schema(tmp_path: Path) -> Path:
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0999_from_a_newer_release')")
    return db


def test_db_upgrade_on_a_newer_schema(tmp_path: Path) -> None:
    db = _future_schema(tmp_path)
    _clear(bldgwatch("db-upgrade", "--url", f"sqlite:///{db}", cwd=tmp_path))


def test_a_service_started_on_a_newer_schema(tmp_path: Path) -> None:
    db = _future_schema(tmp_path)
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"site": "demo", "buildings": [{"id": "B1"}], "equipment": []}))
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "mqtt": {"host": "127.0.0.1", "port": 1},
                "database": {"url": f"sqlite:///{db}"},
                "site_files": [str(site)],
            }
        )
    )
    _clear(bldgwatch("maintenance", "--config", str(cfg), cwd=tmp_path))


def test_assets_export_on_an_unmigrated_database(tmp_path: Path) -> None:
    _clear(
        bldgwatch(
            "assets",
            "export",
            "--site",
            "demo",
            "--db",
            f"sqlite:///{tmp_path / 'e.db'}",
            cwd=tmp_path,
        )
    )
