"""The demo stack (`bldgwatch.demo.Stack`) on the test servers, for the tests that drive the whole
chain (tests/e2e) or the dashboard in a browser (tests/console/test_browser.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.demo import Stack, start_demo_broker
from bldgwatch.demo_setup import DemoPorts, allocate_modbus_ports
from bldgwatch.servers import Server, ServerError, free_port
from bldgwatch.supervise import Child
from tests.tools import unavailable

# Twenty simulated seconds per second: the bearing's thermal time constant (15 min) lets it
# cool within the test.
SPEED = 20.0


@contextmanager
def running_stack(
    var_dir: Path,
    broker: Server,
    influxd: Server,
    *,
    db_url: str,
    influx_database: str,
    servers: tuple[Child, ...] = (),
) -> Iterator[Stack]:
    """Every component of the demo building started on the test servers (no scripted faults,
    at `SPEED`), each with its broker account on the demo's broker, supervised with
    `servers`; stopped on exit."""
    ports = DemoPorts(
        mqtt=broker.port,
        influx_url=influxd.extra["url"],
        http=free_port(),
        modbus=allocate_modbus_ports(),
    )
    stack = Stack(
        var_dir=var_dir,
        ports=ports,
        db_url=db_url,
        influx_database=influx_database,
        auth=broker.auth,
        faults=[],
        speed=SPEED,
    )
    try:
        stack.start()
        stack.supervise(*servers)
        yield stack
    finally:
        stack.stop()


@contextmanager
def own_demo_broker(var_dir: Path) -> Iterator[Server]:
    """A demo broker for one stack alone. The stack's services keep persistent sessions under
    the demo's client ids (`bldgwatch-rules-rules-1`, …): on a broker shared with an earlier
    stack they would take over what that stack left queued in those sessions (its alarms of
    the same pump), and act on it in the middle of this stack's test."""
    try:
        server = start_demo_broker(var_dir)
    except ServerError as err:
        unavailable(f"mosquitto unavailable: {err}")
    try:
        yield server
    finally:
        server.discard()


@contextmanager
def stack_in(var_dir: Path, broker: Server, influxd: Server) -> Iterator[Stack]:
    """`running_stack` on a fresh SQLite file in `var_dir` (the stack migrates it) and an
    InfluxDB database of its own."""
    with running_stack(
        var_dir,
        broker,
        influxd,
        db_url=f"sqlite:///{var_dir / 'bldgwatch.db'}",
        influx_database=f"t_{uuid.uuid4().hex[:12]}",
    ) as stack:
        yield stack


def operator(broker: Server) -> MqttSettings:
    """The demo broker's `operator` account (fault injection, watching)."""
    assert broker.auth is not None
    return broker.auth.settings(MqttSettings(port=broker.port), "operator")


def control_fault(
    mqtt: MqttSettings,
    equipment: str,
    fault: str,
    action: str,
    *,
    client: str,
    params: dict[str, object] | None = None,
) -> None:
    """Start or stop a simulator fault on `equipment` through the simulator's control topic
    (`client`: the MQTT client id's prefix; `mqtt`: the operator's account on the demo's
    broker)."""
    mqtt_client = MqttClient(mqtt, client_id=f"{client}-{os.getpid()}")
    mqtt_client.start()
    try:
        assert mqtt_client.wait_connected(10)
        body = {"equipment": equipment, "fault": fault, "action": action, "params": params or {}}
        mqtt_client.publish("bw/v1/_sim/demo/control", orjson.dumps(body), qos=1).wait_for_publish(
            10
        )
    finally:
        mqtt_client.stop()


def control_pump_fault(mqtt: MqttSettings, action: str, *, client: str) -> None:
    """Start or stop the bearing overheating of pump P-01 through the simulator's control
    topic (`client`: the MQTT client id's prefix; `mqtt`: the operator's account)."""
    control_fault(
        mqtt,
        "P-01",
        "bearing_overheat",
        action,
        client=client,
        params={"rate_c_per_s": 0.5, "target_c": 95.0},
    )
