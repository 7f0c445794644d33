"""The ingest service: MQTT readings (shared subscription, persistent session, manual acks)
→ validation → InfluxDB, at least once and idempotently; dead letters; status and metrics."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho

from bldgwatch.core import topics
from bldgwatch.core.backoff import backoff_delay
from bldgwatch.core.clock import Clock, SystemClock, to_epoch_ms
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.metrics import MetricsServer
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.sdnotify import HEARTBEAT
from bldgwatch.core.site import load_site
from bldgwatch.core.tsdb import TimeSeriesStore, TsdbError
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.ingest.counters import Counters
from bldgwatch.ingest.deadletter import DeadLetter, DeadLetterBox
from bldgwatch.ingest.errors import WriterClosedError
from bldgwatch.ingest.link import Acker
from bldgwatch.ingest.metrics import Figures, ingest_registry
from bldgwatch.ingest.pipeline import MessagePipeline, ReadingsPipeline
from bldgwatch.ingest.retention import apply_retention
from bldgwatch.ingest.status import offline_document, status_document
from bldgwatch.ingest.store import open_line_store
from bldgwatch.ingest.telegraf import TelegrafPipeline
from bldgwatch.ingest.validate import ValidationPolicy
from bldgwatch.ingest.writer import WRITE_REJECTED, BatchWriter, Delivery, WriterSettings

__all__ = ["IngestService", "run"]

logger = logging.getLogger(__name__)

BEAT_S = 1.0
"""How often the main loop turns (systemd's watchdog hears of it: core.sdnotify)."""

Handle = Callable[[Delivery, bytes], None]


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
        self._store = store or open_line_store(cfg.influx, compress=cfg.gzip)
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
        self._acker = Acker(self._client, self.counters)
        self._dead = DeadLetterBox(self._publish_qos1, self.counters)
        self._writer = self._make_writer()
        policy = self._policy()
        self._pipeline = ReadingsPipeline(
            writer=self._writer,
            dead_letters=self._dead,
            counters=self.counters,
            policy=policy,
            clock=self.clock,
        )
        self._telegraf = TelegrafPipeline(
            writer=self._writer,
            dead_letters=self._dead,
            counters=self.counters,
            policy=policy,
            clock=self.clock,
            precision=cfg.telegraf_precision,
        )
        self.metrics: MetricsServer | None = None

    def _make_writer(self) -> BatchWriter:
        cfg = self.cfg
        return BatchWriter(
            self._store,
            settings=WriterSettings(
                batch_lines=cfg.batch_lines,
                batch_messages=cfg.batch_messages,
                flush_interval_s=cfg.flush_interval_s,
                max_pending_lines=cfg.max_pending_lines,
                backoff_max_s=cfg.backoff_max_s,
            ),
            ack=self._on_written,
            reject_line=self._reject_line,
            counters=self.counters,
        )

    def _policy(self) -> ValidationPolicy:
        if not self.cfg.site_files and self.cfg.register_required:
            raise ConfigError(
                "site_files: ingest needs the site register to know which gateway owns which "
                "equipment (set register_required: false to store readings of any equipment "
                "from any gateway, for development only)"
            )
        sites = [load_site(path) for path in self.cfg.site_files]
        if not sites:
            logger.warning(
                "no site register: readings of any equipment from any gateway are stored"
            )
        return ValidationPolicy(
            max_future_s=self.cfg.max_future_s,
            max_age_s=self.cfg.max_age_s,
            registry=EquipmentRegister(sites) if sites else None,
            limits=self.cfg.decode,
        )

    def run(self, stop: threading.Event) -> None:
        """Prepare InfluxDB, subscribe, publish status until `stop`, then shut down."""
        if not self._prepare_influx(stop):
            self._store.close()
            return
        if self.cfg.metrics_port:
            registry = ingest_registry(self.figures, instance=self.cfg.instance)
            self.metrics = MetricsServer(
                self.cfg.metrics_host, self.cfg.metrics_port, registry, name="ingest"
            )
            self.metrics.start()
        self._writer.start()
        self._accepting.set()
        self._subscribe()
        self._client.start()
        try:
            self.publish_status("running")
            next_status = time.monotonic() + self.cfg.status_interval_s
            while not stop.wait(BEAT_S):
                HEARTBEAT.beat()
                if self._client.wait_subscribed(0):  # readings reach us from now on
                    HEARTBEAT.ready()
                if time.monotonic() >= next_status:
                    self.publish_status("running")
                    next_status = time.monotonic() + self.cfg.status_interval_s
        finally:
            self._shutdown()

    def _filter(self, topic_filter: str) -> str:
        if self.cfg.shared_subscription:
            return topics.shared(self.cfg.group, topic_filter)
        return topic_filter

    def _subscribe(self) -> None:
        readings = self._filter(topics.ALL_READINGS)
        self._client.subscribe(readings, self._handler(self._pipeline.handle, self._pipeline))
        for topic_filter in self.cfg.telegraf_topics:
            self._client.subscribe(
                self._filter(topic_filter), self._handler(self._telegraf.handle, self._telegraf)
            )
        logger.info(
            "ingest %s consuming %s",
            self.cfg.instance,
            ", ".join([readings, *self.cfg.telegraf_topics]),
        )

    def figures(self) -> Figures:
        """The counters and the current gauges, for /metrics (any thread)."""
        gauges = self.counters.gauges()
        gauges["pending"] = self._writer.pending_lines
        return self.counters.snapshot(), gauges

    def publish_status(self, state: str) -> None:
        """Publish the retained status and counters."""
        doc = status_document(
            instance=self.cfg.instance,
            group=self.cfg.group,
            state=state,
            at=self.clock.now(),
            counters=self.counters.snapshot(),
            pending=self._writer.pending_lines,
            lag_s=self.counters.gauges().get("lag_s"),
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
        if self.metrics is not None:
            self.metrics.stop()
        logger.info(
            "ingest %s stopped (%s)",
            self.cfg.instance,
            "all written" if flushed else "some readings left for redelivery",
        )

    def _prepare_influx(self, stop: threading.Event) -> bool:
        """Create the database and its retention, retrying until InfluxDB answers."""
        attempt = 0
        while not stop.is_set():
            try:
                self._store.ensure_database()
                apply_retention(self.cfg.influx, self.cfg.retention)
            except TsdbError as err:
                if not err.retryable and err.status is None and "InfluxQL" in str(err):
                    # A retention statement the server refuses: a config problem (exit 2).
                    raise ConfigError(f"retention: InfluxDB refused the set-up: {err}") from err
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

    def _handler(
        self, handle: Handle, pipeline: MessagePipeline
    ) -> Callable[[paho.MQTTMessage], None]:
        def on_message(msg: paho.MQTTMessage) -> None:
            if not self._accepting.is_set():
                return  # stopping: left unacknowledged, the broker redelivers it
            delivery = Delivery(
                mid=msg.mid, qos=msg.qos, topic=msg.topic, session=self._client.generation
            )
            payload = bytes(msg.payload)
            try:
                handle(delivery, payload)
            except WriterClosedError:
                logger.debug("stopping: message %d on %s left for redelivery", msg.mid, msg.topic)
            except Exception as err:  # a supervisor's top, per message: never stall on one
                logger.exception(
                    "ingest: handling message mid %d on %s failed; dead-lettered",
                    msg.mid,
                    msg.topic,
                )
                with contextlib.suppress(WriterClosedError):
                    pipeline.refuse_failed(delivery, payload, err)

        return on_message

    def _on_written(self, delivery: Delivery) -> None:
        self._acker.ack(delivery)
        if delivery.newest_ms is not None:
            lag = (to_epoch_ms(self.clock.now()) - delivery.newest_ms) / 1000
            self.counters.set_gauge("lag_s", lag)

    def _reject_line(self, delivery: Delivery, line: str, detail: str) -> None:
        self._dead.send(
            DeadLetter(WRITE_REJECTED, detail, delivery.topic, delivery.seq, line.encode("utf-8"))
        )

    def _publish_qos1(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1)
