"""A crash of a bldgwatch command never prints its config's secrets (review 21d M4).

Typer's pretty tracebacks print every frame's locals by default: the loaded config models,
with broker and database passwords, went to the journal. The crash is made where the
component starts (its `run` raises after the config is loaded); the command itself is real.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.clirun import ROOT

SECRET = "s3cret-broker-pw-7x"

CRASH = """
import sys
import bldgwatch.ingest.service as service

def boom(cfg, stop):
    password = cfg.mqtt.password
    raise RuntimeError("unexpected failure")

service.run = boom
from bldgwatch.cli import main
sys.argv = ["bldgwatch", *sys.argv[1:]]
main()
"""


def test_a_crashing_command_prints_no_config_value(tmp_path: Path) -> None:
    cfg = tmp_path / "ingest.yaml"
    cfg.write_text(f"mqtt:\n  username: ingest\n  password: {SECRET}\n")
    done = subprocess.run(
        [sys.executable, "-c", CRASH, "ingest", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "unexpected failure" in done.stderr  # the crash is reported ...
    assert SECRET not in done.stdout + done.stderr  # ... without the config's values


def test_every_typer_app_hides_locals() -> None:
    """Every Typer app of the CLI, not only the one called first."""
    import typer

    from bldgwatch import cli

    apps = [value for value in vars(cli).values() if isinstance(value, typer.Typer)]
    assert len(apps) >= 2
    assert all(app.pretty_exceptions_show_locals is False for app in apps)
