"""Review of issue 16, "never zero": a message is committed as `sending` when the dispatcher
claims it, before any sender has started the provider call. A crash (SIGKILL) in that window
makes the next start mark it `unknown` and never send it, although nothing was sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.channels import SendContext
from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.alerts.delivery import ChannelBook, Deliverer
from bldgwatch.alerts.dispatch import Dispatcher
from bldgwatch.alerts.models import MessageRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine, session_factory
from tests.alerts.harness import ENV, alarm_event, alerts_config
from tests.alerts.seed import BOX, seed_site
from tests.alerts.sinks import HttpSink

pytestmark = pytest.mark.services

T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai: the night shift
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Process:
    """One life of the alerts service's delivery side (dispatcher, senders)."""

    def __init__(self, cfg: AlertsConfig, database: DatabaseSettings, clock: ManualClock) -> None:
        self.engine = make_engine(database)
        self.sessions = session_factory(self.engine)
        self.http = httpx.Client()
        ctx = SendContext(http=self.http, timeout_s=3, clock=clock)
        book = ChannelBook(BOX, ctx, environ=ENV, secrets_dir=None)
        deliverer = Deliverer(cfg, sessions=self.sessions, book=book, box=BOX, clock=clock)
        self.dispatcher = Dispatcher(
            cfg, sessions=self.sessions, deliverer=deliverer, book=book, box=BOX, clock=clock
        )

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


@pytest.fixture
def cfg(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> AlertsConfig:
    return alerts_config(tmp_path, mqtt_settings, sqlite_settings)


@pytest.fixture
def robot(http_sink: HttpSink) -> Iterator[HttpSink]:
    yield http_sink


def test_a_message_claimed_but_not_yet_sent_is_lost_by_a_crash(
    cfg: AlertsConfig, sqlite_settings: DatabaseSettings, robot: HttpSink
) -> None:
    """FINDING (high): `Dispatcher._make_message` commits a new message straight as
    `sending` and only then hands it to the pool; with a busy pool (a flood, a hanging robot)
    it waits there for seconds. `recover` treats every `sending` message as "the provider
    call under way" and marks it `unknown`, never to be sent. So a SIGKILL after the claim's
    commit but before a sender picked the message up means the on-call primary is never told
    of a P1 entrapment at step 0 (and with no repeat configured, never at that level), though
    nothing at all reached a provider. docs/architecture.md claims `sending` only covers "the
    provider call under way"."""
    clock = ManualClock(T0)
    engine = make_engine(sqlite_settings)
    seed_site(engine, robot_url=f"{robot.url}/robot/send", sms_url=f"{robot.url}/sms")
    with Session(engine) as session:
        assert store.activate(session, alarm_event("A-1", T0), T0, SHANGHAI) == 1
        session.commit()
    engine.dispose()

    first = Process(cfg, sqlite_settings, clock)
    first.dispatcher._submit = lambda message_id: None  # type: ignore[method-assign]
    # SIGKILL right after the claim committed: no sender ever started.
    assert first.dispatcher.run_once() == 1
    first.close()
    assert robot.requests == []  # nothing reached any provider

    clock.advance(timedelta(seconds=5))
    second = Process(cfg, sqlite_settings, clock)
    try:
        second.dispatcher.recover()
        second.dispatcher.run_once()
        with second.sessions() as session:
            statuses = [m.status for m in session.scalars(select(MessageRow))]
        assert statuses != ["unknown"], "the never-sent P1 notice was written off as unknown"
        robot.wait(1, timeout=5)
    finally:
        second.dispatcher._pool.shutdown(wait=True)
        second.close()
