"""Helpers for tests that run `bldgwatch ingest` as real processes and count what arrives."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import yaml

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import TimeSeriesStore

ROOT = Path(__file__).resolve().parents[2]
SITE, GW = "seqsite", "gw-seq"
TOPIC = topics.readings(SITE, GW)
EQUIPMENT = {"P-01": EquipmentInfo("pump", "B1")}
PUMPS = {f"P-{n:02d}": EquipmentInfo("pump", "B1") for n in range(1, 11)}


class IngestProcess:
    """One `python -m bldgwatch.cli ingest` child with its own YAML config and log file."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        self.config = config
        self.path = folder / f"{config['instance']}.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.log = folder / f"{config['instance']}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again, with the same instance id and so the same persistent session)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bldgwatch.cli", "ingest", "--config", str(self.path)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no flush, no acks, no clean disconnect."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode

    def rss_kib(self) -> int:
        """Resident set size from /proc (KiB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def ingest_config(
    mqtt: MqttSettings, influx: InfluxSettings, *, instance: str, group: str, **over: Any
) -> dict[str, Any]:
    """A config document for an ingest child."""
    doc: dict[str, Any] = {
        "instance": instance,
        "group": group,
        "mqtt": {"host": mqtt.host, "port": mqtt.port},
        "influx": {"url": influx.url, "database": influx.database},
        "flush_interval_s": 0.2,
        "status_interval_s": 0.5,
        "register_required": False,  # these tests are about delivery, not ownership
    }
    doc.update(over)
    return doc


def now_ms() -> int:
    """Now in whole seconds, as epoch ms."""
    return to_epoch_ms(SystemClock().now()) // 1000 * 1000


def seq_batch(seq: int, t0: int, per_batch: int, pumps: int = 1) -> bytes:
    """Batch `seq`: `per_batch` readings of point `seq`, each of them stored on its own.

    The readings go round `pumps` pumps (P-01, P-02, …) 1 ms apart on each, so a batch
    spans `per_batch / pumps` ms of time.
    """
    span = -(-per_batch // pumps)
    base = t0 + seq * span
    readings = [
        Reading(f"P-{k % pumps + 1:02d}", "seq", base + k // pumps, float(seq), Quality.GOOD)
        for k in range(per_batch)
    ]
    equipment = (
        EQUIPMENT
        if pumps == 1
        else {f"P-{n:02d}": PUMPS[f"P-{n:02d}"] for n in range(1, pumps + 1)}
    )
    return encode_batch(ReadingBatch(SITE, GW, seq, equipment, readings, sent_ms=base))


class SeqPublisher:
    """Publishes batches 0..n-1 at QoS 1 from a thread, at most `rate` batches per second."""

    def __init__(
        self,
        mqtt: MqttSettings,
        *,
        n: int,
        per_batch: int,
        rate: float,
        behind_s: float = 60,
        pumps: int = 1,
    ) -> None:
        self.n, self.per_batch, self.rate, self.pumps = n, per_batch, rate, pumps
        self.t0 = now_ms() - int(behind_s * 1000)
        self.sent = 0
        self.client = MqttClient(mqtt, client_id=f"t-seqpub-{uuid.uuid4().hex[:8]}")
        self._thread = threading.Thread(target=self._run, name="seq-publisher", daemon=True)
        self._stop = threading.Event()

    def start(self) -> None:
        self.client.start()
        assert self.client.wait_connected(10)
        self._thread.start()

    def _run(self) -> None:
        begin = time.monotonic()
        for seq in range(self.n):
            if self._stop.is_set():
                return
            info = self.client.publish(
                TOPIC, seq_batch(seq, self.t0, self.per_batch, self.pumps), qos=1
            )
            info.wait_for_publish(30)  # PUBACK: the broker has it
            self.sent = seq + 1
            ahead = begin + (seq + 1) / self.rate - time.monotonic()
            if ahead > 0:
                self._stop.wait(ahead)  # pacing the load, not waiting for a state

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "publisher did not finish"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(30)
        with contextlib.suppress(Exception):
            self.client.stop()


def stored_count(store: TimeSeriesStore) -> int:
    """Readings of the `seq` point stored (each distinct timestamp once)."""
    rows = store.query("SELECT count(seq) FROM pump WHERE gateway='gw-seq'")
    return int(rows[0]["count"]) if rows else 0


def stored_seqs(store: TimeSeriesStore) -> dict[int, int]:
    """seq → how many of its readings are stored."""
    rows = store.query("SELECT seq FROM pump WHERE gateway='gw-seq'")
    out: dict[int, int] = {}
    for row in rows:
        out[int(row["seq"])] = out.get(int(row["seq"]), 0) + 1
    return out


@contextlib.contextmanager
def watch_status(mqtt: MqttSettings, instances: list[str]) -> Iterator[dict[str, dict[str, Any]]]:
    """Follow the retained status of some ingest instances: instance → last document."""
    seen: dict[str, dict[str, Any]] = {}
    watcher = MqttClient(mqtt, client_id=f"t-status-{uuid.uuid4().hex[:8]}")
    for instance in instances:

        def keep(msg: paho.MQTTMessage, instance: str = instance) -> None:
            seen[instance] = orjson.loads(msg.payload)

        watcher.subscribe(topics.service_status("ingest", instance), keep)
    watcher.start()
    assert watcher.wait_connected(10)
    try:
        yield seen
    finally:
        watcher.stop()
