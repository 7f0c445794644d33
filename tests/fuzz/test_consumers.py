"""Issue 12, point 2, CI-sized: each consumer of the data plane as its own process on the real
broker takes 1,000 hypothesis payloads mixed with good traffic: it does not crash, does not
stall, every good message has its effect, and its dead letters add up reason by reason.
`bench/fuzz.py` runs the same with 100,000 payloads per consumer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench.support.fuzz.consumers import CONSUMERS
from bench.support.fuzz.run import run_fuzz
from bldgwatch.core.config import InfluxSettings, MqttSettings

pytestmark = pytest.mark.services
logger = logging.getLogger(__name__)

PAYLOADS = 1000


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(CONSUMERS))
def test_a_consumer_survives_every_payload(
    name: str, tmp_path: Path, mqtt_settings: MqttSettings, influx_settings: InfluxSettings
) -> None:
    consumer = CONSUMERS[name](name, tmp_path, mqtt_settings, influx_settings, good_capacity=200)
    result = run_fuzz(consumer, PAYLOADS, good_every=50, chunk=250, rng_seed=12)
    logger.info("fuzz %s", result.line())
    assert result.payloads == PAYLOADS
    assert (result.crashes, result.stalls) == (0, 0), result.line()
    assert result.good_stored == result.good_sent, result.line()
    assert result.counts_add_up, (result.line(), result.letters_counted, result.taken)
    assert len(result.letters_seen) >= 3, result.letters_seen  # many kinds of damage met
