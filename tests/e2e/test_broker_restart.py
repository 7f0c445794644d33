"""Point 5 of issue 12: nothing is lost through a broker restart. Under load (a gateway process
polling 1,250 readings/s), ingest stops cleanly, the broker restarts (cleanly, or SIGKILLed),
then ingest starts again: every batch arrives once by seq, and InfluxDB stores every reading
the gateway read, no more (counted per equipment, point and timestamp).

With SIGKILL the broker loses what it acknowledged after its last autosave (5 s); the gateway
covers it by sending the batches acknowledged within its resend window (60 s) again after the
reconnect. The ingest session must have been saved once before the kill (a session the broker
never wrote is gone with it), so the load runs past one autosave first."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.tsdb import TsdbError, open_store
from bldgwatch.servers import AUTOSAVE_INTERVAL_S, Server, restart, start_mosquitto
from tests.gateway.harness import (
    Collector,
    GatewayProcess,
    ModbusUnits,
    gateway_config,
    load_devices,
    queue_depth,
    running,
    write_load_profile,
)
from tests.ingest.procs import IngestProcess, ingest_config
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e, pytest.mark.slow]
logger = logging.getLogger(__name__)

UNITS, INTERVAL_S = 5, 0.2  # 1,250 readings/s
AUTOSAVE_S = AUTOSAVE_INTERVAL_S  # deploy/mosquitto/demo.conf
TAGS = frozenset({"time", "site", "building", "equipment", "gateway", "_measurement"})


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[list[Server]]:
    holder = [start_mosquitto(tmp_path / "broker")]
    yield holder
    holder[0].discard()


def _stored(influx: InfluxSettings, gateway: str) -> Counter[tuple[str, str, int]]:
    """(equipment, point, ts) → how often InfluxDB holds it (a point is stored once)."""
    store = open_store(influx)
    try:
        rows = store.query(f"SELECT * FROM load_test WHERE gateway='{gateway}'")  # noqa: S608
    except TsdbError:
        return Counter()  # ingest has not made the database yet
    finally:
        store.close()
    out: Counter[tuple[str, str, int]] = Counter()
    for row in rows:
        for name, value in row.items():
            if name not in TAGS and value is not None:
                out[(row["equipment"], name, int(row["time"]))] += 1
    return out


@pytest.mark.long(seconds=30)
@pytest.mark.timeout(420)
@pytest.mark.parametrize("how", ["clean", "sigkill"])
def test_nothing_is_lost_or_doubled_through_a_broker_restart(
    tmp_path: Path, broker: list[Server], influx_settings: InfluxSettings, how: str
) -> None:
    gw = f"gw-{how}"
    units = ModbusUnits(UNITS)
    profile = write_load_profile(tmp_path / "profiles")
    mqtt = MqttSettings(port=broker[0].port)
    config = gateway_config(
        tmp_path / "gw.yaml",
        gateway=gw,
        mqtt_port=broker[0].port,
        devices=load_devices(UNITS, units.port, profile, INTERVAL_S),
        profiles_dir=tmp_path / "profiles",
    )
    tag = uuid.uuid4().hex[:6]
    ingest = IngestProcess(
        tmp_path, ingest_config(mqtt, influx_settings, instance=f"i-{tag}", group=f"g{tag}")
    )
    collector = Collector(mqtt, "t", gw)
    try:
        ingest.start()
        with running(GatewayProcess(config, tmp_path / "gw.log")) as gateway:
            wait_for(lambda: _stored(influx_settings, gw), timeout=60, what="first stored")
            # Long enough for one autosave: the ingest session is on disk before the kill.
            time.sleep(AUTOSAVE_S + 5 if how == "sigkill" else 5)  # the load itself
            marks = {"ingest_stop": int(time.time() * 1000)}
            assert ingest.stop() == 0
            time.sleep(8)  # readings queue in ingest's session meanwhile (the load)
            if how == "sigkill":
                broker[0].kill()
            else:
                broker[0].stop()
            marks["broker_down"] = int(time.time() * 1000)
            broker[0] = restart(broker[0])
            marks["broker_up"] = int(time.time() * 1000)
            time.sleep(3)  # the gateway reconnects and sends again what it must (the load)
            ingest.start()
            marks["ingest_start"] = int(time.time() * 1000)
            time.sleep(8)  # and the load goes on
            assert gateway.stop() == 0  # drains its queue first
        assert queue_depth(tmp_path / f"{gw}.sqlite") == 0
        by_seq = collector.by_seq()  # asserts a seq never changes content
        assert set(by_seq) == set(range(1, max(by_seq) + 1)), "a seq is missing"
        sent = collector.key_counts()
        assert max(sent.values()) == 1, "a reading travelled in two batches"
        with contextlib.suppress(AssertionError):  # the comparison below says what is missing
            wait_for(
                lambda: len(_stored(influx_settings, gw)) >= len(sent),
                timeout=60,
                what="every reading stored",
            )
        stored = _stored(influx_settings, gw)
        lost = set(sent) - set(stored)
        extra = set(stored) - set(sent)
        for name, keys in (("lost", lost), ("extra", extra)):
            if not keys:
                continue
            times = sorted({ts for _, _, ts in keys})
            logger.info("%s e.g. %s", name, sorted(keys)[:3])
            logger.info("%s %d readings at %d timestamps from %d to %d; marks %s", name,
                        len(keys), len(times), times[0], times[-1], marks)  # fmt: skip
        logger.info(
            "broker restart (%s): batches=%d readings_sent=%d stored=%d lost=%d extra=%d",
            how,
            len(by_seq),
            len(sent),
            len(stored),
            len(lost),
            len(extra),
        )
        assert (len(lost), len(extra)) == (0, 0), (sorted(lost)[:5], sorted(extra)[:5])
        assert len(sent) > 20_000
        assert "Permission denied" not in broker[0].log_path.read_text()
    finally:
        ingest.stop()
        collector.close()
        units.close()
