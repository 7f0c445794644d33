"""Running under systemd: the unit's essentials, and the notify protocol seen from systemd's
side (a datagram socket as NOTIFY_SOCKET, the gateway as `bldgwatch gateway` subprocess)."""

from __future__ import annotations

import configparser
import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from bldgwatch.core.config import MqttSettings
from bldgwatch.servers import DEPLOY_DIR
from tests.gateway.harness import BLDGWATCH
from tests.waiting import wait_for

UNIT = DEPLOY_DIR / "gateway" / "bldgwatch-gateway.service"


def test_unit_restarts_on_failure_with_a_watchdog_as_its_own_user() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["Restart"] == "on-failure"
    assert int(service["WatchdogSec"]) > 0
    assert service["User"] == "bldgwatch" and service["User"] != "root"
    assert service["RestartPreventExitStatus"] == "2"  # a bad config is not retried forever
    assert "bldgwatch gateway --config" in service["ExecStart"]


@pytest.mark.timeout(60)
def test_gateway_notifies_ready_pings_the_watchdog_and_says_stopping(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    config = tmp_path / "gw.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "site": "t",
                "gateway_id": "gw-sd",
                "mqtt": {"port": mqtt_settings.port},
                "queue": {"path": str(tmp_path / "q.sqlite")},
                "metrics": {"enabled": False},
            }
        )
    )
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.2)
        got: list[str] = []

        def heard(what: str) -> bool:
            with contextlib.suppress(TimeoutError):
                got.append(sock.recv(4096).decode())
            return any(m.startswith(what) for m in got)

        env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"}
        proc = subprocess.Popen(
            [str(BLDGWATCH), "gateway", "--config", str(config)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: heard("READY=1"), timeout=30, what="READY=1")
            for _ in range(3):  # pinged every 0.2 s (half the watchdog timeout)
                got.clear()
                wait_for(lambda: heard("WATCHDOG=1"), timeout=5, what="a watchdog ping")
            proc.send_signal(signal.SIGTERM)
            wait_for(lambda: heard("STOPPING=1"), timeout=20, what="STOPPING=1")
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
