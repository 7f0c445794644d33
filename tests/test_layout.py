"""The house rules: what each component may import, and what the gateway's install pulls in.

docs/architecture.md states the rules; this test fails the build when code breaks them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bldgwatch.cli import SERVER_MODULES

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
    # console manages the gateway fleet: it validates a config with the gateway's own model
    # and signs it with the gateway's protocol (gateway.config, gateway.fleet: both pure)
    "console": {"core", "rules", "maintenance", "alerts", "gateway"},
    "simulators": {"core"},
}
"""Siblings each component may import (besides itself). The composition root (`bldgwatch/`
itself: cli, demo, servers, migrations) may import every component."""

SERVER_SIDE = tuple(sorted(SERVER_MODULES))
"""Libraries of the `server` extra, which a Pi's gateway install does not have."""

EDGE = ("gateway", "simulators")
"""Components that run on the base install: no server library anywhere in their code."""


def _package_of(path: Path) -> list[str]:
    """The dotted package a module file belongs to, as the installed tree names it."""
    rel = path.resolve().relative_to(ROOT).with_suffix("").parts
    parts = list(rel[:-1])
    if parts and parts[0] != "bldgwatch":
        parts = ["bldgwatch", *parts]
    return parts


def _dynamic_target(node: ast.Call) -> str | None:
    """The module an `importlib.import_module(...)` / `__import__(...)` call loads, or
    `"<computed>"` when its name is not a literal; None for other calls."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__"):
        return None
    first = node.args[0] if node.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return "<computed>"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports: plain, from-imports (relative ones resolved), and
    `importlib.import_module` / `__import__` calls, lazy ones inside functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _package_of(path)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and (target := _dynamic_target(node)) is not None:
            found.append((node.lineno, target))
    return found


def _violations(component: str) -> list[str]:
    out = []
    for path in sorted((ROOT / component).rglob("*.py")):
        for line, name in _imports(path):
            parts = name.split(".")
            where = f"{path.relative_to(ROOT)}:{line}"
            if name == "<computed>":
                out.append(f"{where} imports a module whose name is computed at run time")
            elif parts[0] in SERVER_MODULES and component in EDGE:
                out.append(f"{where}: {component} runs on the Pi and may not import {parts[0]}")
            elif parts[0] in COMPONENTS:
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


def _edge_modules() -> list[str]:
    return sorted(
        ".".join(_package_of(p) + ([] if p.stem == "__init__" else [p.stem]))
        for c in EDGE
        for p in (ROOT / c).rglob("*.py")
    )


def test_the_gateway_imports_nothing_of_the_server_side() -> None:
    """`bldgwatch gateway` and the simulators load no server library: every module of theirs
    imported, then the core modules they pulled in read for lazy server imports too (a
    fresh-venv test installs the gateway extra for real)."""
    probe = (
        "import importlib, sys\n"
        f"for m in ['bldgwatch.cli', *{_edge_modules()!r}]: importlib.import_module(m)\n"
        "print(sorted(sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = ast.literal_eval(out.stdout.strip())
    assert sorted({m.split(".")[0] for m in loaded} & SERVER_MODULES) == []
    lazy = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module in loaded
        if module.startswith("bldgwatch.core")
        for path in [ROOT / Path(*module.split(".")[1:]).with_suffix(".py")]
        if path.is_file()
        for line, name in _imports(path)
        if name.split(".")[0] in SERVER_MODULES
    ]
    assert lazy == []


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
