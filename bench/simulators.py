"""Simulator scale: the portfolio scenario (1,080 Modbus devices, one TCP server per building,
all in one `bldgwatch simulate` process whose models step every second) under gateway-like
load from concurrent pymodbus clients, against an idle single-device simulator measured the
same way in the same run.

Two phases per target: *paced* (one client per building polls each of its devices' register
blocks every POLL_S seconds, as gateways do; a read is late when it takes longer than the
DEADLINE_S poll timeout or fails) and *saturated* (CLIENTS clients read back to back).

Last line: devices=… paced_rps=… p50_ms=… p99_ms=… late=… max_rps=… ref_p99_ms=…
ref_max_rps=… ratio=… (ratio = saturated throughput of the portfolio / of the reference)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

# Run as `python bench/simulators.py`, this file's folder comes first on sys.path and its name
# would shadow the `simulators` package: drop the folder before importing the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from bldgwatch.core.profiles import Table, load_profiles  # noqa: E402
from bldgwatch.servers import free_port, start_mosquitto  # noqa: E402
from bldgwatch.simulators.modbus_server import table_sizes  # noqa: E402
from bldgwatch.simulators.scenario import expand, load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORTFOLIO = ROOT / "simulators" / "scenarios" / "portfolio.yaml"
BLDGWATCH = Path(sys.executable).with_name("bldgwatch")
POLL_S = 5.0
DEADLINE_S = 1.0
CLIENTS = 16


@dataclass(frozen=True)
class Read:
    """One block read a gateway makes: a table of one unit on one port."""

    port: int
    unit: int
    table: Table
    count: int


@dataclass
class Stats:
    """Latencies (s) of completed reads and the count of late or failed ones."""

    latencies: list[float] = field(default_factory=list)
    late: int = 0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def free_port_range(count: int) -> int:
    """A base port with `count` consecutive free ports after it."""
    for base in range(21000, 60000, 97):
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no free port range")


def portfolio_files(tmp: Path, mqtt_port: int) -> tuple[Path, list[Read]]:
    """The portfolio scenario on free ports, without faults, and every block read of it."""
    data = yaml.safe_load(PORTFOLIO.read_text())
    scn = load_scenario(PORTFOLIO)
    data.update(
        base_port=free_port_range(len({a.building for a in expand(scn)})),
        mqtt={"host": "127.0.0.1", "port": mqtt_port},
        life_days=0,
        random_faults=None,
    )
    path = tmp / "portfolio.yaml"
    path.write_text(yaml.safe_dump(data))
    scn = load_scenario(path)
    profiles = load_profiles()
    reads = []
    for asset in expand(scn):
        profile = profiles[scn.classes[asset.asset_class].profile or ""]
        for table, size in table_sizes(profile).items():
            reads.append(Read(asset.port, asset.unit, table, size))
    return path, reads


def reference_files(tmp: Path, mqtt_port: int, like: list[Read]) -> tuple[Path, list[Read]]:
    """One pump on one port, read as often as the portfolio's reads."""
    port = free_port()
    cfg = {
        "site": "ref",
        "step_s": 1.0,
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "devices": [{"equipment": "P-1", "kind": "pump", "profile": "pump-generic", "port": port}],
    }
    path = tmp / "reference.yaml"
    path.write_text(yaml.safe_dump(cfg))
    ports = sorted({r.port for r in like})
    per_port = len(like) // len(ports)
    reads = [Read(port, 1, Table.INPUT, 14) for _ in ports for _ in range(per_port)]
    return path, reads


async def timed(client: AsyncModbusTcpClient, read: Read, stats: Stats) -> None:
    call = {
        Table.HOLDING: client.read_holding_registers,
        Table.INPUT: client.read_input_registers,
        Table.DISCRETE: client.read_discrete_inputs,
        Table.COIL: client.read_coils,
    }[read.table]
    t0 = time.perf_counter()
    try:
        response = await call(0, count=read.count, device_id=read.unit)
    except ModbusException:
        stats.late += 1
        return
    took = time.perf_counter() - t0
    if response.isError() or took > DEADLINE_S:
        stats.late += 1
    stats.latencies.append(took)


async def connected(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=DEADLINE_S, retries=0)
    if not await client.connect():
        raise RuntimeError(f"cannot connect to {port}")
    return client


async def paced(reads: list[Read], seconds: float) -> tuple[Stats, float]:
    """One client per port polls its reads every POLL_S; the stats and requests per second."""
    stats = Stats()
    by_port: dict[int, list[Read]] = {}
    for read in reads:
        by_port.setdefault(read.port, []).append(read)
    end = time.perf_counter() + seconds

    async def gateway(port: int, mine: list[Read], offset: float) -> None:
        client = await connected(port)
        await asyncio.sleep(offset)
        try:
            while time.perf_counter() < end:
                cycle = time.perf_counter()
                for read in mine:
                    await timed(client, read, stats)
                await asyncio.sleep(max(0.0, POLL_S - (time.perf_counter() - cycle)))
        finally:
            client.close()

    t0 = time.perf_counter()
    spread = POLL_S / len(by_port)
    await asyncio.gather(
        *(gateway(port, mine, i * spread) for i, (port, mine) in enumerate(by_port.items()))
    )
    return stats, (len(stats.latencies) + stats.late) / (time.perf_counter() - t0)


async def saturated(reads: list[Read], seconds: float) -> tuple[Stats, float]:
    """CLIENTS clients read back to back; the stats and requests per second."""
    stats = Stats()
    end = time.perf_counter() + seconds

    async def hammer(mine: list[Read]) -> None:
        clients = {port: await connected(port) for port in {r.port for r in mine}}
        try:
            while time.perf_counter() < end:
                for read in mine:
                    await timed(clients[read.port], read, stats)
        finally:
            for client in clients.values():
                client.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(hammer(reads[i::CLIENTS]) for i in range(CLIENTS)))
    return stats, (len(stats.latencies) + stats.late) / (time.perf_counter() - t0)


def start_simulator(args: list[str], ports: set[int], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BLDGWATCH), "simulate", *args, "--log-level", "WARNING"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    waiting = set(ports)
    while waiting:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"simulator did not start: {log.read_text()[-2000:]}")
        for port in list(waiting):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                waiting.discard(port)
        time.sleep(0.2)
    return proc


def stop_simulator(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def measure(
    args: list[str], reads: list[Read], log: Path, paced_s: float, sat_s: float
) -> tuple[Stats, float, Stats, float]:
    proc = start_simulator(args, {r.port for r in reads}, log)
    try:
        slow, slow_rps = asyncio.run(paced(reads, paced_s))
        fast, fast_rps = asyncio.run(saturated(reads, sat_s))
    finally:
        stop_simulator(proc)
    return slow, slow_rps, fast, fast_rps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    opts = parser.parse_args()
    paced_s, sat_s = (12.0, 5.0) if opts.quick else (40.0, 15.0)
    with tempfile.TemporaryDirectory(prefix="bw-bench-sim-") as tmpdir:
        tmp = Path(tmpdir)
        broker = start_mosquitto(tmp / "mosquitto")
        try:
            scenario, reads = portfolio_files(tmp, broker.port)
            reference, ref_reads = reference_files(tmp, broker.port, reads)
            devices = len({(r.port, r.unit) for r in reads})
            print(f"portfolio: {devices} devices on {len({r.port for r in reads})} servers")
            pf = measure(["--scenario", str(scenario)], reads, tmp / "pf.log", paced_s, sat_s)
            ref = measure(["--config", str(reference)], ref_reads, tmp / "ref.log", paced_s, sat_s)
        finally:
            broker.stop()
    for name, (a, a_rps, b, b_rps) in (("portfolio", pf), ("reference", ref)):
        mean_ms = statistics.fmean(b.latencies or [0.0]) * 1000
        print(
            f"{name}: paced {a_rps:.0f} req/s p50 {a.pct(0.5):.1f} ms p99 {a.pct(0.99):.1f} ms "
            f"max {a.pct(1.0):.1f} ms late {a.late}; saturated {b_rps:.0f} req/s "
            f"p99 {b.pct(0.99):.1f} ms mean {mean_ms:.1f} ms late {b.late}"
        )
    slow, slow_rps, _fast, fast_rps = pf
    ref_slow, _ref_slow_rps, _ref_fast, ref_fast_rps = ref
    print(
        f"devices={devices} paced_rps={slow_rps:.0f} p50_ms={slow.pct(0.5):.1f} "
        f"p99_ms={slow.pct(0.99):.1f} late={slow.late} max_rps={fast_rps:.0f} "
        f"ref_p99_ms={ref_slow.pct(0.99):.1f} ref_max_rps={ref_fast_rps:.0f} "
        f"ratio={fast_rps / ref_fast_rps:.2f}"
    )


if __name__ == "__main__":
    main()
