"""Alarm raised → first notification sent: 1,000 alarms over 10 minutes across 50 recipients.

Starts Mosquitto and `bldgwatch alerts` (its own process, SQLite store, migrated by the
command) as child processes, seeds 50 people, one policy each (alarms of building Bnn go to
person nn at once, through a JSON-webhook channel) and a local HTTP sink standing in for the
provider. Then it publishes alarm activations on the broker, evenly spaced (1,000 in 600 s
of wall time: no time compression; `--quick`: 150 in 75 s), each stamped with the wall time
it was raised, as the rules service does; the sink notes when each alarm's notice arrives.
Latency = arrival at the sink − the alarm's time. Every recipient gets one alarm every
30 s, below the flood rule's burst, so each alarm has a message of its own (`digests`
counts the exceptions).

The reference, measured in the same run on the same events: a plain MQTT subscriber in
this process that posts each alarm straight to the sink (broker + one HTTP call, no store,
no policy): the floor alerts adds to. Last line:
alarms=… recipients=… duration_s=… delivered=… digests=… p50_ms=… p99_ms=… max_ms=…
ref_p99_ms=… target_ms=2000 alerts_cpu_s=… ratio=p99/ref_p99
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import paho.mqtt.client as paho
import yaml
from cryptography.fernet import Fernet

from bldgwatch.alerts.admin import AlertsAdmin
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.migrations import migrate
from bldgwatch.servers import start_mosquitto

TARGET_MS = 2000.0
RECIPIENTS = 50


class Sink:
    """Arrival time (wall clock) of each alarm's first notice, per path."""

    def __init__(self) -> None:
        self.first: dict[str, dict[str, float]] = {"/alerts": {}, "/reference": {}}
        self.digests = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with sink.lock:
                    seen = sink.first[self.path]
                    if len(body["alarms"]) > 1:
                        sink.digests += 1
                    for alarm_id in body["alarms"]:
                        seen.setdefault(alarm_id, now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def seed(database: DatabaseSettings, sink_url: str) -> None:
    """50 people, one webhook channel, one policy per building → its person."""
    engine = make_engine(database)
    migrate(engine)
    admin = AlertsAdmin(engine)
    at = datetime.now(UTC)
    admin.save_channel(
        "bench",
        "hook",
        kind="webhook",
        settings={"url": f"{sink_url}/alerts"},
        secrets=None,
        enabled=True,
        actor="bench",
        at=at,
    )
    for n in range(1, RECIPIENTS + 1):
        admin.save_contact(
            "bench", {"id": f"p{n:02d}", "name": f"Person {n}"}, actor="bench", at=at
        )
        policy = {
            "id": f"b{n:02d}",
            "match": {"buildings": [f"B{n:02d}"]},
            "steps": [{"after_min": 0, "notify": [f"contact:p{n:02d}"]}],
            "channels": ["hook"],
        }
        admin.save_policy("bench", policy, actor="bench", at=at)
    engine.dispose()


def start_alerts(tmp: Path, mqtt_port: int, database: DatabaseSettings) -> subprocess.Popen[bytes]:
    cfg = {
        "instance": "bench",
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "database": {"url": database.url},
        "status_interval_s": 1.0,
    }
    path = tmp / "alerts.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "BLDGWATCH_ALERTS_KEY": Fernet.generate_key().decode()}
    log = (tmp / "alerts.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bldgwatch.cli", "alerts", "--config", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def wait_running(mqtt: MqttSettings, proc: subprocess.Popen[bytes]) -> None:
    running = threading.Event()

    def on_status(msg: paho.MQTTMessage) -> None:
        if orjson.loads(msg.payload).get("state") == "running":
            running.set()

    client = MqttClient(mqtt, client_id=f"bench-status-{os.getpid()}")
    client.subscribe("bw/v1/_svc/alerts/bench/status", on_status)
    client.start()
    deadline = time.monotonic() + 60
    while not running.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bldgwatch alerts did not start (see its log)")
    client.stop()


def reference(mqtt: MqttSettings, sink_url: str) -> MqttClient:
    """The floor: subscribe to the same alarms and post each straight to the sink."""
    http = httpx.Client()

    def forward(msg: paho.MQTTMessage) -> None:
        event = orjson.loads(msg.payload)
        http.post(f"{sink_url}/reference", content=orjson.dumps({"alarms": [event["alarm_id"]]}))

    client = MqttClient(mqtt, client_id=f"bench-ref-{os.getpid()}")
    client.subscribe("bw/v1/+/alarms/+", forward, qos=1)
    client.start()
    assert client.wait_subscribed(10)
    return client


def event(n: int) -> tuple[str, bytes, float]:
    raised = time.time()
    building = f"B{n % RECIPIENTS + 1:02d}"
    alarm_id = str(uuid.uuid4())
    body = {
        "schema": 1,
        "event_id": str(uuid.uuid4()),
        "alarm_id": alarm_id,
        "site": "bench",
        "building": building,
        "equipment": f"E-{n % RECIPIENTS + 1:02d}",
        "equipment_type": "elevator",
        "rule": "elevator.entrapment_at_floor",
        "fault_code": "ELEV_ENTRAPMENT_AT_FLOOR",
        "family": "entrapment",
        "severity": "critical",
        "priority": 1,
        "transition": "activate",
        "state": "active_unack",
        "previous_state": "normal",
        "at": datetime.fromtimestamp(raised, UTC).isoformat(),
    }
    return alarm_id, orjson.dumps(body), raised


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(alarms: int, duration_s: float) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as folder:
        tmp = Path(folder)
        mosq = start_mosquitto(tmp / "mosquitto")
        sink = Sink()
        mqtt = MqttSettings(host="127.0.0.1", port=mosq.port)
        database = DatabaseSettings(url=f"sqlite:///{tmp / 'bench.db'}")
        seed(database, sink.url)
        proc = start_alerts(tmp, mosq.port, database)
        try:
            wait_running(mqtt, proc)
            ref = reference(mqtt, sink.url)
            publisher = MqttClient(mqtt, client_id=f"bench-pub-{os.getpid()}")
            publisher.start()
            assert publisher.wait_connected(10)
            raised: dict[str, float] = {}
            gap = duration_s / alarms
            start = time.monotonic()
            for n in range(alarms):
                time.sleep(max(0.0, start + n * gap - time.monotonic()))  # the load's pacing
                alarm_id, body, at = event(n)
                raised[alarm_id] = at
                building = orjson.loads(body)["equipment"]
                publisher.publish(f"bw/v1/bench/alarms/{building}", body, qos=1)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(sink.first["/alerts"]) < alarms:
                time.sleep(0.2)
            cpu = cpu_seconds(proc.pid)
            publisher.stop()
            ref.stop()
        finally:
            proc.terminate()
            proc.wait(30)
            sink.server.shutdown()
            mosq.stop()
    got = sink.first["/alerts"]
    lat = [(got[a] - t) * 1000 for a, t in raised.items() if a in got]
    ref_lat = [
        (sink.first["/reference"][a] - t) * 1000
        for a, t in raised.items()
        if a in sink.first["/reference"]
    ]
    p99, ref_p99 = percentile(lat, 0.99), percentile(ref_lat, 0.99)
    return (
        f"alarms={alarms} recipients={RECIPIENTS} duration_s={duration_s:.0f} delivered={len(got)} "
        f"digests={sink.digests} p50_ms={percentile(lat, 0.5):.1f} p99_ms={p99:.1f} "
        f"max_ms={max(lat):.1f} ref_p99_ms={ref_p99:.1f} target_ms={TARGET_MS:.0f} "
        f"alerts_cpu_s={cpu:.1f} ratio={p99 / ref_p99:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="150 alarms over 75 s")
    args = parser.parse_args()
    alarms, duration = (150, 75.0) if args.quick else (1000, 600.0)
    print(run(alarms, duration), flush=True)


if __name__ == "__main__":
    main()
