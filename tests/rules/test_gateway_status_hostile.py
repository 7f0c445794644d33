"""Hostile review of issue 12: gateway status messages on the rules service, on a real
Mosquitto. Readings are screened against the register (core.register); the retained status
topic, which feeds the communication watch, is not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from bldgwatch.core import topics
from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.service import run
from tests.rules.wire import Wire, rules_config, wire_of
from tests.waiting import wait_for

pytestmark = pytest.mark.services


@pytest.fixture
def wire(mqtt_settings: MqttSettings) -> Iterator[Wire]:
    yield from wire_of(mqtt_settings)


@pytest.fixture
def config(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> RulesConfig:
    return rules_config(
        tmp_path, mqtt_settings, sqlite_settings, name="review12", packs=["elevator", "comms"]
    )


@pytest.fixture
def rules(config: RulesConfig, wire: Wire) -> Iterator[ManualClock]:
    clock = ManualClock(datetime.fromtimestamp(int(time.time()), tz=UTC))
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), kwargs={"clock": clock})
    thread.start()
    try:
        wait_for(lambda: wire.status.get(config.instance) == "running", timeout=30, what="rules up")
        yield clock
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


def test_a_gateway_status_cannot_declare_another_gateways_equipment_lost(
    rules: ManualClock, wire: Wire
) -> None:
    """FINDING (high): gw-evil publishes, on its own status topic (which its account may
    write), `{"state": "online", "devices": {"E-01": {"available": false}}}`. E-01 belongs
    to gw-1 (site register), which keeps reporting it normally. The rules service hands the
    devices map to CommsWatch.saw_status without any register check: E-01 is rebound to
    gw-evil and marked unavailable, and 30 s later a forged `comms.elevator_lost` alarm is
    raised (with a work order behind it). Rebound to gw-evil, E-01's own loss is also hidden
    whenever gw-evil is lost. It should be refused (`not_owner`) and dead-lettered, as a
    reading of E-01 from gw-evil is."""
    clock = rules
    wire.speed(1.0, at_ms=to_epoch_ms(clock.now()))
    forged = {"state": "online", "devices": {"E-01": {"available": False}}}
    wire.publish(topics.gateway_status("demo", "gw-evil"), orjson.dumps(forged))
    for _ in range(12):  # a minute of the rules' clock, gw-1 reporting every 5 s
        clock.advance(5)
        wire.speed(1.0, at_ms=to_epoch_ms(clock.now()))
        time.sleep(0.2)  # let the worker take the batch and tick (real time, not timing)
    wait_for(
        lambda: wire.events or "not_owner" in wire.reasons(),
        timeout=20,
        what="the forged status refused or acted on",
    )
    assert [e.rule for e in wire.events if e.transition == "activate"] == []
    assert "not_owner" in wire.reasons()


def test_a_malformed_gateway_status_is_dead_lettered(rules: ManualClock, wire: Wire) -> None:
    """FINDING (medium): issue 12 #1 says every consumer acks, dead-letters with a counted
    reason, and goes on, for any payload. The rules service's status path parses with bare
    `orjson.loads` (no DecodeLimits: no size limit) and on anything it cannot use only bumps
    `decode_errors` and logs at DEBUG: nothing reaches bw/v1/demo/deadletter/rules, and
    /metrics has no reason for it. A gateway with a broken status publisher is invisible."""
    for payload in (b"\xff\xfe{", b'{"state": "on fire"}', b"[1, 2]"):
        wire.publish(topics.gateway_status("demo", "gw-1"), payload)
    wait_for(lambda: len(wire.letters) >= 3, timeout=15, what="three dead letters")
    assert len(wire.letters) == 3
