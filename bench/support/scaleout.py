"""The pieces of bench/scaleout.py (and tests/e2e/test_scaleout.py): a fleet of pump sites,
child processes of ingest, rules and console, nginx in front of the consoles, a gateway-like
publisher, a status watcher and a minimal WebSocket reader."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as paho
import yaml

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.rules.config import Shard
from bldgwatch.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
POINTS = ("bearing_temp_c", "motor_temp_c", "current_a", "pressure_bar", "flow_m3_h")
NORMAL = {
    "bearing_temp_c": 55.0,
    "motor_temp_c": 60.0,
    "current_a": 20.0,
    "pressure_bar": 4.0,
    "flow_m3_h": 30.0,
}
HOT_C = 95.0  # above pump.bearing_temp_high's 85 degC (+5 deadband), held past its 5 s delay


@dataclass(frozen=True)
class Fleet:
    """`sites` sites, one gateway each, `pumps` pumps per site."""

    sites: int
    pumps: int

    def site_ids(self) -> list[str]:
        return [f"so-{s:03d}" for s in range(self.sites)]

    def pump_ids(self, site: str) -> list[str]:
        return [f"{site}-P{i:02d}" for i in range(self.pumps)]

    def write_site_files(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for site in self.site_ids():
            doc = {
                "site": site,
                "name": site,
                "timezone": "Asia/Shanghai",
                "buildings": [{"id": "B1", "name": "B1"}],
                "equipment": [
                    {
                        "id": eq,
                        "type": "pump",
                        "building": "B1",
                        "gateway": "gw-1",
                        "rated": {"current_a": 30.0},
                    }
                    for eq in self.pump_ids(site)
                ],
            }
            path = folder / f"{site}.yaml"
            path.write_text(yaml.safe_dump(doc))
            paths.append(path)
        return paths


def owner(site: str, shards: int) -> int:
    """The rules shard that owns `site` (rules.config.Shard)."""
    return next(i for i in range(shards) if Shard(i, shards).owns(site))


class Child:
    """One `python -m bldgwatch.cli <command> --config <yaml>` child with its log."""

    def __init__(self, folder: Path, command: str, name: str, config: dict[str, Any]) -> None:
        self.command, self.name, self.config = command, name, config
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{name}.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.env: dict[str, str] = {}  # on top of this process's environment, for the child only

    def start(self) -> None:
        """Start (again: same instance id, so the same persistent MQTT session)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "bldgwatch.cli", self.command),
                    *("--config", str(self.path), "--log-level", "WARNING"),
                ],
                cwd=ROOT,
                env={**os.environ, **self.env} if self.env else None,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no acks, no clean disconnect."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll `check` until truthy; RuntimeError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # polling other processes' state


class StatusWatch:
    """The retained status documents of every ingest and rules instance: (component,
    instance) → last document; also every document seen, in order."""

    def __init__(self, mqtt: MqttSettings) -> None:
        self.last: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.client = MqttClient(mqtt, client_id=f"so-status-{uuid.uuid4().hex[:8]}")
        for component in ("ingest", "rules"):
            self.client.subscribe(f"{topics.PREFIX}/_svc/{component}/+/status", self._keep)

    def _keep(self, msg: paho.MQTTMessage) -> None:
        doc = orjson.loads(msg.payload)
        parts = msg.topic.split("/")
        with self._lock:
            self.last[(parts[3], parts[4])] = doc
            self.history.append({**doc, "_component": parts[3], "_instance": parts[4]})

    def start(self) -> None:
        self.client.start()
        assert self.client.wait_connected(10)

    def stop(self) -> None:
        self.client.stop()

    def get(self, component: str, instance: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.last.get((component, instance), {}))

    def docs(self, component: str, instance: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                d
                for d in self.history
                if d["_component"] == component and d["_instance"] == instance
            ]


@dataclass
class Publisher:
    """Every site's gateway: one message per site per tick (every pump, every point), QoS 1,
    `rate_msgs` messages per second in all. Pumps in `hot` report a hot bearing from the
    tick they were put there."""

    mqtt: MqttSettings
    fleet: Fleet
    rate_msgs: float
    sent_msgs: int = 0
    sent_readings: int = 0
    hot: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _seq: dict[str, int] = field(default_factory=dict)
    _last_ms: int = 0
    sent_per_site: dict[str, int] = field(default_factory=dict)

    def batch(self, site: str, at_ms: int) -> bytes:
        seq = self._seq.get(site, 0)
        self._seq[site] = seq + 1
        pumps = self.fleet.pump_ids(site)
        readings = [
            Reading(
                eq,
                p,
                at_ms,
                HOT_C if p == "bearing_temp_c" and eq in self.hot else NORMAL[p],
                Quality.GOOD,
            )
            for eq in pumps
            for p in POINTS
        ]
        info = {eq: EquipmentInfo("pump", "B1") for eq in pumps}
        return encode_batch(ReadingBatch(site, "gw-1", seq, info, readings, sent_ms=at_ms))

    def start_client(self) -> None:
        self._client = MqttClient(self.mqtt, client_id=f"so-gw-{uuid.uuid4().hex[:8]}")
        self._client.start()
        assert self._client.wait_connected(10)

    def round(self) -> None:
        """One message per site, all stamped with one source time (distinct per round:
        readings are unique by equipment, point and time)."""
        sites = self.fleet.site_ids()
        at_ms = max(to_epoch_ms(SystemClock().now()), self._last_ms + 1)
        self._last_ms = at_ms
        infos = [
            self._client.publish(topics.readings(site, "gw-1"), self.batch(site, at_ms), qos=1)
            for site in sites
        ]
        for info in infos:
            info.wait_for_publish(60)  # PUBACK: the broker has it
        for site in sites:
            self.sent_per_site[site] = self.sent_per_site.get(site, 0) + 1
        self.sent_msgs += len(sites)
        self.sent_readings += len(sites) * self.fleet.pumps * len(POINTS)

    def publish_rounds(self, rounds: int) -> int:
        """A backlog of `rounds` rounds, as fast as the broker takes them; readings sent."""
        for _ in range(rounds):
            self.round()
        return self.sent_readings

    def start(self) -> None:
        self.start_client()
        self._thread = threading.Thread(target=self._run, name="so-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        begin = time.monotonic()
        while not self._stop.is_set():
            self.round()
            ahead = begin + self.sent_msgs / self.rate_msgs - time.monotonic()
            if ahead > 0:
                self._stop.wait(ahead)  # pacing the load

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
        with contextlib.suppress(Exception):
            self._client.stop()


class LiveReader:
    """A WebSocket client of `/api/live` on a plain socket (through nginx): reads text
    frames in a thread and keeps the alarm events (and which console served it)."""

    def __init__(self, port: int, token: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.hello: dict[str, Any] | None = None
        self.closed = threading.Event()
        self.close_frame = b""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /api/live?access_token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("live stream: connection closed during the handshake")
            head += chunk
        status, _, self._buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n")[0]:
            raise RuntimeError(f"live stream refused: {status[:200]!r}")
        self.upstream = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in status.split(b"\r\n")
                if line.lower().startswith(b"x-upstream:")
            ),
            "?",
        )
        self.sock.settimeout(None)
        threading.Thread(target=self._run, name="so-live", daemon=True).start()

    def _send(self, opcode: int, payload: bytes) -> None:
        """One masked frame (a client must mask; payloads here are pings' < 126 bytes)."""
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body)

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _run(self) -> None:
        try:
            while True:
                b0, b1 = self._read(2)
                length = b1 & 0x7F
                if length == 126:
                    length = int.from_bytes(self._read(2), "big")
                elif length == 127:
                    length = int.from_bytes(self._read(8), "big")
                payload = self._read(length)
                opcode = b0 & 0x0F
                if opcode == 8:
                    self.close_frame = payload
                    break
                if opcode == 9:  # ping: a client that does not answer is cut off (uvicorn)
                    self._send(0xA, payload)
                if opcode == 1:
                    doc = orjson.loads(payload)
                    if doc.get("kind") == "hello":
                        self.hello = doc
                    elif doc.get("kind") == "alarm":
                        self.events.append(doc)
        except (EOFError, OSError) as err:
            self.close_frame = self.close_frame or repr(err).encode()
        finally:
            self.closed.set()

    def activations(self) -> set[str]:
        """Equipment ids of the alarm activations received."""
        return {
            e["data"]["equipment"] for e in self.events if e["data"].get("transition") == "activate"
        }

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


NGINX_CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream consoles {{
        # round robin, no sticky sessions; a console that refuses connections is
        # skipped (proxy_next_upstream) and left alone for fail_timeout
        {servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://consoles;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 3600s;
            proxy_next_upstream error timeout;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(folder: Path, upstreams: list[int]) -> Iterator[int]:
    """nginx (Debian's) on a free port in front of `upstreams`; yields its port."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed: apt-get install nginx-light")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "\n        ".join(
        f"server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in upstreams
    )
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=folder, port=port, servers=servers))
    with (folder / "nginx.log").open("ab") as log:
        proc = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(folder)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: _listening(port) or proc.poll() is not None, 30, "nginx")
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(folder / 'nginx-error.log').read_text()[-500:]}")
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def console_ready(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code in (200, 503)
    return False


def login(base: str) -> str:
    """The dev admin's access token from the console at `base`."""
    resp = httpx.post(
        f"{base}/api/auth/token",
        data={"username": "admin", "password": "bldgwatch-dev"},
        timeout=30,
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])
