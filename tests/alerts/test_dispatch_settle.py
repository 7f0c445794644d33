"""The dispatcher after a sender's error and after a restart, with the real store, a driven
clock and local provider sinks: every notice reaches a final state or waits with its
message to retry (never `queued` for good), and the per-channel rate limits count every
call that reached a provider before the restart, refused and throttled ones included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bldgwatch.alerts import delivery, store
from bldgwatch.alerts.channels import KINDS, SendContext
from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.alerts.delivery import ChannelBook, Deliverer
from bldgwatch.alerts.dispatch import Dispatcher
from bldgwatch.alerts.errors import InvalidDocumentError
from bldgwatch.alerts.models import AlertChannelRow, AttemptRow, MessageRow, NotificationRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine, session_factory
from tests.alerts.harness import ENV, alarm_event, alerts_config
from tests.alerts.seed import BOX, entrapment_policy, seed_site
from tests.alerts.sinks import HttpSink, serve_http
from tests.waiting import wait_for

pytestmark = pytest.mark.services

T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai: the night shift
SHANGHAI = ZoneInfo("Asia/Shanghai")
PLAIN_LOGIN = {
    "host": "127.0.0.1",
    "port": 2525,
    "security": "none",
    "username": "u",
    "sender": "d@x.cn",
}
THROTTLED = (200, b'{"errcode": 130101, "errmsg": "send too fast"}')


class Process:
    """One life of the alerts service's delivery side (dispatcher, senders)."""

    def __init__(self, cfg: AlertsConfig, database: DatabaseSettings, clock: ManualClock) -> None:
        self.engine = make_engine(database)
        self.sessions = session_factory(self.engine)
        self.http = httpx.Client()
        ctx = SendContext(http=self.http, timeout_s=3, clock=clock)
        self.book = ChannelBook(BOX, ctx, environ=ENV, secrets_dir=None)
        deliverer = Deliverer(cfg, sessions=self.sessions, book=self.book, box=BOX, clock=clock)
        self.dispatcher = Dispatcher(
            cfg, sessions=self.sessions, deliverer=deliverer, book=self.book, box=BOX, clock=clock
        )

    def pass_(self) -> None:
        """One dispatcher pass, its sends finished (their callbacks run in the senders)."""
        self.dispatcher.run_once()
        wait_for(self.dispatcher.idle, timeout=10, what="the senders done")

    def close(self) -> None:
        self.dispatcher._pool.shutdown(wait=True)
        self.http.close()
        self.engine.dispose()


class Site:
    """The seeded site (robot first, SMS second), its sinks, and a look at the outbox."""

    def __init__(self, tmp: Path, mqtt: MqttSettings, database: DatabaseSettings) -> None:
        self._sinks = [serve_http(HttpSink()), serve_http(HttpSink())]
        self.robot, self.sms = (next(s) for s in self._sinks)
        self.database = database
        self.engine = make_engine(database)
        self.clock = ManualClock(T0)
        self.cfg = alerts_config(tmp, mqtt, database)

    def seed(self, **kw: Any) -> None:
        seed_site(
            self.engine,
            robot_url=f"{self.robot.url}/robot/send",
            sms_url=f"{self.sms.url}/",
            policy=entrapment_policy(repeat_every_min=None),
            **kw,
        )

    def alarm(self, alarm_id: str, equipment: str = "E-01") -> None:
        with Session(self.engine) as session:
            now = self.clock.now()
            assert (
                store.activate(
                    session, alarm_event(alarm_id, now, equipment=equipment), now, SHANGHAI
                )
                == 1
            )
            session.commit()

    def process(self) -> Process:
        return Process(self.cfg, self.database, self.clock)

    def statuses(self) -> tuple[list[str], list[str], list[str]]:
        """Messages', notices' and attempts' statuses, in order."""
        with Session(self.engine) as session:
            return (
                [m.status for m in session.scalars(select(MessageRow).order_by(MessageRow.id))],
                [
                    n.status
                    for n in session.scalars(select(NotificationRow).order_by(NotificationRow.id))
                ],
                [a.status for a in session.scalars(select(AttemptRow).order_by(AttemptRow.id))],
            )

    def close(self) -> None:
        self.engine.dispose()
        for sink in self._sinks:
            sink.close()


@pytest.fixture
def site(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> Iterator[Site]:
    s = Site(tmp_path, mqtt_settings, sqlite_settings)
    yield s
    s.close()


def _boom(*args: object, **kw: object) -> Any:
    raise RuntimeError("the sender broke")


def test_a_sender_failing_mid_send_leaves_its_notices_unknown_not_queued(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once `sending`, the provider may have the message: it and its notices are `unknown`
    (recorded as an interrupted attempt), and nothing is sent again."""
    site.seed()
    site.alarm("A-1")
    monkeypatch.setattr(KINDS["dingtalk"], "send", _boom)
    proc = site.process()
    try:
        proc.pass_()
        site.clock.advance(timedelta(minutes=1))
        proc.pass_()
    finally:
        proc.close()
    assert site.statuses() == (["unknown"], ["unknown"], ["interrupted"])
    assert proc.dispatcher.counters["errors"] == 1
    assert site.sms.requests == []


def test_a_sender_failing_before_any_provider_call_retries_then_fails(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Still `queued` (rendering failed), nothing reached a provider: the message waits to
    retry with its notices; after `attempts_per_channel` errors both fail for good."""
    site.seed()
    site.alarm("A-1")
    monkeypatch.setattr(delivery, "render", _boom)
    proc = site.process()
    tries = site.cfg.delivery.attempts_per_channel
    try:
        proc.pass_()
        assert site.statuses() == (["retry"], ["queued"], ["error"])
        for _ in range(tries - 1):
            site.clock.advance(timedelta(seconds=site.cfg.delivery.retry_max_s))
            proc.pass_()
        site.clock.advance(timedelta(minutes=5))
        proc.pass_()
    finally:
        proc.close()
    assert site.statuses() == (["failed"], ["failed"], ["error"] * tries)
    assert site.robot.requests == [] and site.sms.requests == []


def test_a_message_the_store_could_not_settle_is_settled_at_the_next_pass(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses the settling once (a database hiccup): the message is not left
    `queued` until a restart; the next pass settles it and the retry then sends it."""
    site.seed()
    site.alarm("A-1")
    proc = site.process()
    real_render, real_settle = delivery.render, Dispatcher._settle_one
    hiccups = [OperationalError("UPDATE", {}, Exception("database is locked"))]

    def settle_once(self: Dispatcher, session: Session, message_id: int, why: str) -> None:
        if hiccups:
            raise hiccups.pop()
        real_settle(self, session, message_id, why)

    monkeypatch.setattr(delivery, "render", _boom)
    monkeypatch.setattr(Dispatcher, "_settle_one", settle_once)
    try:
        proc.pass_()
        assert site.statuses() == (["queued"], ["queued"], [])
        monkeypatch.setattr(delivery, "render", real_render)
        proc.pass_()  # settles: retry after the backoff
        assert site.statuses() == (["retry"], ["queued"], ["error"])
        site.clock.advance(timedelta(seconds=site.cfg.delivery.retry_max_s))
        proc.pass_()
    finally:
        proc.close()
    assert site.statuses() == (["sent"], ["sent"], ["error", "sent"])
    assert len(site.robot.requests) == 1


def test_rate_limits_after_a_restart_count_throttled_calls(site: Site) -> None:
    """A robot allowed one message a minute answered "send too fast" just before a restart:
    that call counts against its minute after the restart too, so the retry goes by SMS
    instead of calling the throttled robot again within the minute."""
    site.seed(channel_limits={"rate_per_min": 1})
    site.robot.script.append(THROTTLED)
    site.alarm("A-1")
    first = site.process()
    try:
        first.pass_()
    finally:
        first.close()
    assert site.statuses() == (["retry"], ["queued"], ["failed"])
    assert len(site.robot.requests) == 1

    site.clock.advance(timedelta(seconds=20))
    second = site.process()
    try:
        second.dispatcher.recover()
        second.pass_()
    finally:
        second.close()
    assert len(site.robot.requests) == 1, "the throttled robot was called again within its minute"
    assert site.statuses() == (["sent"], ["sent"], ["failed", "rate_limited", "sent"])
    assert len(site.sms.requests) == 1


def test_rate_limits_after_a_restart_ignore_local_waits(site: Site) -> None:
    """A `rate_limited` attempt never reached the provider: it does not count."""
    site.seed(channel_limits={"rate_per_min": 1})
    with Session(site.engine) as session:
        session.add(
            MessageRow(
                site="demo",
                contact_id="zhang",
                created_at=T0,
                status="failed",
                held=False,
                channels=["ding"],
                channel_index=0,
                attempt=0,
                alarm_count=1,
                language="zh-CN",
                subject="",
            )
        )
        session.flush()
        session.add(
            AttemptRow(
                message_id=1,
                site="demo",
                contact_id="zhang",
                channel_id="ding",
                channel_kind="dingtalk",
                at=T0,
                status="rate_limited",
                response="wait 30.0 s",
            )
        )
        session.commit()
    site.clock.advance(timedelta(seconds=10))
    site.alarm("A-1")
    proc = site.process()
    try:
        proc.dispatcher.recover()
        proc.pass_()
    finally:
        proc.close()
    assert len(site.robot.requests) == 1 and site.sms.requests == []


def test_a_stored_channel_that_breaks_a_rule_is_skipped_naming_the_field(site: Site) -> None:
    """An e-mail channel saved before logins in clear were refused is not used: the attempt
    is skipped naming the setting, the next channel is tried (the password never sent)."""
    admin = seed_site(
        site.engine, robot_url=f"{site.robot.url}/robot/send", sms_url=f"{site.sms.url}/"
    )
    with pytest.raises(InvalidDocumentError):
        admin.save_channel(
            "demo",
            "mail",
            kind="email",
            settings=PLAIN_LOGIN,
            secrets={"password": "pw"},
            enabled=True,
            actor="test",
            at=T0,
        )
    admin.save_channel(
        "demo",
        "mail",
        kind="email",
        settings={**PLAIN_LOGIN, "security": "starttls"},
        secrets={"password": "pw"},
        enabled=True,
        actor="test",
        at=T0,
    )
    policy = entrapment_policy(repeat_every_min=None, channels=["mail", "sms"])
    admin.save_policy("demo", policy, actor="test", at=T0)
    with Session(site.engine) as session:  # as a row stored before the rule reads
        row = session.get(AlertChannelRow, ("demo", "mail"))
        assert row is not None
        row.document = {**row.document, "security": "none"}
        session.commit()
    site.alarm("A-1")
    proc = site.process()
    try:
        proc.pass_()
    finally:
        proc.close()
    assert site.statuses() == (["sent"], ["sent"], ["skipped", "sent"])
    with Session(site.engine) as session:
        skipped = session.scalars(select(AttemptRow).where(AttemptRow.status == "skipped")).one()
    assert "username" in skipped.response and "in clear" in skipped.response
    assert len(site.sms.requests) == 1
