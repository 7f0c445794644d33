"""Login storm: the console's memory and `/healthz` latency under many concurrent bad logins.

Starts InfluxDB and `bldgwatch console` (dev mode, SQLite) as child processes. Measures the
console's idle RSS and the p99 latency of `/healthz` at rest (the reference, same run), then
sends N concurrent `POST /api/auth/token` with random user names and wrong passwords (each
costs a full argon2id check: unknown names are verified against a dummy hash) while probing
`/healthz` again. The per-address login limit is raised for the run (as if the attack came
from many addresses), so the hashing bound is what is measured.

Last line: bad_logins=… hash_concurrency=… hash_queue=… unauthorized=… busy=… throttled=…
rss_idle_mb=… rss_peak_mb=… healthz_p99_idle_ms=… healthz_p99_storm_ms=… ratio=storm/idle
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml

from bldgwatch.servers import free_port, start_influxd

HASH_CONCURRENCY = 1
HASH_QUEUE = 32


def start_console(
    tmp: Path, influx_url: str, hashes: int, queue: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = {
        "http": {"host": "127.0.0.1", "port": port},
        "database": {"url": f"sqlite:///{tmp / 'bench.db'}"},
        "influx": {"api": "v1", "url": influx_url, "database": "bench"},
        "security": {
            "hash_concurrency": hashes,
            "hash_queue": queue,
            "address_attempts": 10_000,
        },
        "dev": True,
    }
    path = tmp / "console.yaml"
    path.write_text(yaml.safe_dump(config))
    log = (tmp / "console.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bldgwatch.cli", "console", "--config", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        time.sleep(0.2)  # waiting for a child process to listen
    proc.kill()
    tail = (tmp / "console.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"console did not become healthy:\n{tail}")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (VmRSS now, VmHWM the peak), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def probe(http: httpx.AsyncClient, stop: asyncio.Event, gap_s: float) -> list[float]:
    """`/healthz` latencies (ms), one request after another until `stop` (a failed or
    unhealthy answer counts as the time it took)."""
    times = []
    while not stop.is_set():
        start = time.perf_counter()
        with contextlib.suppress(httpx.HTTPError):
            await http.get("/healthz")
        times.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(gap_s)
    return times


async def storm(base: str, logins: int, pid: int, gap_s: float) -> dict[str, float]:
    limits = httpx.Limits(max_connections=logins + 10, max_keepalive_connections=logins + 10)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        stop = asyncio.Event()
        idle_task = asyncio.create_task(probe(http, stop, gap_s))
        await asyncio.sleep(3)
        stop.set()
        idle = await idle_task
        rss_idle = rss_mb(pid)

        async def bad_login() -> int:
            form = {"username": secrets.token_hex(8), "password": secrets.token_hex(12)}
            try:
                return (await http.post("/api/auth/token", data=form)).status_code
            except httpx.HTTPError:
                return 0  # counted under `other`

        stop = asyncio.Event()
        busy_task = asyncio.create_task(probe(http, stop, gap_s))
        statuses = Counter(await asyncio.gather(*(bad_login() for _ in range(logins))))
        stop.set()
        during = await busy_task
    return {
        "unauthorized": statuses.get(401, 0),
        "busy": statuses.get(503, 0),
        "throttled": statuses.get(429, 0),
        "other": sum(n for s, n in statuses.items() if s not in (401, 429, 503)),
        "rss_idle_mb": rss_idle,
        "rss_peak_mb": rss_mb(pid, "VmHWM"),
        "healthz_p99_idle_ms": p99(idle),
        "healthz_p99_storm_ms": p99(during),
        "probes": len(during),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=200, help="Concurrent bad logins.")
    parser.add_argument("--quick", action="store_true", help="A shorter run.")
    parser.add_argument("--hash-concurrency", type=int, default=HASH_CONCURRENCY)
    parser.add_argument("--hash-queue", type=int, default=HASH_QUEUE)
    args = parser.parse_args()
    gap_s = 0.02 if not args.quick else 0.05
    with tempfile.TemporaryDirectory(prefix="bw-login-storm-") as folder:
        tmp = Path(folder)
        influx = start_influxd(tmp / "influxdb")
        proc, base = start_console(tmp, influx.extra["url"], args.hash_concurrency, args.hash_queue)
        try:
            figures = asyncio.run(storm(base, args.logins, proc.pid, gap_s))
        finally:
            proc.terminate()
            proc.wait(20)
            influx.stop()
    print(
        f"console login storm: {args.logins} concurrent bad logins, argon2id at most "
        f"{args.hash_concurrency} at once and {args.hash_queue} waiting; {figures['probes']} "
        "/healthz "
        f"probes during the storm; pid {os.getpid()}"
    )
    ratio = figures["healthz_p99_storm_ms"] / max(figures["healthz_p99_idle_ms"], 0.001)
    print(
        f"bad_logins={args.logins} hash_concurrency={args.hash_concurrency} "
        f"hash_queue={args.hash_queue} "
        f"unauthorized={figures['unauthorized']} busy={figures['busy']} "
        f"throttled={figures['throttled']} other={figures['other']} "
        f"rss_idle_mb={figures['rss_idle_mb']:.0f} rss_peak_mb={figures['rss_peak_mb']:.0f} "
        f"healthz_p99_idle_ms={figures['healthz_p99_idle_ms']:.1f} "
        f"healthz_p99_storm_ms={figures['healthz_p99_storm_ms']:.1f} ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    main()
