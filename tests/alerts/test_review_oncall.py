"""Review of issue 16: rotas with nobody reachable in a role."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.errors import InvalidDocumentError
from bldgwatch.alerts.models import NotificationRow
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from tests.alerts.harness import alarm_event
from tests.alerts.seed import AT, PEOPLE, ROTA, SITE, entrapment_policy, seed_site

T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_an_unreachable_primary_does_not_leave_an_entrapment_unannounced(
    sqlite_settings: DatabaseSettings,
) -> None:
    """FINDING (high): when the on-call primary cannot be reached — their contact was set
    inactive (on leave) while the rota still names them, which the admin allows — the P1's
    first step issues an `unresolved` notice and a log warning, and nobody at all is told
    until the backup's step 5 minutes later (10 minutes, for the supervisor, when the
    backup is missing too). A trapped passenger's 30-minute rescue clock runs meanwhile. The
    issue: "a P1 notifies the on-call primary at once"; with no primary reachable the next
    in line must be told at once (or the save refused), not after the configured delay."""
    engine = make_engine(sqlite_settings)
    admin = seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    admin.save_contact(SITE, {**PEOPLE[0], "active": False}, actor="test", at=AT)
    with Session(engine) as session:
        store.activate(session, alarm_event("A-1", T0), T0, SHANGHAI)
        session.commit()
        now = session.scalars(
            select(NotificationRow).where(
                NotificationRow.status == store.PENDING, NotificationRow.due_at <= T0
            )
        ).all()
    engine.dispose()
    assert now, "a P1 entrapment at 03:00 reaches nobody at once: the primary is inactive"


def test_overlapping_overrides_are_refused(sqlite_settings: DatabaseSettings) -> None:
    """FINDING (low): two overrides covering the same hours are accepted; `on_call` silently
    takes the first in list order, so the second cover (a later swap the supervisor typed)
    never applies and the console's on-call view gives no hint. A rota with overlapping
    overrides should be refused naming the overlap."""
    engine = make_engine(sqlite_settings)
    admin = seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    rota = {
        **ROTA,
        "overrides": [
            {"primary": "li", "start": "2026-12-24T20:30", "end": "2026-12-25T08:30"},
            {"primary": "chen", "start": "2026-12-24T22:00", "end": "2026-12-25T02:00"},
        ],
    }
    try:
        with pytest.raises(InvalidDocumentError):
            admin.save_rota(SITE, rota, actor="test", at=AT)
    finally:
        engine.dispose()


def test_a_robot_cannot_be_set_faster_than_its_provider_allows(
    sqlite_settings: DatabaseSettings,
) -> None:
    """FINDING (low-medium): `rate_per_min` replaces the robot's documented limit and is
    allowed up to 100,000. A supervisor who sets 60 on a DingTalk robot (documented: 20 a
    minute, then throttled for 10 minutes, errcode 130101) gets the robot silenced in the
    next flood, and every notice falls back to SMS. The issue asks that the robots'
    documented limits be respected: a configured limit should only lower them."""
    engine = make_engine(sqlite_settings)
    admin = seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    try:
        with pytest.raises(InvalidDocumentError):
            admin.save_channel(
                SITE,
                "ding",
                kind="dingtalk",
                settings={"rate_per_min": 60},
                secrets=None,
                enabled=True,
                actor="test",
                at=AT,
            )
    finally:
        engine.dispose()


def test_quiet_hours_cannot_silence_an_entrapment(sqlite_settings: DatabaseSettings) -> None:
    """FINDING (medium): quiet hours are meant "for low priorities", yet `QuietHours`
    accepts any priority. A supervisor who ticks every priority for 22:00–07:00 on the P1
    lift policy holds a 03:00 entrapment's notices — primary, backup and supervisor — until
    07:00, four hours past its 30-minute rescue clock, with no warning at save time. P1
    (emergency) must not be quietable (refused naming `quiet_hours.priorities`)."""
    engine = make_engine(sqlite_settings)
    admin = seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    quiet = {"start": "22:00", "end": "07:00", "priorities": [1, 2, 3, 4]}
    try:
        with pytest.raises(InvalidDocumentError):
            admin.save_policy(SITE, entrapment_policy(quiet_hours=quiet), actor="test", at=AT)
    finally:
        engine.dispose()
