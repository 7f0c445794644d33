"""The rules service: readings from MQTT → evaluation → alarm store → alarm events on MQTT.

Threads: paho's network thread only hands messages to a `core.inbox.Inbox`; one worker thread
decodes, evaluates, stores, publishes and then acknowledges each message (manual PUBACK, on
the connection it came on), so a message is acknowledged only once its alarm changes are
committed. The same worker runs the clock tick (stale points, delays that run out without a
reading, shelf expiry, escalation, flood ends), so condition state has one owner. With a
persistent session (`clean_start=False`) the broker keeps what arrives while the service is
down or was not yet acknowledged. The main thread publishes the retained status.

Events are written to an outbox in the transition's transaction and deleted once the broker
confirms them; at start (and every `outbox_sweep_s`) what is left is published again, so a
crash between commit and publish loses nothing (consumers dedupe on `event_id`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
import paho.mqtt.client as paho
from pydantic import Field, field_validator
from sqlalchemy.exc import SQLAlchemyError

from bldgwatch.core import topics
from bldgwatch.core.clock import Clock, SystemClock, to_epoch_ms
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings, StrictModel
from bldgwatch.core.db import make_engine
from bldgwatch.core.deadletter import DeadLetter, DeadLetters
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.metrics import Family, MetricsEndpoint
from bldgwatch.core.models import AlarmEvent
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.register import EquipmentRegister, TimeWindow
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.seqledger import SeqLedger
from bldgwatch.core.site import SiteSpec, load_site
from bldgwatch.rules.annotations import AnnotationWriter
from bldgwatch.rules.engine import PendingChange, RulesEngine, Shard
from bldgwatch.rules.errors import RulesError
from bldgwatch.rules.evaluator import equipment_of
from bldgwatch.rules.flood import ChatterDetector, FloodDetector, FloodSettings
from bldgwatch.rules.intake import IntakePolicy, screen
from bldgwatch.rules.schema import Rule, load_rules
from bldgwatch.rules.status import ServiceCounters, status_document
from bldgwatch.rules.store import AlarmStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

COMPONENT = "rules"
_QUEUE_SIZE = 1000
_RETRY_MAX_S = 30.0
_IDLE_S = 0.2


class RulesConfig(StrictModel):
    """Configuration of one rules worker."""

    instance: str = Field("rules-1", description="Instance name (client id, status topic).")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Relational store of alarms."
    )
    site_files: list[Path] = Field(
        default_factory=list, description="Site files: equipment types, params and ratings."
    )
    packs: list[str] = Field(
        default_factory=lambda: ["pump", "elevator", "shaft_panel", "temp_sensor"],
        description="Built-in rule packs (rules/packs/NAME.yaml).",
    )
    rule_files: list[Path] = Field(default_factory=list, description="Extra rule files.")
    shard: str = Field("0/1", description="i/N: handle sites whose crc32 mod N == i.")
    session_expiry_s: int = Field(
        3600, ge=0, description="How long the broker keeps the session while disconnected."
    )
    status_interval_s: float = Field(10.0, gt=0, description="Retained status period, s.")
    chatter_window_s: float = Field(60.0, gt=0, description="Chattering window (source time).")
    chatter_threshold: int = Field(
        3, ge=2, description="Activations within the window that make an alarm chattering."
    )
    tick_interval_s: float = Field(
        1.0, gt=0, description="Clock tick: stale points, delays, shelf expiry, escalation."
    )
    horizon_s: float = Field(
        30.0,
        ge=0,
        description="A condition counts as held this long after its last reading (poll gaps, "
        "report-by-exception); a longer gap restarts its on-/off-delay.",
    )
    escalate_after_s: float = Field(
        900.0, ge=0, description="Escalate alarms unacknowledged this long (0 = never)."
    )
    flood_window_s: float = Field(600.0, gt=0, description="Flood window (EEMUA 191: 10 min).")
    flood_start_above: int = Field(10, ge=1, description="A flood starts above this many.")
    flood_end_below: int = Field(5, ge=1, description="A flood ends below this many.")
    outbox_sweep_s: float = Field(
        30.0, gt=0, description="Period of re-publishing unconfirmed alarm events."
    )
    influx: InfluxSettings | None = Field(
        None, description="Write alarm transitions to InfluxDB (Grafana annotations); off if unset."
    )
    max_future_s: float = Field(
        300.0,
        ge=0,
        description="Readings further ahead of the clock than this are dead-lettered "
        "(`future_timestamp`), seconds; as in ingest.",
    )
    max_age_s: float = Field(
        2_592_000.0,
        gt=0,
        description="Readings older than this are dead-lettered (`too_old`), seconds.",
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits, description="Message size, nesting and number limits."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus `/metrics` endpoint; 0 = off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the `/metrics` endpoint binds.")

    @field_validator("instance")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        topics.service_status(COMPONENT, value)  # a valid topic level
        return value

    @field_validator("shard")
    @classmethod
    def _check_shard(cls, value: str) -> str:
        Shard.parse(value)
        return value


class RulesService:
    """Wires the engine to MQTT; `serve` drives it."""

    def __init__(
        self,
        cfg: RulesConfig,
        engine: RulesEngine,
        sites: list[SiteSpec],
        stop: threading.Event,
        *,
        clock: Clock | None = None,
        annotations: AnnotationWriter | None = None,
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.sites = [s.site for s in sites]
        self.intake = IntakePolicy(
            register=EquipmentRegister(sites),
            window=TimeWindow(max_future_s=cfg.max_future_s, max_age_s=cfg.max_age_s),
            limits=cfg.decode,
            ledger=SeqLedger(),
        )
        self.shard = Shard.parse(cfg.shard)
        self.stop = stop
        self.clock: Clock = clock or SystemClock()
        self.annotations = annotations
        self.counters = ServiceCounters()
        self._inflight: dict[str, paho.MQTTMessageInfo] = {}
        self._sweep_now = False
        self.failed = False
        self.status_topic = topics.service_status(COMPONENT, cfg.instance)
        self.client = MqttClient(
            cfg.mqtt,
            client_id=f"bldgwatch-rules-{cfg.instance}",
            clean_start=False,
            session_expiry_s=cfg.session_expiry_s,
            manual_ack=True,
            will=Will(self.status_topic, orjson.dumps({"state": "offline"})),
            on_connect=self._on_connect,
        )
        self.inbox = Inbox(self.client, maxsize=_QUEUE_SIZE)
        self.dead = DeadLetters(COMPONENT, self._publish_qos1)
        self.refused: Counter[str] = Counter()  # readings refused by the intake, by reason

    # -- network thread -------------------------------------------------------------------
    def _on_connect(self) -> None:
        self.inbox.on_connect()
        self._sweep_now = True  # what was published while disconnected goes out again
        self.publish_status()

    # -- worker thread --------------------------------------------------------------------
    def work(self) -> None:
        """Process deliveries and clock ticks until stopped."""
        while not self.client.wait_connected(0.5):
            if self.stop.is_set():
                return
        self._sweep_now = False
        self._relay_outbox(annotate=True)
        next_tick = self.clock.now()
        next_sweep = next_tick + timedelta(seconds=self.cfg.outbox_sweep_s)
        while not self.stop.is_set():
            delivery = self.inbox.get(timeout=_IDLE_S)
            if delivery is not None and self._handle_guarded(delivery):
                self.inbox.ack(delivery)
            now = self.clock.now()
            if now >= next_tick:
                self._tick(now)
                self._confirm_published()  # batched: one outbox delete per tick, not per event
                next_tick = now + timedelta(seconds=self.cfg.tick_interval_s)
            if now >= next_sweep or self._sweep_now:
                self._sweep_now = False
                self._relay_outbox(annotate=False)
                next_sweep = now + timedelta(seconds=self.cfg.outbox_sweep_s)

    def _supervised(self) -> None:
        try:
            self.work()
        except Exception:  # the worker's top: stop the process so a supervisor restarts it
            logger.exception("rules worker failed; stopping")
            self.failed = True
            self.stop.set()

    def _handle_guarded(self, delivery: Delivery) -> bool:
        """`_handle`, but a failure costs only this message: logged once with its id,
        counted, dead-lettered and acknowledged; the worker goes on with the next."""
        try:
            return self._handle(delivery)
        except Exception as err:  # a supervisor's top, per message
            self.counters.handler_failures += 1
            logger.exception(
                "rules: handling message mid %d on %s failed; dead-lettered",
                delivery.mid,
                delivery.topic,
            )
            detail = f"{type(err).__name__}: {err}"
            with contextlib.suppress(Exception):  # never let the report fail the worker
                self.dead.send(
                    DeadLetter("handler_failed", detail, delivery.topic, None, delivery.payload)
                )
            return True

    def _handle(self, delivery: Delivery) -> bool:
        """True when done with the delivery (ack it); False when stopped half-way."""
        self.counters.messages += 1
        parsed = topics.parse_readings(delivery.topic)
        if parsed is None or not self.shard.owns(parsed.site):
            self.counters.other_shard += 1
            return True
        intake = screen(
            delivery.topic,
            parsed,
            delivery.payload,
            now_ms=to_epoch_ms(self.clock.now()),
            policy=self.intake,
        )
        if intake.letters and not intake.refused:
            self.counters.decode_errors += 1  # the message as a whole
        self.refused.update(intake.refused)
        for letter in intake.letters:
            self.dead.send(letter)
        return self._commit_all(self.engine.evaluate(parsed.site, intake.readings))

    def _commit_all(self, pending: list[PendingChange]) -> bool:
        for change in pending:
            done, event = self._retry(functools.partial(self.engine.commit, change))
            if not done:
                return False
            if event is not None:
                self._publish_event(event)
        return True

    def _tick(self, now: datetime) -> None:
        self.counters.ticks += 1
        if not self._commit_all(self.engine.tick(now)):
            return
        _, events = self._retry(lambda: self.engine.housekeeping(self.sites, now))
        for event in events or []:
            self._publish_event(event)

    def _retry(self, operation: Callable[[], T]) -> tuple[bool, T | None]:
        """Run a store operation, retrying while the database is away; (False, None) if stopped."""
        delay = 0.5
        while True:
            try:
                return True, operation()
            except SQLAlchemyError as err:
                self.counters.store_errors += 1
                logger.error("alarm store failed (retrying in %.1f s): %s", delay, err)
                if self.stop.wait(delay):
                    return False, None
                delay = min(delay * 2, _RETRY_MAX_S)

    def _publish_qos1(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    def _publish_event(self, event: AlarmEvent) -> None:
        payload = event.model_dump_json(by_alias=True).encode()
        topic = topics.alarms(event.site, event.equipment)
        self._inflight[event.event_id] = self.client.publish(topic, payload, qos=1)
        self.counters.events_published += 1
        if self.annotations is not None:
            self.annotations.submit(event)

    def _confirm_published(self) -> None:
        done: list[str] = []
        for eid, info in list(self._inflight.items()):
            try:
                if info.is_published():
                    done.append(eid)
            except (RuntimeError, ValueError):
                # Published while disconnected: its fate is unknown, so forget the handle and
                # let the outbox sweep publish it again (consumers dedupe on the event id).
                del self._inflight[eid]
        if not done:
            return
        try:
            self.engine.store.published(done)
        except SQLAlchemyError as err:  # the entries stay and are published again: harmless
            logger.warning("outbox cleanup failed: %s", err)
            return
        for eid in done:
            del self._inflight[eid]

    def _relay_outbox(self, *, annotate: bool) -> None:
        """Publish events committed but never confirmed (a crash, or another writer)."""
        try:
            entries = self.engine.store.outbox()
        except SQLAlchemyError as err:
            logger.warning("outbox not read: %s", err)
            return
        for entry in entries:
            if entry.event_id in self._inflight:
                continue
            self._inflight[entry.event_id] = self.client.publish(entry.topic, entry.payload, qos=1)
            self.counters.events_republished += 1
            if annotate and self.annotations is not None:
                self.annotations.submit(AlarmEvent.model_validate_json(entry.payload))
        if entries:
            logger.info("outbox: %d alarm events published again", len(entries))

    # -- status ---------------------------------------------------------------------------
    def status(self, state: str = "running") -> dict[str, Any]:
        """The retained status document."""
        ann = self.annotations
        return status_document(
            state=state,
            instance=self.cfg.instance,
            shard=self.cfg.shard,
            sites=self.sites,
            engine=self.engine,
            service=self.counters,
            dead_letters=self.dead.counts(),
            refused=dict(self.refused),
            extra={
                "stale_acks": self.inbox.stale_acks,
                "annotations_written": 0 if ann is None else ann.written,
                "annotations_dropped": 0 if ann is None else ann.dropped,
            },
        )

    def metrics(self) -> list[Family]:
        """The `/metrics` families: messages, dead letters by reason, handler failures."""
        c = self.counters
        refused = dict(self.refused)
        return [
            Family("messages_total", "Readings messages taken from the broker.", c.messages),
            Family("dead_letters_total", "Dead letters sent, by reason.", self.dead.counts()),
            Family(
                "handler_failures_total",
                "Messages whose handling failed (dead-lettered as handler_failed).",
                c.handler_failures,
            ),
            Family("refused_readings_total", "Readings refused one by one, by reason.", refused),
            Family("alarm_events_total", "Alarm events published.", c.events_published),
        ]

    def publish_status(self, state: str = "running") -> paho.MQTTMessageInfo:
        """Publish the retained status."""
        return self.client.publish(
            self.status_topic, orjson.dumps(self.status(state)), qos=1, retain=True
        )

    # -- lifetime -------------------------------------------------------------------------
    def serve(self) -> None:
        """Subscribe, work until `stop`, then shut down cleanly."""
        for site in self.sites:
            self.client.subscribe(f"{topics.PREFIX}/{site}/+/readings", self.inbox.put, qos=1)
        metrics = MetricsEndpoint("bldgwatch_rules", self.metrics)
        if self.cfg.metrics_port:
            metrics.start(self.cfg.metrics_host, self.cfg.metrics_port)
        self.client.start()
        worker = threading.Thread(target=self._supervised, name="rules-worker", daemon=True)
        worker.start()
        try:
            while not self.stop.wait(self.cfg.status_interval_s):
                self.publish_status()
        finally:
            self.stop.set()
            self.inbox.close()
            worker.join(timeout=30)
            self._drain_publishes(self.publish_status("stopped"))
            self._confirm_published()
            self.client.stop()
            metrics.stop()
        if self.failed:
            raise RulesError("the rules worker failed (see the log above)")

    def _drain_publishes(self, last: paho.MQTTMessageInfo) -> None:
        deadline = time.monotonic() + 5.0
        for info in [*self._inflight.values(), last]:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.client.connected.is_set():
                return
            try:
                info.wait_for_publish(remaining)
            except (ValueError, RuntimeError) as err:
                logger.warning("publish not confirmed before shutdown: %s", err)


def load_owned_sites(cfg: RulesConfig) -> list[SiteSpec]:
    """The site files of this shard."""
    shard = Shard.parse(cfg.shard)
    specs = [load_site(path) for path in cfg.site_files]
    names = [s.site for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"site_files: site ids given twice: {dupes}")
    return [s for s in specs if shard.owns(s.site)]


def make_engine_for(
    cfg: RulesConfig, rules: list[Rule], sites: list[SiteSpec], store: AlarmStore
) -> RulesEngine:
    """The rules engine a config describes."""
    flood = FloodSettings(
        window=timedelta(seconds=cfg.flood_window_s),
        start_above=cfg.flood_start_above,
        end_below=cfg.flood_end_below,
    )
    return RulesEngine(
        rules,
        equipment_of(sites),
        store,
        chatter=ChatterDetector(window_s=cfg.chatter_window_s, threshold=cfg.chatter_threshold),
        flood=FloodDetector(flood),
        escalate_after=timedelta(seconds=cfg.escalate_after_s) if cfg.escalate_after_s else None,
        horizon_s=cfg.horizon_s,
    )


def run(cfg: RulesConfig, stop: threading.Event, *, clock: Clock | None = None) -> None:
    """Run the rules service until `stop` is set."""
    try:
        sites = load_owned_sites(cfg)
        rules = load_rules(cfg.packs, cfg.rule_files)
    except ConfigError as err:
        logger.error("rules: %s", err)
        raise
    site_ids = [s.site for s in sites]
    if not site_ids:
        logger.warning("shard %s owns none of the configured sites", cfg.shard)
    db = make_engine(cfg.database)
    try:
        engine = make_engine_for(cfg, rules, sites, AlarmStore(db))
        engine.restore(site_ids)
        logger.info(
            "rules %s: %d rules, sites %s, shard %s", cfg.instance, len(rules), site_ids, cfg.shard
        )
        annotations = None if cfg.influx is None else AnnotationWriter.open(cfg.influx)
        if annotations is not None:
            annotations.start()
        try:
            RulesService(cfg, engine, sites, stop, clock=clock, annotations=annotations).serve()
        finally:
            if annotations is not None:
                annotations.close()
    finally:
        db.dispose()
