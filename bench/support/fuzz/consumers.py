"""Each consumer of the data plane as a process under fuzzing: how to start it, what hostile
input it gets (hypothesis strategies of (topic, payload)), what a good message is and how its
effect is seen, where its dead letters go and what its /metrics say.

- ingest: readings batches -> InfluxDB (a good reading is found by query);
- rules: readings batches -> alarm events (a good batch raises one alarm on its own pump);
- maintenance: alarm events -> work orders (a good activation opens one, seen as its event);
- console: alarm, work-order and gateway-status messages -> the live WebSocket stream;
- gateway: MQTT sensor messages -> readings batches on the gateway's topic.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as paho
import yaml
from hypothesis import strategies as st

from bench.support.fuzz import payloads as pl
from bldgwatch.core import topics
from bldgwatch.core.codec import decode_batch, encode_batch
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.models import AlarmEvent, EquipmentInfo, Reading, ReadingBatch
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.core.tsdb import TsdbError, open_store
from bldgwatch.servers import free_port

ROOT = Path(__file__).resolve().parents[3]
SITE, BAD_GW, GOOD_GW = "fz", "gw-fuzz", "gw-good"
BAD_EQUIPMENT = ["P-01", "P-02", "X-9"]  # X-9 is in no register
Item = tuple[str, bytes]

logger = logging.getLogger(__name__)


def _metric(text: str, name: str) -> Counter[str]:
    """label value (or "") -> value of every sample of metric `name` in Prometheus text."""
    out: Counter[str] = Counter()
    for line in text.splitlines():
        found = re.match(
            rf'^{re.escape(name)}(?:\{{.*?reason="([^"]*)".*?\}}|\{{[^}}]*\}})? (\S+)$', line
        )
        if found:
            out[found.group(1) or ""] += int(float(found.group(2)))
    return out


def site_file(folder: Path, good: int) -> Path:
    """The register: the bad gateway owns P-01 and P-02, the good one G-0000..G-{good}."""
    equipment = [
        {"id": eq, "type": "pump", "building": "B1", "gateway": BAD_GW} for eq in BAD_EQUIPMENT[:2]
    ] + [
        {"id": f"G-{i:05d}", "type": "pump", "building": "B1", "gateway": GOOD_GW}
        for i in range(good)
    ]
    path = folder / "site.yaml"
    doc = {"site": SITE, "buildings": [{"id": "B1"}], "equipment": equipment}
    path.write_text(yaml.safe_dump(doc))
    return path


@dataclass
class Consumer:
    """One consumer process and what the fuzz run needs of it."""

    name: str
    folder: Path
    mqtt: MqttSettings
    influx: InfluxSettings
    good_capacity: int
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    letters: Counter[str] = field(default_factory=Counter)
    _seen: set[Hashable] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what differs per consumer ---------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The process's YAML config."""
        raise NotImplementedError

    def bad(self) -> st.SearchStrategy[Item]:
        """Hostile (topic, payload) pairs."""
        raise NotImplementedError

    def good(self, i: int) -> tuple[str, bytes, Hashable]:
        """Good message number i: its topic, payload and the key its effect is seen by."""
        raise NotImplementedError

    def deadletter_filter(self) -> str:
        """Where its dead letters arrive."""
        return topics.deadletter(SITE, self.name)

    def effect_filter(self) -> str | None:
        """The topic its good messages' effects are published on (None: see `effects`)."""
        return None

    def effect_key(self, topic: str, payload: bytes) -> Hashable | None:
        """The good message a message on `effect_filter` is the effect of."""
        return None

    def messages_in(self, text: str) -> int | None:
        """How many messages it has taken, from its /metrics (None: not counted)."""
        return None

    def metrics_dead_letters(self, text: str) -> Counter[str]:
        """Dead letters by reason, from its /metrics."""
        return _metric(text, f"bldgwatch_{self.name}_dead_letters_total")

    def metrics_url(self) -> str:
        """Its /metrics."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    # -- shared ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the process and the watcher of dead letters and effects."""
        path = self.folder / f"{self.name}.yaml"
        path.write_text(yaml.safe_dump(self.config()))
        self.watcher = MqttClient(self.mqtt, client_id=f"fz-watch-{uuid.uuid4().hex[:6]}")
        self.watcher.subscribe(self.deadletter_filter(), self._on_letter)
        effects = self.effect_filter()
        if effects is not None:
            self.watcher.subscribe(effects, self._on_effect)
        self.watcher.start()
        assert self.watcher.wait_subscribed(10)
        with (self.folder / f"{self.name}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bldgwatch.cli", self.name, "--config", str(path)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _on_letter(self, msg: paho.MQTTMessage) -> None:
        reason = orjson.loads(msg.payload)["reason"]
        with self._lock:
            self.letters[reason] += 1

    def _on_effect(self, msg: paho.MQTTMessage) -> None:
        key = self.effect_key(msg.topic, bytes(msg.payload))
        if key is not None:
            with self._lock:
                self._seen.add(key)

    def effects(self) -> set[Hashable]:
        """Keys of the good messages whose effect has been seen."""
        with self._lock:
            return set(self._seen)

    def dead_letters_seen(self) -> Counter[str]:
        """Dead letters that arrived on the broker, by reason."""
        with self._lock:
            return Counter(self.letters)

    def metrics(self) -> str:
        """Its /metrics text ("" when it does not answer)."""
        try:
            return httpx.get(self.metrics_url(), timeout=5).text
        except httpx.HTTPError:
            return ""

    def alive(self) -> bool:
        """The process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """SIGTERM; its exit code."""
        self.watcher.stop()
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(30)

    def mqtt_doc(self) -> dict[str, Any]:
        return {"host": self.mqtt.host, "port": self.mqtt.port}

    def db(self) -> dict[str, str]:
        return {"url": f"sqlite:///{self.folder / 'fz.db'}"}


def _good_batch(gateway: str, seq: int, readings: list[Reading]) -> bytes:
    table = {r.equipment: EquipmentInfo("pump", "B1") for r in readings}
    return encode_batch(ReadingBatch(SITE, gateway, seq, table, readings))


def _readings_items(now_ms: int) -> st.SearchStrategy[Item]:
    topic = topics.readings(SITE, BAD_GW)
    base = pl.readings(SITE, BAD_GW, BAD_EQUIPMENT, now_ms)
    return pl.damaged(base).map(lambda p: (topic, p))


class IngestUnderFuzz(Consumer):
    """Readings in, InfluxDB out."""

    def config(self) -> dict[str, Any]:
        return {
            "instance": f"fz-{uuid.uuid4().hex[:6]}",
            "mqtt": self.mqtt_doc(),
            "influx": {"url": self.influx.url, "database": self.influx.database},
            "site_files": [str(site_file(self.folder, self.good_capacity))],
            "flush_interval_s": 0.1,
            "metrics_port": self.metrics_port,
        }

    def bad(self) -> st.SearchStrategy[Item]:
        return _readings_items(int(time.time() * 1000))

    def good(self, i: int) -> tuple[str, bytes, Hashable]:
        ts = int(time.time() * 1000) // 1000 * 1000 - 10_000 + i % 1000
        reading = Reading(f"G-{i:05d}", "good", ts, float(i))
        payload = _good_batch(GOOD_GW, i + 1, [reading])
        return topics.readings(SITE, GOOD_GW), payload, reading.equipment

    def effects(self) -> set[Hashable]:
        store = open_store(self.influx)
        try:
            rows = store.query("SELECT good FROM pump WHERE gateway='gw-good' GROUP BY equipment")
        except TsdbError:
            return set()
        finally:
            store.close()
        return {row["equipment"] for row in rows}

    def messages_in(self, text: str) -> int | None:
        return sum(_metric(text, "bldgwatch_ingest_received_messages_total").values())


class RulesUnderFuzz(Consumer):
    """Readings in, alarm events out."""

    def config(self) -> dict[str, Any]:
        return {
            "instance": f"fz-{uuid.uuid4().hex[:6]}",
            "mqtt": self.mqtt_doc(),
            "database": self.db(),
            "site_files": [str(site_file(self.folder, self.good_capacity))],
            "packs": ["pump"],
            "metrics_port": self.metrics_port,
            "escalate_after_s": 0,
        }

    def bad(self) -> st.SearchStrategy[Item]:
        return _readings_items(int(time.time() * 1000))

    def good(self, i: int) -> tuple[str, bytes, Hashable]:
        now = int(time.time() * 1000)
        eq = f"G-{i:05d}"  # its own pump: one activation each, never chattering
        readings = [Reading(eq, "bearing_temp_c", now - 6000 + k * 1000, 95.0) for k in range(7)]
        return topics.readings(SITE, GOOD_GW), _good_batch(GOOD_GW, i + 1, readings), eq

    def effect_filter(self) -> str:
        return f"bw/v1/{SITE}/alarms/+"

    def effect_key(self, topic: str, payload: bytes) -> Hashable | None:
        event = AlarmEvent.model_validate_json(payload)
        return event.equipment if event.transition == "activate" else None

    def messages_in(self, text: str) -> int | None:
        return sum(_metric(text, "bldgwatch_rules_messages_total").values())


def _alarm(site: str, equipment: str, event_id: str) -> bytes:
    return orjson.dumps(
        {
            "schema": 1,
            "event_id": event_id,
            "alarm_id": event_id,
            "site": site,
            "building": "B1",
            "equipment": equipment,
            "equipment_type": "pump",
            "rule": "pump.bearing_temp_high",
            "fault_code": "PUMP_BEARING_TEMP",
            "family": "bearing",
            "severity": "major",
            "priority": 2,
            "transition": "activate",
            "state": "active_unack",
            "previous_state": "normal",
            "at": "2026-12-06T08:00:00+00:00",
            "value": 95.0,
            "maintenance": "reactive",
        }
    )


class MaintenanceUnderFuzz(Consumer):
    """Alarm events in, work orders out."""

    def config(self) -> dict[str, Any]:
        return {
            "instance": f"fz-{uuid.uuid4().hex[:6]}",
            "mqtt": self.mqtt_doc(),
            "database": self.db(),
            "site_files": [str(site_file(self.folder, self.good_capacity))],
            "metrics_port": self.metrics_port,
        }

    def bad(self) -> st.SearchStrategy[Item]:
        base = pl.alarm_events(SITE, BAD_EQUIPMENT)
        return pl.damaged(base).map(lambda p: (topics.alarms(SITE, "P-01"), p))

    def good(self, i: int) -> tuple[str, bytes, Hashable]:
        eq = f"G-{i:05d}"
        return topics.alarms(SITE, eq), _alarm(SITE, eq, str(uuid.uuid4())), eq

    def effect_filter(self) -> str:
        return f"bw/v1/{SITE}/workorders/+"

    def effect_key(self, topic: str, payload: bytes) -> Hashable | None:
        doc = orjson.loads(payload)
        return doc["equipment"] if doc.get("change") == "created" else None

    def messages_in(self, text: str) -> int | None:
        return sum(_metric(text, "bldgwatch_maintenance_alarm_events_total").values())


class ConsoleUnderFuzz(Consumer):
    """Alarm, work-order and gateway-status messages in, the live WebSocket stream out."""

    def config(self) -> dict[str, Any]:
        self.http_port = self.metrics_port  # the console serves /metrics on its HTTP port
        return {
            "http": {"host": "127.0.0.1", "port": self.http_port},
            "database": self.db(),
            "influx": {"url": self.influx.url, "database": self.influx.database},
            "mqtt": self.mqtt_doc(),
            "dev": True,
        }

    def bad(self) -> st.SearchStrategy[Item]:
        return st.one_of(
            pl.damaged(pl.alarm_events(SITE, BAD_EQUIPMENT)).map(
                lambda p: (topics.alarms(SITE, "P-01"), p)
            ),
            pl.damaged(pl.work_order_events(SITE, BAD_EQUIPMENT)).map(
                lambda p: (topics.work_orders(SITE, "P-01"), p)
            ),
            pl.damaged(pl.gateway_status()).map(lambda p: (topics.gateway_status(SITE, BAD_GW), p)),
        )

    def good(self, i: int) -> tuple[str, bytes, Hashable]:
        eq, event_id = f"G-{i:05d}", str(uuid.uuid4())
        return topics.alarms(SITE, eq), _alarm(SITE, eq, event_id), event_id

    def metrics_dead_letters(self, text: str) -> Counter[str]:
        return _metric(text, "bldgwatch_console_live_dropped_total")

    def start(self) -> None:
        super().start()
        self._ws_thread = threading.Thread(target=self._listen, name="fz-live", daemon=True)
        self._stop_ws = threading.Event()
        self._ws_thread.start()

    def _listen(self) -> None:
        """The live stream as a client must read it: a stream the console cuts off (a client
        too slow for the events, on a busy machine) is resumed after the last event id."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        base = f"http://127.0.0.1:{self.http_port}"
        last_id: int | None = None
        while not self._stop_ws.is_set():
            try:
                token = httpx.post(
                    f"{base}/api/auth/token",
                    data={"username": "admin", "password": "bldgwatch-dev"},
                    timeout=5,
                ).json()["access_token"]
                url = f"ws://127.0.0.1:{self.http_port}/api/live?access_token={token}"
                if last_id is not None:
                    url += f"&last_event_id={last_id}"
                with connect(url, open_timeout=5, max_size=None) as ws:
                    while not self._stop_ws.is_set():
                        try:
                            doc = orjson.loads(ws.recv(timeout=1))
                        except TimeoutError:
                            continue  # nothing new: keep listening
                        if doc.get("kind") == "hello" and doc.get("complete") is False:
                            # events after last_id had left the console's ring: a missed
                            # alarm is then the harness's loss, not a stall of the console
                            logger.warning("live stream resumed with a gap after %s", last_id)
                        if doc.get("kind") == "hello" and last_id is None:
                            last_id = doc.get("last_id")
                        elif isinstance(doc.get("id"), int):
                            last_id = doc["id"]
                        if doc.get("kind") == "alarm":
                            with self._lock:
                                self._seen.add(doc["data"]["event_id"])
            except (OSError, httpx.HTTPError, KeyError, ValueError, RuntimeError):
                time.sleep(0.5)  # the console is still starting: try again
            except WebSocketException:
                time.sleep(0.1)  # the console closed the stream: resume after last_id

    def stop(self) -> int:
        self._stop_ws.set()
        self._ws_thread.join(10)
        return super().stop()


class GatewayUnderFuzz(Consumer):
    """MQTT sensor messages in, readings batches out."""

    SENSOR_TOPIC = f"sensors/{SITE}/TS-F"

    def config(self) -> dict[str, Any]:
        return {
            "site": SITE,
            "gateway_id": BAD_GW,
            "mqtt": self.mqtt_doc(),
            "queue": {"path": str(self.folder / "gw.sqlite"), "flush_interval_s": 0.1},
            "metrics": {"port": self.metrics_port},
            "mqtt_sensors": [
                {
                    "equipment": "TS-F",
                    "type": "temp_sensor",
                    "building": "B1",
                    "topic": self.SENSOR_TOPIC,
                    "points": {"temperature_c": "data.temp"},
                    "timestamp_path": "ts",
                }
            ],
        }

    def bad(self) -> st.SearchStrategy[Item]:
        return pl.damaged(pl.sensor_messages()).map(lambda p: (self.SENSOR_TOPIC, p))

    def good(self, i: int) -> tuple[str, bytes, Hashable]:
        ts = 1_900_000_000_000 + i  # no hostile message carries these times
        payload = orjson.dumps({"ts": ts, "data": {"temp": 21.5}})
        return self.SENSOR_TOPIC, payload, ts

    def deadletter_filter(self) -> str:
        return topics.gateway_deadletter(SITE, BAD_GW)

    def effect_filter(self) -> str:
        return topics.readings(SITE, BAD_GW)

    def effect_key(self, topic: str, payload: bytes) -> Hashable | None:
        batch = decode_batch(payload).batch
        with self._lock:  # a batch holds many readings: add them all here
            self._seen.update(r.ts_ms for r in batch.readings if r.ts_ms >= 1_900_000_000_000)
        return None

    def metrics_dead_letters(self, text: str) -> Counter[str]:
        return _metric(text, "bldgwatch_gateway_sensor_bad_payloads_total")

    def messages_in(self, text: str) -> int | None:
        return sum(_metric(text, "bldgwatch_gateway_sensor_messages_total").values())


CONSUMERS: dict[str, type[Consumer]] = {
    "ingest": IngestUnderFuzz,
    "rules": RulesUnderFuzz,
    "maintenance": MaintenanceUnderFuzz,
    "console": ConsoleUnderFuzz,
    "gateway": GatewayUnderFuzz,
}
