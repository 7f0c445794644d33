"""`bldgwatch install`: the server side laid out as systemd services, and the same command
again as the upgrade.

What it does, in order (docs/operations.md, "Install and upgrade"):

1. the group `bldgwatch` and a system user per service, `bldgwatch-<service>` (no home, no
   shell), each in that group (`--no-users` leaves accounts to the operator);
2. `/etc/bldgwatch` (0750, group `bldgwatch`), the site files copied to
   `/etc/bldgwatch/sites/` after they are checked, and the shared state folder
   `/var/lib/bldgwatch` (3770: what a service makes there stays the group's, and the
   sticky bit keeps a service from replacing root's entries, such as the migration lock);
3. the broker's accounts and ACL in `/etc/mosquitto/bldgwatch/` (a random password per
   service and per gateway named with `--gateway site/id`; the hashed password file and the
   ACL that deploy/mosquitto/production.conf reads);
4. each service's config `/etc/bldgwatch/<service>.yaml` — mode 0640, readable by that
   service's group alone, since it holds that service's broker password — the console's
   signing secret in `console.env` (0600: systemd reads it) and the alerts key (0600, a
   copy for each of the two services that read it), generated once;
5. the template unit `/etc/systemd/system/bldgwatch@.service` (deploy/systemd), pointing at
   this installation's `bldgwatch` program;
6. the relational schema migrated to this version — before any service of the new version
   starts, so an upgrade is: install the new package, run `bldgwatch install` again (configs,
   secrets and accounts are kept; the unit is rewritten; the schema migrated), restart.

Nothing that exists is overwritten but the unit, the broker's generated files (rewritten from
the kept passwords) and the schema (migrated forward).
"""

from __future__ import annotations

import contextlib
import grp
import ipaddress
import os
import pwd
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel

from bldgwatch import safetree
from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.alerts.secrets import write_key_file
from bldgwatch.broker_auth import BrokerAuth, BrokerFolderError, GatewayGrant, ensure_broker_auth
from bldgwatch.console.config import ConsoleConfig, HttpSettings, proxy_problem
from bldgwatch.console.fleet import key_path
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.files import LinkRefusedError, read_unlinked, replace_private, write_private
from bldgwatch.core.site import load_site
from bldgwatch.gateway.config import gateway_id_refusal
from bldgwatch.gateway.fleet import write_key
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.maintenance.config import AttachmentSettings, MaintenanceConfig, ReportSettings
from bldgwatch.rules.config import RulesConfig
from bldgwatch.servers import DEPLOY_DIR

SERVICES = ("ingest", "rules", "maintenance", "alerts", "console")
GROUP = "bldgwatch"
STATE_MODE = 0o3770
"""The shared state folder: setgid (what a service makes there is the group's) and sticky
(no service deletes or replaces another's entry, nor root's: the lock, the database)."""
UNIT = "bldgwatch@.service"
PROGRAM_IN_UNIT = "/opt/bldgwatch/.venv/bin/bldgwatch"
KEYS_DIR = "/etc/bldgwatch/gateway-keys"
"""The gateways' fleet keys, one per gateway (`console.fleet.key_path`)."""


class InstallError(Exception):
    """An installation that cannot go on; the message says what and why."""


class SystemAccounts:
    """The service accounts of this machine: made with groupadd/useradd, files given to
    them by name."""

    def ensure(self, report: Report) -> None:
        _ensure_accounts(report)

    def chown(self, path: Path, owner: str, group: str) -> None:
        # never through a link (a planted one changes only the link itself)
        uid, gid = self.ids(owner, group)
        os.chown(path, uid, gid, follow_symlinks=False)

    def ids(self, owner: str, group: str) -> tuple[int, int]:
        return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


class Accounts(Protocol):
    """Who the installation's files belong to (`SystemAccounts` on a server)."""

    def ensure(self, report: Report) -> None: ...

    def chown(self, path: Path, owner: str, group: str) -> None: ...

    def ids(self, owner: str, group: str) -> tuple[int, int]:
        """The numeric owner and group (what is given through a descriptor)."""
        ...


@dataclass
class Plan:
    """What to install where (`root` is / on a server; a folder to lay it out elsewhere)."""

    site_files: list[Path]
    root: Path = Path("/")
    db_url: str | None = None
    """Default: SQLite in the state folder."""
    influx_url: str | None = None
    """Default: INFLUX_URL. This and the next three, when given on a re-run, must be what the
    kept configs say (they are not rewritten)."""
    influx_database: str = "bldgwatch"
    broker: str | None = None
    """Default: BROKER."""
    listen: str | None = None
    """Default: LISTEN."""
    public_url: str | None = None
    """Default: http:// and the --listen address (loopback: links no one else can open)."""
    gateways: list[str] = field(default_factory=list)
    retire: list[str] = field(default_factory=list)
    """Gateways (site/gateway-id) whose broker account and fleet key are removed (a stolen
    or replaced Pi); given in --gateway too, they get new ones."""
    trusted_proxies: list[str] | None = None
    """The console's `http.trusted_proxies`: the reverse proxy in front of it (compose: the
    bridge network's gateway). Default: loopback for a console on loopback, else none."""
    users: bool = True
    accounts: Accounts = field(default_factory=SystemAccounts)
    """Only another than the system's may lay out owners under a `root` other than /."""
    program: Path = field(default_factory=lambda: Path(sys.executable).parent / "bldgwatch")

    def __post_init__(self) -> None:
        # a relative root would write a unit systemd refuses and relative URLs in the configs
        self.root = self.root.absolute()

    def path(self, absolute: str) -> Path:
        """`absolute` (a path on the server) under `root`: an installation in a folder is
        self-contained, its configs and unit name the folder's paths."""
        return self.root / absolute.lstrip("/")

    @property
    def database(self) -> str:
        return self.db_url or f"sqlite:///{self.path('/var/lib/bldgwatch/bldgwatch.db')}"


@dataclass
class Report:
    """What `install` did, line by line, and what the operator does next."""

    done: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


INFLUX_URL = "http://127.0.0.1:8086"
BROKER = "127.0.0.1:1883"
LISTEN = "127.0.0.1:8080"

LOOPBACK_PROXIES = ["127.0.0.1/32", "::1/128"]
"""`http.trusted_proxies` of a console on loopback: only a reverse proxy on the same host
reaches it, and without trusting it every client is 127.0.0.1 to the login limits (30
wrong passwords from anyone would lock every user out)."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_port(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InstallError(f"{what} must be host:port, not {value!r}")
    return host, int(port)


def _ensure_accounts(report: Report) -> None:
    """The group and a user per service (useradd/groupadd: only as root, only on /)."""
    if os.geteuid() != 0:
        raise InstallError("creating the service accounts needs root (or --no-users)")
    if not _group_exists(GROUP):
        subprocess.run(["groupadd", "--system", GROUP], check=True)
        report.done.append(f"group {GROUP} created")
    for service in SERVICES:
        user = f"{GROUP}-{service}"
        if subprocess.run(["id", user], capture_output=True, check=False).returncode == 0:
            continue
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/var/lib/bldgwatch", "--shell", "/usr/sbin/nologin",
             "--groups", GROUP, user],
            check=True,
        )  # fmt: skip
        report.done.append(f"user {user} created")


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _passable(folder: Path) -> None:
    """Mosquitto opens its password file after dropping to its own user: it must pass through
    the broker's folder (as Debian ships it, 0755; an older restore left it 0700 root)."""
    mode = folder.stat().st_mode & 0o7777
    if mode & 0o011 != 0o011:
        folder.chmod(mode | 0o755)


def _share(path: Path, group: str | None, mode: int, plan: Plan, *, owner: str = "root") -> None:
    """Give `path` its mode (and owner). Never through a link: a service user may plant one
    in the group's folders, and root must not chmod/chown what it points at (review 21c H3).
    The mode is set on the file opened without following links, then checked to be the
    file looked at; a link, or anything but a folder or a file of one name, is refused."""
    _refuse_planted(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as err:
        why = err.strerror
        raise InstallError(f"{path}: cannot open it without following links: {why}") from err
    try:
        _refuse_planted(path, os.fstat(fd))
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    if plan.users and group is not None:
        plan.accounts.chown(path, owner, group)


def _refuse_planted(path: Path, opened: os.stat_result | None = None) -> None:
    """InstallError unless `path` is a folder or a regular file with one name (and, given
    `opened`, the very file that was opened)."""
    seen = path.lstat()
    if stat.S_ISLNK(seen.st_mode):
        raise InstallError(
            f"{path} is a symbolic link (to {path.readlink()}): not followed. Someone made it "
            "where a file of the installation belongs; remove it, check who could, run again"
        )
    if not (stat.S_ISDIR(seen.st_mode) or (stat.S_ISREG(seen.st_mode) and seen.st_nlink == 1)):
        raise InstallError(
            f"{path} is not a folder or a file of one name: not touched (remove it, run again)"
        )
    if opened is not None and (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
        raise InstallError(f"{path} was replaced while install set its mode: run again")


def _configs(plan: Plan, sites: list[Path], auth_passwords: dict[str, str]) -> dict[str, BaseModel]:
    host, port = _host_port(plan.broker or BROKER, "--broker")
    listen_host, listen_port = _host_port(plan.listen or LISTEN, "--listen")
    public = plan.public_url or f"http://{listen_host}:{listen_port}"

    def mqtt(user: str) -> MqttSettings:
        return MqttSettings(host=host, port=port, username=user, password=auth_passwords[user])

    influx = InfluxSettings(
        api="v1", url=plan.influx_url or INFLUX_URL, database=plan.influx_database
    )
    database = DatabaseSettings(url=plan.database)
    key = plan.path("/etc/bldgwatch/alerts.key")
    return {
        "ingest": IngestConfig(
            instance="ingest-1", mqtt=mqtt("ingest"), influx=influx, site_files=sites
        ),
        "rules": RulesConfig(
            instance="rules-1", mqtt=mqtt("rules"), database=database, site_files=sites,
            influx=influx,
        ),
        "maintenance": MaintenanceConfig(
            instance="maintenance-1", mqtt=mqtt("maintenance"), database=database,
            site_files=sites, influx=influx, reports=ReportSettings(console_url=public),
        ),
        "alerts": AlertsConfig(
            instance="alerts-1", mqtt=mqtt("alerts"), database=database, site_files=sites,
            console_url=public, key_file=key,
        ),
        "console": ConsoleConfig(
            http=HttpSettings(
                host=listen_host,
                port=listen_port,
                trusted_proxies=_trusted_proxies(plan, listen_host),
            ),
            database=database,
            influx=influx, mqtt=mqtt("console"), site_files=sites,
            attachments=AttachmentSettings(folder=plan.path("/var/lib/bldgwatch/attachments")),
            alerts_key_file=plan.path("/etc/bldgwatch/console-alerts.key"),
            gateway_keys_dir=plan.path(KEYS_DIR),
        ),
    }  # fmt: skip


def install(plan: Plan) -> Report:
    """Lay out (or upgrade) the server side as `plan` says."""
    report = Report()
    if plan.users:
        if plan.root != Path("/") and isinstance(plan.accounts, SystemAccounts):
            raise InstallError("service accounts are made only when installing on / (--no-users)")
        plan.accounts.ensure(report)
    etc = plan.path("/etc/bldgwatch")
    state = plan.path("/var/lib/bldgwatch")
    _kept_database(plan, etc)
    _check_proxies(plan.trusted_proxies or [])
    _kept_options(plan, etc, report)
    for folder, mode in ((etc, 0o750), (etc / "sites", 0o750), (state, STATE_MODE)):
        folder.mkdir(parents=True, exist_ok=True)
        _share(folder, GROUP, mode, plan)
    sites = _install_sites(plan, etc / "sites", report)
    grants = _grants(plan.gateways, sites)
    _retire(plan, report)
    auth = _broker_auth(plan.path("/etc/mosquitto/bldgwatch"), grants, report)
    if plan.users and _group_exists("mosquitto"):  # it reads passwd and acl again on SIGHUP
        _share(auth.folder, "mosquitto", 0o750, plan)
        _passable(auth.folder.parent)
    report.done.append(f"broker accounts and ACL in {auth.folder}")
    _gateway_keys(plan, grants, report)
    for service, model in _configs(plan, sites, auth.passwords).items():
        path = etc / f"{service}.yaml"
        if path.exists():  # owners and modes again: a restore leaves them root's
            _share(path, f"{GROUP}-{service}", 0o640, plan)
            report.done.append(f"{path} kept")
            continue
        doc = model.model_dump(mode="json", exclude_unset=True)
        write_private(path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        _share(path, f"{GROUP}-{service}", 0o640, plan)
        report.done.append(f"{path} written")
    env = etc / "console.env"
    if not env.exists():  # the console's token signing secret; systemd (root) reads it
        write_private(env, f"BLDGWATCH_SECRET={secrets.token_urlsafe(64)}\n")
        report.done.append(f"{env} written (the console's signing secret)")
    _share(env, "root", 0o600, plan)
    _share_state(plan, state, report)
    _install_keys(plan, etc, report)
    unit = plan.path(f"/etc/systemd/system/{UNIT}")
    unit.parent.mkdir(parents=True, exist_ok=True)
    template = (DEPLOY_DIR / "systemd" / UNIT).read_text(encoding="utf-8")
    for server_path in ("/etc/bldgwatch", "/var/lib/bldgwatch"):
        template = template.replace(server_path, str(plan.path(server_path)))
    unit.write_text(template.replace(PROGRAM_IN_UNIT, str(plan.program)), encoding="utf-8")
    unit.chmod(0o644)
    report.done.append(f"{unit} written")
    _migrate(plan, report)
    names = " ".join(f"bldgwatch@{s}" for s in SERVICES)
    report.next_steps += [
        f"point Mosquitto at the accounts: cp {DEPLOY_DIR / 'mosquitto' / 'production.conf'} "
        f"{plan.path('/etc/mosquitto/conf.d/')}/ (password_file and acl_file in "
        f"{plan.path('/etc/mosquitto/bldgwatch')}/; its TLS certificates: "
        f"{DEPLOY_DIR / 'mosquitto' / 'README.md'}), restart it",
        "systemctl daemon-reload",
        f"systemctl enable --now {names}   (after an upgrade: systemctl restart {names})",
        "journalctl -u 'bldgwatch@*' -f",
    ]
    return report


def _broker_auth(folder: Path, grants: list[GatewayGrant], report: Report) -> BrokerAuth:
    """The broker's accounts and ACL (`ensure_broker_auth`: never through a link, the
    folder taken back from another owner first, said here: review 21e H3)."""
    with contextlib.suppress(FileNotFoundError):
        owner = folder.lstat().st_uid
        if owner != os.geteuid():
            report.done.append(
                f"{folder} belonged to uid {owner}: taken back (root's, group mosquitto 0750: "
                "the broker only reads its files, and a folder it owns lets it point root's "
                "writes elsewhere)"
            )
    try:
        return ensure_broker_auth(folder, grants)
    except BrokerFolderError as err:
        raise InstallError(str(err)) from err


def _retire(plan: Plan, report: Report) -> None:
    """Remove each retired gateway's broker account (ensure_broker_auth then writes the
    password file and ACL without it) and its fleet key."""
    if not plan.retire:
        return
    store = plan.path("/etc/mosquitto/bldgwatch") / "credentials.yaml"
    try:
        loaded = yaml.safe_load(read_unlinked(store) or "") or {}
    except LinkRefusedError as err:
        raise InstallError(f"{err}: put the real one back, run again") from err
    passwords = {str(k): str(v) for k, v in dict(loaded).items()}
    for name in plan.retire:
        site, sep, gateway = name.partition("/")
        if not sep or name not in passwords:
            known = sorted(n for n in passwords if "/" in n)
            raise InstallError(
                f"--retire-gateway: no broker account {name} in {store} "
                f"(gateway accounts: {', '.join(known) or 'none'})"
            )
        del passwords[name]
    replace_private(store, yaml.safe_dump(passwords, sort_keys=True))
    for name in plan.retire:
        site, _, gateway = name.partition("/")
        key_path(plan.path(KEYS_DIR), site, gateway).unlink(missing_ok=True)
        report.done.append(
            f"{name} retired: its broker account and fleet key removed (restart mosquitto so "
            "that its connection is closed)"
        )


def _gateway_keys(plan: Plan, grants: list[GatewayGrant], report: Report) -> None:
    """A fleet key per gateway (the console signs the configs it pushes with it); its copy
    goes to the Pi as the gateway's `fleet.key_file`. A key is never replaced. The folder is
    the console's user's: a new key is made in its site folder opened without following a
    link (O_EXCL: a link standing where the key goes is refused), and the tree is given to
    the console by the safe walk, never by path (review 21e H4: a sub-folder swapped for a
    link between the listing and the chown gave root's file behind it to the console)."""
    keys = plan.path(KEYS_DIR)
    keys.mkdir(parents=True, exist_ok=True)
    _share(keys, f"{GROUP}-console", 0o700, plan, owner=f"{GROUP}-console")
    for grant in grants:
        path = key_path(keys, grant.site, grant.gateway)
        if path.is_symlink():
            raise InstallError(
                f"{path} is a symbolic link (to {path.readlink()}): not followed. Someone made "
                "it where a fleet key belongs; remove it, check who could, run again"
            )
        if os.path.lexists(path):
            continue
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            write_key(path, exclusive=True)
        except (LinkRefusedError, FileExistsError) as err:
            raise InstallError(
                f"{path}: not written ({err}). Someone made a link where a fleet key belongs; "
                "remove it, check who could, run again"
            ) from err
        report.done.append(f"{path} written (copy it to the Pi as its fleet.key_file, 0600)")
    console = f"{GROUP}-console"
    left = _give_tree(plan, keys, (console, console), 0o700, 0o600)
    if left:
        shown = "; ".join(left[:5]) + ("; ..." if len(left) > 5 else "")
        report.done.append(
            f"{keys}: {len(left)} entries not given to the console (not a folder or a file of "
            f"one name, or not opened without following a link): {shown}"
        )


def _give_tree(
    plan: Plan, top_path: Path, owner: tuple[str, str], folder_mode: int, file_mode: int
) -> list[str]:
    """Give every folder and file under `top_path` (itself included) its mode and, with
    accounts, `owner` (user, group), through descriptors only: the walk never follows a link
    at any level (`safetree`, review 21d H1); what is neither a folder nor a file of one name
    (a FIFO, a hard link), or cannot be opened, is left as it is: the list names them."""
    ids = plan.accounts.ids(*owner) if plan.users else None

    def give(fd: int, mode: int) -> None:
        os.fchmod(fd, mode)
        if ids is not None:
            os.fchown(fd, *ids)

    def on_folder(fd: int, parts: tuple[str, ...]) -> bool:
        give(fd, folder_mode)
        return True

    left: list[str] = []

    def on_entry(dir_fd: int, name: str, parts: tuple[str, ...], seen: os.stat_result) -> None:
        fd = safetree.open_entry(dir_fd, name, seen) if safetree.is_single_file(seen) else None
        if fd is None:
            left.append("/".join(parts))
            return
        try:
            if safetree.is_single_file(os.fstat(fd)):
                give(fd, file_mode)
            else:
                left.append("/".join(parts))
        finally:
            os.close(fd)

    try:
        top = safetree.open_folder(top_path)
    except OSError as err:
        raise InstallError(f"{top_path}: cannot open it without following links: "
                           f"{err.strerror}") from err  # fmt: skip
    try:
        problems = safetree.walk(top, on_folder, on_entry)
    except safetree.TreeChangedError as err:
        raise InstallError(f"{top_path}: {err}: run again") from err
    finally:
        os.close(top)
    return left + [str(problem) for problem in problems]


def _share_state(plan: Plan, state: Path, report: Report) -> None:
    """What a restore (as root) put in the state folder goes back to the services: the
    attachments the console writes (2770 folders, 0660 files: the group's, no one else's).
    The console's user owns that tree and may change it while root walks it: the walk never
    follows a link at any level (`_give_tree`); what is neither a folder nor a file of one
    name, or cannot be opened, is left as it is and named (one odd entry must not stop an
    upgrade: 21d M3, L6)."""
    attachments = state / "attachments"
    if not os.path.lexists(attachments):
        return
    _refuse_planted(attachments)
    if not attachments.is_dir():
        return
    left = _give_tree(plan, attachments, (f"{GROUP}-console", GROUP), 0o2770, 0o660)
    if left:
        shown = "; ".join(left[:5]) + ("; ..." if len(left) > 5 else "")
        report.done.append(
            f"{attachments}: {len(left)} entries not given to the services (not a folder or "
            f"a file of one name, or not opened without following a link): {shown}"
        )


def _install_keys(plan: Plan, etc: Path, report: Report) -> None:
    """The alerts key (channel secrets are sealed with it): alerts and the console each read
    it, and each insists on a file only it can read (0600), so each has its own copy."""
    key = etc / "alerts.key"
    if not key.exists():
        write_key_file(key)
        report.done.append(f"{key} written (the alerts key)")
    copy = etc / "console-alerts.key"
    if not copy.exists():
        shutil.copyfile(key, copy)
        report.done.append(f"{copy} written (the console's copy of the alerts key)")
    for path, service in ((key, "alerts"), (copy, "console")):
        _share(path, f"{GROUP}-{service}", 0o600, plan, owner=f"{GROUP}-{service}")


def _install_sites(plan: Plan, folder: Path, report: Report) -> list[Path]:
    """The site files checked, then copied; on an upgrade with none given, those there."""
    for path in plan.site_files:
        try:
            load_site(path)
        except (ConfigError, OSError) as err:
            raise InstallError(f"site file {path}: {err}") from err
    for path in plan.site_files:
        target = folder / path.name
        shutil.copyfile(path, target)
        _share(target, GROUP, 0o640, plan)
        report.done.append(f"{target} installed")
    installed = sorted(folder.glob("*.y*ml"))
    for path in installed:
        _share(path, GROUP, 0o640, plan)
    if not installed:
        raise InstallError("no site file: give the site register with --site-file")
    return installed


def _grants(names: list[str], sites: list[Path]) -> list[GatewayGrant]:
    """The gateways' accounts, each checked against the installed registers: a site no site
    file is for, or a gateway no equipment of its site names, is a typo (the real Pi would
    get no account, and ingest refuses readings of a gateway the register does not name)."""
    named: dict[str, set[str]] = {}
    for path in sites:
        spec = load_site(path)
        named.setdefault(spec.site, set()).update(
            eq.gateway for eq in spec.equipment if eq.gateway is not None
        )
    grants = []
    for name in names:
        site, sep, gateway = name.partition("/")
        if not sep or not site or not gateway:
            raise InstallError(f"--gateway must be site/gateway-id, not {name!r}")
        refusal = gateway_id_refusal(gateway)  # the rule of the gateway's config (review 21e L1)
        if refusal is not None:
            raise InstallError(f"--gateway {name}: {refusal}")
        if site not in named:
            raise InstallError(
                f"--gateway {name}: no installed site file is for site {site!r} "
                f"(sites: {', '.join(sorted(named))})"
            )
        if gateway not in named[site]:
            raise InstallError(
                f"--gateway {name}: no equipment of site {site} names gateway {gateway!r} "
                f"(its register names: {', '.join(sorted(named[site])) or 'none'}); set "
                f"`gateway: {gateway}` on the equipment it reports in the site file first"
            )
        grants.append(GatewayGrant(site=site, gateway=gateway))
    return grants


def _kept_database(plan: Plan, etc: Path) -> None:
    """On a re-run (the upgrade) the database is the one the kept configs name: a `--db`
    that differs is refused (the configs are kept, so it would be migrated and never used)."""
    from bldgwatch.backup import BackupError, configured

    if not etc.is_dir():
        return
    try:
        kept = configured(etc).db_url
    except BackupError as err:
        raise InstallError(str(err)) from err
    if kept is None:
        return
    if plan.db_url is not None and plan.db_url != kept:
        raise InstallError(
            f"the installed configs in {etc} use the database {_shown(kept)}, not --db "
            f"{_shown(plan.db_url)}: run again without --db (or change database.url in "
            "every config first)"
        )
    if plan.db_url is None and kept.startswith("sqlite:///"):
        _bldgwatch_database(plan, etc, Path(kept.removeprefix("sqlite:///")))
    plan.db_url = kept


def _bldgwatch_database(plan: Plan, etc: Path, db: Path) -> None:
    """A SQLite file the kept configs name outside the state folder, with no --db naming it,
    is migrated only when it is already a bldgwatch database (the upgrade of an install made
    with --db elsewhere): never created, and never another file (review 21c H1: a config
    restored from an archive named /etc/ld.so.preload; root migrated it and gave it to the
    services' group)."""
    state = plan.path("/var/lib/bldgwatch").resolve()
    if db.is_absolute() and db.parent.resolve().is_relative_to(state):
        return
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            ours = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        ours = None
    if not ours or not db.is_file():
        raise InstallError(
            f"the installed configs in {etc} name the SQLite database {db}, outside the state "
            f"folder {state}, and it is not a bldgwatch database: install creates or migrates a "
            "file elsewhere only when --db names it (a config restored from an archive must "
            f"not choose what root changes). If it is yours: run again with --db sqlite:///{db}"
        )


def _loopback_links(plan: Plan, etc: Path, report: Report) -> None:
    """A first install without --public-url: say where the links will point."""
    if plan.public_url is not None or (etc / "alerts.yaml").exists():
        return
    host, port = _host_port(plan.listen or LISTEN, "--listen")
    report.next_steps.append(
        f"links in notices and reports point at http://{host}:{port}"
        + (" (loopback: no phone can open them)" if _loopback(host) else "")
        + f": give --public-url on the first install, or edit console_url in "
        f"{etc / 'alerts.yaml'} and reports.console_url in {etc / 'maintenance.yaml'}"
    )


def _trusted_proxies(plan: Plan, listen_host: str) -> list[str]:
    """What the console believes X-Forwarded-For from: --trusted-proxy, or loopback's."""
    if plan.trusted_proxies is not None:
        return plan.trusted_proxies
    return LOOPBACK_PROXIES if _loopback(listen_host) else []


def _check_proxies(given: list[str]) -> None:
    """Refuse a trusted proxy the console would refuse (`proxy_problem`, one rule for both)."""
    for item in given:
        problem = proxy_problem(item)
        if problem is not None:
            raise InstallError(f"--trusted-proxy {item}: {problem}")


def _kept_options(plan: Plan, etc: Path, report: Report) -> None:
    """On a re-run the configs are kept: an option given that differs from them would be
    silently ignored, so it is refused, naming the installed value and the file to edit.
    On a first install without --public-url, says where the links will point."""
    _loopback_links(plan, etc, report)

    def doc(name: str) -> dict[str, Any]:
        path = etc / name
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, yaml.YAMLError) as err:
            raise InstallError(f"cannot read the installed {path}: {err}") from err
        return loaded if isinstance(loaded, dict) else {}

    def section(d: dict[str, Any], key: str) -> dict[str, Any]:
        value = d.get(key)
        return value if isinstance(value, dict) else {}

    console, alerts = doc("console.yaml"), doc("alerts.yaml")
    checks: list[tuple[str, str | None, Any, str, str]] = []
    if console:
        http, mqtt, influx = (
            section(console, "http"),
            section(console, "mqtt"),
            section(console, "influx"),
        )
        kept_proxies = http.get("trusted_proxies")
        given_proxies = plan.trusted_proxies
        if given_proxies is not None and sorted(given_proxies) != sorted(kept_proxies or []):
            raise InstallError(
                f"--trusted-proxy {' '.join(given_proxies)} differs from the installed "
                f"http.trusted_proxies {kept_proxies} in {etc / 'console.yaml'}: the configs "
                "are kept on a re-run, so edit http.trusted_proxies there (then restart the "
                "console), or run again without --trusted-proxy"
            )
        if plan.listen is not None:
            _host_port(plan.listen, "--listen")
        if plan.broker is not None:
            _host_port(plan.broker, "--broker")
        checks += [
            ("--listen", plan.listen, f"{http.get('host')}:{http.get('port')}", "console.yaml",
             "http.host and http.port"),
            ("--broker", plan.broker, f"{mqtt.get('host')}:{mqtt.get('port')}", "console.yaml",
             "mqtt.host and mqtt.port in every config"),
            ("--influx-url", plan.influx_url, influx.get("url"), "console.yaml",
             "influx.url in every config"),
        ]  # fmt: skip
    if alerts:
        checks.append(
            ("--public-url", plan.public_url, alerts.get("console_url"), "alerts.yaml",
             f"console_url there and reports.console_url in {etc / 'maintenance.yaml'}")
        )  # fmt: skip
    for option, given, kept, name, what in checks:
        if given is None or kept is None or given.rstrip("/") == str(kept).rstrip("/"):
            continue
        raise InstallError(
            f"{option} {given} differs from the installed {kept} in {etc / name}: the configs "
            f"are kept on a re-run, so edit {what} (then restart the services), or run again "
            f"without {option}"
        )


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _migrate(plan: Plan, report: Report) -> None:
    """Bring the schema to this version before a service of it starts."""
    from bldgwatch.core.db import make_engine
    from bldgwatch.core.errors import StartError
    from bldgwatch.migrations import migrate

    url = plan.database
    if url.startswith("sqlite:///"):  # root creates or opens it: never through a planted link
        db = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", ".migrate-lock"):
            path = db.with_name(db.name + suffix)
            if path.is_symlink() or path.exists():
                _refuse_planted(path)
    engine = make_engine(DatabaseSettings(url=url))
    try:
        migrate(engine)
    except StartError as err:
        raise InstallError(str(err)) from err
    finally:
        engine.dispose()
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        # every service of the group writes the file, its journal and the migration lock
        for suffix in ("", "-wal", "-shm", ".migrate-lock"):
            path = db.with_name(db.name + suffix)
            if path.exists():
                _share(path, GROUP, 0o660, plan)
    report.done.append(f"database schema of {_shown(url)} migrated to this version")
