"""The maintenance service: alarms from MQTT in, work orders in SQL out.

Start-up: read the site files (a bad one stops the process before it touches anything),
import the assets, then subscribe to every site's alarms with a
persistent session and manual acks. A thread of its own relays the work-order outbox: the
events of every change to an order (this service's and the console's) go out under this
service's broker identity, and the notices they call for through its channels.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core import topics
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.metrics import Family, MetricsServer, snapshot_registry
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.resend import ResendWindow
from bldgwatch.core.runner import EXIT_CONFIG
from bldgwatch.core.sdnotify import HEARTBEAT
from bldgwatch.core.site import SiteSpec, load_site
from bldgwatch.core.tsdb import TsdbError, open_store
from bldgwatch.core.tsdb.v1 import InfluxV1
from bldgwatch.maintenance import energydownsample
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.condition import influx_condition
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.maintenance.consumer import COMPONENT, AlarmConsumer
from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.housekeeping import Housekeeper
from bldgwatch.maintenance.incidents import IncidentPolicy
from bldgwatch.maintenance.notify import Notifier
from bldgwatch.maintenance.outbox import OutboxRelay, Publish, RelayThread
from bldgwatch.maintenance.partslist import seed_parts
from bldgwatch.maintenance.pm import register_plans
from bldgwatch.maintenance.policy import OwnerPolicy
from bldgwatch.maintenance.policy import publish as publish_policy
from bldgwatch.maintenance.technicians import import_roster

logger = logging.getLogger(__name__)


def _hourly_counters(store: InfluxV1, database: str) -> None:
    """The meters' hourly counters for fleet-scale energy figures (docs/architecture.md,
    "Energy saving and energy at fleet scale"); an InfluxDB that does not answer yet only
    delays them to the next start."""
    try:
        store.ensure_database()
        energydownsample.ensure(store, database)
    except TsdbError as err:
        logger.warning("hourly meter counters not set up in InfluxDB: %s", err)


POLL_S = 0.2
RETRY_S = 2.0
PUBLISH_WAIT_S = 5.0


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


def check_complaint_sites(cfg: MaintenanceConfig, specs: list[SiteSpec]) -> None:
    """ConfigError naming `complaints.sites.<key>` for a key that is no site of the site
    files (a typo would leave the real site on the default clocks)."""
    known = {spec.site for spec in specs}
    unknown = sorted(set(cfg.complaints.sites) - known)
    if unknown:
        raise ConfigError(
            f"complaints.sites.{unknown[0]}: no such site in the site files "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )


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
    cfg: MaintenanceConfig,
    consumer: AlarmConsumer | None,
    state: str,
    clock: Clock,
    relay: OutboxRelay | None = None,
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
    if relay is not None:
        body["outbox"] = {
            "published": relay.published,
            "republished": relay.republished,
            "noticed": relay.noticed,
        }
    return orjson.dumps(body)


def confirmed_publisher(client: MqttClient, timeout_s: float = PUBLISH_WAIT_S) -> Publish:
    """QoS 1 publishing for the outbox relay: True once the broker has confirmed."""

    def publish(topic: str, payload: bytes) -> bool:
        if not client.connected.is_set():
            return False
        info = client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):  # the connection went: the next pass tries again
            return False
        return info.is_published()

    return publish


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
    relay: OutboxRelay,
) -> None:
    status_topic = topics.service_status(COMPONENT, cfg.instance)
    interval = timedelta(seconds=cfg.status_interval_s)
    next_status = clock.now()
    held: Delivery | None = None
    while not stop.is_set():
        HEARTBEAT.beat()
        if client.wait_subscribed(0):  # acknowledged: alarms reach us from now on
            HEARTBEAT.ready()
        keeper.tick(clock.now())
        # Only when connected: the subscription is then in place before anyone sees "running".
        if client.connected.is_set() and clock.now() >= next_status:
            status = status_payload(cfg, consumer, "running", clock, relay)
            client.publish(status_topic, status, qos=1, retain=True)
            next_status = clock.now() + interval
        held = _work(consumer, stop, held)


def check(cfg: MaintenanceConfig) -> None:
    """The site files the config names, read and checked before anything is touched; raises
    ConfigError naming what is wrong."""
    check_complaint_sites(cfg, load_sites(cfg.site_files))


def run(cfg: MaintenanceConfig, stop: threading.Event, *, clock: Clock | None = None) -> None:
    """Run until `stop` is set; unacked alarms are redelivered to the next start."""
    clock = clock or SystemClock()
    try:
        specs = load_sites(cfg.site_files)
        check_complaint_sites(cfg, specs)
    except ConfigError as err:
        logger.error("%s", err)
        raise SystemExit(EXIT_CONFIG) from err
    engine = make_engine(cfg.database)
    try:
        sessions = session_factory(engine)
        import_sites(sessions, specs)
        with sessions() as session:
            register_plans(session, cfg.plans, clock.now())
            seed_parts(session, cfg.parts, at=clock.now())
            # Whoever changes orders in another process (the console) applies this policy.
            publish_policy(session, OwnerPolicy.of(cfg), instance=cfg.instance, at=clock.now())
            # The directory every assignment reads; the roster file is its seed.
            import_roster(session, cfg.roster, at=clock.now())
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
    resend = ResendWindow(cfg.resend_window_s)
    connections = [0]

    def publish(topic: str, body: bytes) -> None:
        client.publish(topic, body, qos=1)

    def on_connect() -> None:
        inbox.on_connect()
        connections[0] += 1
        if connections[0] > 1:  # what a killed broker may have lost (core.resend)
            relay.reconnected()

    client = MqttClient(
        cfg.mqtt,
        client_id=f"bldgwatch-{COMPONENT}-{cfg.instance}",
        clean_start=False,
        session_expiry_s=cfg.session_expiry_s,
        manual_ack=True,
        will=Will(status_topic, status_payload(cfg, None, "offline", clock)),
        on_connect=on_connect,
        on_disconnect=resend.connection_lost,
    )
    inbox = Inbox(client)
    store = open_store(cfg.influx) if cfg.influx is not None else None
    if isinstance(store, InfluxV1) and cfg.influx is not None:
        _hourly_counters(store, cfg.influx.database)
    condition = influx_condition(store) if store is not None else None
    policy = IncidentPolicy(
        sla=cfg.sla,
        stage=cfg.stage,
        window=timedelta(hours=cfg.incidents.window_h),
        condition=condition,
    )
    keeper = Housekeeper.build(cfg, engine, policy=policy, clock=clock, store=store)
    notifier = Notifier(cfg.notify)
    relay = OutboxRelay(
        sessions,
        publish=confirmed_publisher(client),
        notifier=notifier,
        roster=cfg.roster,
        resend=resend,
    )
    relaying = RelayThread(relay, every_s=cfg.outbox_poll_s, on_failure=stop.set)
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
    registry = snapshot_registry("bldgwatch_maintenance", lambda: consumer_metrics(consumer))
    metrics = MetricsServer(cfg.metrics_host, cfg.metrics_port, registry, name=COMPONENT)
    if cfg.metrics_port:
        metrics.start()
    client.subscribe(topics.ALL_ALARMS, inbox.put, qos=1)
    client.start()
    logger.info("maintenance %s listening on %s", cfg.instance, topics.ALL_ALARMS)
    relaying.start()
    keeper.start()
    try:
        _serve(
            cfg,
            client=client,
            consumer=consumer,
            stop=stop,
            clock=clock,
            keeper=keeper,
            relay=relay,
        )
    finally:
        keeper.stop()
        relaying.stop(timeout=PUBLISH_WAIT_S * 2)  # what is left goes out at the next start
        notifier.close()
        status = status_payload(cfg, consumer, "stopped", clock, relay)
        info = client.publish(status_topic, status, qos=1, retain=True)
        if client.connected.is_set():
            info.wait_for_publish(timeout=2.0)
        inbox.close()
        client.stop()
        metrics.stop()
        logger.info("maintenance %s stopped: %s", cfg.instance, consumer.counters.as_dict())
    if relaying.failed:
        raise MaintenanceError("the work-order outbox relay failed (see the log above)")
