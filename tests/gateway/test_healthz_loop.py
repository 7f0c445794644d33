"""The gateway's /healthz reflects its event loop: while the loop that polls and forwards is
blocked, /healthz does not say "ok" (it answers 503). Found by the hostile review of issue 11
(the prometheus_client move had served /healthz from a thread that did not ask the loop).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest

from bldgwatch.core.config import MqttSettings
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.gateway.service import Gateway
from bldgwatch.servers import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.services

BLOCK_S = 4.0


def test_healthz_is_not_ok_while_the_event_loop_is_blocked(
    tmp_path: Path, mqtt_settings: MqttSettings
) -> None:
    cfg = GatewayConfig.model_validate(
        {
            "site": "review",
            "gateway_id": "gw-healthz",
            "mqtt": mqtt_settings.model_dump(),
            "queue": {"path": str(tmp_path / "queue.sqlite")},
            "metrics": {"enabled": True, "host": "127.0.0.1", "port": 0},
            "devices": [
                {
                    "equipment": "P-01",
                    "building": "B1",
                    "profile": "pump-generic",
                    "host": "127.0.0.1",
                    "port": free_port(),  # nothing there: the poller just retries
                    "poll_interval_s": 1.0,
                }
            ],
        }
    )
    gateway = Gateway(cfg)
    stop = threading.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(gateway.serve(stop)), daemon=True
    )
    thread.start()
    try:

        def healthz() -> str | None:
            try:
                port = gateway.metrics.port
            except AttributeError:
                return None
            if not port:
                return None
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text
            except httpx.HTTPError:
                return None

        assert wait_for(healthz, timeout=20, what="/healthz answering") == "ok\n"
        loop.call_soon_threadsafe(time.sleep, BLOCK_S)  # the loop is wedged from here
        time.sleep(0.5)  # let the loop pick up the blocking call
        port = gateway.metrics.port
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.5)
        except httpx.HTTPError:
            return  # no answer from a wedged gateway: what a health checker should see
        assert answer.status_code != 200 or answer.text != "ok\n", (
            "/healthz said ok while the gateway's event loop was blocked"
        )
    finally:
        stop.set()
        thread.join(30)
        loop.close()
