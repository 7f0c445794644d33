"""`bldgwatch install` lays the server side out in a folder (as it would on /): configs each
service alone can read, secrets made once, the broker's accounts, the template unit that
systemd-analyze accepts, the schema migrated; run again (the upgrade) it keeps every config
and secret. Then each service is started as systemd starts it — the unit's ExecStart, its
EnvironmentFile, NOTIFY_SOCKET and WATCHDOG_USEC — and must say READY once it works, ping the
watchdog while it runs, and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.broker_auth import ensure_broker_auth
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import load_yaml, parse_config
from bldgwatch.demo_setup import SITE_SPEC
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.install import SERVICES, InstallError, _check_proxies
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.rules.config import RulesConfig
from bldgwatch.servers import Server, broker_home, free_port, start_mosquitto

BLDGWATCH = Path(sys.executable).parent / "bldgwatch"
MODELS = {
    "ingest": IngestConfig,
    "rules": RulesConfig,
    "maintenance": MaintenanceConfig,
    "alerts": AlertsConfig,
    "console": ConsoleConfig,
}


def _install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BLDGWATCH), "install", "--root", str(root), "--no-users", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site-demo.yaml"
    path.write_text(yaml.safe_dump(SITE_SPEC, allow_unicode=True), encoding="utf-8")
    return path


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_install_lays_out_the_server_and_an_upgrade_keeps_it(
    tmp_path: Path, site_file: Path
) -> None:
    root = tmp_path / "root"
    done = _install(root, "--site-file", str(site_file))
    assert done.returncode == 0, done.stderr
    assert "systemctl enable --now bldgwatch@ingest" in done.stdout
    etc = root / "etc" / "bldgwatch"
    assert _mode(etc) == 0o750 and _mode(root / "var" / "lib" / "bldgwatch") == 0o3770
    for service, model in MODELS.items():
        path = etc / f"{service}.yaml"
        assert _mode(path) == 0o640  # its group alone (bldgwatch-<service>) reads it
        cfg = parse_config(load_yaml(path), model, source=str(path))
        assert cfg.mqtt.username == service and cfg.mqtt.password  # type: ignore[attr-defined]
    secret = (etc / "console.env").read_text()
    assert secret.startswith("BLDGWATCH_SECRET=") and len(secret) > 80
    assert _mode(etc / "console.env") == 0o600  # systemd reads it (EnvironmentFile)
    key = (etc / "alerts.key").read_bytes()
    assert (etc / "console-alerts.key").read_bytes() == key  # the console's own copy
    assert _mode(etc / "alerts.key") == _mode(etc / "console-alerts.key") == 0o600
    creds = root / "etc" / "mosquitto" / "bldgwatch"
    assert {p.name for p in creds.iterdir()} >= {"credentials.yaml", "passwd", "acl"}
    db = root / "var" / "lib" / "bldgwatch" / "bldgwatch.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    unit = (root / "etc" / "systemd" / "system" / "bldgwatch@.service").read_text()
    assert f"ExecStart={BLDGWATCH} %i --config {etc}/%i.yaml" in unit
    _verify_unit(unit, tmp_path)

    before = {p.name: p.read_bytes() for p in etc.iterdir() if p.is_file()}
    # the upgrade; a new gateway account, for a gateway the register now names
    spec = yaml.safe_load(site_file.read_text())
    spec["equipment"][-1]["gateway"] = "gw-2"
    site_file.write_text(yaml.safe_dump(spec, allow_unicode=True))
    again = _install(root, "--site-file", str(site_file), "--gateway", "demo/gw-2")
    assert again.returncode == 0, again.stderr
    assert "rules.yaml kept" in again.stdout and "migrated to this version" in again.stdout
    assert {p.name: p.read_bytes() for p in etc.iterdir() if p.is_file()} == before
    assert "demo/gw-2" in yaml.safe_load((creds / "credentials.yaml").read_text())
    # review 21c M5: each gateway reads its site's sensors (a sensor a push adds included)
    assert "user demo/gw-2\ntopic read sensors/demo/#\n" in (creds / "acl").read_text()
    key = etc / "gateway-keys" / "demo" / "gw-2.key"  # the console signs gw-2's configs with it
    assert _mode(key) == 0o600 and len(key.read_text().strip()) >= 32
    assert "fleet.key_file" in again.stdout


def _verify_unit(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is not installed")
        pytest.skip("systemd-analyze is not installed")
    folder = tmp_path / "units"
    folder.mkdir()
    paths = []
    for service in SERVICES:  # each instance as systemd would load it
        path = folder / f"bldgwatch@{service}.service"
        path.write_text(unit.replace(str(BLDGWATCH), "/bin/true"))
        paths.append(str(path))
    done = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "no site file"),
        (("--site-file", "/nonexistent.yaml"), "site file /nonexistent.yaml"),
        (("--broker", "nohost"), "--broker must be host:port"),
        (("--gateway", "no-slash"), "--gateway must be site/gateway-id"),
        # review 21b L6: checked against the installed site files
        (("--gateway", "nosuch-site/gw-1"), "no installed site file is for site 'nosuch-site'"),
        (("--gateway", "demo/GW_typo"), "no equipment of site demo names gateway 'GW_typo'"),
    ],
)
def test_install_refuses_what_it_cannot_do(
    tmp_path: Path, site_file: Path, args: tuple[str, ...], said: str
) -> None:
    extra = ("--site-file", str(site_file)) if args and args[0] != "--site-file" else ()
    done = _install(tmp_path / "root", *extra, *args)
    assert done.returncode == 2 and said in done.stderr, done.stderr


# -- started as systemd starts them -----------------------------------------------------------


@pytest.fixture
def installed(tmp_path: Path, site_file: Path, influxd: Server) -> Iterator[tuple[Path, int]]:
    """An installation in a folder and a Mosquitto that holds its accounts: (root, port)."""
    root = tmp_path / "root"
    port = free_port()
    done = _install(
        root, "--site-file", str(site_file), "--broker", f"127.0.0.1:{port}",
        "--influx-url", influxd.extra["url"], "--listen", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    home = broker_home(tmp_path / "mosquitto")
    shutil.copyfile(root / "etc/mosquitto/bldgwatch/credentials.yaml", home / "credentials.yaml")
    broker = start_mosquitto(tmp_path / "mosquitto", port=port, auth=ensure_broker_auth(home, []))
    try:
        yield root, port
    finally:
        broker.discard()


def _exec_start(root: Path, service: str) -> list[str]:
    unit = (root / "etc" / "systemd" / "system" / "bldgwatch@.service").read_text()
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart=").replace("%i", service))


def _environment(root: Path, service: str, sock: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLDGWATCH_")}
    env_file = root / "etc" / "bldgwatch" / f"{service}.env"
    if env_file.exists():  # EnvironmentFile=-/etc/bldgwatch/%i.env
        key, _, value = env_file.read_text().strip().partition("=")
        env[key] = value
    env.update(NOTIFY_SOCKET=str(sock), WATCHDOG_USEC="2000000")
    return env


class Listener:
    """The notify socket systemd would hold for one service, read as systemd reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.seen += self.sock.recv(4096).decode().splitlines()
            except TimeoutError:
                continue

    def wait(self, message: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if message in self.seen:
                return True
            time.sleep(0.05)
        return message in self.seen

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.mark.services
@pytest.mark.long(seconds=20)
def test_each_service_started_as_systemd_does_is_ready_pings_and_stops(
    installed: tuple[Path, int], tmp_path: Path
) -> None:
    root, _port = installed
    with ExitStack() as stack:
        started: dict[str, tuple[subprocess.Popen[bytes], Listener]] = {}
        for service in SERVICES:
            listener = Listener(tmp_path / f"{service}.notify")
            stack.callback(listener.close)
            log = stack.enter_context((tmp_path / f"{service}.log").open("wb"))
            proc = subprocess.Popen(
                _exec_start(root, service),
                env=_environment(root, service, listener.path),
                cwd=root / "var" / "lib" / "bldgwatch",
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(proc.kill)
            started[service] = (proc, listener)

        def log(service: str) -> str:
            return (tmp_path / f"{service}.log").read_text(errors="replace")[-2000:]

        for service, (proc, listener) in started.items():
            assert listener.wait("READY=1", 90), f"{service}: {proc.poll()} {log(service)}"
            assert listener.wait("WATCHDOG=1", 5), service
        for proc, _listener in started.values():
            proc.send_signal(signal.SIGTERM)
        for service, (proc, listener) in started.items():
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                code = None
            assert code == 0, f"{service} ended with {code}: {log(service)}"
            assert listener.wait("STOPPING=1", 5), service


def test_an_upgrade_migrates_the_database_the_kept_configs_name(
    tmp_path: Path, site_file: Path
) -> None:
    root = tmp_path / "root"
    other = tmp_path / "other.db"
    first = _install(root, "--site-file", str(site_file), "--db", f"sqlite:///{other}")
    assert first.returncode == 0, first.stderr
    engine = create_engine(f"sqlite:///{other}")
    upgrade = _install(root)  # README: the same command again, without --db
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"database schema of sqlite:///{other} migrated" in upgrade.stdout
    assert not (root / "var" / "lib" / "bldgwatch" / "bldgwatch.db").exists()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    moved = _install(root, "--db", f"sqlite:///{tmp_path / 'third.db'}")
    assert moved.returncode == 2 and "run again without --db" in moved.stderr
    assert not (tmp_path / "third.db").exists()


def test_the_readmes_sample_site_file_is_one_install_accepts(tmp_path: Path) -> None:
    """README step 3 names it; install checks the site file first (it refused the
    maintenance config the README named before)."""
    sample = Path(__file__).parents[2] / "deploy" / "site" / "sample-site.yaml"
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "deploy/site/sample-site.yaml" in readme
    done = _install(tmp_path / "root", "--site-file", str(sample), "--gateway", "my-site/gw-1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "root" / "etc" / "bldgwatch" / "sites" / "sample-site.yaml").exists()


@pytest.mark.parametrize(
    ("listen", "trusted"),
    [
        (None, ["127.0.0.1/32", "::1/128"]),
        ("127.0.0.1:8081", ["127.0.0.1/32", "::1/128"]),
        ("0.0.0.0:8080", []),
    ],
    ids=["default", "loopback", "all-interfaces"],
)
def test_a_console_on_loopback_believes_the_proxy_in_front_of_it(
    tmp_path: Path, site_file: Path, listen: str | None, trusted: list[str]
) -> None:
    """Review 21b H5: behind the documented reverse proxy every request comes from loopback;
    unless the console trusts it, 30 wrong passwords from anyone lock every user out."""
    root = tmp_path / "root"
    extra = ["--listen", listen] if listen else []
    done = _install(root, "--site-file", str(site_file), *extra)
    assert done.returncode == 0, done.stderr
    path = root / "etc" / "bldgwatch" / "console.yaml"
    cfg = parse_config(load_yaml(path), ConsoleConfig, source=str(path))
    assert cfg.http.trusted_proxies == trusted


def test_the_proxy_in_front_of_a_console_on_every_interface_is_named_by_trusted_proxy(
    tmp_path: Path, site_file: Path
) -> None:
    """Review 21c M4: a console listening on every interface (the compose file's) trusted no
    proxy, so behind the TLS proxy every client was one address to the login limits. The
    proxy's address (compose: the bridge network's gateway) is given with --trusted-proxy;
    a bad one is refused naming it."""
    root = tmp_path / "root"
    bad = _install(root, "--site-file", str(site_file), "--trusted-proxy", "proxy.lan")
    assert bad.returncode == 2 and "--trusted-proxy proxy.lan" in bad.stderr, bad.stderr
    args = ["--listen", "0.0.0.0:8080", "--trusted-proxy", "172.30.80.1"]
    done = _install(root, "--site-file", str(site_file), *args)
    assert done.returncode == 0, done.stderr
    path = root / "etc" / "bldgwatch" / "console.yaml"
    cfg = parse_config(load_yaml(path), ConsoleConfig, source=str(path))
    assert cfg.http.trusted_proxies == ["172.30.80.1"]
    again = _install(root, "--site-file", str(site_file), "--trusted-proxy", "10.0.0.1")
    assert again.returncode == 2 and "http.trusted_proxies" in again.stderr, again.stderr


@pytest.mark.long(seconds=20)
def test_a_rerun_refuses_options_that_differ_from_the_kept_configs(
    tmp_path: Path, site_file: Path
) -> None:
    """Review 21b M6: `install` again with another --public-url, --listen, --broker or
    --influx-url answered 'kept' and changed nothing. Now each is refused (rc 2) naming the
    option, the installed value and the file to edit; the same values (or none) pass; the
    first install without --public-url says its links point at loopback."""
    root = tmp_path / "root"
    first = _install(root, "--site-file", str(site_file), "--broker", "127.0.0.1:1884")
    assert first.returncode == 0, first.stderr
    alerts = root / "etc" / "bldgwatch" / "alerts.yaml"
    assert "point at http://127.0.0.1:8080 (loopback" in first.stdout
    # review 21b L3: the broker config's path as installed (a server has only the wheel)
    cp = next(line for line in first.stdout.splitlines() if "point Mosquitto" in line)
    conf = Path(cp.split("cp ", 1)[1].split()[0])
    assert conf.name == "production.conf" and "password_file" in conf.read_text()
    assert f"{root / 'etc/mosquitto/conf.d'}/" in cp
    assert f"edit console_url in {alerts}" in first.stdout
    console = alerts.with_name("console.yaml")
    cases = [
        ("--public-url", "https://bw.example.com", "http://127.0.0.1:8080", alerts),
        ("--listen", "0.0.0.0:9999", "127.0.0.1:8080", console),
        ("--broker", "10.0.0.5:1883", "127.0.0.1:1884", console),
        ("--influx-url", "http://db:8086", "http://127.0.0.1:8086", console),
    ]  # fmt: skip
    for option, value, installed, path in cases:
        done = _install(root, option, value)
        assert done.returncode == 2, (option, done.stdout)
        assert f"{option} {value} differs from the installed {installed} in {path}" in (
            done.stderr
        ), done.stderr
    assert "console_url: http://127.0.0.1:8080" in alerts.read_text()
    same = _install(root, "--broker", "127.0.0.1:1884", "--listen", "127.0.0.1:8080",
                    "--public-url", "http://127.0.0.1:8080/")  # fmt: skip
    assert same.returncode == 0, same.stderr
    assert "point at" not in same.stdout  # said on the first install only


def test_a_relative_root_is_laid_out_with_absolute_paths(tmp_path: Path, site_file: Path) -> None:
    """Review 21c L1: `--root croot` wrote a unit systemd refuses (WorkingDirectory= not
    absolute) and configs with a relative SQLite URL, and said rc 0. The root is made
    absolute first."""
    done = subprocess.run(
        [str(BLDGWATCH), "install", "--root", "croot", "--no-users", "--site-file", str(site_file)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    root = tmp_path / "croot"
    unit = (root / "etc" / "systemd" / "system" / "bldgwatch@.service").read_text()
    assert f"WorkingDirectory={root}/" in unit, unit
    path = root / "etc" / "bldgwatch" / "rules.yaml"
    url = parse_config(load_yaml(path), RulesConfig, source=str(path)).database.url
    assert url == f"sqlite:///{root}/var/lib/bldgwatch/bldgwatch.db"


def test_the_help_shows_every_options_default() -> None:
    """Review 21c L6: "--influx-url  InfluxDB 1.x URL ." — the `[default: …]` written in the
    help was taken for markup and dropped, leaving a space before the period."""
    done = subprocess.run(
        [str(BLDGWATCH), "install", "--help"], capture_output=True, text=True, timeout=60,
        check=False, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert " ." not in done.stdout, done.stdout
    for default in ("http://127.0.0.1:8086", "127.0.0.1:1883", "127.0.0.1:8080"):
        assert default in done.stdout, default


def test_a_gateway_is_retired_or_given_new_credentials(tmp_path: Path, site_file: Path) -> None:
    """Review 21c L2: a stolen or replaced Pi could not be revoked: `install` kept every
    account and never replaced a key. --retire-gateway removes its broker account (password
    file, ACL) and its fleet key; with --gateway of the same name it gets new ones."""
    root = tmp_path / "root"
    creds = root / "etc" / "mosquitto" / "bldgwatch"
    key = root / "etc" / "bldgwatch" / "gateway-keys" / "demo" / "gw-1.key"
    assert _install(root, "--site-file", str(site_file), "--gateway", "demo/gw-1").returncode == 0
    old_password = yaml.safe_load((creds / "credentials.yaml").read_text())["demo/gw-1"]
    old_key = key.read_bytes()

    rotated = _install(root, "--retire-gateway", "demo/gw-1", "--gateway", "demo/gw-1")
    assert rotated.returncode == 0, rotated.stderr
    assert yaml.safe_load((creds / "credentials.yaml").read_text())["demo/gw-1"] != old_password
    assert key.read_bytes() != old_key

    retired = _install(root, "--retire-gateway", "demo/gw-1")
    assert retired.returncode == 0, retired.stderr
    assert "demo/gw-1 retired" in retired.stdout
    assert "demo/gw-1" not in yaml.safe_load((creds / "credentials.yaml").read_text())
    assert "demo/gw-1:" not in (creds / "passwd").read_text()
    assert "user demo/gw-1\n" not in (creds / "acl").read_text()
    assert not key.exists()
    unknown = _install(root, "--retire-gateway", "demo/gw-1")
    assert unknown.returncode == 2 and "no broker account demo/gw-1" in unknown.stderr


@pytest.mark.parametrize(
    ("proxy", "said"),
    [
        ("0.0.0.0/0", "wider than /16"),
        ("::/0", "wider than /48"),
        ("10.0.0.0/8", "wider than /16"),
        ("8.8.8.8", "not a private, loopback or link-local address"),
        ("2606:4700::1111", "not a private, loopback or link-local address"),
        ("::ffff:0:0/96", "carries the IPv4 network 0.0.0.0/0: a network wider than /16"),
    ],
)
def test_a_trusted_proxy_wider_than_a_site_or_public_is_refused(
    tmp_path: Path, site_file: Path, proxy: str, said: str
) -> None:
    """Review 21d L1: `--trusted-proxy 0.0.0.0/0` (or ::/0, a public range) was written to
    http.trusted_proxies: every client then names its own address in X-Forwarded-For and
    the login limits count nothing. Now it is refused (rc 2) with the reason, nothing
    written; a private /16, loopback and link-local pass."""
    root = tmp_path / "root"
    bad = _install(root, "--site-file", str(site_file), "--trusted-proxy", proxy)
    assert bad.returncode == 2, bad.stderr
    assert f"--trusted-proxy {proxy}" in bad.stderr and said in bad.stderr, bad.stderr
    assert not (root / "etc" / "bldgwatch" / "console.yaml").exists()


def test_a_trusted_proxy_of_a_private_network_up_to_a_16_passes() -> None:
    _check_proxies(["172.30.0.0/16", "127.0.0.1", "fe80::1", "fd00:1:2::/48", "192.168.1.0/24"])


@pytest.mark.parametrize("gateway", ["alarms", "workorders", "deadletter", "config", "_mine"])
def test_install_refuses_a_reserved_gateway_id_even_one_the_register_names(
    tmp_path: Path, site_file: Path, gateway: str
) -> None:
    """Review 21e L1: an account named `alarms` wrote inside `bw/v1/+/alarms/#`, which every
    service reads as alarms; the gateway's own config refuses the name, and so does install
    (one rule: gateway.config.gateway_id_refusal)."""
    spec = yaml.safe_load(site_file.read_text())
    spec["equipment"][0]["gateway"] = gateway
    named = tmp_path / "site.yaml"
    named.write_text(yaml.safe_dump(spec))
    done = _install(tmp_path / "root", "--site-file", str(named), "--gateway", f"demo/{gateway}")
    assert done.returncode == 2 and "names another topic family" in done.stderr, done.stderr
    assert not (tmp_path / "root/etc/mosquitto/bldgwatch/passwd").exists()


@pytest.mark.parametrize(
    ("proxy", "said"),
    [
        ("::ffff:0:0/96", "carries the IPv4 network 0.0.0.0/0: a network wider than /16"),
        ("::ffff:10.0.0.0/104", "carries the IPv4 network 10.0.0.0/8: a network wider"),
        ("::ffff:8.8.8.8", "carries the IPv4 network 8.8.8.8/32: not a private"),
        ("::ffff:0:0:0/96", "carries the IPv4 network 0.0.0.0/0"),
        ("64:ff9b::/96", "carries the IPv4 network 0.0.0.0/0"),
        ("64:ff9b:1::/48", "IPv4-mapped or translated addresses"),
        ("::fffe:0:0/95", "IPv4-mapped or translated addresses"),
    ],
)
def test_an_ipv4_mapped_trusted_proxy_is_judged_by_its_ipv4_network(proxy: str, said: str) -> None:
    """Review 21f L-a: `::ffff:0:0/96` (every IPv4 client of a console on `[::]`) passed as
    a private network narrower than /48. An IPv4-mapped or translated network is judged by
    the IPv4 network it carries, by install and by the console's config alike."""
    with pytest.raises(InstallError, match=re.escape(said)):
        _check_proxies([proxy])
    with pytest.raises(ValidationError, match=re.escape(said)):
        ConsoleConfig(dev=True, http={"trusted_proxies": [proxy]})
    _check_proxies(["::ffff:172.30.80.1", "::ffff:192.168.0.0/112"])
    ok = ConsoleConfig(dev=True, http={"trusted_proxies": ["::ffff:172.30.80.1", "10.0.0.1"]})
    assert ok.http.trusted_proxies == ["::ffff:172.30.80.1", "10.0.0.1"]
