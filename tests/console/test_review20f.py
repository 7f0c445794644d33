"""The sixth review of issue 20 (review 20f): the alarm history's system notes in the reader's
language (M1), the verdict words rendered when read (L6), the off-hours alarm's refusals in
its own words (L3), the verdicts-to-review period (L5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.rules import alarms
from bldgwatch.rules.models import AlarmEventRow
from bldgwatch.rules.store import AlarmStore
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0, add, alarm, alarm_event, assets


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(days=3))


@pytest.fixture
def client(db: Engine, make_client: ClientFactory, clock: ManualClock) -> Iterator[TestClient]:
    add(db, *assets())
    add(db, alarm("a1", 0), alarm("a2", 0))
    yield make_client(db, clock=clock, user=None)


def _texts(client: TestClient, alarm_id: str, language: str) -> list[str | None]:
    headers = {**auth_headers(client, "engineer"), "Accept-Language": language}
    resp = client.get(f"/api/alarms/{alarm_id}/history", headers=headers)
    assert resp.status_code == 200, resp.text
    return [h["text"] for h in resp.json()["items"] if h.get("transition") == "escalate"]


def test_the_escalation_line_is_in_the_readers_language(
    client: TestClient, db: Engine, clock: ManualClock
) -> None:
    """M1: the escalation stores its wait as a catalogue key with the minutes; the history
    renders it for each reader; a row stored before (English text only) reads the same."""
    AlarmStore(db).change(
        "a1", lambda a: alarms.escalate(a, T0 + timedelta(days=3), after=timedelta(minutes=15))
    )
    with Session(db) as session:
        stored = session.scalars(select(AlarmEventRow).where(AlarmEventRow.alarm_id == "a1"))
        assert [(e.comment_key, e.comment_params) for e in stored] == [
            ("alarm.history.escalated", {"minutes": 4320})
        ]
    assert _texts(client, "a1", "zh-CN") == ["未确认已 4,320 分钟"]
    assert _texts(client, "a1", "en") == ["unacknowledged for 4,320 min"]
    old = alarm_event(
        "e-old", "a2", 60, transition="escalate", state="active_unack", previous="active_unack"
    )
    old.comment = "unacknowledged for 60 min"
    add(db, old)
    assert _texts(client, "a2", "zh-CN") == ["未确认已 60 分钟"]
    assert _texts(client, "a2", "en") == ["unacknowledged for 60 min"]


def _waste(alarm_id: str, **kw: object) -> object:
    """An off-hours use alarm of a water meter ("expected use" teaches it; no order)."""
    return alarm(
        alarm_id,
        0,
        rule="meters.water_off_hours",
        fault_code="WATER_OFF_HOURS",
        family="waste",
        severity="warning",
        priority=4,
        value=1.2,
        maintenance="none",
        **({"equipment": "P-01", "condition_active": True} | kw),
    )


@pytest.mark.parametrize(
    ("language", "words", "not_words"),
    [
        ("zh-CN", ["预期用量", "非营业时段用量"], "漏水"),
        ("en", ["expected use", "off-hours"], "leak"),
    ],
)
def test_an_off_hours_alarms_refusals_speak_of_off_hours_use(
    client: TestClient, db: Engine, language: str, words: list[str], not_words: str
) -> None:
    """L3: "expected use" without a reason, and a verdict on a closed off-hours alarm, were
    refused in leak words ("不是漏水", "takes no leak verdict")."""
    add(db, _waste("o1"), _waste("o2", state="normal", is_open=False, condition_active=False))
    eng = {**auth_headers(client, "engineer"), "Accept-Language": language}
    reasonless = client.post("/api/alarms/o1/leak-verdict", json={"leak": False}, headers=eng)
    assert reasonless.status_code == 400, reasonless.text
    closed = client.post("/api/alarms/o2/leak-verdict", json={"leak": True}, headers=eng)
    assert closed.status_code == 409, closed.text
    for resp, word in zip((reasonless, closed), words, strict=True):
        detail = resp.json()["detail"]
        assert word in detail and not_words not in detail.lower(), detail


def test_verdict_words_are_rendered_in_the_readers_language(client: TestClient, db: Engine) -> None:
    """L6: the verdict's word was stored rendered in its giver's language ("waste confirmed:
    …" read by a zh-CN supervisor); it is stored as its key with the person's reason, on the
    acknowledgement or (the alarm acknowledged already) as a comment, and rendered when read."""
    add(
        db,
        _waste("o1"),
        _waste("o2", equipment="P-02", state="active_ack", acked=True, acked_by="engineer"),
    )
    eng = {**auth_headers(client, "engineer"), "Accept-Language": "en"}
    for alarm_id in ("o1", "o2"):
        given = client.post(
            f"/api/alarms/{alarm_id}/leak-verdict",
            json={"leak": True, "comment": "tap left open"},
            headers=eng,
        )
        assert given.status_code == 200, given.text
        notes = {}
        for language in ("zh-CN", "en"):
            headers = {**eng, "Accept-Language": language}
            items = client.get(f"/api/alarms/{alarm_id}/history", headers=headers).json()["items"]
            notes[language] = [i["text"] for i in items if i["actor"] == "engineer"]
        assert notes == {
            "zh-CN": ["确认浪费: tap left open"],
            "en": ["waste confirmed: tap left open"],
        }
