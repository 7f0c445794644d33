"""The alerts service: alarm events from MQTT in, messages to people out.

Start-up: read the site files and the alerts key (either missing or bad stops the process
before it touches anything: exit 2), put the log redactor on the handlers, copy the sites'
zones and names into the store, mark messages a crash left mid-send as `unknown`, then
subscribe to every site's alarms with a persistent session and manual acks.

Threads: paho's network thread hands deliveries to a `core.inbox.Inbox`; the worker (this
thread) applies each event in one transaction and acks it after the commit, and every
`tick_s` of wall time issues the escalation steps due on the injected clock; the
dispatcher's thread claims due notices into messages and its pool of senders delivers them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.alerts.channels import SendContext
from bldgwatch.alerts.config import COMPONENT, KEY_ENV, AlertsConfig
from bldgwatch.alerts.consumer import AlarmConsumer
from bldgwatch.alerts.delivery import ChannelBook, Deliverer
from bldgwatch.alerts.dispatch import Dispatcher
from bldgwatch.alerts.errors import AlertsError, KeyMissingError
from bldgwatch.alerts.secrets import SecretBox, install_redactor, load_key
from bldgwatch.alerts.sites import sync_sites
from bldgwatch.core import topics
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.core.httpclient import http_client
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.mqtt import MqttClient, Will
from bldgwatch.core.sdnotify import HEARTBEAT
from bldgwatch.core.site import load_site

logger = logging.getLogger(__name__)

IDLE_S = 0.2
RETRY_S = 2.0


def status_payload(
    cfg: AlertsConfig,
    state: str,
    clock: Clock,
    consumer: AlarmConsumer | None = None,
    dispatcher: Dispatcher | None = None,
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
        body["dead_letters"] = consumer.dead.counts()  # by reason
    if dispatcher is not None:
        body["delivery"] = dict(dispatcher.counters)
    return orjson.dumps(body)


class _Supervised(threading.Thread):
    """The dispatcher on a thread of its own; if it fails, the service stops (and is
    restarted by its supervisor) rather than go on deaf."""

    def __init__(self, dispatcher: Dispatcher, on_failure: threading.Event) -> None:
        super().__init__(name="alerts-dispatch")
        self._dispatcher = dispatcher
        self._on_failure = on_failure
        self.stop_event = threading.Event()
        self.failed = False

    def run(self) -> None:
        try:
            self._dispatcher.run(self.stop_event)
        except Exception:  # the dispatcher's top
            logger.exception("alerts dispatcher failed; stopping")
            self.failed = True
            self._on_failure.set()


def run(
    cfg: AlertsConfig,
    stop: threading.Event,
    *,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run until `stop` is set. Raises ConfigError (exit 2) for a bad site file or key."""
    clock = clock or SystemClock()
    environ = os.environ if environ is None else environ
    specs = [load_site(path) for path in cfg.site_files]
    key = load_key(cfg.key_file, environ)
    if key is None:
        raise KeyMissingError(f"no alerts key: set {KEY_ENV} or key_file in the config")
    install_redactor()
    engine = make_engine(cfg.database)
    try:
        sessions = session_factory(engine)
        with sessions.begin() as session:
            sync_sites(session, specs, clock.now())
        _serve(cfg, stop, sessions=sessions, box=SecretBox(key), clock=clock, environ=environ)
    finally:
        engine.dispose()


def _serve(
    cfg: AlertsConfig,
    stop: threading.Event,
    *,
    sessions: sessionmaker[Session],
    box: SecretBox,
    clock: Clock,
    environ: Mapping[str, str],
) -> None:
    status_topic = topics.service_status(COMPONENT, cfg.instance)

    def on_connect() -> None:  # the inbox is made with the client, so it is looked up here
        inbox.on_connect()

    client = MqttClient(
        cfg.mqtt,
        client_id=f"bldgwatch-{COMPONENT}-{cfg.instance}",
        clean_start=False,
        session_expiry_s=cfg.session_expiry_s,
        manual_ack=True,
        will=Will(status_topic, status_payload(cfg, "offline", clock)),
        on_connect=on_connect,
    )
    inbox = Inbox(client)
    http = http_client()
    ctx = SendContext(http=http, timeout_s=cfg.delivery.http_timeout_s, clock=clock)
    book = ChannelBook(box, ctx, environ=environ, secrets_dir=cfg.secrets_dir)
    deliverer = Deliverer(cfg, sessions=sessions, book=book, box=box, clock=clock)
    dispatcher = Dispatcher(
        cfg, sessions=sessions, deliverer=deliverer, book=book, box=box, clock=clock
    )
    dispatcher.recover()
    consumer = AlarmConsumer(
        sessions=sessions,
        ack=inbox.ack,
        publish=lambda topic, body: client.publish(topic, body, qos=1),
        clock=clock,
        instance=cfg.instance,
        default_zone=cfg.default_timezone,
        on_issued=dispatcher.wake.set,
    )
    thread = _Supervised(dispatcher, stop)
    client.subscribe(topics.ALL_ALARMS, inbox.put, qos=1)
    client.start()
    thread.start()
    logger.info("alerts %s listening on %s", cfg.instance, topics.ALL_ALARMS)
    try:
        _work(
            cfg,
            stop,
            client=client,
            inbox=inbox,
            consumer=consumer,
            dispatcher=dispatcher,
            clock=clock,
        )
    finally:
        thread.stop_event.set()
        thread.join(timeout=cfg.delivery.http_timeout_s * 3)
        info = client.publish(
            status_topic,
            status_payload(cfg, "stopped", clock, consumer, dispatcher),
            qos=1,
            retain=True,
        )
        if client.connected.is_set():
            info.wait_for_publish(timeout=2.0)
        inbox.close()
        client.stop()
        http.close()
        logger.info("alerts %s stopped: %s", cfg.instance, consumer.counters.as_dict())
    if thread.failed:
        raise AlertsError("the alerts dispatcher failed (see the log above)")


def _work(
    cfg: AlertsConfig,
    stop: threading.Event,
    *,
    client: MqttClient,
    inbox: Inbox,
    consumer: AlarmConsumer,
    dispatcher: Dispatcher,
    clock: Clock,
) -> None:
    """Deliveries, ticks and the status, until stopped."""
    status_topic = topics.service_status(COMPONENT, cfg.instance)
    held: Delivery | None = None
    next_tick = next_status = time.monotonic()
    while not stop.is_set():
        HEARTBEAT.beat()
        if client.wait_subscribed(0):  # acknowledged: alarms reach us from now on
            HEARTBEAT.ready()
        delivery = held or inbox.get(min(IDLE_S, cfg.tick_s))
        if delivery is not None:
            held = None if consumer.handle(delivery) else delivery
            if held is not None:
                stop.wait(RETRY_S)
        if time.monotonic() >= next_tick:
            next_tick = time.monotonic() + cfg.tick_s
            try:
                consumer.tick(clock.now())
            except SQLAlchemyError as err:  # the store is away: the next tick tries again
                logger.error("escalation tick failed: %s", err)
        # Only once subscribed: whoever sees "running" may publish alarms and be heard.
        if client.subscribed.is_set() and time.monotonic() >= next_status:
            payload = status_payload(cfg, "running", clock, consumer, dispatcher)
            client.publish(status_topic, payload, qos=1, retain=True)
            next_status = time.monotonic() + cfg.status_interval_s
