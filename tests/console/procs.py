"""A console as its own process under a file-descriptor limit (`prlimit`), on a fresh SQLite
file: the connection-cap tests start it with the `starter` fixture (tests/console/conftest.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from bldgwatch.core.config import InfluxSettings
from bldgwatch.servers import free_port


@dataclass
class Console:
    """A running console: its URL, process and log."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_console(
    tmp_path: Path, influx: InfluxSettings, *, nofile: str, http: dict[str, Any]
) -> Console:
    """Start a console with `nofile` as its fd limit and `http` settings; wait for health."""
    port = free_port()
    config = {
        "dev": True,
        "http": {"host": "127.0.0.1", "port": port, **http},
        "database": {"url": f"sqlite:///{tmp_path / 'console.db'}"},
        "influx": influx.model_dump(mode="json"),
    }
    path = tmp_path / "console.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log = tmp_path / "console.log"
    cmd = ["prlimit", f"--nofile={nofile}", sys.executable, "-m", "bldgwatch.cli"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*cmd, "console", "--config", str(path)], stdout=out, stderr=out)
    console = Console(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"console exited: {log.read_text(errors='replace')[-3000:]}"
        try:
            if httpx.get(f"{console.url}/healthz", timeout=1).status_code == 200:
                return console
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # polling for the start, not timing what is tested
    stop_console(console)
    raise AssertionError(f"console not healthy: {log.read_text(errors='replace')[-3000:]}")


def stop_console(console: Console) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    console.proc.send_signal(signal.SIGTERM)
    try:
        console.proc.wait(20)
    except subprocess.TimeoutExpired:
        console.proc.kill()
        console.proc.wait()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The ASGI app served by uvicorn on a thread and a free loopback port: its base URL
    while inside (for browser tests that need the app's objects in the test's process)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "console did not start"
        time.sleep(0.05)  # waiting for the server thread to listen
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
