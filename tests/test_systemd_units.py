"""The services' systemd units (deploy/systemd/): each restarts its component when it dies,
never gives up, does not retry a configuration error and runs as its own user; and
systemd-analyze finds nothing wrong with them."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from bldgwatch.servers import DEPLOY_DIR

COMPONENTS = ("ingest", "rules", "maintenance", "alerts", "console")


@pytest.mark.parametrize("component", COMPONENTS)
def test_unit_restarts_its_component_on_failure(component: str) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(DEPLOY_DIR / "systemd" / f"bldgwatch-{component}.service")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert float(service["RestartSec"]) > 0
    assert service["RestartPreventExitStatus"] == "2"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up
    assert service["User"] == "bldgwatch"
    assert service["ExecStart"].endswith(
        f"bldgwatch {component} --config /etc/bldgwatch/{component}.yaml"
    )


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (no systemd here)")
    units = []
    for component in COMPONENTS:
        text = (DEPLOY_DIR / "systemd" / f"bldgwatch-{component}.service").read_text()
        unit = tmp_path / f"bldgwatch-{component}.service"
        # The program is not installed here; everything else is checked as written.
        unit.write_text(text.replace("/opt/bldgwatch/.venv/bin/bldgwatch", "/bin/true"))
        units.append(str(unit))
    done = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
