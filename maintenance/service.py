"""The maintenance service: alarms from MQTT in, work orders in SQL out.

Start-up: read the site files (a bad one stops the process before it touches anything),
import the assets, then subscribe to every site's alarms with a
persistent session and manual acks.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from pydantic import Field
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core import topics
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings, StrictModel
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.metrics import Family, MetricsEndpoint
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.runner import EXIT_CONFIG
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.site import SiteSpec, load_site
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.condition import ConditionReader, influx_condition
from bldgwatch.maintenance.consumer import COMPONENT, AlarmConsumer
from bldgwatch.maintenance.housekeeping import Housekeeper
from bldgwatch.maintenance.incidents import IncidentPolicy
from bldgwatch.maintenance.notify import NotifySettings
from bldgwatch.maintenance.plans import PlanSettings
from bldgwatch.maintenance.pm import register_plans
from bldgwatch.maintenance.roster import RosterSettings
from bldgwatch.maintenance.scoring import StageConfig
from bldgwatch.maintenance.sla import SlaPolicy

logger = logging.getLogger(__name__)

POLL_S = 0.2
RETRY_S = 2.0


class MaintenanceConfig(StrictModel):
    """Configuration of one maintenance service instance."""

    instance: str = Field("maintenance-1", description="Instance id (status topic level).")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Relational store (SQLite or PostgreSQL)."
    )
    site_files: list[Path] = Field(
        default_factory=list, description="Site files whose assets are imported at start."
    )
    session_expiry_s: int = Field(
        3600,
        ge=0,
        description="How long the broker keeps the session (and queues alarms) "
        "while the service is away, seconds.",
    )
    status_interval_s: float = Field(
        10.0, gt=0, description="Seconds between retained status messages."
    )
    sla: SlaPolicy = Field(
        default_factory=SlaPolicy, description="SLA overrides: priorities and fault_codes."
    )
    stage: StageConfig = Field(
        default_factory=StageConfig,
        description="Failure-stage settings: bathtub fit thresholds, and the per-class "
        "early/late age bands used when a class has too little history.",
    )
    influx: InfluxSettings | None = Field(
        None, description="InfluxDB with the readings (run hours, trips) for counter plans."
    )
    plans: PlanSettings = Field(
        default_factory=PlanSettings, description="Preventive-maintenance plans."
    )
    roster: RosterSettings = Field(
        default_factory=RosterSettings, description="Technicians, skills and auto-assignment."
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="Webhooks and e-mail for notices."
    )
    escalation_check_s: float = Field(
        60.0, gt=0, description="How often overdue orders are looked for, seconds."
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits, description="Message size, nesting and number limits."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus `/metrics` endpoint; 0 = off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the `/metrics` endpoint binds.")

    def policy(self, condition: ConditionReader | None = None) -> IncidentPolicy:
        """The incident policy these settings describe (condition indicators from `condition`)."""
        return IncidentPolicy(sla=self.sla, stage=self.stage, condition=condition)


def consumer_metrics(consumer: AlarmConsumer) -> list[Family]:
    """The `/metrics` families of the alarm consumer."""
    c = consumer.counters
    return [
        Family("alarm_events_total", "Alarm events taken from the broker.", c.received),
        Family("work_orders_created_total", "Reactive work orders opened.", c.created),
        Family("dead_letters_total", "Dead letters sent, by reason.", dict(c.dead_letters)),
        Family(
            "handler_failures_total",
            "Events whose handling raised (dead-lettered as handler_failed).",
            c.handler_failures,
        ),
        Family("pending_events", "Events waiting for the worker.", consumer.pending, "gauge"),
    ]


def load_sites(paths: list[Path]) -> list[SiteSpec]:
    """Read every site file; ConfigError names the bad one."""
    return [load_site(path) for path in paths]


def import_sites(sessions: sessionmaker[Session], specs: list[SiteSpec]) -> None:
    """Import each site in its own transaction; a concurrent importer's insert is retried once."""
    for spec in specs:
        for attempt in (1, 2):
            try:
                with sessions() as session:
                    import_site(session, spec)
                    session.commit()
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                logger.info("site %s imported concurrently; retrying", spec.site)


def status_payload(
    cfg: MaintenanceConfig, consumer: AlarmConsumer | None, state: str, clock: Clock
) -> bytes:
    """The retained status message."""
    body: dict[str, Any] = {
        "component": COMPONENT,
        "instance": cfg.instance,
        "state": state,
        "at": clock.now().isoformat(),
    }
    if consumer is not None:
        body["counters"] = consumer.counters.as_dict()
        body["pending"] = consumer.pending
    return orjson.dumps(body)


def _work(consumer: AlarmConsumer, stop: threading.Event, held: Delivery | None) -> Delivery | None:
    """Handle one delivery; return it when it must be retried."""
    delivery = held or consumer.next_delivery(POLL_S)
    if delivery is None:
        return None
    if consumer.handle(delivery):
        return None
    stop.wait(RETRY_S)
    return delivery


def _serve(
    cfg: MaintenanceConfig,
    *,
    client: MqttClient,
    consumer: AlarmConsumer,
    stop: threading.Event,
    clock: Clock,
    keeper: Housekeeper,
) -> None:
    status_topic = topics.service_status(COMPONENT, cfg.instance)
    interval = timedelta(seconds=cfg.status_interval_s)
    next_status = clock.now()
    held: Delivery | None = None
    while not stop.is_set():
        keeper.tick(clock.now())
        # Only when connected: the subscription is then in place before anyone sees "running".
        if client.connected.is_set() and clock.now() >= next_status:
            client.publish(
                status_topic, status_payload(cfg, consumer, "running", clock), qos=1, retain=True
            )
            next_status = clock.now() + interval
        held = _work(consumer, stop, held)


def run(cfg: MaintenanceConfig, stop: threading.Event, *, clock: Clock | None = None) -> None:
    """Run until `stop` is set; unacked alarms are redelivered to the next start."""
    clock = clock or SystemClock()
    try:
        specs = load_sites(cfg.site_files)
    except ConfigError as err:
        logger.error("%s", err)
        raise SystemExit(EXIT_CONFIG) from err
    engine = make_engine(cfg.database)
    try:
        sessions = session_factory(engine)
        import_sites(sessions, specs)
        with sessions() as session:
            register_plans(session, cfg.plans, clock.now())
            session.commit()
        _run_consumer(cfg, stop, engine, clock)
    finally:
        engine.dispose()


def _run_consumer(
    cfg: MaintenanceConfig, stop: threading.Event, engine: Engine, clock: Clock
) -> None:
    sessions = session_factory(engine)
    status_topic = topics.service_status(COMPONENT, cfg.instance)
    client: MqttClient

    def publish(topic: str, body: bytes) -> None:
        client.publish(topic, body, qos=1)

    def on_connect() -> None:
        inbox.on_connect()

    client = MqttClient(
        cfg.mqtt,
        client_id=f"bldgwatch-{COMPONENT}-{cfg.instance}",
        clean_start=False,
        session_expiry_s=cfg.session_expiry_s,
        manual_ack=True,
        will=Will(status_topic, status_payload(cfg, None, "offline", clock)),
        on_connect=on_connect,
    )
    inbox = Inbox(client)
    store = open_store(cfg.influx) if cfg.influx is not None else None
    policy = cfg.policy(influx_condition(store) if store is not None else None)
    keeper = Housekeeper.build(
        cfg, engine, policy=policy, clock=clock, publish=publish, store=store
    )
    consumer = AlarmConsumer(
        sessions=sessions,
        policy=policy,
        clock=clock,
        instance=cfg.instance,
        publish=publish,
        inbox=inbox,
        on_created=keeper.on_created,
        limits=cfg.decode,
    )
    metrics = MetricsEndpoint("bldgwatch_maintenance", lambda: consumer_metrics(consumer))
    if cfg.metrics_port:
        metrics.start(cfg.metrics_host, cfg.metrics_port)
    client.subscribe(topics.ALL_ALARMS, inbox.put, qos=1)
    client.start()
    logger.info("maintenance %s listening on %s", cfg.instance, topics.ALL_ALARMS)
    keeper.start()
    try:
        _serve(cfg, client=client, consumer=consumer, stop=stop, clock=clock, keeper=keeper)
    finally:
        keeper.stop()
        info = client.publish(
            status_topic, status_payload(cfg, consumer, "stopped", clock), qos=1, retain=True
        )
        if client.connected.is_set():
            info.wait_for_publish(timeout=2.0)
        inbox.close()
        client.stop()
        metrics.stop()
        logger.info("maintenance %s stopped: %s", cfg.instance, consumer.counters.as_dict())
