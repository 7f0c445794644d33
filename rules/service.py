"""The rules service: readings from MQTT → evaluation → alarm store → alarm events on MQTT.

Threads: paho's network thread only hands messages to a `core.inbox.Inbox`; one worker thread
decodes, evaluates, stores, publishes and then acknowledges each message (manual PUBACK, on
the connection it came on), so a message is acknowledged only once its alarm changes are
committed. The same worker runs the clock tick (stale points, delays that run out without a
reading, shelf expiry, escalation, flood ends), so condition state has one owner. With a
persistent session (`clean_start=False`) the broker keeps what arrives while the service is
down or was not yet acknowledged. The main thread publishes the retained status.

Events are written to an outbox in the transition's transaction and deleted once the broker
confirms them. The worker reads the outbox at start and every `outbox_sweep_s` of wall time
(0.5 s by default) and publishes what it does not have in flight: the transitions operators
made in the console (`rules.operator` commits them; only this service publishes alarm
events) and whatever a crash between commit and publish left (consumers dedupe on
`event_id`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
import paho.mqtt.client as paho
from sqlalchemy.exc import SQLAlchemyError

from bldgwatch.core import topics
from bldgwatch.core.backoff import Backoff, no_jitter
from bldgwatch.core.clock import Clock, SystemClock, to_epoch_ms
from bldgwatch.core.db import make_engine
from bldgwatch.core.deadletter import DeadLetter, DeadLetters
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.metrics import Family, MetricsServer, snapshot_registry
from bldgwatch.core.models import AlarmEvent
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.register import EquipmentRegister, TimeWindow
from bldgwatch.core.resend import ResendWindow
from bldgwatch.core.runner import settle_heap
from bldgwatch.core.sdnotify import HEARTBEAT
from bldgwatch.core.seqledger import SeqLedger
from bldgwatch.core.site import SiteSpec, load_site
from bldgwatch.rules.annotations import AnnotationWriter
from bldgwatch.rules.config import COMPONENT, RulesConfig, Shard
from bldgwatch.rules.engine import PendingChange, RulesEngine
from bldgwatch.rules.errors import RulesError
from bldgwatch.rules.evaluator import equipment_of
from bldgwatch.rules.flood import ChatterDetector, FloodDetector, FloodSettings
from bldgwatch.rules.intake import IntakePolicy, screen, screen_status
from bldgwatch.rules.schema import Rule, load_rules
from bldgwatch.rules.status import ServiceCounters, status_document
from bldgwatch.rules.store import AlarmStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

_QUEUE_SIZE = 1000
_RETRY_MIN_S = 0.5
_RETRY_MAX_S = 30.0
_IDLE_S = 0.2
_ANNOTATED_IDS = 10_000
"""How many event ids the worker remembers having annotated (so a re-publication is not)."""


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
        self._sent: dict[str, tuple[str, bytes]] = {}  # in flight: (topic, payload)
        self.resend = ResendWindow(cfg.resend_window_s)
        self._resend_now = False
        self._connected_before = False
        self._annotated: OrderedDict[str, None] = OrderedDict()
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
            on_disconnect=self.resend.connection_lost,
        )
        self.inbox = Inbox(self.client, maxsize=_QUEUE_SIZE)
        self.dead = DeadLetters(COMPONENT, self._publish_qos1)
        self.refused: Counter[str] = Counter()  # readings refused by the intake, by reason

    # -- network thread -------------------------------------------------------------------
    def _on_connect(self) -> None:
        self.inbox.on_connect()
        self._sweep_now = True  # what was published while disconnected goes out again
        # and, on a reconnect, what a killed broker may have lost (core.resend): the first
        # connection has nothing of this process's to make up for
        self._resend_now = self._connected_before
        self._connected_before = True
        self.publish_status()

    # -- worker thread --------------------------------------------------------------------
    def work(self) -> None:
        """Process deliveries and clock ticks until stopped."""
        while not self.client.wait_connected(0.5):
            if self.stop.is_set():
                return
        self._sweep_now = False
        self._relay_outbox()
        next_tick = self.clock.now()
        # The sweep paces I/O, not domain time: wall time, so operator actions go out promptly
        # whatever clock drives the rules (a manual or scaled one in tests and the demo).
        next_sweep = time.monotonic() + self.cfg.outbox_sweep_s
        next_memory = time.monotonic() + self.cfg.memory_save_s
        while not self.stop.is_set():
            HEARTBEAT.beat()
            if self.client.wait_subscribed(0):  # acknowledged: readings reach us from now on
                HEARTBEAT.ready()
            delivery = self.inbox.get(timeout=min(_IDLE_S, self.cfg.outbox_sweep_s))
            if delivery is not None and self._handle_guarded(delivery):
                self.inbox.ack(delivery)
            now = self.clock.now()
            if now >= next_tick:
                self._tick(now)
                self._confirm_published()  # batched: one outbox delete per tick, not per event
                next_tick = now + timedelta(seconds=self.cfg.tick_interval_s)
            if self._resend_now:
                self._resend_now = False
                self._resend_recent()
            if time.monotonic() >= next_sweep or self._sweep_now:
                self._sweep_now = False
                self._confirm_published()
                self._relay_outbox()
                self._learn_lessons()
                next_sweep = time.monotonic() + self.cfg.outbox_sweep_s
            if time.monotonic() >= next_memory:
                self._keep_memory()
                next_memory = time.monotonic() + self.cfg.memory_save_s
        self._keep_memory()  # stopping: what was learned since the last save

    def _learn_lessons(self) -> None:
        """Verdicts people gave in the console that teach the learning rules ("not a leak")."""
        now = self.clock.now()
        self._retry(lambda: self.engine.learn_lessons(self.sites, now))
        self._retry(lambda: self.engine.renew(self.sites))  # overhauls: pumps learn anew

    def _keep_memory(self) -> None:
        """Store what the learning rules learned (leak baselines, pumps' early days)."""
        now = self.clock.now()
        self._retry(lambda: self.engine.keep_memory(now))

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
        status_of = topics.parse_gateway_status(delivery.topic)
        if status_of is not None:
            self._gateway_status(status_of, delivery.topic, delivery.payload)
            return True
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
        return self._commit_all(
            self.engine.evaluate(
                parsed.site,
                intake.readings,
                gateway=parsed.gateway if intake.decoded else None,
                equipment=intake.equipment,
            )
        )

    def _gateway_status(self, where: topics.ReadingsTopic, topic: str, payload: bytes) -> None:
        """A gateway's retained status or last will: what the communication watch needs,
        screened like readings (decode limits; only equipment the gateway owns)."""
        if not self.shard.owns(where.site):
            self.counters.other_shard += 1
            return
        status, letters = screen_status(topic, where, payload, self.intake)
        for letter in letters:
            self.dead.send(letter)
        if status is None:
            self.counters.decode_errors += 1
            return
        self.engine.gateway_status(
            where.site, where.gateway, online=status.online, available=status.available
        )

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
        backoff = Backoff(_RETRY_MIN_S, _RETRY_MAX_S, jitter=no_jitter)
        while True:
            try:
                return True, operation()
            except SQLAlchemyError as err:
                self.counters.store_errors += 1
                delay = backoff.next_delay()
                logger.error("alarm store failed (retrying in %.1f s): %s", delay, err)
                if self.stop.wait(delay):
                    return False, None

    def _publish_qos1(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    def _publish_event(self, event: AlarmEvent) -> None:
        payload = event.model_dump_json(by_alias=True).encode()
        topic = topics.alarms(event.site, event.equipment)
        self._inflight[event.event_id] = self.client.publish(topic, payload, qos=1)
        self._sent[event.event_id] = (topic, payload)
        self.counters.events_published += 1
        self._annotate(event)

    def _annotate(self, event: AlarmEvent) -> None:
        """Write the event to InfluxDB once per process (not again when re-published)."""
        if self.annotations is None or event.event_id in self._annotated:
            return
        self._annotated[event.event_id] = None
        if len(self._annotated) > _ANNOTATED_IDS:
            self._annotated.popitem(last=False)
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
                self._sent.pop(eid, None)
        if not done:
            return
        try:
            self.engine.store.published(done)
        except SQLAlchemyError as err:  # the entries stay and are published again: harmless
            logger.warning("outbox cleanup failed: %s", err)
            return
        for eid in done:
            del self._inflight[eid]
            sent = self._sent.pop(eid, None)
            if sent is not None:
                self.resend.confirmed(eid, *sent)

    def _resend_recent(self) -> None:
        """After a reconnect: publish again what the broker acknowledged within the resend
        window (a broker killed before its autosave lost it; consumers dedupe)."""
        recent = [(eid, c) for eid, c in self.resend.recent() if eid not in self._inflight]
        for eid, confirmed in recent:
            # In flight like a new event: its acknowledgement confirms it again in the window
            # (`_confirm_published`), so a second drop soon after publishes it once more.
            self._inflight[eid] = self.client.publish(confirmed.topic, confirmed.payload, qos=1)
            self._sent[eid] = (confirmed.topic, confirmed.payload)
        self.resend.resent()
        self.counters.events_republished += len(recent)
        if recent:
            logger.info("reconnected: %d acknowledged alarm events sent again", len(recent))

    def _relay_outbox(self) -> None:
        """Publish what the outbox holds and is not in flight: operator actions committed by
        the console, and events committed but never confirmed (a crash, a lost connection)."""
        try:
            entries = self.engine.store.outbox()
        except SQLAlchemyError as err:
            logger.warning("outbox not read: %s", err)
            return
        sent = 0
        for entry in entries:
            if entry.event_id in self._inflight:
                continue
            self._inflight[entry.event_id] = self.client.publish(entry.topic, entry.payload, qos=1)
            self._sent[entry.event_id] = (entry.topic, entry.payload)
            self.counters.events_republished += 1
            sent += 1
            if self.annotations is not None:
                self._annotate(AlarmEvent.model_validate_json(entry.payload))
        if sent:
            logger.info("outbox: %d alarm events published", sent)

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
            self.client.subscribe(f"{topics.PREFIX}/{site}/+/status", self.inbox.put, qos=1)
        registry = snapshot_registry("bldgwatch_rules", self.metrics)
        metrics = MetricsServer(
            self.cfg.metrics_host, self.cfg.metrics_port, registry, name=COMPONENT
        )
        if self.cfg.metrics_port:
            metrics.start()
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


def check(cfg: RulesConfig) -> None:
    """What the config names — site files, rule packs and files — read and checked before
    anything is touched; raises ConfigError naming what is wrong."""
    load_owned_sites(cfg)
    load_rules(cfg.packs, cfg.rule_files)


def run(
    cfg: RulesConfig, stop: threading.Event, *, clock: Clock | None = None, settle: bool = False
) -> None:
    """Run the rules service until `stop` is set. `settle`: the process is ours (the
    command), so its heap is settled once the service is built (`core.runner.settle_heap`);
    not for a service run in a thread of another process, such as a test's."""
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
            service = RulesService(cfg, engine, sites, stop, clock=clock, annotations=annotations)
            if settle:
                settle_heap()  # rules, equipment and restored alarm state live as long as we do
            service.serve()
        finally:
            if annotations is not None:
                annotations.close()
    finally:
        db.dispose()
