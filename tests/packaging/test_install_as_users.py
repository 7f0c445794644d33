"""`bldgwatch install` with its service accounts, then each service's first steps run as that
service's own user — as systemd starts it (`User=bldgwatch-<service>`, the group `bldgwatch`
as a supplementary group, `UMask=0007`, no capabilities): read its config and the files it
names, open the database, migrate it, write to it.

The install runs in-process as root into a scratch root with numeric ids instead of accounts
(`NumericAccounts`: no account is made on this machine); the services run under `setpriv`
with those ids and Debian's own Python (the test's interpreter lives under /root, which no
other user may enter), the project's packages on its path. The other install tests run as
root with `--no-users`, where an owner or a mode cannot be wrong.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bldgwatch.backup import BackupError, Sources, Targets, backup, restore
from bldgwatch.demo_setup import SITE_SPEC
from bldgwatch.install import GROUP, SERVICES, InstallError, Plan, Report, install

SYSTEM_PYTHON = Path("/usr/bin/python3")
SITE_PACKAGES = sysconfig.get_paths()["purelib"]
GROUP_ID = 61900
IDS = {f"{GROUP}-{service}": GROUP_ID + 1 + i for i, service in enumerate(SERVICES)}
DB_SERVICES = ("rules", "maintenance", "alerts", "console")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not SYSTEM_PYTHON.exists(),
    reason="needs root, setpriv and /usr/bin/python3",
)


def _id(name: str) -> int:
    if name == GROUP:
        return GROUP_ID
    if name in IDS:
        return IDS[name]
    if name == "root":
        return 0
    return grp.getgrnam(name).gr_gid  # mosquitto's group, when the broker is installed


class NumericAccounts:
    """Owners by number: no account is made on this machine."""

    def ensure(self, report: Report) -> None:
        report.done.append("accounts: numeric ids of the test")

    def chown(self, path: Path, owner: str, group: str) -> None:
        os.chown(path, _id(owner), _id(group))

    def ids(self, owner: str, group: str) -> tuple[int, int]:
        return _id(owner), _id(group)


FIRST_STEPS = """
import sys, site
site.addsitedir(sys.argv[1])
from pathlib import Path
from sqlalchemy import text
from bldgwatch.cli import _migrate_db
from bldgwatch.core.config import load_config
from bldgwatch.core.db import make_engine
from bldgwatch.install import SERVICES
service, config = sys.argv[2], Path(sys.argv[3])
import importlib
module = importlib.import_module(f"bldgwatch.{service}.config")
model = {"ingest": "IngestConfig", "rules": "RulesConfig", "maintenance": "MaintenanceConfig",
         "alerts": "AlertsConfig", "console": "ConsoleConfig"}[service]
cfg = load_config(config, getattr(module, model))
for site_file in cfg.site_files:
    site_file.read_bytes()
if service == "alerts":
    cfg.key_file.read_bytes()
if service == "console":
    cfg.alerts_key_file.read_bytes()
    for key in cfg.gateway_keys_dir.rglob("*.key"):
        key.read_bytes()
if hasattr(cfg, "database"):
    _migrate_db(cfg)
    engine = make_engine(cfg.database)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
    engine.dispose()
print("started", service)
"""


def as_service(service: str, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`argv` (after the Python program) run as systemd runs the service."""
    uid = IDS[f"{GROUP}-{service}"]
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={GROUP_ID}",
         "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
         "sh", "-c", 'umask 0007; exec "$@"', "sh", str(SYSTEM_PYTHON), *argv],
        capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="bldgwatch-users-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def installed(scratch: Path) -> Path:
    site = scratch / "site-demo.yaml"
    site.write_text(yaml.safe_dump(SITE_SPEC, allow_unicode=True), encoding="utf-8")
    root = scratch / "root"
    plan = Plan(site_files=[site], root=root, gateways=["demo/gw-1"], accounts=NumericAccounts())
    install(plan)
    return root


def first_steps(root: Path, service: str) -> subprocess.CompletedProcess[str]:
    config = root / "etc" / "bldgwatch" / f"{service}.yaml"
    state = root / "var" / "lib" / "bldgwatch"
    return as_service(service, "-c", FIRST_STEPS, SITE_PACKAGES, service, str(config), cwd=state)


def test_the_python_the_services_run_is_this_one() -> None:
    version = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert version.strip() == str(sys.version_info[:2])


def test_every_service_starts_as_its_own_user_after_install(installed: Path) -> None:
    state = installed / "var" / "lib" / "bldgwatch"
    for service in SERVICES:
        done = first_steps(installed, service)
        assert done.returncode == 0 and f"started {service}" in done.stdout, (
            service,
            done.stderr[-2000:],
        )
    lock = state / "bldgwatch.db.migrate-lock"
    assert lock.stat().st_mode & 0o777 == 0o660 and lock.stat().st_gid == GROUP_ID
    for path in state.iterdir():  # what install and the services made is the group's
        assert path.stat().st_gid == GROUP_ID, path


def test_a_lock_file_the_service_cannot_write_is_still_taken_and_a_worse_one_is_one_line(
    installed: Path,
) -> None:
    lock = installed / "var" / "lib" / "bldgwatch" / "bldgwatch.db.migrate-lock"
    lock.chmod(0o640)  # as an older install left it: root's, the group may only read
    done = first_steps(installed, "rules")
    assert done.returncode == 0, done.stderr[-2000:]
    lock.chmod(0o600)
    done = first_steps(installed, "rules")
    assert done.returncode != 0
    assert "cannot open the migration lock" in done.stderr
    assert "bldgwatch install" in done.stderr


def test_install_again_gives_restored_files_back_to_the_services(installed: Path) -> None:
    """A restore (as root) leaves configs 0600 in a 0700 folder, the database and the photos
    root's; `bldgwatch install` again (docs/operations.md, Restore) gives them back."""
    etc = installed / "etc" / "bldgwatch"
    state = installed / "var" / "lib" / "bldgwatch"
    photo = state / "attachments" / "2026" / "p.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8")
    for path in [etc, *etc.rglob("*"), *state.rglob("*")]:
        os.chown(path, 0, 0)
        path.chmod(0o700 if path.is_dir() else 0o600)
    (state / "bldgwatch.db").chmod(0o644)
    assert first_steps(installed, "rules").returncode != 0  # as the restore left it
    site = next((etc / "sites").iterdir())
    install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    for service in SERVICES:
        done = first_steps(installed, service)
        assert done.returncode == 0, (service, done.stderr[-2000:])
    upload = as_service(
        "console", "-c", f"open({str(photo.parent / 'new.jpg')!r}, 'wb').write(b'x')", cwd=state
    )
    assert upload.returncode == 0, upload.stderr
    assert photo.stat().st_mode & 0o7 == 0 and site.stat().st_gid == GROUP_ID


def test_a_gateway_key_made_later_as_the_docs_say_is_the_consoles(installed: Path) -> None:
    """deploy/gateway/README.md: `bldgwatch gateway-key /etc/bldgwatch/gateway-keys SITE GW`
    as root for a gateway added after install; the console (its own user) must read it."""
    keys = installed / "etc" / "bldgwatch" / "gateway-keys"
    bldgwatch = Path(sys.executable).parent / "bldgwatch"
    done = subprocess.run(
        [str(bldgwatch), "gateway-key", str(keys), "annex", "gw-2"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    read = as_service(
        "console", "-c",
        "import site, sys; site.addsitedir(sys.argv[1]); from pathlib import Path; "
        "from bldgwatch.console.fleet import gateway_key; "
        "print(gateway_key(Path(sys.argv[2]), 'annex', 'gw-2') is not None)",
        SITE_PACKAGES, str(keys), cwd=installed,
    )  # fmt: skip
    assert read.returncode == 0 and read.stdout.strip() == "True", read.stderr[-2000:]


def test_the_first_admin_is_made_as_the_readme_says_without_secrets_on_a_command_line(
    installed: Path,
) -> None:
    """README step 6: `runuser -u bldgwatch-console -- bldgwatch console-user …` as root, the
    password prompted (here on stdin), no BLDGWATCH_SECRET and no password in any argv."""
    config = installed / "etc" / "bldgwatch" / "console.yaml"
    uid = IDS[f"{GROUP}-console"]
    done = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={GROUP_ID}",
         "--inh-caps=-all", "sh", "-c", 'umask 0007; exec "$@"', "sh", str(SYSTEM_PYTHON),
         "-c", "import site, sys; site.addsitedir(sys.argv.pop(1)); "
         "from bldgwatch.cli import main; sys.argv[0] = 'bldgwatch'; main()",
         SITE_PACKAGES, "console-user", "--config", str(config), "--name", "admin",
         "--role", "admin"],
        input="A-long-enough-pass-1\nA-long-enough-pass-1\n", capture_output=True, text=True,
        timeout=120, check=False, cwd=installed,
        env={"PATH": "/usr/bin:/bin", "LOGNAME": f"{GROUP}-console"},  # as runuser sets it
    )  # fmt: skip
    assert done.returncode == 0 and "user admin created" in done.stdout, done.stderr[-2000:]
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "runuser -u bldgwatch-console -- /opt/bldgwatch/.venv/bin/bldgwatch console-user" in (
        " ".join(readme.split())
    )
    assert "console.env)" not in readme and "BLDGWATCH_PASSWORD=" not in readme


def _plant(link: Path, target: Path, state: Path) -> None:
    """A symbolic link made as a service user would make it (rules: the group's member)."""
    done = as_service("rules", "-c", f"import os; os.symlink({str(target)!r}, {str(link)!r})",
                      cwd=state)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_links_a_service_plants_in_the_state_folder_are_never_followed_by_root(
    installed: Path, scratch: Path
) -> None:
    """Review 21c H3: a service user replaced root's migration lock (or restore's temporary
    copy) with a link to /etc/shadow; root's next install or restore made the target 0660
    group bldgwatch (or wrote the database into it). Now the folder is sticky, and a link
    planted where no entry of root's was is refused with a clear error, its target untouched."""
    state = installed / "var" / "lib" / "bldgwatch"
    assert state.stat().st_mode & 0o7777 == 0o3770
    victim = scratch / "shadow"
    victim.write_text("root:secret-hash:1:2:3\n", encoding="utf-8")
    victim.chmod(0o600)

    def untouched() -> None:
        seen = victim.stat()
        assert (seen.st_mode & 0o7777, seen.st_uid, seen.st_gid) == (0o600, 0, 0)
        assert victim.read_text(encoding="utf-8") == "root:secret-hash:1:2:3\n"

    lock = state / "bldgwatch.db.migrate-lock"
    gone = as_service("rules", "-c", f"import os; os.unlink({str(lock)!r})", cwd=state)
    assert gone.returncode != 0 and "PermissionError" in gone.stderr  # sticky: root's stays
    assert lock.is_file() and not lock.is_symlink()

    lock.unlink()  # where no lock is yet (or as an older install's folder let it be replaced)
    _plant(lock, victim, state)
    with pytest.raises(InstallError, match="symbolic link"):
        install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    untouched()
    lock.unlink()
    ghost = scratch / "ghost"
    _plant(lock, ghost, state)  # a dangling link: root must not create its target
    with pytest.raises(InstallError, match="symbolic link"):
        install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    assert not ghost.exists()
    lock.unlink()
    install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))  # removed: fine
    assert lock.is_file() and not lock.is_symlink()

    archive = scratch / "b.tar.gz"
    backup(Sources(configs=installed / "etc" / "bldgwatch", output=archive, influx=False))
    database = state / "bldgwatch.db"
    before = database.read_bytes()
    _plant(state / ".bldgwatch.db.restoring", victim, state)
    targets = Targets(
        archive=archive, configs=scratch / "restored", db_url=f"sqlite:///{database}",
        folders={"gateway-keys": scratch / "keys", "attachments": scratch / "files"},
        force=True, services_stopped=True,
    )  # fmt: skip
    with pytest.raises(BackupError, match="symbolic link"):
        restore(targets)
    untouched()
    assert not database.is_symlink() and database.read_bytes() == before


def _attachments_of_the_console(installed: Path) -> Path:
    """The attachments folder as the console leaves it (its user's, 2770), with a photo."""
    state = installed / "var" / "lib" / "bldgwatch"
    attachments = state / "attachments"
    done = as_service("console", "-c", (
        "import os, sys; a = sys.argv[1]; os.makedirs(a + '/zz', exist_ok=True); "
        "open(a + '/zz/shadow', 'w').write('x'); open(a + '/p1.jpg', 'wb').write(b'p')"
    ), str(attachments), cwd=state)  # fmt: skip
    assert done.returncode == 0, done.stderr
    install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    assert attachments.stat().st_uid == IDS[f"{GROUP}-console"]
    return attachments


def test_a_folder_swapped_for_a_link_while_install_walks_the_attachments_is_not_followed(
    installed: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 21d H1: install listed the whole attachments tree, then chmodded/chowned each
    path; the console's user swapped `zz` for a link to /etc in between and root gave away
    `/etc/shadow`. The swap is raced in as the console's user right after install acted on
    the first entry following its listing (the filesystem boundary: `os.fchmod`)."""
    attachments = _attachments_of_the_console(installed)
    victims = scratch / "etc"
    victims.mkdir()
    victim = victims / "shadow"
    victim.write_text("root:secret-hash:1:2:3\n", encoding="utf-8")
    victim.chmod(0o600)
    real_fchmod = os.fchmod
    top = attachments.stat().st_ino
    calls: list[int] = []  # fchmods from the attachments folder's own on

    def racing_fchmod(fd: int, mode: int) -> None:
        real_fchmod(fd, mode)
        if calls or os.fstat(fd).st_ino == top:
            calls.append(fd)
        if len(calls) == 2:  # the top folder done, its listing made: now the swap
            swap = as_service("console", "-c", (
                "import os, sys; a, to = sys.argv[1:]; os.rename(a + '/zz', a + '/zz.old'); "
                "os.symlink(to, a + '/zz')"
            ), str(attachments), str(victims), cwd=attachments)  # fmt: skip
            assert swap.returncode == 0, swap.stderr

    monkeypatch.setattr(os, "fchmod", racing_fchmod)
    report = install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    monkeypatch.undo()
    assert len(calls) >= 2 and (attachments / "zz").is_symlink()
    seen = victim.stat()
    assert (seen.st_mode & 0o7777, seen.st_uid, seen.st_gid) == (0o600, 0, 0)
    assert any("zz: not walked" in line for line in report.done), report.done


def test_a_5000_level_tree_in_the_attachments_does_not_stop_an_upgrade(installed: Path) -> None:
    """Review 21d M3: `install` recursed once per level (RecursionError, stopped before the
    migration). The walk is iterative: every level is given to the services, even past
    PATH_MAX, and an odd entry (a FIFO) is named, not fatal."""
    attachments = _attachments_of_the_console(installed)
    depth = 5000
    fd = os.open(attachments, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", 0o700, dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    deepest = os.open("p.jpg", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
    os.close(deepest)
    os.mkfifo("x.jpg", dir_fd=fd)
    os.close(fd)
    try:
        _upgrade_and_check_every_level(installed, attachments, depth)
    finally:
        subprocess.run(["rm", "-rf", str(attachments / "d")], check=True)  # rmtree recurses


def _upgrade_and_check_every_level(installed: Path, attachments: Path, depth: int) -> None:
    report = install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    fd = os.open(attachments, os.O_RDONLY | os.O_DIRECTORY)
    modes = []
    for _ in range(depth):
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
        seen = os.fstat(fd)
        modes.append((seen.st_mode & 0o7777, seen.st_uid, seen.st_gid))
    photo = os.stat("p.jpg", dir_fd=fd)
    os.close(fd)
    console = IDS[f"{GROUP}-console"]
    assert set(modes) == {(0o2770, console, GROUP_ID)}
    assert (photo.st_mode & 0o7777, photo.st_uid, photo.st_gid) == (0o660, console, GROUP_ID)
    assert any("1 entries not given" in line and "/x.jpg" in line for line in report.done)


def test_backup_does_not_follow_the_attachments_folder_replaced_by_a_link(
    installed: Path, scratch: Path
) -> None:
    """Review 21d M5: the console's user (who owns the attachments folder) renamed it and put
    a link to /etc in its place; root's nightly backup copied /etc's files into the archive
    (and a restore then gave them to the services). The folder is opened without following
    a link: nothing behind it is copied, and the link is named."""
    attachments = _attachments_of_the_console(installed)
    victims = scratch / "etc"
    victims.mkdir()
    (victims / "shadow").write_text("root:secret-hash:1:2:3\n", encoding="utf-8")
    swap = as_service("console", "-c", (
        "import os, sys; a, to = sys.argv[1:]; os.rename(a, a + '.real'); os.symlink(to, a)"
    ), str(attachments), str(victims), cwd=attachments.parent)  # fmt: skip
    assert swap.returncode == 0, swap.stderr
    archive = scratch / "b.tar.gz"
    manifest = backup(Sources(configs=installed / "etc" / "bldgwatch", output=archive,
                              influx=False))  # fmt: skip
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert not any(name.startswith("attachments/") and name != "attachments/" for name in names)
    assert any(line.startswith("attachments/ (") for line in manifest.skipped), manifest.skipped


def test_restore_does_not_write_through_a_link_planted_in_the_attachments(
    installed: Path, scratch: Path
) -> None:
    """Review 21d H4: restore copied the archive's attachments with copytree, which follows
    an existing sub-folder that is a link: the console's user stored `zz/shadow` before the
    backup, replaced `zz` with a link to /etc (or /root/.ssh) after it, and root's restore
    wrote the file there. Now the link is replaced by the restored folder."""
    attachments = _attachments_of_the_console(installed)
    state = attachments.parent
    archive = scratch / "b.tar.gz"
    backup(Sources(configs=installed / "etc" / "bldgwatch", output=archive, influx=False))
    victims = scratch / "etc"
    victims.mkdir()
    swap = as_service("console", "-c", (
        "import os, shutil, sys; a, to = sys.argv[1:]; shutil.rmtree(a + '/zz'); "
        "os.symlink(to, a + '/zz'); os.symlink(to + '/p1.jpg', a + '/p1.jpg.tmp'); "
        "os.unlink(a + '/p1.jpg'); os.rename(a + '/p1.jpg.tmp', a + '/p1.jpg')"
    ), str(attachments), str(victims), cwd=state)  # fmt: skip
    assert swap.returncode == 0, swap.stderr
    targets = Targets(
        archive=archive, configs=scratch / "restored", db_url=f"sqlite:///{state / 'bldgwatch.db'}",
        folders={"gateway-keys": scratch / "keys", "attachments": attachments},
        force=True, services_stopped=True,
    )  # fmt: skip
    restore(targets)
    assert list(victims.iterdir()) == []  # nothing written behind either link
    zz = attachments / "zz"
    assert not zz.is_symlink() and (zz / "shadow").read_text(encoding="utf-8") == "x"
    photo = attachments / "p1.jpg"
    assert not photo.is_symlink() and photo.read_bytes() == b"p"
    for made in (scratch / "keys", scratch / "keys" / "demo"):  # new folders: root's alone
        assert made.stat().st_mode & 0o7777 == 0o700, made


def test_a_folder_swapped_for_a_link_while_install_walks_the_gateway_keys_is_not_followed(
    installed: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 21e H4: `_gateway_keys` listed the keys folder (`rglob`), then gave each path to
    the console by path; the console's user (it owns that folder) swapped `zz` for a link
    in between and root chmodded and chowned the file behind it to the console. The swap is
    raced in as the console's user right after install acted on the keys folder and its
    first sub-folder, after its listing (the filesystem boundary: `os.fchmod`)."""
    keys = installed / "etc" / "bldgwatch" / "gateway-keys"
    done = as_service("console", "-c", (
        "import os, sys; k = sys.argv[1]; os.makedirs(k + '/zz', exist_ok=True); "
        "open(k + '/zz/shadow', 'w').write('x')"
    ), str(keys), cwd=keys)  # fmt: skip
    assert done.returncode == 0, done.stderr
    victims = scratch / "etc"
    victims.mkdir()
    victim = victims / "shadow"
    victim.write_text("root:secret-hash:1:2:3\n", encoding="utf-8")
    victim.chmod(0o644)
    real_fchmod = os.fchmod
    top = keys.stat().st_ino
    calls: list[int] = []  # fchmods from the keys folder's own on

    def racing_fchmod(fd: int, mode: int) -> None:
        real_fchmod(fd, mode)
        if not calls and os.fstat(fd).st_ino != top:
            return
        calls.append(fd)
        if len(calls) == 3:  # the keys folder (twice: shared, walked) and `demo`: now
            swap = as_service("console", "-c", (
                "import os, sys; k, to = sys.argv[1:]; os.rename(k + '/zz', k + '/zz.old'); "
                "os.symlink(to, k + '/zz')"
            ), str(keys), str(victims), cwd=keys)  # fmt: skip
            assert swap.returncode == 0, swap.stderr

    monkeypatch.setattr(os, "fchmod", racing_fchmod)
    report = install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    monkeypatch.undo()
    assert len(calls) >= 3 and (keys / "zz").is_symlink()
    seen = victim.stat()
    assert (seen.st_mode & 0o7777, seen.st_uid, seen.st_gid) == (0o644, 0, 0)
    assert any("zz: not walked" in line for line in report.done), report.done
    key = keys / "demo" / "gw-1.key"
    assert key.stat().st_uid == IDS[f"{GROUP}-console"] and key.stat().st_mode & 0o777 == 0o600


def test_install_never_writes_a_fleet_key_through_a_link_the_console_planted(
    installed: Path, scratch: Path
) -> None:
    """Review 21e H4: a dangling link where a gateway's key goes (`path.exists()` is false
    for it) made root create the key wherever the link pointed."""
    keys = installed / "etc" / "bldgwatch" / "gateway-keys"
    victims = scratch / "etc"
    victims.mkdir()
    planted = as_service("console", "-c", (
        "import os, sys; k, to = sys.argv[1:]; os.unlink(k + '/demo/gw-1.key'); "
        "os.symlink(to + '/made-by-root', k + '/demo/gw-1.key')"
    ), str(keys), str(victims), cwd=keys)  # fmt: skip
    assert planted.returncode == 0, planted.stderr
    with pytest.raises(InstallError, match=r"gw-1\.key is a symbolic link"):
        install(Plan(site_files=[], root=installed, gateways=["demo/gw-1"],
                     accounts=NumericAccounts()))  # fmt: skip
    assert not (victims / "made-by-root").exists()


def test_install_never_writes_the_broker_files_through_links_in_a_folder_another_user_owns(
    installed: Path, scratch: Path
) -> None:
    """Review 21e H3: deploy/mosquitto/README.md gave /etc/mosquitto/bldgwatch to the broker's
    user; that user swapped `credentials.yaml` for a link and the next install wrote every
    service's password into the file it named, made new passwords for every account (the
    store read as empty) and dropped the gateway's. Now a link at the store is refused, a
    link at `passwd` or `acl` is replaced (never written through), and the folder is taken
    back (root's) before anything is written; known accounts keep their passwords."""
    folder = installed / "etc" / "mosquitto" / "bldgwatch"
    store = folder / "credentials.yaml"
    before = yaml.safe_load(store.read_text(encoding="utf-8"))
    assert "demo/gw-1" in before
    other = IDS[f"{GROUP}-console"]  # stands for the broker's user
    os.chown(folder, other, other)
    victims = scratch / "etc"
    victims.mkdir()
    victim = victims / "victim-cred"
    victim.write_text("{}\n", encoding="utf-8")
    victim.chmod(0o644)
    planted = as_service("console", "-c", (
        "import os, sys; a, v = sys.argv[1:]; os.rename(a + '/credentials.yaml', "
        "a + '/credentials.old'); os.symlink(v + '/victim-cred', a + '/credentials.yaml'); "
        "os.unlink(a + '/acl'); os.symlink(v + '/made-by-root', a + '/acl')"
    ), str(folder), str(victims), cwd=folder)  # fmt: skip
    assert planted.returncode == 0, planted.stderr
    with pytest.raises(InstallError, match=r"credentials\.yaml is a symbolic link"):
        install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    assert victim.read_text(encoding="utf-8") == "{}\n" and victim.stat().st_mode & 0o777 == 0o644
    assert folder.stat().st_uid == 0  # taken back before anything else
    (folder / "credentials.yaml").unlink()  # the operator puts the real one back
    (folder / "credentials.old").rename(store)
    report = install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    assert yaml.safe_load(store.read_text(encoding="utf-8")) == before  # no new passwords
    assert not (victims / "made-by-root").exists()
    for name in ("credentials.yaml", "passwd", "acl"):
        assert not (folder / name).is_symlink(), name
    passwd = (folder / "passwd").read_text(encoding="utf-8")
    assert "demo/gw-1:" in passwd  # the gateway's account is kept
    assert "user demo/gw-1" in (folder / "acl").read_text(encoding="utf-8")
    assert folder.stat().st_uid == 0
    assert not any("taken back" in line for line in report.done)  # said at the first run


def test_a_missing_broker_credentials_store_next_to_accounts_makes_no_new_passwords(
    installed: Path,
) -> None:
    """Review 21e H3: with `credentials.yaml` gone, install made new passwords for every
    service and dropped the gateways' accounts: every service and Pi locked out at the next
    broker restart. Now it stops and says how to go on."""
    folder = installed / "etc" / "mosquitto" / "bldgwatch"
    (folder / "credentials.yaml").unlink()
    passwd = (folder / "passwd").read_bytes()
    with pytest.raises(InstallError, match=r"credentials\.yaml is missing while .*passwd"):
        install(Plan(site_files=[], root=installed, accounts=NumericAccounts()))
    assert (folder / "passwd").read_bytes() == passwd
