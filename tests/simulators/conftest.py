"""Fixtures of the simulator tests."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import require_binary
from tests.waiting import wait_for

PTY = re.compile(rb"PTY is (\S+)")


@pytest.fixture
def pty_pair() -> Iterator[tuple[str, str]]:
    """Two connected pseudo-terminals (a null-modem cable), from socat."""
    socat = require_binary("socat")
    proc = subprocess.Popen(
        [socat, "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert proc.stderr is not None
    try:
        names: list[str] = []
        while len(names) < 2:
            line = proc.stderr.readline()
            if not line:
                raise RuntimeError("socat exited before opening its ptys")
            names += [m.decode() for m in PTY.findall(line)]
        wait_for(lambda: all(Path(n).exists() for n in names), timeout=5, what="the ptys")
        yield names[0], names[1]
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stderr.close()
