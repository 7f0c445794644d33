"""Ingest throughput: readings per second from MQTT to durable in InfluxDB, against the
ceiling of the same influxd taking the same lines, pre-serialised, straight over HTTP.

One run (5 M readings; --quick: 0.5 M) starts its own Mosquitto and influxd (bldgwatch.servers).
The end-to-end figure drains a backlog: every message is published first (QoS 1, into
ingest's persistent shared-subscription session), then ingest runs and the clock stops when
its last write returns (204 from /write: in InfluxDB's WAL); the readings are then counted
back by query. The ceiling posts the same lines in batches of the same size from one
connection.

CPU is counted per million readings so that the figure holds on a bigger machine: ingest's
(the bench process while ingest runs in it: `time.process_time`, every thread), and
influxd's in each phase (from /proc), the ceiling's influxd being the floor any ingest pays.

Last line: readings_per_s=… ceiling_per_s=… ratio=… lost=… cpu_s_per_m=… influxd_cpu_s_per_m=…
ceiling_influxd_cpu_s_per_m=…
"""

# ruff: noqa: E402 - the path fix below must run before the project imports
from __future__ import annotations

import sys
from pathlib import Path

# This file is bench/ingest.py: keep its folder off the path so `ingest` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import logging
import os
import random
import tempfile
import threading
import time

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import EquipmentInfo, Reading, ReadingBatch
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.ingest.lines import batch_to_lines
from bldgwatch.ingest.service import IngestService
from bldgwatch.servers import Server, start_influxd, start_mosquitto

logger = logging.getLogger("bench.ingest")

EQUIPMENT, POINTS, INSTANTS = 25, 10, 10  # 2,500 readings (250 lines) per message
BATCH_LINES = 5000
GROUP, INSTANCE = "bench", "bench-1"


def make_payloads(count: int) -> list[bytes]:
    """`count` gateway messages: 25 pumps x 10 points x 10 instants, 1 s apart."""
    rng = random.Random(5)
    equipment = {f"P-{i:02d}": EquipmentInfo("pump", f"B{i % 3}") for i in range(EQUIPMENT)}
    start = to_epoch_ms(SystemClock().now()) - 20 * 86_400_000
    payloads = []
    for seq in range(count):
        readings = [
            Reading(eq, f"point_{p}", start + (seq * INSTANTS + k) * 1000, rng.uniform(0, 100))
            for k in range(INSTANTS)
            for eq in equipment
            for p in range(POINTS)
        ]
        payloads.append(encode_batch(ReadingBatch("bench", "gw-1", seq, equipment, readings)))
    return payloads


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_readings(url: str, database: str) -> int:
    """Readings stored in `database`: the sum of count() over every field."""
    resp = httpx.get(
        f"{url}/query", params={"db": database, "q": "SELECT count(*) FROM pump"}, timeout=120
    )
    resp.raise_for_status()
    series = resp.json()["results"][0].get("series", [])
    return sum(int(v) for s in series for row in s["values"] for v in row[1:])


def ceiling(url: str, payloads: list[bytes], influxd: int) -> tuple[float, int, float]:
    """readings/s of pre-serialised lines posted in BATCH_LINES batches; readings stored;
    influxd's CPU seconds meanwhile."""
    lines = [ln for p in payloads for ln in batch_to_lines(decode_batch(p).batch).lines]
    bodies = [
        "\n".join(lines[i : i + BATCH_LINES]).encode() for i in range(0, len(lines), BATCH_LINES)
    ]
    with httpx.Client(base_url=url, timeout=120) as http:
        http.post("/query", params={"q": 'CREATE DATABASE "ceiling"'}).raise_for_status()
        t0, cpu0 = time.perf_counter(), cpu_seconds(influxd)
        for body in bodies:
            resp = http.post("/write", params={"db": "ceiling", "precision": "ms"}, content=body)
            assert resp.status_code == 204, resp.text
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(influxd) - cpu0
    stored = count_readings(url, "ceiling")
    return stored / elapsed, stored, cpu


def preload(mqtt: MqttSettings, payloads: list[bytes]) -> None:
    """Create ingest's persistent session and subscription, then queue every message."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    session = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bldgwatch-ingest-{INSTANCE}",
        protocol=paho.MQTTv5,
        manual_ack=True,
    )
    session.connect("127.0.0.1", mqtt.port, clean_start=False, properties=props)
    session.loop_start()
    session.subscribe(topics.shared(GROUP, topics.ALL_READINGS), qos=1)[1]
    session.disconnect()
    session.loop_stop()
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub", protocol=paho.MQTTv5)
    pub.max_inflight_messages_set(500)
    pub.connect("127.0.0.1", mqtt.port)
    pub.loop_start()
    infos = [pub.publish(topics.readings("bench", "gw-1"), p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(120)
    pub.disconnect()
    pub.loop_stop()


def end_to_end(
    mqtt: MqttSettings, influx: InfluxSettings, payloads: list[bytes], *, gzip: bool, influxd: int
) -> tuple[float, int, float, float]:
    """readings/s from the broker's backlog to InfluxDB through ingest; readings stored;
    the CPU seconds of ingest (this process) and of influxd meanwhile."""
    preload(mqtt, payloads)
    cfg = IngestConfig(
        instance=INSTANCE,
        group=GROUP,
        mqtt=mqtt,
        influx=influx,
        batch_lines=BATCH_LINES,
        gzip=gzip,
        status_interval_s=60,
        register_required=False,  # throughput of the writing path; tests/ingest check owners
        shared_subscription=True,  # the session preload() made
    )
    lines = len(payloads) * EQUIPMENT * INSTANTS
    service = IngestService(cfg)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="ingest")
    t0 = time.perf_counter()
    cpu0, influx0 = time.process_time(), cpu_seconds(influxd)
    thread.start()
    while service.counters.get("received") == 0:
        time.sleep(0.001)  # the first message: the clock starts
        t0 = time.perf_counter()
    deadline = time.monotonic() + 900
    while service.counters.get("written") < lines:
        time.sleep(0.005)  # polling our own counters; ingest's threads do the work
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {service.counters.get('written')} of {lines} lines written")
    elapsed = time.perf_counter() - t0
    cpu, influx_cpu = time.process_time() - cpu0, cpu_seconds(influxd) - influx0
    stop.set()
    thread.join(60)
    stored = count_readings(influx.url, influx.database)
    return len(payloads) * EQUIPMENT * INSTANTS * POINTS / elapsed, stored, cpu, influx_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--gzip", action="store_true", help="gzip the write bodies")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    count = 200 if args.quick else 2000
    payloads = make_payloads(count)
    expected = count * EQUIPMENT * INSTANTS * POINTS
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        servers: list[Server] = []
        try:
            servers.append(start_mosquitto(Path(tmp) / "mosquitto"))
            servers.append(start_influxd(Path(tmp) / "influxd"))
            mqtt = MqttSettings(port=servers[0].port)
            url = servers[1].extra["url"]
            influxd = servers[1].proc.pid
            top, top_stored, top_influx_cpu = ceiling(url, payloads, influxd)
            influx = InfluxSettings(url=url, database="e2e")
            ours, stored, cpu, influx_cpu = end_to_end(
                mqtt, influx, payloads, gzip=args.gzip, influxd=influxd
            )
        finally:
            for server in servers:
                server.stop()
    lost = expected - stored
    assert top_stored == expected, f"ceiling stored {top_stored} of {expected}"
    logger.warning("readings=%d messages=%d lines_per_write=%d", expected, count, BATCH_LINES)
    million = expected / 1e6
    print(
        f"readings_per_s={ours:.0f} ceiling_per_s={top:.0f} ratio={ours / top:.2f} lost={lost} "
        f"cpu_s_per_m={cpu / million:.2f} influxd_cpu_s_per_m={influx_cpu / million:.2f} "
        f"ceiling_influxd_cpu_s_per_m={top_influx_cpu / million:.2f}"
    )


if __name__ == "__main__":
    main()
