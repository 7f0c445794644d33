"""The Pi's install carries nothing the gateway does not use: no Rich, Pygments or
markdown-it (typer 0.22+ pulls them in; the base install uses typer-slim). Found by the
hostile review of issue 11 (13.5 MB of the 33 MB lean install).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.clirun import ROOT

pytestmark = pytest.mark.slow

NOT_FOR_THE_PI = {"rich", "pygments", "markdown-it-py", "mdurl"}


def test_the_gateway_extra_resolves_without_rich_or_pygments(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("bldgwatch-*.whl")
    report = tmp_path / "report.json"
    resolved = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            f"{wheel}[gateway]",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert resolved.returncode == 0, resolved.stderr[-2000:]
    names = {i["metadata"]["name"].lower() for i in orjson.loads(report.read_bytes())["install"]}
    assert "bldgwatch" in names
    assert names & NOT_FOR_THE_PI == set()
