"""The whole chain on real servers: simulated pump → gateway → MQTT → ingest → InfluxDB, and
→ rules → alarm → maintenance → reactive work order → console API.

Runs once with the relational store on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.demo import Stack, console_login
from bldgwatch.servers import Server, free_port
from tests.stack import control_pump_fault, operator, own_demo_broker, running_stack
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e]

RULE = "pump.bearing_temp_high"


@pytest.fixture
def demo_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo broker of this test's own (tests.stack.own_demo_broker says why)."""
    with own_demo_broker(tmp_path_factory.mktemp("chain-broker")) as server:
        yield server


@pytest.fixture
def stack(
    tmp_path: Path,
    demo_broker: Server,
    influxd: Server,
    db_settings: DatabaseSettings,
    influx_settings: InfluxSettings,
) -> Iterator[Stack]:
    with running_stack(
        tmp_path,
        demo_broker,
        influxd,
        db_url=db_settings.url,
        influx_database=influx_settings.database,
    ) as stack:
        yield stack


def _control(mqtt: MqttSettings, action: str) -> None:
    control_pump_fault(mqtt, action, client="e2e-control")


def _get(stack: Stack, path: str, **params: Any) -> Any:
    with httpx.Client(base_url=stack.console_url, timeout=5) as http:
        console_login(http)
        resp = http.get(path, params=params)
    resp.raise_for_status()
    return resp.json()


def _pump_alarm(stack: Stack) -> dict[str, Any] | None:
    items = _get(stack, "/api/alarms", site="demo", equipment="P-01")["items"]
    return next((a for a in items if a["rule"] == RULE), None)


@pytest.mark.long(seconds=47)
def test_pump_bearing_overheating_end_to_end(
    stack: Stack, demo_broker: Server, influx_settings: InfluxSettings
) -> None:
    store = open_store(influx_settings)
    # Healthy readings flow before any fault.
    wait_for(
        lambda: store.query("SELECT count(bearing_temp_c) FROM pump WHERE equipment='P-01'"),
        timeout=30,
        what="first pump readings",
    )
    assert _pump_alarm(stack) is None
    assert _get(stack, "/api/work-orders", equipment="P-01")["total"] == 0

    _control(operator(demo_broker), "start")

    # (a) the overheating readings are in InfluxDB, found through InfluxQL
    hot = wait_for(
        lambda: [
            r
            for r in store.query(
                "SELECT bearing_temp_c, gateway, building FROM pump "
                "WHERE equipment='P-01' AND site='demo' AND bearing_temp_c > 85"
            )
            if r["bearing_temp_c"] > 85
        ],
        timeout=60,
        what="bearing temperature above 85 °C in InfluxDB",
    )
    assert hot[0]["gateway"] == "gw-1" and hot[0]["building"] == "B1"

    # (b) an active alarm for that pump and rule
    alarm = wait_for(
        lambda: (a := _pump_alarm(stack)) and a["state"] == "active_unack" and a,
        timeout=60,
        what="active bearing-temperature alarm",
    )
    assert alarm["fault_code"] == "PUMP_BEARING_TEMP"

    # (c) exactly one open reactive work order, with priority, SLA due time and stage + reason
    orders = wait_for(
        lambda: _get(stack, "/api/work-orders", equipment="P-01", open="true")["items"],
        timeout=60,
        what="reactive work order",
    )
    assert len(orders) == 1
    order = orders[0]
    assert order["kind"] == "reactive"
    assert order["priority"] in (1, 2, 3, 4)
    assert order["resolution_due"] > order["created_at"]
    assert order["response_due"] > order["created_at"]
    assert order["stage"] in ("early", "mid", "late")
    assert order["stage_reason"]

    # The fault clears: the alarm returns to normal, the work order stays open.
    _control(operator(demo_broker), "stop")
    cleared = wait_for(
        lambda: (a := _pump_alarm(stack)) and a["state"] in ("rtn_unack", "normal") and a,
        timeout=90,
        what="alarm returned to normal",
    )
    assert cleared["id"] == alarm["id"]
    after = _get(stack, "/api/work-orders", equipment="P-01")["items"]
    assert [(o["id"], o["status"]) for o in after] == [(order["id"], "open")]
    store.close()

    assert not any(stack.supervisor.restarts.values()), stack.supervisor.restarts  # no crash
    stack.stop()
    assert {c.name: c.proc.returncode for c in stack.components} == {
        c.name: 0 for c in stack.components
    }, Stack.describe_dead(stack.components)


def test_ctrl_c_stops_the_demo_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bldgwatch.cli",
            "demo",
            "--var-dir",
            str(tmp_path / "var"),
            "--http-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    wait_for(
        lambda: "Press Ctrl-C" in (proc.stdout.readline() or "") or None,
        timeout=90,
        what="demo banner",
        interval=0,
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-3000:]
    assert "bldgwatch demo summary" in out
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == []
