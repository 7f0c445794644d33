"""Health surfaces: Prometheus metrics from the status, the HTTP endpoint, systemd notify."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import generate_latest

from bldgwatch.core.metrics import MetricsServer
from bldgwatch.core.sdnotify import notify, watchdog_period_s
from bldgwatch.gateway.metrics import gateway_registry
from tests.exposition import samples, series

STATUS: dict[str, Any] = {
    "state": "online",
    "mqtt_connected": True,
    "site": "demo",
    "gateway": "gw-1",
    "queue": {
        "depth": 12,
        "bytes": 900,
        "batches": 1,
        "dropped": 7,
        "oldest_age_s": 1.5,
        "errors": 0,
        "gathering": 13,
        "urgent_commits": 2,
    },
    "publisher": {"published": 40, "acked": 39, "inflight": 1, "readings_sent": 4000},
    "devices": {
        "P-01": {
            "available": True,
            "polls": 100,
            "failed_polls": 2,
            "readings": 1100,
            "reconnects": 1,
            "exceptions": {"2": 1},
        },
        "P-02": {
            "available": None,
            "polls": 5,
            "failed_polls": 5,
            "readings": 0,
            "reconnects": 5,
            "exceptions": {},
        },
    },
    "sensors": {"messages": 3, "readings": 2, "bad_payloads": {"malformed_json": 1}},
}


def test_render_is_prometheus_text() -> None:
    text = generate_latest(gateway_registry(lambda: STATUS)).decode()
    lines = text.splitlines()
    values = samples(text)
    gw = {"site": "demo", "gateway": "gw-1"}
    assert values[series("bldgwatch_gateway_queue_depth_readings", **gw)] == 12
    assert values[series("bldgwatch_gateway_queue_dropped_readings_total", **gw)] == 7
    assert values[series("bldgwatch_gateway_queue_oldest_age_seconds", **gw)] == 1.5
    assert values[series("bldgwatch_gateway_queue_gathering_readings", **gw)] == 13
    assert values[series("bldgwatch_gateway_queue_urgent_commits_total", **gw)] == 2
    assert values[series("bldgwatch_gateway_readings_sent_total", **gw)] == 4000
    assert values[series("bldgwatch_gateway_device_errors_total", **gw, equipment="P-01")] == 2
    assert values[series("bldgwatch_gateway_device_polls_total", **gw, equipment="P-02")] == 5
    assert values[series("bldgwatch_gateway_device_available", **gw, equipment="P-01")] == 1
    assert not any(
        line.startswith("bldgwatch_gateway_device_available{") and "P-02" in line for line in lines
    )  # unknown is absent, not 0
    exceptions = series(
        "bldgwatch_gateway_device_exceptions_total", **gw, equipment="P-01", code="2"
    )
    assert values[exceptions] == 1
    assert "# TYPE bldgwatch_gateway_queue_dropped_readings_total counter" in lines
    assert text.endswith("\n")
    for line in lines:  # every sample line is `name{labels} number`
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


async def test_metrics_endpoint_serves_metrics_and_healthz() -> None:
    server = MetricsServer("127.0.0.1", 0, gateway_registry(lambda: STATUS), name="test")
    server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            r = await http.get("/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert "bldgwatch_gateway_queue_depth_readings" in r.text
            assert (await http.get("/healthz")).text == "ok\n"
            assert (await http.get("/nope")).status_code == 404
            assert (await http.post("/metrics")).status_code == 405
    finally:
        server.stop()


def test_sd_notify_sends_datagrams(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        assert notify("READY=1", {"NOTIFY_SOCKET": str(path)})
        assert sock.recv(100) == b"READY=1"
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": str(path)})
        assert sock.recv(100) == b"WATCHDOG=1"
    assert not notify("READY=1", {})  # not under systemd: a no-op


def test_watchdog_period_is_half_the_timeout() -> None:
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None or (
        os.getpid() == 1
    )
    assert watchdog_period_s({}) is None
