"""System tools the tests need (socat, mbpoll, chromium, …): outside CI a missing one skips
the test that needs it; with CI=true it fails, since `make test` installs them all."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(what: str) -> NoReturn:
    """Skip outside CI, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: a missing service or tool is a failure)")
    pytest.skip(what)


def require_binary(*names: str) -> str:
    """The path of the first name given, after checking that every one is installed."""
    found = [shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin") for name in names]
    missing = [n for n, f in zip(names, found, strict=True) if f is None]
    if missing:
        unavailable(f"not installed: {', '.join(missing)}")
    path = found[0]
    assert path is not None
    return path
