"""Start-up order: a component checks what its config names (site files, rule files, the
console's secret) before the `bldgwatch` command migrates its database, so a bad config exits
2 naming the file and touches nothing, even with the database unreachable.

Found by the hostile review of issue 11 (the command had migrated first).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.clirun import bldgwatch

UNREACHABLE_PG = "postgresql+psycopg://nobody:x@127.0.0.1:1/none"
"""Port 1 on loopback: connection refused at once, no server needed."""


def _write(path: Path, doc: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_maintenance_with_a_missing_site_file_exits_2_even_when_the_database_is_down(
    tmp_path: Path,
) -> None:
    """Should: exit 2 naming the site file (as before issue 11). Does: OperationalError
    traceback from the migration, exit 1."""
    cfg = _write(
        tmp_path / "m.yaml",
        {
            "mqtt": {"host": "127.0.0.1", "port": 1},
            "database": {"url": UNREACHABLE_PG},
            "site_files": [str(tmp_path / "no-such-site.yaml")],
        },
    )
    done = bldgwatch("maintenance", "--config", str(cfg), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out[-2000:]
    assert "no-such-site.yaml" in out
    assert "Traceback" not in out


def test_rules_with_a_bad_rule_file_touches_no_database(tmp_path: Path) -> None:
    """tests/rules/test_service.py::test_bad_rule_file_stops_before_touching_anything calls
    `run()` directly; through the command the operator runs, the database is created and
    migrated before the rule file is refused. Should: exit 2, no database file."""
    site = _write(
        tmp_path / "site.yaml",
        {"site": "demo", "buildings": [{"id": "B1"}], "equipment": []},
    )
    bad = _write(
        tmp_path / "extra.yaml",
        {"pack": "x", "rules": [{"id": "pump.x", "kind": "threshold"}]},
    )
    db_file = tmp_path / "db" / "untouched.db"
    cfg = _write(
        tmp_path / "r.yaml",
        {
            "mqtt": {"host": "127.0.0.1", "port": 1},
            "database": {"url": f"sqlite:///{db_file}"},
            "site_files": [str(site)],
            "rule_files": [str(bad)],
        },
    )
    done = bldgwatch("rules", "--config", str(cfg), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout + done.stderr)[-2000:]
    assert not db_file.exists(), "the command migrated the database before refusing the config"


def test_console_without_its_secret_touches_no_database(tmp_path: Path) -> None:
    """Outside dev mode without BLDGWATCH_SECRET the console must refuse to start before
    touching anything (console/service.py). Should: exit 2, no database file."""
    db_file = tmp_path / "db" / "console.db"
    cfg = _write(tmp_path / "c.yaml", {"database": {"url": f"sqlite:///{db_file}"}})
    done = bldgwatch("console", "--config", str(cfg), cwd=tmp_path, env={"BLDGWATCH_SECRET": ""})
    assert done.returncode == 2, (done.stdout + done.stderr)[-2000:]
    assert "BLDGWATCH_SECRET" in done.stderr
    assert not db_file.exists(), "the command migrated the database before refusing to start"


def test_console_without_its_secret_exits_2_even_when_the_database_is_down(
    tmp_path: Path,
) -> None:
    """Should: exit 2 naming BLDGWATCH_SECRET. Does: OperationalError traceback, exit 1."""
    cfg = _write(tmp_path / "c.yaml", {"database": {"url": UNREACHABLE_PG}})
    done = bldgwatch("console", "--config", str(cfg), cwd=tmp_path, env={"BLDGWATCH_SECRET": ""})
    out = done.stdout + done.stderr
    assert done.returncode == 2, out[-2000:]
    assert "BLDGWATCH_SECRET" in out
    assert "Traceback" not in out
