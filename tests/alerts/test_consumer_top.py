"""Hostile review of issue 12 #1 on the alerts consumer: one message whose handling fails in a
way nobody foresaw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from bldgwatch.alerts.consumer import AlarmConsumer
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.inbox import Delivery
from bldgwatch.core.models import AlarmEvent
from tests.alerts.harness import alarm_event

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def test_a_failing_alarm_handler_costs_one_message_not_the_alerts_process() -> None:
    """FINDING (high): issue 12 #1 says a handler that fails on one message never stops its
    process: the failure is logged once, counted on /metrics, the message dead-lettered as
    `handler_failed` and acknowledged. Rules, ingest, maintenance, the live hub and the
    sensor hub got that supervisor's top; the alerts consumer did not. `AlarmConsumer.handle`
    catches only DecodeError and SQLAlchemy errors, and alerts.service._work has no top
    either, so any other exception from one alarm event (a bug in a policy match, a zone,
    an escalation plan) leaves `_work`, ends the alerts process with the message unacked,
    and the broker redelivers it after every restart: a crash loop that stops every on-call
    notice of the site, the very path that must be up at 3 a.m. (Failure injected, as
    tests/rules/test_hostile.py does for rules.)"""
    acked: list[Delivery] = []
    letters: list[dict[str, Any]] = []
    consumer = AlarmConsumer(
        sessions=lambda: pytest.fail("the injected failure comes first"),
        ack=acked.append,
        publish=lambda topic, body: letters.append(orjson.loads(body)),
        clock=ManualClock(T0),
        instance="review12",
        default_zone="Asia/Shanghai",
    )

    def apply_or_fail(event: AlarmEvent) -> int:
        raise RuntimeError("a bug that only this alarm finds")

    consumer._apply = apply_or_fail  # type: ignore[method-assign]
    event = alarm_event("A-1", T0)
    delivery = Delivery(
        "bw/v1/demo/alarms/E-01", event.model_dump_json(by_alias=True).encode(), 7, 1, 1
    )
    done = consumer.handle(delivery)
    assert done is True
    assert acked == [delivery]
    assert [letter["reason"] for letter in letters] == ["handler_failed"]
