"""Hostile review of issue 12: the broker's relocated data folder under the shared /tmp.

`servers.broker_home` (the demo's and the tests' Mosquitto, started as root) moves the
broker's files to `/tmp/bldgwatch-mosquitto-<sha256(path)[:16]>` when the `mosquitto` user
cannot reach the given folder, a name anyone can compute, and then, as root, `mkdir(exist_ok=
True)`, `chmod` and `chown` that path and everything `rglob` finds in it, following symlinks.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from bldgwatch import servers
from bldgwatch.servers import RELOCATED_PREFIX, ServerError, broker_home

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="broker_home relocates only as root")


def _predicted(folder: Path) -> Path:
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"{RELOCATED_PREFIX}{digest}"


def test_a_planted_symlink_in_tmp_does_not_hand_a_root_file_to_the_broker_user(
    tmp_path: Path,
) -> None:
    """FINDING (high, local privilege): a local user who plants a directory at the predicted
    name with a symlink `mosquitto.db -> /etc/shadow` (here: a root-owned victim file) gets
    that file chowned to `mosquitto` and the planted folder's mode reset, by root, the next
    time `bldgwatch demo` (or the test fixtures) start the broker: `shutil.chown` follows the
    symlink that `rglob` yields. The folder is neither created fresh (O_EXCL) nor checked to
    be root's or mosquitto's own, and links are not refused."""
    folder = tmp_path / "broker"  # under pytest's 0700 temp folder: unreachable by mosquitto
    victim = tmp_path / "victim.conf"
    victim.write_text("root's secret\n")
    victim.chmod(0o600)
    planted = _predicted(folder)
    planted.mkdir(mode=0o777)
    try:
        (planted / "mosquitto.db").symlink_to(victim)
        with contextlib.suppress(ServerError, OSError):  # refusing it is a fine answer
            broker_home(folder)
        assert victim.stat().st_uid == 0, "root's file was handed to the broker user"
    finally:
        for entry in planted.iterdir():
            entry.unlink()
        planted.rmdir()


def test_a_planted_symlink_as_the_relocated_folder_is_not_followed(tmp_path: Path) -> None:
    """FINDING (high, local privilege): the same with the predicted name itself a symlink to a
    root-owned directory: root chmods it 0700 and chowns it, and everything in it, to
    `mosquitto`, and the broker then keeps its files there."""
    folder = tmp_path / "broker"
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir(mode=0o755)
    (victim_dir / "keep.txt").write_text("root's\n")
    planted = _predicted(folder)
    planted.symlink_to(victim_dir)
    try:
        home = None
        with contextlib.suppress(ServerError, OSError):  # refusing it is a fine answer
            home = broker_home(folder)
        assert victim_dir.stat().st_uid == 0
        assert (victim_dir / "keep.txt").stat().st_uid == 0
        assert home is None or not home.is_symlink()
    finally:
        planted.unlink()


def test_without_the_broker_user_the_error_names_the_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 19c-s: on a machine without Mosquitto the demo died with a traceback
    `KeyError: getpwnam(): name not found: 'mosquitto'`; it now says what is missing."""
    monkeypatch.setattr(servers, "BROKER_USER", "no-such-broker-user")
    with pytest.raises(ServerError, match="Mosquitto runs as: is it installed"):
        broker_home(tmp_path / "broker")


def test_ports_picked_together_are_distinct() -> None:
    """The demo's devices each need a port of their own: picked one at a time, a just-closed
    port can come back (a simulator then failed to listen in a full run)."""
    from bldgwatch.servers import free_ports

    ports = free_ports(200)
    assert len(set(ports)) == 200
    assert all(0 < p < 65536 for p in ports)
