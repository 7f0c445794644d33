"""Review of issue 16: the flood rule against an emergency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.models import NotificationRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from tests.alerts.harness import alarm_event, alerts_config
from tests.alerts.seed import AT, SITE, seed_site
from tests.alerts.test_review_outbox_crash import Process

pytestmark = pytest.mark.services

T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_an_entrapment_is_not_held_behind_a_flood_of_low_alarms(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> None:
    """FINDING (high): the flood rule (`alerts.pacing.flood_release`) counts a recipient's
    messages whatever their priority. After three P3 pump notices within a minute (a power
    dip trips the pumps), a P1 entrapment raised 20 s later waits in the outbox until the
    flood interval ends — 62 s after the first pump notice, ~42 s after the entrapment — and
    then leaves inside a digest. The issue wants the primary told within 10 s of a night
    entrapment; a P1's first notice must not be held by a flood of lower priorities."""
    clock = ManualClock(T0)
    engine = make_engine(sqlite_settings)
    admin = seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    pumps = {
        "id": "pumps",
        "match": {"equipment_types": ["pump"]},
        "rota": "duty",
        "steps": [{"after_min": 0, "notify": ["primary"]}],
        "channels": ["ding"],
    }
    admin.save_policy(SITE, pumps, actor="test", at=AT)
    proc = Process(alerts_config(tmp_path, mqtt_settings, sqlite_settings), sqlite_settings, clock)
    proc.dispatcher._submit = lambda message_id: None  # type: ignore[method-assign]
    try:
        for n in range(3):  # three pump alarms, a second apart: three messages to zhang
            with Session(engine) as session:
                event = alarm_event(f"P-{n}", clock.now(), equipment="P-01", priority=3)
                assert store.activate(session, event, clock.now(), SHANGHAI) == 1
                session.commit()
            assert proc.dispatcher.run_once() == 1
            clock.advance(timedelta(seconds=1))

        clock.advance(timedelta(seconds=17))  # 03:00:20, the lift traps a passenger
        raised = clock.now()
        with Session(engine) as session:
            assert store.activate(session, alarm_event("LIFT", raised), raised, SHANGHAI) == 1
            session.commit()
        for _ in range(10):  # the dispatcher's passes over the next 10 s
            proc.dispatcher.run_once()
            clock.advance(timedelta(seconds=1))
        with Session(engine) as session:
            note = session.scalars(
                select(NotificationRow).where(NotificationRow.alarm_id == "LIFT")
            ).one()
        assert note.status != store.PENDING, "the entrapment still waits 10 s after it was raised"
    finally:
        proc.dispatcher._pool.shutdown(wait=True)
        proc.close()
        engine.dispose()
