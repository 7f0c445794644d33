"""Gateway cost and freshness: CPU seconds per 10,000 readings, peak RSS and reading age at
the broker of the `bldgwatch gateway` process polling a building of simulated devices
(pumps, elevators, shaft panels: the project's profiles, registers encoded as the simulators
do, one pymodbus TCP server, one unit per device) and publishing to a real Mosquitto.

Two loads: the demo's (3 devices polled every second) and a building of 39 devices polled
every 0.5 s (~1,000 readings/s). At each, the gateway runs twice, alternating: with
`queue.flush_deadline_s` off (the batching of before issue 22: a batch leaves when full or
every `flush_interval_s`) as the reference, and with the deadline (default: the config's).
Reading age at the broker = arrival at a subscriber in this process − the reading's poll
time. Reference for the cost, same run: a bare poller (pymodbus client reading the same
blocks at the same rate; no decoding, queue or MQTT), i.e. the Modbus floor any gateway pays.
Targets: <= 60 MB peak RSS, < 10 % of one core at 1,000 readings/s (= 1.0 CPU s / 10k),
age p99 <= 100 ms with the deadline at both loads, CPU per reading within 10 % of the
reference's (cpu_ratio <= 1.10).

Per load and mode: load=… mode=… readings_per_s=… cpu_s_per_10k=… age_p50_ms=… age_p99_ms=…
Last line: readings_per_s=… cpu_s_per_10k=… cpu_pct_of_core=… peak_rss_mb=…
bare_cpu_s_per_10k=… ratio=… (gateway / bare CPU per reading, 39 devices, deadline on)
age_p99_ms=… ref_age_p99_ms=… demo_age_p99_ms=… demo_ref_age_p99_ms=… cpu_ratio=…
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import yaml
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from bldgwatch.core import topics
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.profiles import BIT_TABLES, DeviceProfile, Table, load_profiles
from bldgwatch.core.registers import DataType, encode
from bldgwatch.gateway.config import QueueSettings
from bldgwatch.servers import free_port, start_mosquitto

MIX = ("pump-generic", "elevator-generic", "shaft-panel-generic")
TICKS = os.sysconf("SC_CLK_TCK")

BARE_POLLER = """
import asyncio, sys, json
from pymodbus.client import AsyncModbusTcpClient
port, interval, plan = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
async def device(unit, blocks):
    c = AsyncModbusTcpClient("127.0.0.1", port=port)
    await c.connect()
    loop = asyncio.get_running_loop(); due = loop.time()
    fns = {"coil": c.read_coils, "discrete": c.read_discrete_inputs,
           "holding": c.read_holding_registers, "input": c.read_input_registers}
    while True:
        for table, address, count in blocks:
            await fns[table](address, count=count, device_id=unit)
        due += interval
        await asyncio.sleep(max(0.0, due - loop.time()))
async def main():
    await asyncio.gather(*(device(int(u), b) for u, b in plan.items()))
asyncio.run(main())
"""


def build_image(profile: DeviceProfile) -> dict[Table, list[int]]:
    """Every table of a profile from address 0: bools off, status words 0, numbers 1.5
    (scaled and encoded in the point's own order, as the simulators do)."""
    image: dict[Table, list[int]] = {}
    for spec in profile.points:
        if spec.type in (DataType.BOOL, DataType.BITFIELD, DataType.STRING):
            words = [0] * spec.width
        else:
            raw = (1.5 - spec.offset) / spec.scale
            words = encode(raw, spec.type, profile.order_of(spec))
        cells = image.setdefault(spec.table, [])
        cells.extend([0] * (spec.address + len(words) - len(cells)))
        cells[spec.address : spec.address + len(words)] = words
    return image


def sim_device(unit: int, profile: DeviceProfile) -> SimDevice:
    image = build_image(profile)
    blocks = []
    for table in (Table.COIL, Table.DISCRETE, Table.HOLDING, Table.INPUT):
        words = image.get(table)
        if table in BIT_TABLES:
            bits = [bool(b) for b in (words or [])] + [False] * 16
            blocks.append(
                [SimData(0, values=bits[: max(16, len(words or []))], datatype=SimType.BITS)]
            )
        else:
            blocks.append([SimData(0, values=words or [0], datatype=SimType.REGISTERS)])
    coils, discrete, holding, inputs = blocks
    return SimDevice(id=unit, simdata=(coils, discrete, holding, inputs))


def serve(devices: list[SimDevice], port: int) -> None:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def start() -> None:
        server = ModbusTcpServer(devices, address=("127.0.0.1", port))
        await server.serve_forever(background=True)

    asyncio.run_coroutine_threadsafe(start(), loop).result(10)


def serve_forever(units: dict[int, str], port: int) -> None:
    profiles = load_profiles()
    serve([sim_device(u, profiles[p]) for u, p in units.items()], port)
    threading.Event().wait()


def cpu_and_rss(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS (MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return cpu, hwm


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f"bldgwatch_gateway_{name}{{")
    )


class AgeProbe:
    """Subscribes to the gateway's readings; records each reading's age on arrival (ms)."""

    def __init__(self, mqtt_port: int) -> None:
        self.ages: list[float] = []
        self.waits: list[float] = []  # poll -> batch sent (the gateway's share)
        self.recording = False
        self._client = MqttClient(
            MqttSettings(port=mqtt_port), client_id=f"bench-age-{os.getpid()}"
        )
        self._client.subscribe(topics.readings("bench", "gw-bench"), self._on_batch, qos=0)
        self._client.start()
        assert self._client.wait_subscribed(10)

    def _on_batch(self, msg: paho.MQTTMessage) -> None:
        now_ms = time.time() * 1000
        if self.recording:
            batch = decode_batch(msg.payload).batch
            self.ages.extend(now_ms - r.ts_ms for r in batch.readings)
            self.waits.extend(batch.sent_ms - r.ts_ms for r in batch.readings)

    def stop(self) -> None:
        self._client.stop()


@dataclass
class Run:
    """One gateway run: readings sent, CPU seconds, wall seconds, peak RSS, ages."""

    readings: float
    cpu: float
    wall: float
    rss: float
    ages: list[float]
    waits: list[float]

    @property
    def per_10k(self) -> float:
        return self.cpu / self.readings * 10_000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def describe(run: Run) -> str:
    return (
        f"readings_per_s={run.readings / run.wall:.0f} cpu_s_per_10k={run.per_10k:.3f} "
        f"age_p50_ms={pct(run.ages, 0.5):.1f} age_p99_ms={pct(run.ages, 0.99):.1f} "
        f"wait_p50_ms={pct(run.waits, 0.5):.1f} wait_p99_ms={pct(run.waits, 0.99):.1f} "
        f"ages={len(run.ages)}"
    )


def measure_gateway(
    work: Path,
    *,
    modbus_port: int,
    mqtt_port: int,
    units: dict[int, str],
    interval: float,
    seconds: float,
    deadline_s: float,
) -> Run:
    metrics_port = free_port()
    cfg = {
        "site": "bench",
        "gateway_id": "gw-bench",
        "mqtt": {"port": mqtt_port},
        "queue": {"path": str(work / f"q-{metrics_port}.sqlite"), "flush_deadline_s": deadline_s},
        "metrics": {"port": metrics_port},
        "devices": [
            {
                "equipment": f"D-{u:03d}",
                "building": "B1",
                "profile": p,
                "host": "127.0.0.1",
                "port": modbus_port,
                "unit": u,
                "poll_interval_s": interval,
            }
            for u, p in units.items()
        ],
    }
    (work / "gw.yaml").write_text(yaml.safe_dump(cfg))
    probe = AgeProbe(mqtt_port)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "bldgwatch"),
            "gateway",
            "--config",
            str(work / "gw.yaml"),
            "--log-level",
            "WARNING",
        ],
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if metric(metrics_port, "readings_sent_total") > 0:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)  # readiness polling of a child process
        time.sleep(3)  # warm-up: connections made, first batches out
        cpu0, _ = cpu_and_rss(proc.pid)
        sent0, t0 = metric(metrics_port, "readings_sent_total"), time.monotonic()
        probe.recording = True
        time.sleep(seconds)
        probe.recording = False
        cpu1, rss = cpu_and_rss(proc.pid)
        sent1, t1 = metric(metrics_port, "readings_sent_total"), time.monotonic()
    finally:
        proc.terminate()
        proc.wait(30)
        probe.stop()
    return Run(sent1 - sent0, cpu1 - cpu0, t1 - t0, rss, probe.ages, probe.waits)


def measure_bare(
    modbus_port: int,
    units: dict[int, str],
    interval: float,
    seconds: float,
    profiles: dict[str, DeviceProfile],
) -> float:
    import json

    from bldgwatch.gateway.planner import plan_profile

    plan = {
        str(u): [[b.table.value, b.address, b.count] for b in plan_profile(profiles[p]).blocks]
        for u, p in units.items()
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_POLLER, str(modbus_port), str(interval), json.dumps(plan)]
    )
    try:
        time.sleep(3)
        cpu0, _ = cpu_and_rss(proc.pid)
        time.sleep(seconds)
        cpu1, _ = cpu_and_rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return cpu1 - cpu0


def main() -> None:
    # Run as a script, this file's folder is sys.path[0] and its name would shadow the
    # `gateway` package: look in the repository root instead.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path[0] = str(Path(__file__).resolve().parents[1])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--devices", type=int, default=39, help="devices in the building")
    parser.add_argument("--interval", type=float, default=0.5, help="poll interval, seconds")
    parser.add_argument(
        "--deadline",
        type=float,
        default=QueueSettings().flush_deadline_s,
        help="queue.flush_deadline_s of the measured gateway (the reference runs with 0)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="reference/deadline pairs per load")
    parser.add_argument("--seconds", type=float, help="window per run (default 60, quick 15)")
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    profiles = load_profiles()
    units = {u: MIX[(u - 1) % len(MIX)] for u in range(1, args.devices + 1)}
    demo_units = {u: MIX[(u - 1) % len(MIX)] for u in range(1, 4)}
    per_poll = sum(len(s.point_names()) for u, p in units.items() for s in profiles[p].points)
    print(f"devices={len(units)} points={per_poll} expected_per_s={per_poll / args.interval:.0f}")
    modbus_port = free_port()
    # The devices answer from a process of their own: in this one they would share the GIL
    # with the age probe's decoding and their answers would age the readings.
    devices = multiprocessing.get_context("fork").Process(
        target=serve_forever, args=(units, modbus_port), daemon=True
    )
    devices.start()
    loads = {"demo": (demo_units, 1.0), "building": (units, args.interval)}
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        work = Path(tmp)
        broker = start_mosquitto(work / "broker")
        try:
            for load, (load_units, interval) in loads.items():
                for _ in range(args.rounds):
                    for mode, deadline_s in (("reference", 0.0), ("deadline", args.deadline)):
                        run = measure_gateway(
                            work,
                            modbus_port=modbus_port,
                            mqtt_port=broker.port,
                            units=load_units,
                            interval=interval,
                            seconds=seconds,
                            deadline_s=deadline_s,
                        )
                        results.setdefault((load, mode), []).append(run)
                        print(f"load={load} mode={mode} {describe(run)}", flush=True)
        finally:
            broker.stop()
    bare_cpu = measure_bare(modbus_port, units, args.interval, seconds, profiles)

    def total(load: str, mode: str) -> Run:
        runs = results[(load, mode)]
        return Run(
            sum(r.readings for r in runs),
            sum(r.cpu for r in runs),
            sum(r.wall for r in runs),
            max(r.rss for r in runs),
            [a for r in runs for a in r.ages],
            [a for r in runs for a in r.waits],
        )

    new, ref = total("building", "deadline"), total("building", "reference")
    demo_new, demo_ref = total("demo", "deadline"), total("demo", "reference")
    bare_readings = new.readings / len(results[("building", "deadline")])  # same blocks, rate
    bare_per_10k = bare_cpu / bare_readings * 10_000
    print(
        f"window_s={new.wall:.1f} readings={new.readings:.0f} gateway_cpu_s={new.cpu:.2f} "
        f"ref_cpu_s={ref.cpu:.2f} bare_cpu_s={bare_cpu:.2f} "
        f"demo_cpu_s_per_10k={demo_new.per_10k:.3f} demo_ref_cpu_s_per_10k={demo_ref.per_10k:.3f}"
    )
    print(
        f"readings_per_s={new.readings / new.wall:.0f} cpu_s_per_10k={new.per_10k:.3f} "
        f"cpu_pct_of_core={100 * new.cpu / new.wall:.1f} peak_rss_mb={new.rss:.1f} "
        f"bare_cpu_s_per_10k={bare_per_10k:.3f} ratio={new.per_10k / bare_per_10k:.2f} "
        f"deadline_s={args.deadline} age_p50_ms={pct(new.ages, 0.5):.1f} "
        f"age_p99_ms={pct(new.ages, 0.99):.1f} ref_age_p50_ms={pct(ref.ages, 0.5):.1f} "
        f"ref_age_p99_ms={pct(ref.ages, 0.99):.1f} demo_age_p99_ms={pct(demo_new.ages, 0.99):.1f} "
        f"demo_ref_age_p99_ms={pct(demo_ref.ages, 0.99):.1f} "
        f"cpu_ratio={new.per_10k / ref.per_10k:.2f}"
    )


if __name__ == "__main__":
    main()
