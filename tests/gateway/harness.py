"""Test harness for whole-gateway runs: in-test Modbus TCP devices, a collector on the
readings topic, the gateway as a `bldgwatch gateway --config` subprocess, queue inspection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import yaml
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from bldgwatch.core import topics
from bldgwatch.core.codec import decode_batch
from bldgwatch.core.config import MqttSettings, parse_config
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.gateway.service import Gateway
from bldgwatch.servers import free_port

BLDGWATCH = Path(sys.executable).parent / "bldgwatch"
LOAD_POINTS = 50
LOAD_PROFILE = f"""\
profile: load-{LOAD_POINTS}
equipment_type: load_test
max_block: 100
points:
""" + "".join(
    f"  - {{name: r{i:02d}, table: holding, address: {i}, type: uint16}}\n"
    for i in range(LOAD_POINTS)
)


def write_load_profile(folder: Path) -> str:
    """A profile of LOAD_POINTS uint16 holding registers (one request per poll); its id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "load.yaml").write_text(LOAD_PROFILE)
    return f"load-{LOAD_POINTS}"


class ModbusUnits:
    """A pymodbus TCP server with units 1..n holding registers 0..size-1, in its own thread."""

    def __init__(self, units: int, *, size: int = LOAD_POINTS, port: int | None = None) -> None:
        self.port = port or free_port()
        devices = [
            SimDevice(
                id=unit,
                simdata=(
                    [SimData(0, count=16, values=False, datatype=SimType.BITS)],
                    [SimData(0, count=16, values=False, datatype=SimType.BITS)],
                    [
                        SimData(
                            0,
                            values=[100 * unit + i for i in range(size)],
                            datatype=SimType.REGISTERS,
                        )
                    ],
                    [SimData(0, values=list(range(size)), datatype=SimType.REGISTERS)],
                ),
            )
            for unit in range(1, units + 1)
        ]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        holder: list[ModbusTcpServer] = []

        async def serve() -> None:
            holder.append(ModbusTcpServer(devices, address=("127.0.0.1", self.port)))
            await holder[0].serve_forever(background=True)

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self._server = holder[0]

    def close(self) -> None:
        """Stop serving and end the thread."""
        stopping = self._server.shutdown()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stopping, self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@dataclass
class Received:
    """One batch as it arrived."""

    seq: int
    keys: tuple[tuple[str, str, int], ...]
    at_ms: int


@dataclass
class Collector:
    """Every readings batch of one gateway, on a persistent QoS 1 session (survives restarts)."""

    settings: MqttSettings
    site: str
    gateway: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    batches: list[Received] = field(default_factory=list)
    status: dict[str, Any] | None = None
    values: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = MqttClient(
            self.settings,
            client_id=f"collector-{uuid.uuid4().hex[:8]}",
            clean_start=False,
            session_expiry_s=3600,
        )
        self.client.subscribe(topics.readings(self.site, self.gateway), self._on_batch)
        self.client.subscribe(topics.gateway_status(self.site, self.gateway), self._on_status)
        self.client.start()
        assert self.client.wait_connected(10)

    def _on_batch(self, msg: paho.MQTTMessage) -> None:
        batch = decode_batch(bytes(msg.payload)).batch
        keys = tuple((r.equipment, r.point, r.ts_ms) for r in batch.readings)
        with self.lock:
            self.batches.append(Received(batch.seq, keys, int(time.time() * 1000)))
            self.values.update({(r.equipment, r.point): r.value for r in batch.readings})

    def _on_status(self, msg: paho.MQTTMessage) -> None:
        with self.lock:
            self.status = orjson.loads(msg.payload) if msg.payload else None

    def by_seq(self) -> dict[int, tuple[tuple[str, str, int], ...]]:
        """Each seq once; a redelivered seq must carry exactly the same readings."""
        out: dict[int, tuple[tuple[str, str, int], ...]] = {}
        with self.lock:
            for b in self.batches:
                assert out.setdefault(b.seq, b.keys) == b.keys, f"seq {b.seq} changed"
        return out

    def key_counts(self) -> Counter[tuple[str, str, int]]:
        """How many distinct batches hold each (equipment, point, ts) — the store's view."""
        counts: Counter[tuple[str, str, int]] = Counter()
        for keys in self.by_seq().values():
            counts.update(keys)
        return counts

    def close(self) -> None:
        """Disconnect."""
        self.client.stop()


def gateway_config(
    path: Path,
    *,
    gateway: str,
    mqtt_port: int,
    devices: list[dict[str, Any]],
    profiles_dir: Path,
    **extra: Any,
) -> Path:
    """Write a gateway YAML config (site `t`) and return its path."""
    doc: dict[str, Any] = {
        "site": "t",
        "gateway_id": gateway,
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "queue": {"path": str(path.parent / f"{gateway}.sqlite"), "flush_interval_s": 0.2},
        "status_interval_s": 1.0,
        "profiles_dir": str(profiles_dir),
        "metrics": {"port": 0},
        "devices": devices,
        **extra,
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def load_devices(units: int, port: int, profile: str, interval_s: float) -> list[dict[str, Any]]:
    """One device per unit of a ModbusUnits server."""
    return [
        {
            "equipment": f"L-{u:02d}",
            "building": "B1",
            "profile": profile,
            "host": "127.0.0.1",
            "port": port,
            "unit": u,
            "poll_interval_s": interval_s,
        }
        for u in range(1, units + 1)
    ]


class GatewayProcess:
    """`bldgwatch gateway --config FILE` as a child process."""

    def __init__(self, config: Path, log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(BLDGWATCH), "gateway", "--config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait for the clean exit (it drains what it can first)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()


def queue_rows(path: Path) -> set[tuple[str, str, int]]:
    """Every reading in a queue file (sent-unacknowledged and unsent), read from outside."""
    db = sqlite3.connect(str(path), timeout=10)
    try:
        rows = db.execute("SELECT equipment, point, ts_ms FROM readings").fetchall()
    finally:
        db.close()
    return {(eq, point, int(ts)) for eq, point, ts in rows}


def queue_depth(path: Path) -> int:
    """Readings in a queue file, read from outside."""
    db = sqlite3.connect(str(path), timeout=10)
    try:
        n: int = db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    finally:
        db.close()
    return n


@contextlib.contextmanager
def running(proc: GatewayProcess) -> Iterator[GatewayProcess]:
    """Kill the process at the end whatever happened."""
    try:
        yield proc
    finally:
        if proc.proc.poll() is None:
            proc.kill()


def in_process_config(
    tmp_path: Path, mqtt: MqttSettings, gateway: str, *, site: str = "t", **rest: Any
) -> GatewayConfig:
    """A gateway of `site` run in this process (`serving`): its queue in `tmp_path`, no
    metrics port, the rest (devices, serial ports, meters …) as given."""
    doc: dict[str, Any] = {
        "site": site,
        "gateway_id": gateway,
        "mqtt": mqtt.model_dump(mode="json"),
        "queue": {"path": str(tmp_path / "q.sqlite"), "flush_interval_s": 0.2},
        "metrics": {"enabled": False},
        **rest,
    }
    return parse_config(doc, GatewayConfig)


@contextlib.contextmanager
def serving(cfg: GatewayConfig) -> Iterator[Gateway]:
    """The gateway serving in a thread of this process until the block ends."""
    gateway = Gateway(cfg)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(gateway.serve(stop)))
    thread.start()
    try:
        yield gateway
    finally:
        stop.set()
        thread.join(30)
