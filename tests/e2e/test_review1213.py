"""Review of issue 12 (resend window): what a consumer does with the copies that rules
publishes again after every reconnect (`core.resend`, 60 s of confirmed alarm events)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.models import EscalationRow, NotificationRow
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from tests.alerts.harness import alarm_event
from tests.alerts.test_dispatch_settle import SHANGHAI, Site

pytestmark = pytest.mark.services


@pytest.fixture
def site(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> Iterator[Site]:
    s = Site(tmp_path, mqtt_settings, sqlite_settings)
    yield s
    s.close()


def _notices(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(NotificationRow)) or 0)


def test_a_resent_earlier_activation_does_not_escalate_again(site: Site) -> None:
    """Finding 6: an alarm raised (E1), acknowledged, raised again (E2) and acknowledged
    within the resend window; then the broker is killed (or rules merely reconnects) and
    rules publishes the window again, oldest first: E1's activation comes back. The alerts
    store dedupes an activation only against the *last* one of the escalation
    (`row.activation_event == event.event_id or row.status == ACTIVE`), so E1 starts a new
    escalation round and queues a page for the primary on-call of an alarm already handled
    twice (then E2's copy does the same after E1's acknowledgement copy stopped it).
    Correct (issue 12: "alerts escalates once per activation"): every activation escalates
    once, however often and in whatever order its event comes again."""
    site.seed()
    t = site.clock.now()
    first = alarm_event("A1", t, event_id=str(uuid.uuid4()))
    second = alarm_event("A1", t + timedelta(seconds=20), event_id=str(uuid.uuid4()))
    with Session(site.engine) as session:
        assert store.activate(session, first, t, SHANGHAI) == 1
        assert store.stop(session, "A1", reason="acked", by="op", at=t) == 1
        later = t + timedelta(seconds=20)
        assert store.activate(session, second, later, SHANGHAI) == 1
        assert store.stop(session, "A1", reason="acked", by="op", at=later) == 1
        session.commit()
        notices = _notices(session)
        rounds = session.scalars(select(EscalationRow.round)).all()
    resent_at = t + timedelta(seconds=40)  # within the 60 s window
    with Session(site.engine) as session:
        issued = store.activate(session, first, resent_at, SHANGHAI)  # E1's copy
        session.commit()
        assert issued == 0, "an activation already escalated and stopped escalated again"
        assert _notices(session) == notices
        assert session.scalars(select(EscalationRow.round)).all() == rounds
