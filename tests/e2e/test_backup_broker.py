"""The broker's part of a server backup and restore (review 21b, H2/H3): a restore over the
broker folder a fresh Debian server has leaves it as Mosquitto needs it (it reads its
password file and ACL after dropping to its own user), and the archive holds the broker's
listeners and TLS material."""

from __future__ import annotations

import os
import pwd
import stat
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bldgwatch.backup import Sources, Targets, backup, restore

CERTS = ("ca.crt", "ca.key", "server.crt", "server.key")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _broker_account() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("mosquitto")
    except KeyError:
        return None


@pytest.fixture
def server(tmp_path: Path) -> tuple[Path, Path]:
    """A server's config folder (SQLite) and broker folder as `bldgwatch install` and
    deploy/mosquitto/README.md lay them out: (archive, its broker folder)."""
    configs = tmp_path / "src" / "etc" / "bldgwatch"
    configs.mkdir(parents=True)
    db = tmp_path / "src" / "b.db"
    create_engine(f"sqlite:///{db}").connect().close()
    (configs / "console.yaml").write_text(f"database:\n  url: sqlite:///{db}\n")
    broker = tmp_path / "src" / "etc" / "mosquitto"
    (broker / "bldgwatch" / "certs").mkdir(parents=True)
    (broker / "conf.d").mkdir()
    (broker / "mosquitto.conf").write_text("include_dir /etc/mosquitto/conf.d\n")
    (broker / "conf.d" / "production.conf").write_text("listener 8883\n")
    for name in ("passwd", "acl", "credentials.yaml"):
        (broker / "bldgwatch" / name).write_text(f"{name}\n")
    for name in CERTS:
        (broker / "bldgwatch" / "certs" / name).write_text(f"{name}\n")
    archive = tmp_path / "server.tar.gz"
    backup(Sources(configs=configs, output=archive, broker_dir=broker))
    return archive, broker


def test_a_restore_over_the_servers_broker_folder_leaves_it_to_mosquitto(
    tmp_path: Path, server: tuple[Path, Path]
) -> None:
    archive, _ = server
    target = tmp_path / "new" / "mosquitto"  # as the Debian package leaves it
    (target / "conf.d").mkdir(parents=True)
    target.chmod(0o755)
    (target / "mosquitto.conf").write_text("# Debian's\n")
    (target / "mosquitto.conf").chmod(0o644)
    restore(
        Targets(
            archive=archive,
            configs=tmp_path / "new" / "bldgwatch",
            db_url=f"sqlite:///{tmp_path / 'new' / 'b.db'}",
            broker_dir=target,
            force=True,
        )
    )
    assert _mode(target) == 0o755, "the broker's folder must stay passable for mosquitto"
    assert (target / "mosquitto.conf").read_text() == "include_dir /etc/mosquitto/conf.d\n"
    assert _mode(target / "mosquitto.conf") == 0o644
    ours = target / "bldgwatch"
    assert _mode(ours) == 0o750
    for name in ("passwd", "acl"):
        assert _mode(ours / name) == 0o600
    assert _mode(ours / "credentials.yaml") == 0o600
    account = _broker_account()
    if account is not None and os.geteuid() == 0:
        assert ours.stat().st_gid == account.pw_gid
        for name in ("passwd", "acl"):
            assert (ours / name).stat().st_uid == account.pw_uid, name
        assert (ours / "credentials.yaml").stat().st_uid == 0


def test_a_restore_into_a_new_broker_folder_makes_it_passable(
    tmp_path: Path, server: tuple[Path, Path]
) -> None:
    archive, _ = server
    target = tmp_path / "new" / "mosquitto"
    restore(
        Targets(
            archive=archive,
            configs=tmp_path / "new" / "bldgwatch",
            db_url=f"sqlite:///{tmp_path / 'new' / 'b.db'}",
            broker_dir=target,
        )
    )
    assert _mode(target) == 0o755
    assert _mode(target / "bldgwatch") == 0o750
    assert _mode(target / "bldgwatch" / "passwd") == 0o600


def test_a_server_backup_holds_the_brokers_listeners_and_tls_material(
    tmp_path: Path, server: tuple[Path, Path]
) -> None:
    archive, broker = server
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    for name in ("conf.d/production.conf", *(f"bldgwatch/certs/{n}" for n in CERTS)):
        assert f"broker/{name}" in members, name
        assert members[f"broker/{name}"].mode == 0o600, name  # the CA key is a secret
    target = tmp_path / "new" / "mosquitto"
    restore(
        Targets(
            archive=archive,
            configs=tmp_path / "new" / "bldgwatch",
            db_url=f"sqlite:///{tmp_path / 'new' / 'b.db'}",
            broker_dir=target,
        )
    )
    for name in CERTS:
        got = target / "bldgwatch" / "certs" / name
        assert got.read_bytes() == (broker / "bldgwatch" / "certs" / name).read_bytes()
    assert _mode(target / "bldgwatch" / "certs" / "ca.key") == 0o600
    assert _mode(target / "bldgwatch" / "certs" / "server.key") == 0o600
    assert _mode(target / "bldgwatch" / "certs" / "ca.crt") == 0o644
    assert (target / "conf.d" / "production.conf").read_text() == "listener 8883\n"
    account = _broker_account()
    if account is not None and os.geteuid() == 0:
        assert (target / "bldgwatch" / "certs" / "ca.key").stat().st_uid == 0
        assert (target / "bldgwatch" / "certs" / "server.key").stat().st_uid == account.pw_uid
