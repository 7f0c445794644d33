"""The whole gateway in a thread on real Mosquitto: the disk quota drops the oldest and the
count is published (status topic and /metrics); a silent and a flapping device do not stall
the others."""

from __future__ import annotations

import asyncio
import itertools
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bldgwatch.core.config import MqttSettings, parse_config
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.gateway.service import Gateway
from bldgwatch.servers import restart, start_mosquitto
from tests.gateway.harness import (
    Collector,
    ModbusUnits,
    load_devices,
    queue_depth,
    write_load_profile,
)
from tests.waiting import wait_for


class Blackhole:
    """Accepts TCP connections and never answers (a device that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class Running:
    """A Gateway served in a thread."""

    def __init__(self, cfg: GatewayConfig) -> None:
        self.gateway = Gateway(cfg)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.gateway.serve(self.stop)), name="gateway"
        )
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def _dropped(path: Path) -> int:
    db = sqlite3.connect(str(path), timeout=10)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
    except sqlite3.OperationalError:
        return 0  # the table is not created yet
    finally:
        db.close()
    return 0 if row is None else int(row[0])  # the table is there a moment before its row


def _series(collector: Collector, equipment: str) -> list[int]:
    return sorted(ts for eq, p, ts in collector.key_counts() if (eq, p) == (equipment, "r00"))


@pytest.fixture
def units() -> Iterator[ModbusUnits]:
    server = ModbusUnits(2)
    yield server
    server.close()


@pytest.mark.timeout(120)
def test_quota_drops_oldest_and_publishes_the_count(tmp_path: Path, units: ModbusUnits) -> None:
    broker = start_mosquitto(tmp_path / "broker")
    settings = MqttSettings(port=broker.port)
    collector = Collector(settings, "t", "gw-q")  # its session outlives the outage
    broker.stop()
    profile = write_load_profile(tmp_path / "profiles")
    queue = tmp_path / "q.sqlite"
    cfg = parse_config(
        {
            "site": "t",
            "gateway_id": "gw-q",
            "mqtt": {"port": broker.port},
            "queue": {"path": str(queue), "max_bytes": 40_000, "flush_interval_s": 0.2},
            "status_interval_s": 0.5,
            "profiles_dir": str(tmp_path / "profiles"),
            "metrics": {"port": 0},
            "devices": load_devices(2, units.port, profile, 0.2),
        },
        GatewayConfig,
    )
    run = Running(cfg)
    try:
        wait_for(lambda: _dropped(queue) > 2000, timeout=30, what="the quota dropping")
        broker = restart(broker)
        doc = wait_for(
            lambda: (
                (collector.status or {}).get("queue", {}).get("dropped", 0) > 2000
                and collector.status
            ),
            timeout=60,
            what="the dropped count in the status",
        )
        assert doc["state"] == "online"
        metrics = httpx.get(f"http://127.0.0.1:{run.gateway.metrics.port}/metrics").text
        assert "bldgwatch_gateway_queue_dropped_readings_total" in metrics
        wait_for(lambda: queue_depth(queue) < 1000, timeout=60, what="the backlog to drain")
    finally:
        run.close()
        collector.client.wait_connected(10)
    dropped = _dropped(queue)
    left = queue_depth(queue)
    polled = sum(p.stats.readings for p in run.gateway.pollers)
    # Every reading polled was delivered, counted as dropped, or is still queued. (A batch in
    # flight when the broker died may be both delivered and then dropped: >=, not ==.)
    wait_for(
        lambda: len(collector.key_counts()) + dropped + left >= polled,
        timeout=20,
        what="every reading either delivered, dropped and counted, or queued",
    )
    assert max(collector.key_counts().values()) == 1
    series = sorted(ts for eq, p, ts in collector.key_counts() if (eq, p) == ("L-01", "r00"))
    gaps = [b - a for a, b in itertools.pairwise(series)]
    assert max(gaps) < 1000  # what arrived is the newest, unbroken: the oldest were dropped
    collector.close()
    broker.stop()


@pytest.mark.timeout(120)
def test_silent_and_flapping_devices_do_not_stall_the_others(
    tmp_path: Path, mqtt_settings: MqttSettings, units: ModbusUnits
) -> None:
    profile = write_load_profile(tmp_path / "profiles")
    hole = Blackhole()
    flapper = ModbusUnits(1)
    flap_port = flapper.port
    good = load_devices(1, units.port, profile, 0.2)
    bad = [
        {
            "equipment": "HANG",
            "building": "B1",
            "profile": profile,
            "host": "127.0.0.1",
            "port": hole.port,
            "timeout_s": 1.5,
            "retries": 1,
            "poll_interval_s": 0.2,
        },
        {
            "equipment": "FLAP",
            "building": "B1",
            "profile": profile,
            "host": "127.0.0.1",
            "port": flap_port,
            "timeout_s": 0.5,
            "poll_interval_s": 0.2,
            "unavailable_after": 1,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 0.5,
        },
    ]
    cfg = parse_config(
        {
            "site": "t",
            "gateway_id": "gw-flap",
            "mqtt": {"port": mqtt_settings.port},
            "queue": {"path": str(tmp_path / "q.sqlite"), "flush_interval_s": 0.2},
            "profiles_dir": str(tmp_path / "profiles"),
            "metrics": {"enabled": False},
            "devices": good + bad,
        },
        GatewayConfig,
    )
    collector = Collector(mqtt_settings, "t", "gw-flap")
    run = Running(cfg)
    try:
        for _ in range(3):  # FLAP goes away and comes back three times
            wait_for(
                lambda: ("FLAP", "r00") in {k[:2] for k in collector.key_counts()},
                timeout=20,
                what="FLAP answering",
            )
            flapper.close()
            wait_for(
                lambda: run.gateway.pollers[2].availability.available is False,
                timeout=20,
                what="FLAP unavailable",
            )
            flapper = ModbusUnits(1, port=flap_port)
            wait_for(
                lambda: run.gateway.pollers[2].availability.available is True,
                timeout=20,
                what="FLAP back",
            )
        # HANG costs 2 x 1.5 s per request it gets through: run long enough for several.
        wait_for(lambda: len(_series(collector, "L-01")) > 50, timeout=30, what="10 s of L-01")
        assert run.gateway.pollers[1].stats.failed_polls >= 2
    finally:
        run.close()
        flapper.close()
        hole.close()
    keys = collector.key_counts()
    series = _series(collector, "L-01")
    gaps = [b - a for a, b in itertools.pairwise(series)]
    # Every 0.2 s slot, or nearly: a poll waiting behind FLAP (0.5 s timeout) or HANG (1.5 s)
    # would leave a gap of 0.7 s or more; a busy shared box may make a poll skip a slot.
    assert len(series) > 40 and max(gaps) < 700, max(gaps)
    assert sum(g <= 250 for g in gaps) >= 0.9 * len(gaps), sorted(gaps)[-10:]
    assert not any(eq == "HANG" and p != "_available" for eq, p, _ in keys)
    assert run.gateway.pollers[1].availability.available is False
    collector.close()
