"""Review of issue 16: acknowledge links attacked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks, store
from bldgwatch.alerts.errors import LinkError
from bldgwatch.alerts.models import EscalationRow
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from tests.alerts.harness import alarm_event
from tests.alerts.seed import BOX, seed_site

T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_link_of_an_earlier_activation_does_not_acknowledge_the_next_one(
    sqlite_settings: DatabaseSettings,
) -> None:
    """FINDING (medium-high): an open alarm keeps its id when it re-activates (rules: an
    alarm in rtn_unack that activates again is reopened, `activations` counted), and alerts
    starts a new escalation round for it; but a link names only the alarm id. So an unused
    link of the 03:00 entrapment (valid `ack_link_ttl_h`, 24 h by default), tapped after the
    lift was freed and trapped someone again at 03:30, silently stops the *new* round's
    escalation and (in the console) acknowledges it in the name of a recipient who never
    saw the new entrapment: nobody else is called. A link must be bound to the activation
    (escalation round) it was sent for and refused (or only shown) for a later one."""
    engine = make_engine(sqlite_settings)
    seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    with Session(engine) as session:
        store.activate(session, alarm_event("A-7", T0), T0, SHANGHAI)
        token = acklinks.issue(
            session,
            BOX.link_key,
            alarm_id="A-7",
            site="demo",
            contact_id="zhang",
            message_id=None,
            now=T0,
            ttl=timedelta(hours=24),
        )
        # the lift was freed: the alarm returned to normal unacknowledged (rtn_unack)
        store.stop(
            session, "A-7", reason="clear", by=None, at=T0 + timedelta(minutes=3), clear=True
        )
        session.commit()

        later = T0 + timedelta(minutes=30)  # the same lift traps someone again
        again = alarm_event("A-7", later, previous="rtn_unack")
        store.activate(session, again, later, SHANGHAI)
        session.commit()
        row = session.scalars(select(EscalationRow)).one()
        assert (row.round, row.status) == (2, "active")

        with pytest.raises(LinkError):
            acklinks.redeem(
                session,
                BOX.link_key,
                token,
                now=later + timedelta(minutes=1),
                used_from="198.51.100.7",
                agent="WeChat",
            )
        session.expire_all()
        row = session.scalars(select(EscalationRow)).one()
        assert row.status == "active", "the old link stopped the new entrapment's escalation"
    engine.dispose()
