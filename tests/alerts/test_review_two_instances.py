"""Review of issue 16: two alerts instances (the architecture says the process can be
"restarted, scaled and watched on its own") share one outbox."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.models import MessageRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.migrations import migrate
from bldgwatch.servers import Server
from tests.alerts.harness import alarm_event, alerts_config
from tests.alerts.seed import seed_site
from tests.alerts.test_review_outbox_crash import Process
from tests.pgserver import create_pg_database

pytestmark = pytest.mark.services


@pytest.fixture
def pg_settings(postgres: Server) -> DatabaseSettings:
    """A migrated PostgreSQL database of its own."""
    settings = DatabaseSettings(url=create_pg_database(postgres, f"t_{uuid.uuid4().hex[:12]}"))
    engine = make_engine(settings)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return settings


T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_two_dispatchers_never_make_two_messages_of_one_notice(
    tmp_path: Path, mqtt_settings: MqttSettings, pg_settings: DatabaseSettings
) -> None:
    """FINDING (high where more than one instance runs): `Dispatcher._claim_new` reads the
    pending notices and marks them `queued` with plain ORM updates (`WHERE id = ?`, no
    `status = 'pending'` condition, no row lock); only retries are claimed by a conditional
    update. Two alerts instances passing at the same moment (both read the notice before
    either commits) each make a message of it, so the primary gets the same step twice —
    what the outbox exists to prevent. Driven here by holding both passes after their read
    (on PostgreSQL, where two writers run at once)."""
    db_settings = pg_settings
    clock = ManualClock(T0)
    engine = make_engine(db_settings)
    seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    with Session(engine) as session:
        assert store.activate(session, alarm_event("A-1", T0), T0, SHANGHAI) == 1
        session.commit()

    cfg = alerts_config(tmp_path, mqtt_settings, db_settings)
    both_read = threading.Barrier(2, timeout=10)
    made: list[int] = []
    errors: list[BaseException] = []

    def instance() -> None:
        proc = Process(cfg, db_settings, clock)
        real = proc.dispatcher._recent

        def after_read(*args: Any) -> Any:
            both_read.wait()  # both instances have read the pending notice
            return real(*args)

        proc.dispatcher._recent = after_read  # type: ignore[method-assign,assignment]
        proc.dispatcher._submit = lambda message_id: None  # type: ignore[method-assign]
        try:
            made.append(proc.dispatcher.run_once())
        except BaseException as err:  # noqa: BLE001 - a refused second claim is fine
            errors.append(err)
        finally:
            proc.dispatcher._pool.shutdown(wait=True)
            proc.close()

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with Session(engine) as session:
        messages = session.scalars(select(MessageRow)).all()
    engine.dispose()
    assert len(messages) == 1, f"{len(messages)} messages for one notice ({made}, {errors})"
