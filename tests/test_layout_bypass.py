"""Imports that would break the house rules are caught however they are written: relative
imports, `importlib.import_module`, `__import__`, and a server library imported lazily by
code that runs on the Pi. Found by the hostile review of issue 11.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import tests.test_layout as layout

BYPASSES = {
    "relative": "from ..rules import alarms\n",
    "relative_package": "from .. import maintenance\n",
    "relative_deep": "from ..maintenance.desk import WorkDesk\n",
    "import_module": (
        "import importlib\n\n"
        "def f():\n    return importlib.import_module('bldgwatch.rules.alarms')\n"
    ),
    "dunder_import": "def f():\n    return __import__('bldgwatch.maintenance.desk')\n",
}


@pytest.mark.parametrize("source", list(BYPASSES.values()), ids=list(BYPASSES))
def test_the_layout_rule_catches_the_import(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "sneaky.py").write_text(source)
    monkeypatch.setattr(sys.modules[layout.__name__], "ROOT", tmp_path)
    assert layout._violations("gateway") != [], "a forbidden import passed the layout test"


def _copy_tree(dest: Path) -> None:
    """The package (composition root, links and components) without the web build."""
    skip = shutil.ignore_patterns("web", "__pycache__", "*.pyc")
    for name in layout.COMPONENTS:
        shutil.copytree(layout.ROOT / name, dest / name, ignore=skip)
    shutil.copytree(layout.ROOT / "deploy", dest / "deploy")
    shutil.copytree(layout.ROOT / "bldgwatch", dest / "bldgwatch", symlinks=True, ignore=skip)


def test_a_lazy_server_import_in_the_gateway_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule "the gateway imports no server library" is checked only by importing three
    modules and looking at `sys.modules`; the AST check looks at component names, not at
    libraries. A server import inside a gateway function (run on the Pi, where the library
    is missing) passes both. Should: the AST check flags server libraries in gateway/ and
    simulators/ wherever they are imported."""
    _copy_tree(tmp_path)
    service = tmp_path / "gateway" / "service.py"
    service.write_text(
        service.read_text() + "\n\ndef _report() -> object:\n"
        "    import sqlalchemy\n\n    return sqlalchemy\n"
    )
    monkeypatch.setattr(sys.modules[layout.__name__], "ROOT", tmp_path)
    caught = [c for c in layout.COMPONENTS if layout._violations(c)]
    try:
        layout.test_the_gateway_imports_nothing_of_the_server_side()
    except AssertionError:
        caught.append("server-side probe")
    assert caught, "a server library imported by gateway code passed every layout check"
