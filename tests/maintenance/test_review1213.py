"""Review of issue 12 #5 (core/resend.py) for work-order events: the broker killed twice, the
first outage longer than the resend window."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bldgwatch.core.config import DatabaseSettings
from bldgwatch.servers import Server, restart
from tests.maintenance.conftest import EventFactory
from tests.maintenance.test_broker_kill import (
    acknowledged_event,
    broker,  # noqa: F401  (fixture)
)
from tests.waiting import wait_for

pytestmark = [pytest.mark.services, pytest.mark.e2e]

WINDOW_S = 2.0
"""The resend window, scaled down from its default 60 s so that an outage longer than it takes
seconds; what is tested (an outage longer than the window) does not depend on the scale."""


def test_an_event_resent_after_a_long_outage_survives_a_second_kill(
    tmp_path: Path,
    broker: list[Server],  # noqa: F811
    sqlite_settings: DatabaseSettings,
    make_event: EventFactory,
) -> None:
    """Finding 7: the broker acknowledged a work-order event and was killed before saving it;
    it stayed down longer than the resend window (60 s by default), came back, and the
    service published the event again (the window counts back from the drop: right). The
    broker acknowledged the copy and was killed again before its autosave (5 s; a crash
    loop under systemd does this). The copy was never `confirmed` in the ResendWindow
    (`_resend_recent` publishes, then calls `resent()`; the window keeps the first
    confirmation's time), so at the second drop the event is older than the window and is
    not published again: the consumer session that was away never gets it. The same holds
    for alarm events in rules (`RulesService._resend_recent`). Correct (issue 12 #5: 0
    lost): every event the broker acknowledged is published again until a copy of it has
    been acknowledged within the window before the last drop."""
    with acknowledged_event(
        tmp_path, broker, sqlite_settings, make_event, resend_window_s=WINDOW_S
    ) as acked:
        broker[0].kill()  # SIGKILL before any autosave: the queued event is gone
        time.sleep(WINDOW_S + 1)  # the outage: longer than the window (what is tested)
        broker[0] = restart(broker[0])
        wait_for(lambda: acked.republished() >= 1, timeout=30, what="the event published again")
        broker[0].kill()  # again before any autosave: the copy is gone too
        broker[0] = restart(broker[0])
        watcher = acked.watcher
        watcher.reconnect()
        wait_for(lambda: watcher.events, timeout=20, what="the order event after two kills")
        assert [(e.change, e.equipment) for e in watcher.events] == [("created", "P-01")]
