"""The house rules: what each component may import, and what the gateway's install pulls in.

docs/architecture.md states the rules; this test fails the build when code breaks them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = (
    "core",
    "gateway",
    "ingest",
    "rules",
    "maintenance",
    "alerts",
    "console",
    "simulators",
)

MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "gateway": {"core"},
    "ingest": {"core"},
    "rules": {"core"},
    "maintenance": {"core"},
    "alerts": {"core"},
    "console": {"core", "rules", "maintenance", "alerts"},
    "simulators": {"core"},
}
"""Siblings each component may import (besides itself). The composition root (`bldgwatch/`
itself: cli, demo, servers, migrations) may import every component."""

SERVER_SIDE = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "apscheduler",
    "numpy",
    "scipy",
    "influxdb_client",
    "httpx",
    "jwt",
    "argon2",
    "cryptography",
)
"""Libraries of the `server` extra, which a Pi's gateway install does not have."""


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _violations(component: str) -> list[str]:
    out = []
    for path in sorted((ROOT / component).rglob("*.py")):
        for line, name in _imports(path):
            parts = name.split(".")
            where = f"{path.relative_to(ROOT)}:{line}"
            if parts[0] in COMPONENTS:
                out.append(f"{where} imports {name}: import it as bldgwatch.{name}")
            elif parts[0] == "bldgwatch" and len(parts) > 1:
                target = parts[1]
                if target == component:
                    continue
                if target not in COMPONENTS:
                    out.append(f"{where} imports the composition root ({name})")
                elif target not in MAY_IMPORT[component]:
                    out.append(f"{where}: {component} may not import {target} ({name})")
    return out


@pytest.mark.parametrize("component", COMPONENTS)
def test_components_import_only_what_the_layout_allows(component: str) -> None:
    assert _violations(component) == []


def test_the_rule_catches_a_forbidden_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "bad.py").write_text(
        "from bldgwatch.rules.alarms import Alarm\nimport core.codec\n"
        "def f():\n    from bldgwatch import demo\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = _violations("gateway")
    assert len(found) == 3, found
    assert "gateway may not import rules" in found[0]
    assert "import it as bldgwatch.core.codec" in found[1]
    assert "composition root" in found[2]


def test_the_gateway_imports_nothing_of_the_server_side() -> None:
    """`bldgwatch gateway` loads no server library (a fresh-venv test installs it for real)."""
    probe = (
        "import sys, bldgwatch.cli, bldgwatch.gateway.service, bldgwatch.simulators.service\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVER_SIDE!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]", out.stdout


def _dunder_all(path: Path) -> list[str] | None:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return None


def _used_from_outside(component: str) -> set[str]:
    """Modules of `component` that another component or the composition root imports."""
    files = [p for c in COMPONENTS if c != component for p in (ROOT / c).rglob("*.py")]
    files += [
        *(ROOT / "bldgwatch").glob("*.py"),
        *(ROOT / "bldgwatch" / "migrations").rglob("*.py"),
    ]
    used = set()
    for path in files:
        for _, name in _imports(path):
            parts = name.split(".")
            if parts[:2] == ["bldgwatch", component] and len(parts) > 2:
                used.add(parts[2])
    return used


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_package_names_its_public_surface(component: str) -> None:
    """A docstring that says what the package is for, and `__all__`: its public modules,
    which include every module another package or the composition root imports."""
    init = ROOT / component / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{component}/__init__.py has no docstring"
    public = _dunder_all(init)
    assert public is not None, f"{component}/__init__.py has no __all__"
    for name in public:
        module = ROOT / component / name
        assert module.with_suffix(".py").is_file() or (module / "__init__.py").is_file(), name
    assert _used_from_outside(component) - set(public) == set()


def test_importing_a_package_runs_none_of_its_modules() -> None:
    """`import bldgwatch.<component>` is cheap and has no side effects: only the package."""
    packages = [f"bldgwatch.{c}" for c in COMPONENTS]
    probe = (
        f"import sys\nbefore = set(sys.modules)\nimport {', '.join(packages)}\n"
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == repr(sorted(["bldgwatch", *packages]))


def test_bench_imports_nothing_from_tests() -> None:
    """What the benchmarks share with the tests lives in the product or in `bench/support/`."""
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "bench").rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] == "tests"
    ]
    assert found == []
