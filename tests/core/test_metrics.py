"""The /metrics and /healthz server every component with metrics uses (prometheus_client)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from bldgwatch.core.metrics import MetricsServer


def test_serves_the_registry_health_and_nothing_else() -> None:
    registry = CollectorRegistry()
    Counter("demo_things", "Things.", registry=registry).inc(3)
    server = MetricsServer("127.0.0.1", 0, registry, name="test")
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert "demo_things_total 3.0" in metrics.text.splitlines()
        assert httpx.get(f"{base}/healthz").text == "ok\n"
        for _ in range(2):  # the answers do not leak into each other
            missing = httpx.get(f"{base}/nope")
            assert (missing.status_code, missing.text) == (404, "not found\n")
        assert httpx.post(f"{base}/healthz").status_code == 405
        assert httpx.post(f"{base}/metrics").status_code == 405
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=2)
    server.stop()  # a second stop is harmless


def test_an_address_in_use_is_an_error_at_start() -> None:
    first = MetricsServer("127.0.0.1", 0, CollectorRegistry(), name="a")
    first.start()
    try:
        second = MetricsServer("127.0.0.1", first.port, CollectorRegistry(), name="b")
        with pytest.raises(OSError, match="in use"):
            second.start()
        second.stop()  # never started: nothing to stop
    finally:
        first.stop()
