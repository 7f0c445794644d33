"""Line-protocol payloads (Telegraf's MQTT output): the strict parser, and the real path
through Mosquitto and influxd."""

from __future__ import annotations

import queue
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest

from bldgwatch.core import topics
from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import TsdbError, open_store
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.ingest.service import IngestService
from bldgwatch.ingest.telegraf import LineError, check_lines, parse_line, to_ms
from bldgwatch.ingest.validate import ValidationPolicy
from tests.waiting import wait_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NOW_NS = to_epoch_ms(NOW) * 1_000_000


@pytest.mark.parametrize(
    ("line", "head", "ts"),
    [
        ("cpu,host=a usage_idle=97.5 1", "cpu,host=a usage_idle=97.5", 1),
        ("cpu usage=1i,ok=true", "cpu usage=1i,ok=true", None),
        ('syslog,host=a msg="a, b c=\\"d\\"" 5', 'syslog,host=a msg="a, b c=\\"d\\""', 5),
        (
            "my\\ meas,tag\\ key=v\\,1 f\\=x=1e-3,u=3u -2",
            "my\\ meas,tag\\ key=v\\,1 f\\=x=1e-3,u=3u",
            -2,
        ),
        ("disk,path=/ free=.5,used=-1.25E+3", "disk,path=/ free=.5,used=-1.25E+3", None),
    ],
)
def test_parse_good_lines(line: str, head: str, ts: int | None) -> None:
    parsed = parse_line(line)
    assert (parsed.head, parsed.timestamp) == (head, ts)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("cpu", "bad_line"),
        ("cpu,host=a", "bad_line"),
        ("cpu usage=", "bad_value"),
        ("cpu usage=NaN 1", "bad_value"),
        ("cpu usage=inf", "bad_value"),
        ("cpu usage=1x", "bad_value"),
        ("cpu usage=1 12ab", "bad_line"),
        ("cpu usage=1  5", "bad_line"),
        ("cpu,host= usage=1", "bad_line"),
        ("cpu,=a usage=1", "bad_line"),
        ("cpu time=1", "bad_point"),
        (",host=a usage=1", "bad_line"),
        ('cpu msg="open', "bad_line"),
        ("cpu usage=1,", "bad_line"),
        ("cpu\tx usage=1", "bad_line"),
    ],
)
def test_parse_bad_lines(line: str, reason: str) -> None:
    with pytest.raises(LineError) as err:
        parse_line(line)
    assert err.value.reason == reason


def test_precisions() -> None:
    assert [to_ms(1_500_000_000, p) for p in ("ns", "us", "ms")] == [1500, 1_500_000, 1_500_000_000]
    assert to_ms(3, "s") == 3000


def test_check_lines_keeps_good_ones_in_ms_and_refuses_the_rest() -> None:
    payload = "\n".join(
        [
            f"cpu,host=a usage_idle=97.5 {NOW_NS - 10**9}",
            "# a comment",
            "",
            f"cpu,host=a usage_idle=oops {NOW_NS}",
            f"cpu,host=a usage_idle=1 {NOW_NS + 3600 * 10**9}",
            f"cpu,host=a usage_idle=1 {NOW_NS - 40 * 86_400 * 10**9}",
            "mem,host=a used=5i",
        ]
    ).encode()
    kept, refused = check_lines(payload, now=NOW, precision="ns", policy=ValidationPolicy())
    now_ms = to_epoch_ms(NOW)
    assert kept == [f"cpu,host=a usage_idle=97.5 {now_ms - 1000}", f"mem,host=a used=5i {now_ms}"]
    assert [e.reason for e in refused] == ["bad_value", "future_timestamp", "too_old"]
    assert check_lines(b"\xff", now=NOW, precision="ns", policy=ValidationPolicy())[1][
        0
    ].reason == ("bad_encoding")


@pytest.mark.services
def test_telegraf_lines_published_on_mqtt_are_stored(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings
) -> None:
    tag = uuid.uuid4().hex[:6]
    topic = f"telegraf/{tag}/cpu"
    cfg = IngestConfig(
        instance=f"tg-{tag}",
        group=f"tg{tag}",
        mqtt=mqtt_settings,
        influx=influx_settings,
        flush_interval_s=0.1,
        register_required=False,
        status_interval_s=0.2,
        telegraf_topics=[f"telegraf/{tag}/#"],
    )
    letters: queue.Queue[paho.MQTTMessage] = queue.Queue()
    client = MqttClient(mqtt_settings, client_id=f"t-tg-{tag}")
    client.subscribe(topics.deadletter("_unknown", "ingest"), letters.put)
    client.start()
    assert client.wait_connected(10)
    service = IngestService(cfg)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,))
    thread.start()
    store = open_store(influx_settings)
    now_s = to_epoch_ms(SystemClock().now()) // 1000 - 30
    # What Telegraf's outputs.mqtt with data_format = "influx" publishes: ns timestamps.
    body = (
        f"cpu,cpu=cpu-total,host={tag} usage_idle=97.25,usage_user=1.5 {now_s * 10**9}\n"
        f"mem,host={tag} used=5120i,used_percent=12.5 {now_s * 10**9}\n"
        f"cpu,cpu=cpu1,host={tag} usage_idle=oops {now_s * 10**9}\n"
    ).encode()
    try:

        def stored() -> list[dict[str, Any]] | None:
            client.publish(topic, body, qos=1)
            try:
                rows = store.query("SELECT * FROM cpu, mem WHERE host = '" + tag + "'")  # noqa: S608
            except TsdbError as err:  # the service creates its database as it starts
                if "database not found" in str(err):
                    return None
                raise
            return rows if len(rows) == 2 else None

        rows = wait_for(stored, timeout=30, what="Telegraf lines in InfluxDB", interval=0.5)
        by_name = {r["_measurement"]: r for r in rows}
        cpu, mem = by_name["cpu"], by_name["mem"]
        assert (cpu["cpu"], cpu["time"], cpu["usage_idle"]) == ("cpu-total", now_s * 1000, 97.25)
        assert (mem["time"], mem["used"], mem["used_percent"]) == (now_s * 1000, 5120, 12.5)
        letter: dict[str, Any] = orjson.loads(letters.get(timeout=30).payload)
        assert (letter["reason"], letter["topic"]) == ("bad_value", topic)
        assert service.counters.reasons("rejected").get("bad_value", 0) >= 1
    finally:
        stop.set()
        thread.join(60)
        client.stop()
        store.close()
