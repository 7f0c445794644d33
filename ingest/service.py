"""The ingest service: MQTT readings (shared subscription, persistent session, manual acks)
→ validation → InfluxDB, at least once and idempotently; dead letters; a status topic."""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path
from typing import Self

import paho.mqtt.client as paho
from pydantic import Field, field_validator, model_validator

from core import topics
from core.clock import Clock, SystemClock
from core.config import InfluxSettings, MqttSettings, StrictModel
from core.errors import ConfigError
from core.mqtt import MqttClient, Will
from core.site import load_site
from core.tsdb import TimeSeriesStore, TsdbError, open_store
from ingest.counters import Counters
from ingest.deadletter import DeadLetter, DeadLetterBox
from ingest.errors import WriterClosedError
from ingest.link import Acker
from ingest.pipeline import ReadingsPipeline
from ingest.status import offline_document, status_document
from ingest.validate import ValidationPolicy, registry_from_sites
from ingest.writer import WRITE_REJECTED, BatchWriter, Delivery, WriterSettings, backoff_delay

logger = logging.getLogger(__name__)


class IngestConfig(StrictModel):
    """Configuration of one ingest instance."""

    instance: str = Field(
        "ingest-1",
        description="Instance name: MQTT client id suffix and "
        "status topic level; keep it stable, the persistent session is its.",
    )
    group: str = Field(
        "ingest",
        description="Shared-subscription group; instances in one group split the readings stream.",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="The MQTT broker.")
    influx: InfluxSettings = Field(default_factory=InfluxSettings, description="InfluxDB.")
    session_expiry_s: int = Field(
        3600,
        ge=0,
        description="How long the broker keeps the "
        "session (and unacknowledged readings) while ingest is down.",
    )
    batch_lines: int = Field(5000, ge=1, description="Lines per InfluxDB write.")
    batch_messages: int = Field(
        20,
        ge=1,
        description="Also write when this many messages wait for their ack. Keep it at or "
        "below the broker's per-client in-flight limit (Mosquitto max_inflight_messages, "
        "20 by default): the broker sends no more unacknowledged messages than that.",
    )
    flush_interval_s: float = Field(
        0.5,
        gt=0,
        description="Longest a line waits for its "
        "batch to fill before it is written anyway, seconds.",
    )
    max_pending_lines: int = Field(
        200_000,
        ge=1,
        description="Buffer bound; when full, "
        "ingest stops taking messages and the broker holds them.",
    )
    max_future_s: float = Field(
        300, ge=0, description="Readings further ahead of the clock than this are refused, seconds."
    )
    max_age_s: float = Field(
        2_592_000,
        gt=0,
        description="Readings older than this (the retention) are refused, seconds.",
    )
    status_interval_s: float = Field(
        10.0, gt=0, description="Period of the retained status and counters message, seconds."
    )
    telegraf_topics: list[str] = Field(
        default_factory=list,
        description="Reserved (issue 5): topics whose payloads are line protocol.",
    )
    site_files: list[Path] = Field(
        default_factory=list,
        description="Optional equipment "
        "registry: site YAML files; when given, readings of "
        "equipment not in them are refused.",
    )
    shutdown_timeout_s: float = Field(
        10.0,
        gt=0,
        description="How long stopping waits for "
        "the last writes; what is left stays unacknowledged.",
    )

    @field_validator("group")
    @classmethod
    def _check_group(cls, value: str) -> str:
        topics.shared(value, topics.ALL_READINGS)  # ValueError names the bad level
        return value

    @field_validator("instance")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        topics.service_status("ingest", value)
        return value

    @field_validator("telegraf_topics")
    @classmethod
    def _check_telegraf(cls, value: list[str]) -> list[str]:
        if value:
            raise ValueError("not supported yet (issue 5); leave it empty")
        return value

    @field_validator("site_files")
    @classmethod
    def _check_site_files(cls, value: list[Path]) -> list[Path]:
        for path in value:
            try:
                load_site(path)
            except ConfigError as err:
                raise ValueError(str(err)) from err
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.max_pending_lines < self.batch_lines:
            raise ValueError("max_pending_lines must be at least batch_lines")
        return self


def run(cfg: IngestConfig, stop: threading.Event) -> None:
    """Run ingest until `stop` is set; then flush, ack and disconnect."""
    IngestService(cfg).run(stop)


class IngestService:
    """Wires the pieces; `run` blocks until stopped."""

    def __init__(
        self,
        cfg: IngestConfig,
        *,
        clock: Clock | None = None,
        store: TimeSeriesStore | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock = clock or SystemClock()
        self.counters = Counters()
        self._store = store or open_store(cfg.influx)
        self._accepting = threading.Event()
        self._status_topic = topics.service_status("ingest", cfg.instance)
        self._client = MqttClient(
            cfg.mqtt,
            client_id=f"bldgwatch-ingest-{cfg.instance}",
            clean_start=False,
            session_expiry_s=cfg.session_expiry_s,
            manual_ack=True,
            will=Will(self._status_topic, offline_document(instance=cfg.instance, group=cfg.group)),
        )
        self._dead = DeadLetterBox(self._publish_qos1, self.counters)
        self._writer = self._make_writer()
        self._pipeline = self._make_pipeline()

    def _make_writer(self) -> BatchWriter:
        cfg = self.cfg
        return BatchWriter(
            self._store,
            settings=WriterSettings(
                batch_lines=cfg.batch_lines,
                batch_messages=cfg.batch_messages,
                flush_interval_s=cfg.flush_interval_s,
                max_pending_lines=cfg.max_pending_lines,
            ),
            ack=Acker(self._client, self.counters).ack,
            reject_line=self._reject_line,
            counters=self.counters,
        )

    def _make_pipeline(self) -> ReadingsPipeline:
        cfg = self.cfg
        sites = [load_site(path) for path in cfg.site_files]
        policy = ValidationPolicy(
            max_future_s=cfg.max_future_s,
            max_age_s=cfg.max_age_s,
            registry=registry_from_sites(sites) if sites else None,
        )
        return ReadingsPipeline(
            writer=self._writer,
            dead_letters=self._dead,
            counters=self.counters,
            policy=policy,
            clock=self.clock,
        )

    def run(self, stop: threading.Event) -> None:
        """Ensure the database, subscribe, publish status until `stop`, then shut down."""
        if not self._ensure_database(stop):
            self._store.close()
            return
        self._writer.start()
        self._accepting.set()
        self._client.subscribe(topics.shared(self.cfg.group, topics.ALL_READINGS), self._on_message)
        self._client.start()
        logger.info(
            "ingest %s consuming %s",
            self.cfg.instance,
            topics.shared(self.cfg.group, topics.ALL_READINGS),
        )
        try:
            self.publish_status("running")
            while not stop.wait(self.cfg.status_interval_s):
                self.publish_status("running")
        finally:
            self._shutdown()

    def publish_status(self, state: str) -> None:
        """Publish the retained status and counters."""
        doc = status_document(
            instance=self.cfg.instance,
            group=self.cfg.group,
            state=state,
            at=self.clock.now(),
            counters=self.counters.snapshot(),
            pending=self._writer.pending_lines,
        )
        self._client.publish(self._status_topic, doc, qos=1, retain=True)

    def _shutdown(self) -> None:
        # Stop taking messages but keep the subscription: it belongs to the persistent
        # session, so the broker keeps readings for us while we are down.
        self._accepting.clear()
        flushed = self._writer.close(self.cfg.shutdown_timeout_s)
        self.publish_status("stopped")
        self._client.stop()  # sends the queued PUBACKs, then DISCONNECT
        self._store.close()
        logger.info(
            "ingest %s stopped (%s)",
            self.cfg.instance,
            "all written" if flushed else "some readings left for redelivery",
        )

    def _ensure_database(self, stop: threading.Event) -> bool:
        """Create the database, retrying until InfluxDB answers; False when stopped first."""
        attempt = 0
        while not stop.is_set():
            try:
                self._store.ensure_database()
            except TsdbError as err:
                delay = backoff_delay(
                    attempt,
                    initial=0.5,
                    maximum=10.0,
                    retry_after=err.retry_after,
                    jitter=random.random(),
                )
                log = logger.warning if attempt == 0 else logger.debug
                log("InfluxDB not ready (%s); retrying in %.1f s", err, delay)
                attempt += 1
                stop.wait(delay)
            else:
                return True
        return False

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        if not self._accepting.is_set():
            return  # stopping: left unacknowledged, the broker redelivers it
        delivery = Delivery(
            mid=msg.mid, qos=msg.qos, topic=msg.topic, session=self._client.generation
        )
        try:
            self._pipeline.handle(delivery, bytes(msg.payload))
        except WriterClosedError:
            logger.debug("stopping: message %d on %s left for redelivery", msg.mid, msg.topic)

    def _reject_line(self, delivery: Delivery, line: str, detail: str) -> None:
        self._dead.send(
            DeadLetter(WRITE_REJECTED, detail, delivery.topic, delivery.seq, line.encode("utf-8"))
        )

    def _publish_qos1(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1)
