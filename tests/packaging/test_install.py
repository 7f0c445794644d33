"""Installed, not only editable: the wheel in fresh virtualenvs outside the checkout.

- `bldgwatch[gateway]` (a Pi's install) has no server library, and its `bldgwatch gateway`
  polls a simulator (also from that install) and publishes to the test broker.
- `bldgwatch[server]` runs `bldgwatch demo --duration 60` from a folder of its own: the
  profiles, packs, migrations, server configs and console assets all come from the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
import yaml

from bldgwatch.core import topics
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.servers import Server, free_port
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVER_DISTS = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psycopg-binary",
    "fastapi",
    "starlette",
    "uvicorn",
    "apscheduler",
    "numpy",
    "scipy",
    "influxdb-client",
    "httpx",
    "h11",
    "pyjwt",
    "argon2-cffi",
}

# typer 0.22+ pulls these in; the base install uses typer-slim. Found by the hostile review
# of issue 11 (13.5 MB of the 33 MB lean install).
NOT_FOR_THE_PI = {"rich", "pygments", "markdown-it-py", "mdurl"}

pytestmark = [pytest.mark.slow, pytest.mark.services]


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload,no-any-return]


def make_venv(where: Path, wheel: Path, extra: str) -> Path:
    """A fresh virtualenv with `wheel[extra]` installed; its bin folder."""
    done = _run([sys.executable, "-m", "venv", str(where)])
    assert done.returncode == 0, done.stderr
    pip = [
        str(where / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    done = _run([*pip, f"{wheel}[{extra}]"])
    assert done.returncode == 0, done.stderr[-3000:]
    return where / "bin"


def installed(bin_dir: Path) -> set[str]:
    """Distribution names installed in a venv (lower case)."""
    out = _run([str(bin_dir / "python"), "-m", "pip", "list", "--format=json"])
    return {d["name"].lower() for d in orjson.loads(out.stdout)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from the checkout."""
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)])
    assert done.returncode == 0, done.stderr[-3000:]
    (found,) = out.glob("bldgwatch-*.whl")
    return found


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert ROOT not in folder.parents
    return folder


class Readings:
    """Readings batches arriving on the broker for one site and gateway."""

    def __init__(self, mqtt: MqttSettings, site: str, gateway: str) -> None:
        self.batches: list[int] = []
        self.client = MqttClient(mqtt, client_id=f"collector-{os.getpid()}")
        self.client.subscribe(topics.readings(site, gateway), self._on, qos=1)
        self.client.start()
        assert self.client.wait_subscribed(10)

    def _on(self, msg: paho.MQTTMessage) -> None:
        self.batches.append(len(decode_batch(msg.payload).batch.readings))

    def close(self) -> None:
        self.client.stop()


def _sim_and_gateway_configs(folder: Path, mqtt_port: int) -> tuple[Path, Path]:
    port = free_port()
    sim = {
        "site": "lean",
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "devices": [
            {
                "equipment": "P-01",
                "kind": "pump",
                "profile": "pump-generic",
                "host": "127.0.0.1",
                "port": port,
                "params": {"rated_current_a": 30.0},
            }
        ],
    }
    gw = {
        "site": "lean",
        "gateway_id": "gw-lean",
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "queue": {"path": str(folder / "queue.sqlite")},
        "metrics": {"enabled": False},
        "devices": [
            {
                "equipment": "P-01",
                "building": "B1",
                "profile": "pump-generic",
                "host": "127.0.0.1",
                "port": port,
                "poll_interval_s": 0.5,
            }
        ],
    }
    paths = folder / "sim.yaml", folder / "gateway.yaml"
    for path, doc in zip(paths, (sim, gw), strict=True):
        path.write_text(yaml.safe_dump(doc))
    return paths


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.long(seconds=30)
def test_gateway_extra_is_lean_and_runs_the_gateway(
    wheel: Path,
    tmp_path: Path,
    elsewhere: Path,
    mosquitto: Server,
    procs: list[subprocess.Popen[bytes]],
) -> None:
    bin_dir = make_venv(tmp_path / "venv-gw", wheel, "gateway")
    dists = installed(bin_dir)
    assert "bldgwatch" in dists
    assert dists & SERVER_DISTS == set(), "the gateway install pulled in server libraries"
    assert dists & NOT_FOR_THE_PI == set(), "the gateway install pulled in Rich or Pygments"
    sim_cfg, gw_cfg = _sim_and_gateway_configs(elsewhere, mosquitto.port)
    mqtt = MqttSettings(host="127.0.0.1", port=mosquitto.port)
    readings = Readings(mqtt, "lean", "gw-lean")
    try:
        for args in (["simulate", "--config", str(sim_cfg)], ["gateway", "--config", str(gw_cfg)]):
            log = (elsewhere / f"{args[0]}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [str(bin_dir / "bldgwatch"), *args], cwd=elsewhere, stdout=log, stderr=log
                )
            )
        wait_for(lambda: sum(readings.batches) >= 50, timeout=60, what="lean gateway's readings")
        gateway = procs[1]
        assert gateway.poll() is None, (elsewhere / "gateway.log").read_text()
        print(f"gateway_rss_mb={rss_mb(gateway.pid):.1f}")  # noqa: T201 - recorded in docs
    finally:
        readings.close()


def test_the_wheel_carries_the_built_web_application(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    web = [n for n in names if n.startswith("bldgwatch/console/web/")]
    assert "bldgwatch/console/web/dist/index.html" in web, "run `make web` before the build"
    assert any(n.startswith("bldgwatch/console/web/dist/assets/") for n in web)
    for vendored in ("swagger-ui/swagger-ui-bundle.js", "redoc/redoc.standalone.js"):
        assert f"bldgwatch/console/web/dist/vendor/{vendored}" in web
    # the build's output only: never the sources, node_modules or the generated OpenAPI file
    assert all(n.startswith("bldgwatch/console/web/dist/") for n in web), web[:5]


@pytest.mark.long(seconds=120)
def test_the_wheel_runs_the_demo_from_another_folder(
    wheel: Path, tmp_path: Path, elsewhere: Path
) -> None:
    """`bldgwatch demo --duration 60` from the installed wheel, in a folder of its own:
    non-interactive, exits 0, and its summary shows the whole chain (readings stored, an
    alarm raised, a work order opened on P-01). The one minute-long demo run of the suite."""
    bin_dir = make_venv(tmp_path / "venv-server", wheel, "server")
    started = time.monotonic()
    demo = subprocess.Popen(
        [str(bin_dir / "bldgwatch"), "demo", "--duration", "60", "--http-port", str(free_port())],
        cwd=elsewhere,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = demo.communicate(timeout=240)
    finally:
        if demo.poll() is None:  # timed out: the demo stops its servers and components on
            demo.terminate()  # SIGTERM (they run in sessions of their own, out of reach)
            try:
                demo.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.communicate()
    done = subprocess.CompletedProcess(demo.args, demo.returncode, out, err)
    logs = "".join(
        f"\n--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
        for p in sorted((elsewhere / "var" / "logs").glob("*.log"))
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + logs
    assert time.monotonic() - started >= 60
    assert "bldgwatch demo is running" in done.stdout
    summary = done.stdout[done.stdout.index("bldgwatch demo summary") :]
    rows = (line.split(":", 1) for line in summary.splitlines()[1:4])
    figures = {k.strip(): int(v) for k, v in rows}
    assert figures["readings stored in InfluxDB"] > 500, summary
    assert figures["alarms raised"] >= 1, summary
    assert figures["work orders opened"] >= 1, summary
    assert "P-01" in summary  # the pump whose bearing the demo wears out
    assert (elsewhere / "var" / "bldgwatch.db").is_file()
    assert not (ROOT / "var").exists() or (ROOT / "var").stat().st_mtime < started
