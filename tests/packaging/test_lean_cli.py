"""On the lean install (`pip install bldgwatch` or `bldgwatch[gateway]`) a server-side
subcommand says in one line that it needs the server extra (exit 2), never a traceback.

The lean install is reproduced in-process: a subprocess in which the server libraries cannot
be imported (a meta-path finder that raises ModuleNotFoundError for them, as a venv without
them does). Found by the hostile review of issue 11.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import ROOT
from tests.test_layout import SERVER_SIDE

LEAN = f"""
import sys
from importlib.abc import MetaPathFinder

BLOCKED = set({SERVER_SIDE!r}) | {{"websockets", "multipart", "python_multipart"}}

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from bldgwatch.cli import main
sys.argv = ["bldgwatch", *sys.argv[1:]]
main()
"""


def lean_bldgwatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LEAN, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_the_lean_simulation_still_runs_the_gateway_side(tmp_path: Path) -> None:
    """Control: the simulation blocks only server libraries (`gateway --help` works)."""
    done = lean_bldgwatch("gateway", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--config", "x.yaml"],
        ["rules", "--config", "x.yaml"],
        ["maintenance", "--config", "x.yaml"],
        ["console", "--config", "x.yaml"],
        ["demo", "--duration", "5"],
        ["score", "--history", "h.csv"],
        ["db-upgrade", "--url", "sqlite:///t.db"],
        ["config-reference"],
    ],
    ids=lambda a: a[0],
)
def test_server_commands_on_the_lean_install_say_what_is_missing(
    args: list[str], tmp_path: Path
) -> None:
    (tmp_path / "x.yaml").write_text("site: demo\n")
    (tmp_path / "h.csv").write_text("asset_id,asset_class,event,at\n")
    done = lean_bldgwatch(*args, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out[-1500:]
    assert done.returncode == 2, out[-1500:]
    assert "bldgwatch[server]" in out, out[-1500:]
