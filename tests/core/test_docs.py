"""Docs and samples that must not drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.cli import render_config_reference
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import load_config
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.rules.config import RulesConfig
from bldgwatch.simulators.config import SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_current() -> None:
    on_disk = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert on_disk == render_config_reference(), (
        "docs/configuration.md is stale: run `bldgwatch config-reference > docs/configuration.md`"
    )


@pytest.mark.parametrize(
    ("sample", "model"),
    [
        ("simulators/sample.yaml", SimulatorConfig),
        ("gateway/sample.yaml", GatewayConfig),
        ("ingest/sample.yaml", IngestConfig),
        ("rules/sample.yaml", RulesConfig),
        ("maintenance/sample.yaml", MaintenanceConfig),
        ("alerts/sample.yaml", AlertsConfig),
        ("console/sample.yaml", ConsoleConfig),
    ],
)
def test_every_sample_config_validates(sample: str, model: type[BaseModel]) -> None:
    assert load_config(ROOT / sample, model) is not None


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    for doc in ("architecture.md", "wire-format.md", "configuration.md", "benchmarks.md"):
        assert f"docs/{doc}" in readme
        assert (ROOT / "docs" / doc).is_file()


def test_the_deploy_readmes_assume_root_as_the_main_readme_does() -> None:
    """Review 21b: the main README runs the server's steps as root (`su -`, or `sudo` where
    installed); the deploy READMEs put `sudo` before commands, which a bare Debian lacks."""
    # review 21c L7: and the docs the READMEs send them to (operations.md's restore had
    # `sudo -u postgres`, the gateway upgrade `sudo` before each step)
    docs = [ROOT / "docs" / "operations.md", ROOT / "docs" / "gateway.md"]
    for readme in [*sorted((ROOT / "deploy").glob("*/README.md")), *docs]:
        text = readme.read_text(encoding="utf-8")
        bad = [line for line in text.splitlines() if re.search(r"(^|[;&|(`]\s*)sudo(edit)?\s", line)
               and "before each command" not in line]  # fmt: skip
        assert bad == [], (readme.name, bad)
