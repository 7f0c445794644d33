"""The rules service: readings from MQTT → evaluation → alarm store → alarm events on MQTT.

Threads: paho's network thread only hands messages to a bounded queue; one worker thread
decodes, evaluates, stores, publishes and then acknowledges each message (manual PUBACK), so
a message is acknowledged only once its alarm changes are committed. With a persistent session
(`clean_start=False`) the broker keeps what arrives while the service is down or was not yet
acknowledged. The main thread publishes the retained status.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from pydantic import Field, field_validator
from sqlalchemy.exc import SQLAlchemyError

from core import topics
from core.codec import decode_batch
from core.config import DatabaseSettings, MqttSettings, StrictModel
from core.db import make_engine, migrate
from core.errors import ConfigError, DecodeError
from core.models import AlarmEvent
from core.mqtt import MqttClient, Will
from core.site import SiteSpec, load_site
from rules.alarms import ChatterDetector
from rules.engine import PendingChange, RulesEngine, Shard
from rules.evaluator import equipment_of
from rules.schema import load_rules
from rules.store import AlarmStore

logger = logging.getLogger(__name__)

COMPONENT = "rules"
_QUEUE_SIZE = 1000
_RETRY_MAX_S = 30.0


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
        default_factory=lambda: ["pump", "elevator", "shaft_panel"],
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


@dataclass(slots=True)
class _Counters:
    messages: int = 0
    decode_errors: int = 0
    other_shard: int = 0
    events_published: int = 0
    store_errors: int = 0


class RulesService:
    """Wires the engine to MQTT; `run` drives it."""

    def __init__(
        self, cfg: RulesConfig, engine: RulesEngine, sites: list[str], stop: threading.Event
    ) -> None:
        self.cfg = cfg
        self.engine = engine
        self.sites = sites
        self.shard = Shard.parse(cfg.shard)
        self.stop = stop
        self.counters = _Counters()
        self._inbox: queue.Queue[paho.MQTTMessage] = queue.Queue(_QUEUE_SIZE)
        self._published: list[paho.MQTTMessageInfo] = []
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

    # -- network thread -------------------------------------------------------------------
    def _on_connect(self) -> None:
        self.publish_status()

    def _enqueue(self, msg: paho.MQTTMessage) -> None:
        while not self.stop.is_set():
            try:
                self._inbox.put(msg, timeout=0.5)
                return
            except queue.Full:
                continue
        # Stopping: the message stays unacknowledged and comes again in the next session.

    # -- worker thread --------------------------------------------------------------------
    def work(self) -> None:
        """Process messages until stopped."""
        while not self.stop.is_set():
            try:
                msg = self._inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            if self._handle(msg):
                self.client.ack(msg.mid, msg.qos)

    def _handle(self, msg: paho.MQTTMessage) -> bool:
        """True when done with the message (ack it); False when stopped half-way."""
        self.counters.messages += 1
        parsed = topics.parse_readings(msg.topic)
        if parsed is None or not self.shard.owns(parsed.site):
            self.counters.other_shard += 1
            return True
        try:
            decoded = decode_batch(bytes(msg.payload))
        except DecodeError as err:
            self.counters.decode_errors += 1
            logger.debug("undecodable batch on %s: %s", msg.topic, err)
            return True
        if decoded.batch.site != parsed.site:
            self.counters.decode_errors += 1
            return True
        for pending in self.engine.evaluate(parsed.site, decoded.batch.readings):
            done, event = self._commit(pending)
            if not done:
                return False
            if event is not None:
                self._publish_event(event)
        return True

    def _commit(self, pending: PendingChange) -> tuple[bool, AlarmEvent | None]:
        """Store a change, retrying while the database is away; (False, None) if stopped."""
        delay = 0.5
        while True:
            try:
                return True, self.engine.commit(pending)
            except SQLAlchemyError as err:
                self.counters.store_errors += 1
                logger.error("alarm store failed (retrying in %.1f s): %s", delay, err)
                if self.stop.wait(delay):
                    return False, None
                delay = min(delay * 2, _RETRY_MAX_S)

    def _publish_event(self, event: AlarmEvent) -> None:
        payload = event.model_dump_json(by_alias=True).encode()
        info = self.client.publish(topics.alarms(event.site, event.equipment), payload, qos=1)
        self.counters.events_published += 1
        self._published = [i for i in self._published if not i.is_published()] + [info]

    # -- status ---------------------------------------------------------------------------
    def status(self, state: str = "running") -> dict[str, Any]:
        """The retained status document."""
        ev = self.engine.evaluator.counters
        return {
            "component": COMPONENT,
            "instance": self.cfg.instance,
            "state": state,
            "shard": self.cfg.shard,
            "sites": self.sites,
            "rules": len(self.engine.evaluator.index.rules),
            "counters": {
                "messages": self.counters.messages,
                "decode_errors": self.counters.decode_errors,
                "other_shard": self.counters.other_shard,
                "readings": ev.readings,
                "evaluated": ev.evaluated,
                "unknown_equipment": ev.unknown_equipment,
                "bad_quality": ev.bad_quality,
                "out_of_order": ev.out_of_order,
                "condition_changes": ev.changes,
                "events_published": self.counters.events_published,
                "chattering": self.engine.chattering,
                "store_errors": self.counters.store_errors,
            },
        }

    def publish_status(self, state: str = "running") -> paho.MQTTMessageInfo:
        """Publish the retained status."""
        return self.client.publish(
            self.status_topic, orjson.dumps(self.status(state)), qos=1, retain=True
        )

    # -- lifetime -------------------------------------------------------------------------
    def serve(self) -> None:
        """Subscribe, work until `stop`, then shut down cleanly."""
        for site in self.sites:
            self.client.subscribe(f"{topics.PREFIX}/{site}/+/readings", self._enqueue, qos=1)
        self.client.start()
        worker = threading.Thread(target=self.work, name="rules-worker", daemon=True)
        worker.start()
        try:
            while not self.stop.wait(self.cfg.status_interval_s):
                self.publish_status()
        finally:
            self.stop.set()
            worker.join(timeout=30)
            self._drain_publishes(self.publish_status("stopped"))
            self.client.stop()

    def _drain_publishes(self, last: paho.MQTTMessageInfo) -> None:
        deadline = time.monotonic() + 5.0
        for info in [*self._published, last]:
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


def run(cfg: RulesConfig, stop: threading.Event) -> None:
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
        migrate(db)
        engine = RulesEngine(
            rules,
            equipment_of(sites),
            AlarmStore(db),
            chatter=ChatterDetector(window_s=cfg.chatter_window_s, threshold=cfg.chatter_threshold),
        )
        engine.restore(site_ids)
        logger.info(
            "rules %s: %d rules, sites %s, shard %s", cfg.instance, len(rules), site_ids, cfg.shard
        )
        RulesService(cfg, engine, site_ids, stop).serve()
    finally:
        db.dispose()
