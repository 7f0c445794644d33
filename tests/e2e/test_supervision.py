"""Point 8 of issue 12: the demo restarts a component that dies and the broker it started,
with backoff and a log line each, instead of tearing everything down; readings keep flowing."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.demo import ServerChild, Stack, start_demo_broker
from bldgwatch.servers import Server
from tests.stack import running_stack
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ServerChild]:
    child = ServerChild(start_demo_broker(tmp_path / "mosquitto"))
    yield child
    child.server.discard()


def _readings(influx: InfluxSettings) -> int:
    store = open_store(influx)
    try:
        rows = store.query("SELECT count(bearing_temp_c) FROM pump")
    finally:
        store.close()
    return int(rows[0]["count"]) if rows else 0


@pytest.mark.long(seconds=33)
@pytest.mark.timeout(240)
def test_a_killed_component_and_a_killed_broker_are_restarted(
    tmp_path: Path,
    broker: ServerChild,
    influxd: Server,
    influx_settings: InfluxSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bldgwatch.supervise")
    with running_stack(
        tmp_path / "var",
        broker.server,
        influxd,
        db_url=f"sqlite:///{tmp_path / 'bldgwatch.db'}",  # the stack migrates it
        influx_database=influx_settings.database,
        servers=(broker,),
    ) as stack:
        wait_for(lambda: _readings(influx_settings) > 0, timeout=60, what="first readings")
        rules = next(c for c in stack.components if c.name == "rules")
        first = rules.proc.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: stack.supervisor.restarts["rules"] == 1, timeout=30, what="rules back")
        assert rules.proc.pid != first and rules.proc.poll() is None
        assert "rules exited with code -9; restarting it in 1 s (restart 1)" in caplog.text

        os.killpg(broker.server.proc.pid, signal.SIGKILL)
        wait_for(
            lambda: stack.supervisor.restarts["mosquitto"] == 1, timeout=30, what="broker back"
        )
        before = _readings(influx_settings)
        wait_for(
            lambda: _readings(influx_settings) > before + 20,
            timeout=60,
            what="readings after the broker came back",
        )
        assert not [c.name for c in stack.dead()], Stack.describe_dead(stack.dead())
        assert set(stack.supervisor.restarts.values()) <= {0, 1}
