"""Two `bldgwatch ingest` processes on one shared subscription, real Mosquitto and influxd:
every reading stored exactly once, also when one of them is SIGKILLed mid-run.

What Mosquitto (2.0) does with a shared-subscription member whose persistent session
outlives its process: the messages it had in flight stay in ITS session (they are not
handed to the survivor), and the broker keeps choosing it for new messages, queueing them
in the offline session, until the session expires. Nothing is lost, but that share waits
for the same instance id to come back (systemd `Restart=always`), which this test does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from tests.ingest.procs import (
    IngestProcess,
    SeqPublisher,
    ingest_config,
    stored_count,
    stored_seqs,
    watch_status,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.services

BATCHES, PER_BATCH = 600, 20


@pytest.fixture
def store(influx_settings: InfluxSettings) -> Iterator[TimeSeriesStore]:
    s = open_store(influx_settings)
    s.ensure_database()
    yield s
    s.close()


@pytest.fixture
def pair(
    tmp_path: Path, mqtt_settings: MqttSettings, influx_settings: InfluxSettings
) -> Iterator[tuple[IngestProcess, IngestProcess]]:
    group = f"h{uuid.uuid4().hex[:8]}"
    procs = tuple(
        IngestProcess(
            tmp_path,
            ingest_config(
                mqtt_settings,
                influx_settings,
                instance=f"{group}-{n}",
                group=group,
                shared_subscription=True,  # the two split the stream
            ),
        )
        for n in ("a", "b")
    )
    a, b = procs
    try:
        yield a, b
    finally:
        for p in procs:
            p.kill()


def _both_consuming(pair: tuple[IngestProcess, IngestProcess], mqtt: MqttSettings) -> None:
    """Start both and wait until each has announced itself (its subscription comes first)."""
    with watch_status(mqtt, [p.config["instance"] for p in pair]) as seen:
        for p in pair:
            p.start()
        wait_for(
            lambda: all(seen.get(p.config["instance"], {}).get("state") == "running" for p in pair),
            timeout=60,
            what="both instances running",
        )


def _check_exactly_once(store: TimeSeriesStore) -> None:
    total = BATCHES * PER_BATCH
    wait_for(
        lambda: stored_count(store) == total,
        timeout=120,
        what=f"{total} readings stored",
        interval=0.5,
    )
    seqs = stored_seqs(store)
    assert seqs == dict.fromkeys(range(BATCHES), PER_BATCH)


def test_two_processes_store_every_reading_exactly_once(
    pair: tuple[IngestProcess, IngestProcess],
    mqtt_settings: MqttSettings,
    store: TimeSeriesStore,
) -> None:
    _both_consuming(pair, mqtt_settings)
    publisher = SeqPublisher(mqtt_settings, n=BATCHES, per_batch=PER_BATCH, rate=300)
    publisher.start()
    try:
        publisher.join(120)
        _check_exactly_once(store)
    finally:
        publisher.close()
    assert [p.stop() for p in pair] == [0, 0]


def test_one_process_killed_mid_run_loses_nothing_and_duplicates_nothing(
    pair: tuple[IngestProcess, IngestProcess],
    mqtt_settings: MqttSettings,
    store: TimeSeriesStore,
) -> None:
    a = pair[0]
    _both_consuming(pair, mqtt_settings)
    publisher = SeqPublisher(mqtt_settings, n=BATCHES, per_batch=PER_BATCH, rate=100)
    publisher.start()
    try:
        wait_for(lambda: publisher.sent >= BATCHES // 3, timeout=60, what="a third published")
        a.kill()
        at_kill = stored_count(store)
        # The survivor keeps writing its share while the killed one is away.
        wait_for(
            lambda: stored_count(store) >= at_kill + 50 * PER_BATCH,
            timeout=60,
            what="the survivor to keep storing",
        )
        a.start()  # same instance id: its session's unacked and queued messages come back
        publisher.join(120)
        _check_exactly_once(store)
    finally:
        publisher.close()
    assert [p.stop() for p in pair] == [0, 0]
