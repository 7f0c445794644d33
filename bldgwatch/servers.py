"""Start the real servers the demo and the tests use (Mosquitto, InfluxDB 1.x, PostgreSQL)
as child processes on free loopback ports, with their data in a folder of the caller's."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from bldgwatch.broker_auth import BrokerAuth

logger = logging.getLogger(__name__)

RELOCATED_PREFIX = "bldgwatch-mosquitto-"
BROKER_USER = "mosquitto"
_HOME_MARKER = ".broker-home"
"""Started as root, Mosquitto drops to this user (the Debian package creates it)."""
AUTOSAVE_INTERVAL_S = 5
"""How often the demo's and the tests' Mosquitto saves its state (deploy/mosquitto/demo.conf;
docs/architecture.md says why 5 s)."""

DEPLOY_DIR = Path(str(resources.files("bldgwatch") / "deploy"))
"""Server configs (deploy/ in the checkout, package data in an installed wheel)."""


class ServerError(RuntimeError):
    """A server binary is missing or did not come up."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports: each socket is held until all are picked (ports
    picked one at a time may repeat — the kernel can hand out a just-closed port again)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def find_binary(name: str, extra_dirs: list[Path] | None = None) -> Path | None:
    """Where a server binary lives, looking in PATH, sbin folders and `extra_dirs`."""
    found = shutil.which(
        name,
        path=os.pathsep.join(
            [os.environ.get("PATH", ""), "/usr/sbin", "/sbin", *map(str, extra_dirs or [])]
        ),
    )
    return Path(found) if found else None


def _wait(
    check: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{what} exited with code {proc.returncode} while starting")
        if check():
            return
        time.sleep(0.05)  # readiness polling of an external process, not test timing
    raise ServerError(f"{what} did not become ready within {timeout:.0f} s")


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@dataclass
class Server:
    """A running child server."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)
    remove_on_stop: Path | None = None
    auth: BrokerAuth | None = None  # Mosquitto with accounts and an ACL

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if it does not go."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout)
        if self.remove_on_stop is not None:
            shutil.rmtree(self.remove_on_stop, ignore_errors=True)

    def discard(self) -> None:
        """Stop for good; a broker home made under the system temp folder goes too."""
        self.stop()
        if self.name == "mosquitto" and self.data_dir.name.startswith(RELOCATED_PREFIX):
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL at once (for outage tests)."""
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            self.proc.wait()

    def _signal(self, sig: int) -> None:
        # Each server leads its own session; signal the group so runuser's child goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)


def _spawn(cmd: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _reachable_by_broker(folder: Path) -> bool:
    """True when the broker's user can reach `folder` (every parent searchable by others or
    its own); ACLs and group bits are not considered, so a False may be pessimistic."""
    for parent in folder.resolve().parents:
        st = parent.stat()
        if not st.st_mode & 0o001 and parent.owner() != BROKER_USER:
            return False
    return True


def broker_home(folder: Path) -> Path:
    """The folder Mosquitto keeps its files in (config, persistence, password file, ACL).

    Not as root: `folder` itself. As root, Mosquitto runs as `mosquitto`, so the folder and
    everything in it become that user's (mode 0700), or it could not save its state; when that
    user cannot even reach `folder` (a root-only parent such as pytest's temp folder), a
    folder of its own under the system temp folder, made with a name nobody can predict
    (`mkdtemp`) and remembered in `folder/.broker-home`, so a restart finds its data again.
    Nothing there is followed through a symlink: a planted link cannot hand a root file to
    the broker's user.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return folder
    _broker_user()
    home = folder if _reachable_by_broker(folder) else _relocated_home(folder)
    _hand_to_broker(home)
    return home


def _relocated_home(folder: Path) -> Path:
    marker = folder / _HOME_MARKER
    if marker.is_file():
        known = Path(marker.read_text(encoding="utf-8").strip())
        if _ours(known):
            return known
        logger.warning("%s names %s, which is not a broker home of ours: not used", marker, known)
    home = Path(tempfile.mkdtemp(prefix=RELOCATED_PREFIX))
    marker.write_text(str(home), encoding="utf-8")
    logger.info("mosquitto cannot reach %s; its files are in %s", folder, home)
    return home


def _ours(path: Path) -> bool:
    """A real directory (no link) of ours under the temp folder that only root and the
    broker's user can write."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and path.parent == Path(tempfile.gettempdir())
        and path.name.startswith(RELOCATED_PREFIX)
        and st.st_uid in (0, _broker_user().pw_uid)
        and not st.st_mode & 0o022
    )


def _broker_user() -> pwd.struct_passwd:
    """The account Mosquitto runs as when started by root (ServerError naming the package
    when there is none: Mosquitto is not installed)."""
    try:
        return pwd.getpwnam(BROKER_USER)
    except KeyError:
        raise ServerError(
            f"there is no user {BROKER_USER!r}, which Mosquitto runs as: is it installed? "
            "(`make demo` installs it; or apt-get install mosquitto)"
        ) from None


def _hand_to_broker(home: Path) -> None:
    """Make `home` and what is in it the broker user's, mode 0700, following no link."""
    user = _broker_user()
    try:
        fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as err:
        raise ServerError(f"broker home {home} is not a real directory: {err}") from err
    try:
        os.fchmod(fd, 0o700)
        os.fchown(fd, user.pw_uid, user.pw_gid)
    finally:
        os.close(fd)
    for root, dirs, files in os.walk(home):  # does not descend into linked directories
        for name in (*dirs, *files):
            os.chown(Path(root) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _security(auth: BrokerAuth | None) -> str:
    if auth is None:
        return (
            "# The tests' general-purpose broker: anonymous clients on loopback.\n"
            "allow_anonymous true"
        )
    return f"allow_anonymous false\npassword_file {auth.password_file}\nacl_file {auth.acl_file}"


def start_mosquitto(
    data_dir: Path,
    *,
    port: int | None = None,
    auth: BrokerAuth | None = None,
    autosave_interval_s: int = AUTOSAVE_INTERVAL_S,
    timeout: float = 15,
) -> Server:
    """Mosquitto with deploy/mosquitto/demo.conf on a free (or the given) port.

    With `auth` (bldgwatch.broker_auth, made in `broker_home(data_dir)`) only its accounts
    connect, each held to the ACL; without, anonymous clients may (the tests' broker).
    `autosave_interval_s`: how often it saves its state (a broker killed loses what it
    acknowledged since the last save; docs/architecture.md).
    """
    binary = find_binary("mosquitto")
    if binary is None:
        raise ServerError("mosquitto not found: apt-get install mosquitto")
    home = broker_home(data_dir)
    port = port or free_port()
    conf = home / "mosquitto.conf"
    template = (DEPLOY_DIR / "mosquitto" / "demo.conf").read_text()
    user = f"user {BROKER_USER}" if os.geteuid() == 0 else "# (not root: runs as the caller)"
    conf.write_text(
        template.format(
            port=port,
            data_dir=home,
            security=_security(auth),
            user=user,
            autosave_interval=autosave_interval_s,
        )
    )
    log_path = home / "mosquitto.log"
    proc = _spawn([str(binary), "-c", str(conf)], log_path)
    extra = {"autosave_interval_s": str(autosave_interval_s)}
    server = Server("mosquitto", proc, port, home, log_path, extra)
    if auth is not None:
        server.auth = auth
    try:
        _wait(lambda: _port_open(port), "mosquitto", proc, timeout)
    except ServerError:
        server.kill()
        raise
    return server


def restart(server: Server, *, timeout: float = 15) -> Server:
    """Start a stopped Mosquitto or InfluxDB again on the same port with the same data."""
    if server.name == "mosquitto":
        return start_mosquitto(
            server.data_dir,
            port=server.port,
            auth=server.auth,
            autosave_interval_s=int(server.extra["autosave_interval_s"]),
            timeout=timeout,
        )
    if server.name == "influxd":
        rpc = int(server.extra["rpc"].rsplit(":", 1)[1]) if "rpc" in server.extra else None
        return start_influxd(server.data_dir, port=server.port, rpc_port=rpc, timeout=timeout)
    raise ServerError(f"cannot restart {server.name}")


def start_influxd(
    data_dir: Path, *, port: int | None = None, rpc_port: int | None = None, timeout: float = 30
) -> Server:
    """InfluxDB 1.x (`influxd`) with deploy/influxdb/demo.conf on a free (or the given) port."""
    binary = find_binary("influxd")
    if binary is None:
        raise ServerError("influxd not found: apt-get install influxdb")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = data_dir / "influxdb.conf"
    template = (DEPLOY_DIR / "influxdb" / "demo.conf").read_text()
    rpc_port = rpc_port or free_port()
    conf.write_text(template.format(http_port=port, rpc_port=rpc_port, data_dir=data_dir))
    log_path = data_dir / "influxd.log"
    proc = _spawn([str(binary), "-config", str(conf)], log_path)
    server = Server("influxd", proc, port, data_dir, log_path)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    try:
        _wait(ready, "influxd", proc, timeout)
    except ServerError:
        server.kill()
        raise
    server.extra["url"] = url
    server.extra["rpc"] = f"127.0.0.1:{rpc_port}"  # backup and restore (bldgwatch.backup)
    return server
