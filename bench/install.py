"""Install footprint: what a Pi's gateway install weighs against the server install.

Builds the wheel, installs `bldgwatch[gateway]` and `bldgwatch[server]` into fresh virtualenvs,
measures each one's site-packages, then runs the lean install's `bldgwatch gateway` against a
simulated pump (also from the lean install) on a local Mosquitto and reads its resident memory.

Last line: gateway_install_mb=… server_install_mb=… ratio=… (gateway / server) gateway_rss_mb=…
Run from the repository root: `.venv/bin/python bench/install.py` (`--quick`: 20 s of polling).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p).resolve() != Path(__file__).resolve().parent]

import yaml  # noqa: E402 - after the path fix above

from bldgwatch.servers import free_port, start_mosquitto  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _check(cmd: list[str], **kw: object) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")


def build_wheel(out: Path) -> Path:
    _check([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)])
    return next(out.glob("bldgwatch-*.whl"))


def venv_with(where: Path, wheel: Path, extra: str) -> Path:
    _check([sys.executable, "-m", "venv", str(where)])
    python = str(where / "bin" / "python")
    _check(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[{extra}]"]
    )
    return where / "bin"


def site_packages_mb(venv: Path) -> float:
    """Size of everything installed, less pip and setuptools (the venv's own tools)."""
    (site,) = venv.glob("lib/python*/site-packages")
    skip = ("pip", "setuptools", "_distutils_hack", "pkg_resources")
    total = sum(
        f.stat().st_size
        for f in site.rglob("*")
        if f.is_file() and not f.relative_to(site).parts[0].startswith(skip)
    )
    return total / 1e6


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def gateway_rss(bin_dir: Path, folder: Path, seconds: float) -> float:
    """Peak RSS of the lean install's gateway polling one simulated pump every 0.5 s."""
    broker = start_mosquitto(folder / "mosquitto")
    port = free_port()
    mqtt = {"host": "127.0.0.1", "port": broker.port}
    device = {"equipment": "P-01", "profile": "pump-generic", "host": "127.0.0.1", "port": port}
    sim = {"site": "bench", "mqtt": mqtt, "devices": [{**device, "kind": "pump"}]}
    gw = {
        "site": "bench",
        "gateway_id": "gw-bench",
        "mqtt": mqtt,
        "queue": {"path": str(folder / "queue.sqlite")},
        "devices": [{**device, "building": "B1", "poll_interval_s": 0.5}],
    }
    (folder / "sim.yaml").write_text(yaml.safe_dump(sim))
    (folder / "gw.yaml").write_text(yaml.safe_dump(gw))
    procs = [
        subprocess.Popen([str(bin_dir / "bldgwatch"), cmd, "--config", str(folder / f)], cwd=folder)
        for cmd, f in (("simulate", "sim.yaml"), ("gateway", "gw.yaml"))
    ]
    peak = 0.0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(1)  # sampling an external process's memory once a second
            peak = max(peak, rss_mb(procs[1].pid))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        broker.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="poll for 20 s instead of 60 s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bw-install-") as tmp:
        folder = Path(tmp)
        wheel = build_wheel(folder / "wheel")
        lean = venv_with(folder / "venv-gateway", wheel, "gateway")
        full = venv_with(folder / "venv-server", wheel, "server")
        lean_mb = site_packages_mb(lean.parent)
        full_mb = site_packages_mb(full.parent)
        rss = gateway_rss(lean, folder, 20 if args.quick else 60)
    print(
        f"gateway_install_mb={lean_mb:.1f} server_install_mb={full_mb:.1f} "
        f"ratio={lean_mb / full_mb:.2f} gateway_rss_mb={rss:.1f}"
    )


if __name__ == "__main__":
    main()
