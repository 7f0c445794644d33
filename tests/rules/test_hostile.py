"""The rules service under hostile input on a real Mosquitto (issue 12): a forged gateway, a
batch dated a year ahead, a 400-digit value, a 200,000-deep array and a handler that fails
are each dead-lettered with their reason, and a real overspeed afterwards still raises its
alarm."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bldgwatch.core.codec import encode_batch
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import Reading, ReadingBatch
from bldgwatch.rules.engine import PendingChange
from bldgwatch.rules.schema import load_rules
from bldgwatch.rules.service import (
    RulesConfig,
    RulesService,
    load_owned_sites,
    make_engine_for,
    run,
)
from bldgwatch.rules.store import AlarmStore
from tests.rules.wire import TABLE, Wire, rules_config, wire_of
from tests.waiting import wait_for

pytestmark = pytest.mark.services

YEAR_MS = 365 * 86_400_000


@pytest.fixture
def wire(mqtt_settings: MqttSettings) -> Iterator[Wire]:
    yield from wire_of(mqtt_settings)


@pytest.fixture
def config(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> RulesConfig:
    return rules_config(
        tmp_path, mqtt_settings, sqlite_settings, name="hostile", packs=["elevator"]
    )


def _running(wire: Wire, cfg: RulesConfig) -> bool:
    return wire.status.get(cfg.instance) == "running"


def _metrics(cfg: RulesConfig) -> str:
    return httpx.get(f"http://127.0.0.1:{cfg.metrics_port}/metrics", timeout=5).text


def _hostile_payloads() -> list[bytes]:
    good = orjson.loads(
        encode_batch(
            ReadingBatch("demo", "gw-1", 900, TABLE, [Reading("E-01", "speed_m_s", 1, 1.0)])
        )
    )
    huge = orjson.dumps(good).replace(b'"value":[1.0]', b'"value":[' + b"9" * 400 + b"]")
    return [huge, b"[" * 200_000 + b"]" * 200_000, b"\xff\xfe{", b'{"schema": 1}']


def test_forged_future_and_malformed_input_is_dead_lettered_and_a_real_fault_still_alarms(
    config: RulesConfig, wire: Wire
) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config, stop), daemon=True)
    thread.start()
    try:
        # The status goes out on the connection after the SUBSCRIBE, so once it is here the
        # subscription is in place.
        wait_for(lambda: _running(wire, config), timeout=20, what="rules running")
        wire.speed(3.0, gateway="gw-evil")  # a forged overspeed from another gateway
        wire.speed(1.0, ahead_ms=YEAR_MS)  # a batch dated a year ahead
        for payload in _hostile_payloads():
            wire.raw(payload)
        expected = [
            "not_owner",
            "future_timestamp",
            "number_too_large",
            "too_deep",
            "malformed_json",
            "bad_schema",
        ]
        wait_for(lambda: len(wire.letters) >= len(expected), timeout=20, what="dead letters")
        assert wire.reasons() == expected
        assert wire.events == []  # the forged overspeed raised nothing

        wire.speed(3.0)  # a real overspeed, after the year-ahead batch
        wait_for(lambda: wire.events, timeout=20, what="the overspeed alarm")
        assert {e.rule for e in wire.events} >= {"elevator.overspeed_1_2"}
        text = _metrics(config)
        for reason in expected:
            assert f'bldgwatch_rules_dead_letters_total{{reason="{reason}"}} 1.0' in text
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


def test_a_failing_handler_costs_one_message_not_the_process(
    config: RulesConfig, wire: Wire
) -> None:
    sites = load_owned_sites(config)
    db = make_engine(config.database)
    engine = make_engine_for(config, load_rules(config.packs, []), sites, AlarmStore(db))
    evaluate = engine.evaluate

    def evaluate_or_fail(site: str, readings: Any, **seen: Any) -> list[PendingChange]:
        readings = list(readings)
        if any(r.value == 13.0 for r in readings):
            raise RuntimeError("a bug that only value 13 finds")
        return evaluate(site, readings, **seen)

    engine.evaluate = evaluate_or_fail  # type: ignore[method-assign]
    stop = threading.Event()
    service = RulesService(config, engine, sites, stop)
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        wait_for(lambda: service.client.wait_subscribed(0.1), timeout=20, what="subscribed")
        wire.speed(13.0)
        wire.speed(3.0)
        wait_for(lambda: wire.events, timeout=20, what="the alarm after the failure")
        assert wire.reasons() == ["handler_failed"]
        assert "RuntimeError: a bug that only value 13 finds" in wire.letters[0]["detail"]
        assert "bldgwatch_rules_handler_failures_total 1.0" in _metrics(config)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(30)
        db.dispose()
