"""What the move of the composition root could leave behind: no file names its old home,
the console's sample does not say the console publishes, and the shipped scenarios run by
name outside the checkout. Found by the hostile review of issue 11.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.clirun import ROOT, bldgwatch

OLD_HOMES = re.compile(r"core/servers\.py|core\.servers|core\.demo|core/demo\.py|core/cli\.py")
SCANNED = ["deploy", "bench", "tests/stack.py", "docs", "README.md"]


def test_nothing_names_the_composition_roots_old_home() -> None:
    found = []
    for top in SCANNED:
        path = ROOT / top
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            text = file.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                if OLD_HOMES.search(line):
                    found.append(f"{file.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert found == []


def test_the_console_sample_does_not_say_the_console_publishes() -> None:
    text = (ROOT / "console" / "sample.yaml").read_text(encoding="utf-8")
    assert "are published" not in text, "console/sample.yaml: the console publishes nothing now"


def test_a_shipped_scenario_runs_by_name_outside_the_checkout(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    done = bldgwatch(
        "simulate", "--scenario", "demo", "--offline", "--history", str(history), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert history.read_text().count("\n") > 10
