"""The commands the compose file and the manifests give the image, run here without an engine:
the compose file's `setup` shell command (bldgwatch install into a folder, every site file
in the sites folder) and `migrate`, then each service's `bldgwatch-service` line — its
per-container changes must make a config its service accepts (a misspelt key or a bad value
would stop the service at start, exit 2) — and the image's health probe against a real HTTP
server."""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import load_config, parse_config
from bldgwatch.demo_setup import SITE_SPEC
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.rules.config import RulesConfig
from tests.deploy.test_compose import load as load_compose
from tests.deploy.test_k8s import applied, container

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODELS: dict[str, Any] = {
    "ingest": IngestConfig,
    "rules": RulesConfig,
    "maintenance": MaintenanceConfig,
    "alerts": AlertsConfig,
    "console": ConsoleConfig,
}
PG_URL = re.compile(r"postgresql\+psycopg://bldgwatch:[^@]+@postgres:5432/bldgwatch")


def _wrapper() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bldgwatch_service", ROOT / "deploy" / "container" / "service.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wrapper = _wrapper()


def _in_folder(text: str, root: Path, sites: Path, db: str) -> str:
    """A compose command with the volume paths and the database moved into this test."""
    return PG_URL.sub(db, text).replace("/srv/bldgwatch", str(root)).replace("/sites", str(sites))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compose file's setup and migrate commands, run by sh as the container would."""
    base = tmp_path_factory.mktemp("compose")
    root, sites = base / "srv", base / "sites"
    sites.mkdir()
    spec = copy.deepcopy(SITE_SPEC)
    spec["equipment"][-1]["gateway"] = "gw-2"  # a second Pi for BLDGWATCH_GATEWAYS
    (sites / "demo.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    db = f"sqlite:///{base / 'bldgwatch.db'}"
    services = load_compose()["services"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "POSTGRES_PASSWORD": "x", "BLDGWATCH_PUBLIC_URL": "https://bw.example.com",
           "BLDGWATCH_GATEWAYS": "demo/gw-1 demo/gw-2"}  # fmt: skip
    setup = services["setup"]
    assert setup["entrypoint"] == ["/bin/sh", "-c"]
    # the database URL comes by environment (review 21d L5): the service's, moved here
    url = _in_folder(setup["environment"]["BLDGWATCH_DATABASE_URL"], root, sites, db)
    assert url == db
    done = subprocess.run(
        ["/bin/sh", "-c", _in_folder(setup["command"][0], root, sites, db)],
        env={**env, "BLDGWATCH_DATABASE_URL": url},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    migrate = [_in_folder(arg, root, sites, db) for arg in services["migrate"]["command"]]
    url = _in_folder(services["migrate"]["environment"]["BLDGWATCH_DATABASE_URL"], root, sites, db)
    done = subprocess.run(
        migrate,
        env={**env, "BLDGWATCH_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return root


def test_setup_installs_every_site_and_the_broker_files(installed: Path) -> None:
    etc = installed / "etc" / "bldgwatch"
    assert [p.name for p in (etc / "sites").iterdir()] == ["demo.yaml"]
    console = load_config(etc / "console.yaml", ConsoleConfig)
    assert (console.http.host, console.http.port) == ("0.0.0.0", 8080)
    ingest = load_config(etc / "ingest.yaml", IngestConfig)
    assert (ingest.mqtt.host, ingest.mqtt.port) == ("mosquitto", 1883)
    assert ingest.influx.url == "http://influxdb:8086"
    broker = installed / "etc" / "mosquitto" / "bldgwatch"
    # broker-auth copies exactly these two into the broker's volume
    assert (broker / "passwd").is_file() and (broker / "acl").is_file()
    assert "/srv/bldgwatch/etc/mosquitto/bldgwatch/passwd" in str(
        load_compose()["services"]["broker-auth"]["command"]
    )
    # BLDGWATCH_GATEWAYS: an account for each Pi (the ACL's %u patterns cover it), a fleet key
    passwd = (broker / "passwd").read_text()
    for gateway in ("gw-1", "gw-2"):
        assert f"demo/{gateway}:" in passwd
        assert (etc / "gateway-keys" / "demo" / f"{gateway}.key").is_file()


@pytest.mark.parametrize("service", list(MODELS))
def test_each_compose_service_gets_a_config_it_accepts(
    installed: Path, service: str, tmp_path: Path
) -> None:
    svc = load_compose()["services"][service]
    environ = {**svc["environment"], "BLDGWATCH_ROOT": str(installed), "HOSTNAME": "c0ffee"}
    command, env = wrapper.prepare(svc["command"][1:], environ, tmp_path)
    assert command[:3] == ["bldgwatch", service, "--config"]
    cfg = load_config(Path(command[3]), MODELS[service])
    if "metrics_port=9100" in svc["command"]:
        assert cfg.metrics_port == 9100
        assert svc["environment"]["BLDGWATCH_HEALTH_URL"] == "http://127.0.0.1:9100/healthz"
    if service == "console":  # console.env from the volume, as systemd's EnvironmentFile
        assert len(env["BLDGWATCH_SECRET"]) >= 32


@pytest.mark.parametrize("service", list(MODELS))
def test_each_pod_gets_a_config_it_accepts(installed: Path, service: str, tmp_path: Path) -> None:
    c = container(applied(), service)
    environ = {e["name"]: e.get("value", "") for e in c["env"]}
    environ["BLDGWATCH_CONFIG"] = str(installed / "etc" / "bldgwatch" / f"{service}.yaml")
    environ["HOSTNAME"] = f"{service}-1"
    argv = [  # Kubernetes expands $(VAR) from the container's env
        re.sub(r"\$\((\w+)\)", lambda m: environ[m.group(1)], arg)
        for arg in c["command"] + c.get("args", [])
    ]
    if argv[:2] == ["/bin/sh", "-c"]:  # let the shell expand it, as in the pod
        shown = argv[2].replace("exec bldgwatch-service", "printf '%s\\n'", 1)
        done = subprocess.run(["/bin/sh", "-c", shown], env={**environ, "PATH": os.environ["PATH"]},
                              capture_output=True, text=True, check=True)  # fmt: skip
        argv = ["bldgwatch-service", *done.stdout.splitlines()]
    assert argv[0] == "bldgwatch-service"
    command, _ = wrapper.prepare(argv[1:], environ, tmp_path)
    extra = command[4:]
    doc = yaml.safe_load(Path(command[3]).read_text(encoding="utf-8"))
    if service == "rules":
        assert extra == ["--shard", "1/2"]
        doc["shard"] = extra[1]
    cfg = parse_config(doc, MODELS[service], source=command[3])
    if service in ("ingest", "rules"):
        assert cfg.instance == f"{service}-1"
    if service == "ingest":
        assert cfg.shared_subscription is True
    if service == "console":
        # review 21b L8: nothing trusted until set to the ingress controller's range (all of
        # 10.0.0.0/8 let any pod of the cluster name itself any client)
        assert cfg.http.trusted_proxies == []
        assert (cfg.http.host, cfg.http.port) == ("0.0.0.0", 8080)
    if hasattr(cfg, "metrics_port"):
        assert (cfg.metrics_port, cfg.metrics_host) == (9100, "0.0.0.0")


def test_overrides_reach_into_mappings_and_name_the_pod() -> None:
    doc: dict[str, Any] = {"instance": "x", "mqtt": {"host": "a", "port": 1}}
    out = wrapper.apply_overrides(
        doc, ["instance={pod}", "mqtt.port=1884", "new.deep=[1, 2]"], "p-0"
    )
    assert out == {"instance": "p-0", "mqtt": {"host": "a", "port": 1884}, "new": {"deep": [1, 2]}}
    assert doc["mqtt"]["port"] == 1  # the original is left alone
    assert wrapper.pod_name({"HOSTNAME": "ingest-0.ingest/x+y"}) == "ingest-0_ingest_x_y"


@pytest.mark.parametrize(
    "argv", [[], ["gateway"], ["ingest", "instance"], ["ingest", "=x"], ["ingest", "a..b=1"]]
)
def test_bad_command_lines_say_what_is_wrong(
    argv: list[str], installed: Path, tmp_path: Path
) -> None:
    with pytest.raises(wrapper.UsageError):
        wrapper.prepare(argv, {"BLDGWATCH_ROOT": str(installed)}, tmp_path)


def test_a_missing_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        wrapper.UsageError, match=r"/nowhere/etc/bldgwatch/ingest\.yaml: cannot read"
    ):
        wrapper.prepare(["ingest", "metrics_port=9100"], {"BLDGWATCH_ROOT": "/nowhere"}, tmp_path)


def test_the_changed_config_is_private(installed: Path, tmp_path: Path) -> None:
    command, _ = wrapper.prepare(
        ["alerts", "instance=a2"], {"BLDGWATCH_ROOT": str(installed)}, tmp_path
    )
    assert Path(command[3]).stat().st_mode & 0o077 == 0


def test_an_env_file_fills_only_what_is_unset(tmp_path: Path) -> None:
    etc = tmp_path / "etc" / "bldgwatch"
    etc.mkdir(parents=True)
    (etc / "console.yaml").write_text("{}\n", "utf-8")
    (etc / "console.env").write_text("# the secret\nBLDGWATCH_SECRET=abc\nOTHER=1\n\n", "utf-8")
    _, env = wrapper.prepare(["console"], {"BLDGWATCH_ROOT": str(tmp_path), "OTHER": "2"}, tmp_path)
    assert (env["BLDGWATCH_SECRET"], env["OTHER"]) == ("abc", "2")
    (etc / "console.env").write_text("not a pair\n", "utf-8")
    with pytest.raises(wrapper.UsageError, match=r"console\.env:1"):
        wrapper.prepare(["console"], {"BLDGWATCH_ROOT": str(tmp_path)}, tmp_path)


@pytest.fixture
def health_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_probe_passes_on_200_only(health_server: str) -> None:
    assert wrapper.probe(f"{health_server}/healthz") == 0
    assert wrapper.probe(f"{health_server}/down") == 1
    assert wrapper.probe("http://127.0.0.1:1/healthz") == 1  # nothing listens
    assert wrapper.probe("file:///etc/passwd") == 1
    assert wrapper.probe(None) == 0  # a role without a health endpoint


def test_the_probe_runs_as_the_image_runs_it(health_server: str) -> None:
    script = ROOT / "deploy" / "container" / "service.py"
    for path, code in (("/healthz", 0), ("/down", 1)):
        env = {**os.environ, "BLDGWATCH_HEALTH_URL": f"{health_server}{path}"}
        done = subprocess.run([sys.executable, str(script), "probe"], env=env, check=False,
                              capture_output=True, timeout=30)  # fmt: skip
        assert done.returncode == code


def test_a_changed_public_url_does_not_stop_the_next_up(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Review 21c M3: setup passed --public-url on every `up`; a re-run with another URL
    exits 2 (configs are kept), so after the operator changed BLDGWATCH_PUBLIC_URL no service
    started. The URL is now given at the first up only; .env.example says how to change it."""
    root, sites = installed, tmp_path_factory.mktemp("sites-again")
    (sites / "demo.yaml").write_text(yaml.safe_dump(SITE_SPEC, allow_unicode=True), "utf-8")
    db = f"sqlite:///{root.parent / 'bldgwatch.db'}"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "POSTGRES_PASSWORD": "x", "BLDGWATCH_PUBLIC_URL": "https://other.example.com",
           "BLDGWATCH_GATEWAYS": "demo/gw-1"}  # fmt: skip
    setup = load_compose()["services"]["setup"]
    # the database URL comes by environment (review 21d L5): the service's, moved here
    url = _in_folder(setup["environment"]["BLDGWATCH_DATABASE_URL"], root, sites, db)
    assert url == db
    done = subprocess.run(
        ["/bin/sh", "-c", _in_folder(setup["command"][0], root, sites, db)],
        env={**env, "BLDGWATCH_DATABASE_URL": url},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    alerts = load_config(root / "etc" / "bldgwatch" / "alerts.yaml", AlertsConfig)
    assert alerts.console_url == "https://bw.example.com"  # the first up's, kept
    example = (ROOT / "deploy" / "container" / ".env.example").read_text(encoding="utf-8")
    assert "first\n# `docker compose up` only" in example and "console_url" in example
