"""Live fan-out: an alarm published on the broker reaches N WebSocket clients of the console.

Starts Mosquitto and `bldgwatch console` (dev mode, SQLite) as child processes, connects N
clients to `/api/live` from this process, spread over as many API tokens as the console's
per-principal stream cap (at most 1,000, which the bench does not lift) asks for (minimal
WebSocket clients on raw asyncio), publishes alarm transitions on the broker and measures
publish → client receive. The reference, measured in the same run, is one plain MQTT
subscriber of the same broker (the floor the console adds to).

Last line: clients=… events=… p50_ms=… p99_ms=… broker_p99_ms=… target_ms=100 ratio=p99/target
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.servers import free_port, start_mosquitto

TARGET_MS = 100.0
STREAMS_PER_TOKEN = 1000
"""Streams per API token: the console's cap per principal (`live.max_streams_per_user`)."""
TOPIC = "bw/v1/demo/alarms/P-01"


def alarm_event(event_id: str) -> bytes:
    return orjson.dumps(
        {
            "schema": 1,
            "event_id": event_id,
            "alarm_id": "bench-alarm",
            "site": "demo",
            "building": "B1",
            "equipment": "P-01",
            "equipment_type": "pump",
            "rule": "pump.bearing_temp_high",
            "fault_code": "PUMP_BEARING_TEMP",
            "family": "bearing",
            "severity": "critical",
            "priority": 1,
            "transition": "activate",
            "state": "active_unack",
            "previous_state": "normal",
            "at": "2026-11-27T18:00:00Z",
        }
    )


def start_console(tmp: Path, mqtt_port: int, clients: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    room = clients + 64  # the bench's clients all come from 127.0.0.1
    cfg = {
        "http": {
            "host": "127.0.0.1",
            "port": port,
            "max_connections": max(1000, room),
            "max_connections_per_address": max(64, room),
        },
        "database": {"url": f"sqlite:///{tmp / 'bench.db'}"},
        "influx": {"url": f"http://127.0.0.1:{free_port()}"},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        # The bench's streams are spread over API tokens of at most STREAMS_PER_TOKEN each:
        # the per-principal cap (at most 1,000) stays, sized to them.
        "live": {
            "buffer": 1000,
            "client_queue": 1000,
            "max_streams_per_user": min(STREAMS_PER_TOKEN, max(8, clients)),
        },
        "dev": True,
    }
    path = tmp / "console.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = (tmp / "console.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bldgwatch.cli",
            "console",
            "--config",
            str(path),
            "--log-level",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 503):
                return proc, url
        time.sleep(0.2)  # waiting for a child process to listen
    proc.kill()
    raise RuntimeError(f"console did not start; see {tmp / 'console.log'}")


class LiveClient(asyncio.Protocol):
    """A minimal WebSocket client on a raw asyncio protocol (text frames, pong, close):
    cheap enough that a thousand of them in one process measure the server, not themselves."""

    def __init__(self, path: str, host: str, on_event: Callable[[str, float], None]) -> None:
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self._on_event = on_event
        self._buf = b""
        self._upgraded = False
        self.hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buf += data
        if not self._upgraded:
            head, sep, rest = self._buf.partition(b"\r\n\r\n")
            if not sep:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self.hello.set_exception(RuntimeError(head.decode(errors="replace")))
                return
            self._upgraded, self._buf = True, rest
        while len(self._buf) >= 2:
            opcode, length, offset = self._buf[0] & 0x0F, self._buf[1] & 0x7F, 2
            if length == 126:
                if len(self._buf) < 4:
                    return
                length, offset = struct.unpack(">H", self._buf[2:4])[0], 4
            elif length == 127:
                if len(self._buf) < 10:
                    return
                length, offset = struct.unpack(">Q", self._buf[2:10])[0], 10
            if len(self._buf) < offset + length:
                return
            payload = self._buf[offset : offset + length]
            self._buf = self._buf[offset + length :]
            self._frame(opcode, payload, now)

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x1:
            msg = orjson.loads(payload)
            if msg.get("kind") == "hello":
                if not self.hello.done():
                    self.hello.set_result(None)
            else:
                self._on_event(msg["data"]["event_id"], now)
        elif opcode == 0x9:  # ping: answer with a (masked) pong
            self._send(0xA, payload)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None and len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, struct.pack(">H", 1000))
            self.transport.close()


async def connect_client(
    host: str, port: int, path: str, on_event: Callable[[str, float], None]
) -> LiveClient:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: LiveClient(path, f"{host}:{port}", on_event), host, port
    )
    await asyncio.wait_for(proto.hello, 30)
    return proto


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    host: str, port: int, paths: list[str], *, mqtt: MqttSettings, clients: int, events: int
) -> dict[str, Any]:
    arrivals: dict[str, list[float]] = {}

    def on_event(event_id: str, at: float) -> None:
        arrivals.setdefault(event_id, []).append(at)

    loop = asyncio.get_running_loop()
    broker_arrivals: dict[str, float] = {}
    sub = MqttClient(mqtt, client_id=f"bench-sub-{os.getpid()}")
    sub.subscribe(
        TOPIC,
        lambda m: broker_arrivals.setdefault(
            orjson.loads(m.payload)["event_id"], time.perf_counter()
        ),
    )
    sub.start()
    pub = MqttClient(mqtt, client_id=f"bench-pub-{os.getpid()}")
    pub.start()
    assert sub.wait_connected(10) and pub.wait_connected(10)
    conns: list[LiveClient] = []
    for start in range(0, clients, 100):
        batch = range(start, min(clients, start + 100))
        conns += await asyncio.gather(
            *(connect_client(host, port, paths[i % len(paths)], on_event) for i in batch)
        )

    await asyncio.sleep(0.5)  # let the subscription settle before the first measured event
    sent: dict[str, float] = {}
    for i in range(events):
        event_id = f"bench-{os.getpid()}-{i}"
        sent[event_id] = time.perf_counter()
        pub.publish(TOPIC, alarm_event(event_id), qos=1)
        deadline = loop.time() + 5
        while len(arrivals.get(event_id, ())) < clients and loop.time() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
    latencies = [(t - sent[e]) * 1000 for e, ts in arrivals.items() if e in sent for t in ts]
    broker = [(t - sent[e]) * 1000 for e, t in broker_arrivals.items() if e in sent]
    missing = clients * events - len(latencies)
    worst = sorted(
        ((max(ts) - sent[e]) * 1000 for e, ts in arrivals.items() if e in sent), reverse=True
    )
    pub.stop()
    sub.stop()
    for conn in conns:
        conn.close()
    return {
        "p50": percentile(latencies, 0.5) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "broker_p99": percentile(broker, 0.99) if broker else float("nan"),
        "missing": missing,
        "worst": worst[:5],
    }


def api_tokens(url: str, count: int) -> list[str]:
    """`count` viewer API tokens of the dev admin (each its own principal, with its own cap)."""
    login = httpx.post(
        f"{url}/api/auth/token",
        data={"username": "admin", "password": "bldgwatch-dev"},
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {login}"}
    tokens = []
    for i in range(count):
        body = {"name": f"bench-live-{i}", "roles": ["viewer"]}
        answer = httpx.post(f"{url}/api/tokens", json=body, headers=headers, timeout=10)
        answer.raise_for_status()
        tokens.append(answer.json()["token"])
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--clients", type=int, default=None)
    args = parser.parse_args()
    clients = args.clients or (300 if args.quick else 1000)
    load = os.getloadavg()  # the machine is shared: what else ran as the bench began
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < clients + 256 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, clients + 256), hard))
    events = 10 if args.quick else 30
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp_name:
        tmp = Path(tmp_name)
        mosq = start_mosquitto(tmp / "mosquitto")
        proc, url = start_console(tmp, mosq.port, clients)
        try:
            tokens = api_tokens(url, -(-clients // STREAMS_PER_TOKEN))
            mqtt = MqttSettings(host="127.0.0.1", port=mosq.port)
            http_port = int(url.rsplit(":", 1)[1])
            paths = [f"/api/live?access_token={token}" for token in tokens]
            r = asyncio.run(
                measure("127.0.0.1", http_port, paths, mqtt=mqtt, clients=clients, events=events)
            )
        finally:
            proc.terminate()
            proc.wait(20)
            mosq.stop()
    print(
        f"console live fan-out: {clients} WebSocket clients on {len(tokens)} API token(s), "
        f"{events} alarms; load average at start {' '.join(f'{x:.2f}' for x in load)}"
    )
    print(
        f"  publish -> client   p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  max {r['max']:.1f} ms"
    )
    print(f"  publish -> plain MQTT subscriber (reference) p99 {r['broker_p99']:.1f} ms")
    print(f"  last client reached, slowest alarms: {', '.join(f'{w:.0f}' for w in r['worst'])} ms")
    print(
        f"clients={clients} events={events} p50_ms={r['p50']:.1f} p99_ms={r['p99']:.1f} "
        f"broker_p99_ms={r['broker_p99']:.1f} target_ms={TARGET_MS:.0f} "
        f"ratio={r['p99'] / TARGET_MS:.2f} missing={r['missing']}"
    )


if __name__ == "__main__":
    main()
