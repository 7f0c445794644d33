"""The services' systemd template unit (deploy/systemd/bldgwatch@.service): restarts its
service when it dies, never gives up, does not retry a configuration error, runs each
service as its own user under the hardening options, waits for READY and watches the
service's loop; systemd-analyze finds nothing wrong with it. The heartbeat behind READY and
the watchdog pings (core.sdnotify) pings only while the work loop beats."""

from __future__ import annotations

import configparser
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from bldgwatch.core.sdnotify import Heartbeat
from bldgwatch.install import PROGRAM_IN_UNIT, SERVICES
from bldgwatch.servers import DEPLOY_DIR

TEMPLATE = DEPLOY_DIR / "systemd" / "bldgwatch@.service"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
    "SystemCallFilter": "@system-service",
}


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    unit.read(TEMPLATE)
    return unit


def test_the_unit_restarts_waits_for_ready_and_watches() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["Restart"] == "on-failure" and float(service["RestartSec"]) > 0
    assert service["RestartPreventExitStatus"] == "2"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert int(service["WatchdogSec"]) >= 30
    assert service["User"] == "bldgwatch-%i" and service["SupplementaryGroups"] == "bldgwatch"
    assert service["ExecStart"].endswith("bldgwatch %i --config /etc/bldgwatch/%i.yaml")
    for key, value in HARDENING.items():
        assert service[key] == value, key
    assert service["ReadWritePaths"] == "/var/lib/bldgwatch"


def test_systemd_analyze_verifies_every_instance(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (no systemd here)")
    units = []
    for name in SERVICES:
        unit = tmp_path / f"bldgwatch@{name}.service"
        # The program is not installed here; everything else is checked as written.
        unit.write_text(TEMPLATE.read_text().replace(PROGRAM_IN_UNIT, "/bin/true"))
        units.append(str(unit))
    done = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_heartbeat_pings_only_while_the_loop_beats(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    now = [100.0]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        beat = Heartbeat({"NOTIFY_SOCKET": str(path)}, monotonic=lambda: now[0])
        assert not beat.ping(10.0)  # not ready: systemd is not watching yet
        beat.ready("3 devices")
        beat.ready()  # once only
        assert sock.recv(100) == b"READY=1\nSTATUS=3 devices"
        now[0] += 9.0
        assert beat.ping(10.0) and sock.recv(100) == b"WATCHDOG=1"
        now[0] += 2.0  # the loop has not beaten for 11 s: hung
        assert not beat.ping(10.0)
        beat.beat()
        assert beat.ping(10.0) and sock.recv(100) == b"WATCHDOG=1"
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # nothing else was sent: the second READY neither


def test_a_full_notify_socket_never_stalls_the_service(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))  # and never read: its queue fills
        beat = Heartbeat({"NOTIFY_SOCKET": str(path)})
        beat.ready()
        sent = [beat.ping(60.0) for _ in range(200)]  # returns at once, dropping the rest
    assert sent[0] and not all(sent)
