"""Delivery you can trust, on real Mosquitto with the service's own threads and a driven
clock: a flood becomes one digest per recipient per interval; a failing channel is retried
with backoff and then falls back to the next; a robot's rate limit is respected; every
attempt is recorded; a bad message is dead-lettered; stopping and starting sends nothing
twice."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts.models import AttemptRow, MessageRow, NotificationRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from tests.alerts.harness import Bus, Running, alarm_event, alerts_config, bus_on
from tests.alerts.seed import entrapment_policy, seed_site
from tests.alerts.sinks import HttpSink, serve_http
from tests.waiting import wait_for

pytestmark = pytest.mark.services

T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: the day shift


class Setup:
    """A seeded site, a robot sink and an SMS sink, the service's config and clock."""

    def __init__(self, tmp: Path, mqtt: MqttSettings, database: DatabaseSettings) -> None:
        self._sinks = [serve_http(HttpSink()), serve_http(HttpSink())]
        self.robot, self.sms = (next(s) for s in self._sinks)
        self.engine = make_engine(database)
        self.tmp, self.mqtt, self.database = tmp, mqtt, database
        self.clock = ManualClock(T0)
        self.cfg = alerts_config(tmp, mqtt, database)

    def seed(self, **kw: object) -> None:
        seed_site(
            self.engine, robot_url=f"{self.robot.url}/robot/send", sms_url=f"{self.sms.url}/", **kw
        )  # type: ignore[arg-type]

    def start(self, bus: Bus) -> Running:
        svc = Running(self.cfg, self.clock)
        bus.wait_running(self.cfg.instance)
        return svc

    def rows(self, model: type[object]) -> list[object]:
        with Session(self.engine) as session:
            return list(session.scalars(select(model)))  # type: ignore[call-overload]

    def close(self) -> None:
        self.engine.dispose()
        for sink in self._sinks:
            sink.close()


@pytest.fixture
def setup(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> Iterator[Setup]:
    s = Setup(tmp_path, mqtt_settings, sqlite_settings)
    yield s
    s.close()


def _texts(sink: HttpSink) -> list[str]:
    return [r.json()["text"]["content"] for r in sink.requests]


def test_a_flood_becomes_one_digest_per_recipient_per_interval(
    setup: Setup, mqtt_settings: MqttSettings
) -> None:
    setup.seed(policy=entrapment_policy(repeat_every_min=None))
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        try:
            ids = [str(uuid.uuid4()) for _ in range(120)]
            for n, alarm_id in enumerate(ids):  # a power cut: 120 lift alarms in a few seconds
                bus.publish(alarm_event(alarm_id, T0, equipment=f"E-{n % 2 + 1:02d}"))
            wait_for(
                lambda: bus.counters(setup.cfg.instance).get("activations") == 120,
                timeout=30,
                what="120 activations",
            )
            bus.wait_ticks(setup.cfg.instance)
            first = len(setup.robot.requests)
            assert 1 <= first <= 3  # at most the burst, however the 120 arrived
            setup.clock.advance(timedelta(seconds=59))
            bus.wait_ticks(setup.cfg.instance)
            assert len(setup.robot.requests) == first  # held until the interval is over
            setup.clock.advance(timedelta(seconds=1))
            setup.robot.wait(first + 1)
            bus.wait_ticks(setup.cfg.instance)
        finally:
            svc.halt()
    assert len(setup.robot.requests) == first + 1  # the rest: one digest
    notes = setup.rows(NotificationRow)
    assert len(notes) == 120 and {n.status for n in notes} == {"sent"}  # type: ignore[attr-defined]
    messages = setup.rows(MessageRow)
    assert sum(m.alarm_count for m in messages) == 120  # type: ignore[attr-defined]
    digest = _texts(setup.robot)[-1]
    held = messages[-1].alarm_count  # type: ignore[attr-defined]
    assert digest.startswith(f"【报警汇总】{held} 条报警待确认")
    assert len(re.findall(r"确认：https://console\.example/ack/", digest)) == 5  # digest_links


def test_a_failing_channel_is_retried_then_falls_back(
    setup: Setup, mqtt_settings: MqttSettings
) -> None:
    setup.seed()
    setup.robot.default = (503, b"robot gateway down")
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        try:
            bus.publish(alarm_event(str(uuid.uuid4()), T0))
            setup.robot.wait(1)
            for tries in (2, 3):  # backoff: at most 2 s, then at most 4 s (jittered)
                bus.wait_ticks(setup.cfg.instance)
                assert len(setup.robot.requests) == tries - 1  # waiting for the backoff
                setup.clock.advance(timedelta(seconds=2 ** (tries - 1)))
                setup.robot.wait(tries)
            setup.sms.wait(1)
        finally:
            svc.halt()
    attempts = [(a.channel_id, a.status) for a in setup.rows(AttemptRow)]  # type: ignore[attr-defined]
    assert attempts == [("ding", "failed")] * 3 + [("sms", "sent")]
    failed = setup.rows(AttemptRow)[0]
    assert "HTTP 503" in failed.response and failed.latency_ms is not None  # type: ignore[attr-defined]
    (message,) = setup.rows(MessageRow)
    assert (message.status, message.channel_id) == ("sent", "sms")  # type: ignore[attr-defined]
    sms = setup.sms.requests[0].query
    assert sms["PhoneNumbers"] == "13800000001" and sms["TemplateCode"] == "SMS_1"


def test_a_robots_rate_limit_is_respected(setup: Setup, mqtt_settings: MqttSettings) -> None:
    setup.seed(channel_limits={"rate_per_min": 1})
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        try:
            bus.publish(alarm_event(str(uuid.uuid4()), T0, equipment="E-01"))
            setup.robot.wait(1)
            bus.publish(alarm_event(str(uuid.uuid4()), T0, equipment="E-02"))
            setup.sms.wait(1)  # the robot's one message a minute is taken: SMS at once
            # Five minutes later: reminders for zhang, the escalation to li.
            setup.clock.advance(timedelta(minutes=5))
            wait_for(
                lambda: (
                    {n.status for n in setup.rows(NotificationRow)} == {"sent"}  # type: ignore[attr-defined]
                    and len(setup.rows(NotificationRow)) == 6
                ),
                timeout=20,
                what="every notice sent",
            )
        finally:
            svc.halt()
    by_minute: dict[int, int] = {}
    for req in setup.robot.requests:
        minute = int(req.query["timestamp"]) // 60_000
        by_minute[minute] = by_minute.get(minute, 0) + 1
    assert max(by_minute.values()) == 1 and len(setup.robot.requests) == 2
    by_message: dict[int, list[tuple[str, str]]] = {}
    for a in setup.rows(AttemptRow):
        by_message.setdefault(a.message_id, []).append((a.channel_id, a.status))  # type: ignore[attr-defined]
    tries = sorted(by_message.values())
    assert tries.count([("ding", "sent")]) == 2
    assert tries.count([("ding", "rate_limited"), ("sms", "sent")]) == len(tries) - 2 >= 2


def test_a_bad_message_is_dead_lettered_and_counted(
    setup: Setup, mqtt_settings: MqttSettings
) -> None:
    setup.seed()
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        try:
            bus.client.publish("bw/v1/demo/alarms/E-01", b"{not json").wait_for_publish(10)
            good = alarm_event(str(uuid.uuid4()), T0, equipment="E-02")
            bus.client.publish(
                "bw/v1/demo/alarms/E-01", good.model_dump_json(by_alias=True).encode()
            ).wait_for_publish(10)
            wait_for(lambda: len(bus.dead) == 2, timeout=20, what="two dead letters")
            bus.publish(alarm_event(str(uuid.uuid4()), T0))
            setup.robot.wait(1)  # the consumer carries on
        finally:
            svc.halt()
    assert sorted(d["reason"] for d in bus.dead) == ["invalid_json", "topic_mismatch"]
    assert bus.counters(setup.cfg.instance)["deadlettered"] == 2
    reasons = bus.status[setup.cfg.instance]["dead_letters"]
    assert reasons == {"invalid_json": 1, "topic_mismatch": 1}
    assert {d["instance"] for d in bus.dead} == {setup.cfg.instance}


def test_stopping_and_starting_sends_nothing_twice(
    setup: Setup, mqtt_settings: MqttSettings
) -> None:
    setup.seed()
    event = alarm_event(str(uuid.uuid4()), T0)
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        bus.publish(event)
        setup.robot.wait(1)
        svc.halt()
        # While the service is down: the repeat at 2 min and 4 min fall due; the broker keeps
        # what is published for its session; the activation comes again (a redelivery).
        setup.clock.advance(timedelta(minutes=4, seconds=30))
        bus.publish(event)
        svc = setup.start(bus)
        try:
            setup.robot.wait(2)
            bus.wait_ticks(setup.cfg.instance, 5)
        finally:
            svc.halt()
    texts = _texts(setup.robot)
    assert len(texts) == 2  # the first notice once; of the two missed reminders the latest
    assert "第 3 次提醒" in texts[1]
    notes = setup.rows(NotificationRow)
    assert [(n.occurrence, n.status) for n in notes] == [("0.0", "sent"), ("0.2", "sent")]  # type: ignore[attr-defined]


def test_a_message_cut_off_mid_send_is_not_sent_again(
    setup: Setup, mqtt_settings: MqttSettings
) -> None:
    """A crash while the provider is being called leaves the message `sending`: the outcome is
    unknown, so at the next start it is marked so (an `interrupted` attempt) and never sent
    again; the escalation goes on with its next reminder."""
    setup.seed()
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        bus.publish(alarm_event(str(uuid.uuid4()), T0))
        setup.robot.wait(1)
        svc.halt()
        with Session(setup.engine) as session, session.begin():  # as a crash mid-send leaves it
            (message,) = session.scalars(select(MessageRow)).all()
            message.status, message.sent_at = "sending", None
            for note in session.scalars(select(NotificationRow)):
                note.status = "queued"
        svc = setup.start(bus)
        try:
            bus.wait_ticks(setup.cfg.instance)
            assert len(setup.robot.requests) == 1  # not sent again
            setup.clock.advance(timedelta(minutes=2))
            setup.robot.wait(2)
            bus.wait_ticks(setup.cfg.instance)
        finally:
            svc.halt()
    first, second = setup.rows(MessageRow)
    assert (first.status, second.status) == ("unknown", "sent")  # type: ignore[attr-defined]
    assert [a.status for a in setup.rows(AttemptRow)] == ["sent", "interrupted", "sent"]  # type: ignore[attr-defined]
    assert [(n.occurrence, n.status) for n in setup.rows(NotificationRow)] == [
        ("0.0", "unknown"),
        ("0.1", "sent"),
    ]  # type: ignore[attr-defined]
    assert "第 2 次提醒" in _texts(setup.robot)[1]


def test_status_reports_what_was_done(setup: Setup, mqtt_settings: MqttSettings) -> None:
    setup.seed()
    with bus_on(mqtt_settings) as bus:
        svc = setup.start(bus)
        try:
            alarm_id = str(uuid.uuid4())
            bus.publish(alarm_event(alarm_id, T0))
            setup.robot.wait(1)
            bus.publish(
                alarm_event(
                    alarm_id,
                    T0,
                    state="active_ack",
                    previous="active_unack",
                    transition="acknowledge",
                    actor="ops",
                )
            )
            wait_for(
                lambda: bus.counters(setup.cfg.instance).get("stops") == 1,
                timeout=20,
                what="the stop",
            )
            setup.clock.advance(timedelta(minutes=3))
            bus.wait_ticks(setup.cfg.instance)
        finally:
            svc.halt()
    status = bus.status[setup.cfg.instance]
    assert status["state"] == "stopped"
    assert status["counters"]["activations"] == 1 and status["delivery"]["sent"] == 1
    assert len(setup.robot.requests) == 1  # acknowledged in the console: no reminder
    body = orjson.loads(setup.robot.requests[0].body)
    assert body["at"]["atMobiles"] == ["13800000001"]
