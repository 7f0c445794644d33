"""A supervisor reverses "not a leak" after the rules service closed the alarm (fourth review
of issue 20, H1): the real rules service on Mosquitto takes the lesson and clears the alarm;
the console then takes the correction on the closed alarm, opens the repair order, and the
service, taking the withdrawal, alarms on the leak again at the next night."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.db import make_engine
from bldgwatch.maintenance.models import EquipmentRow
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.models import RuleLessonRow, RuleMemoryRow
from bldgwatch.rules.store import AlarmStore
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets
from tests.rules.test_leak_service import START, _send_hours, bus, config  # noqa: F401
from tests.rules.test_service import Bus, open_alarms, start
from tests.waiting import wait_for

pytestmark = pytest.mark.services


def test_a_supervisor_reverses_not_a_leak_after_the_service_closed_the_alarm(
    config: RulesConfig,  # noqa: F811
    bus: Bus,  # noqa: F811
    make_client: ClientFactory,
) -> None:
    engine = make_engine(config.database)
    svc = start(config, bus)
    try:
        add(engine, *assets())
        add(engine, EquipmentRow(site="demo", id="WM-01", building="B1", type="water_meter",
                                 rated={}, params={}))  # fmt: skip
        client = make_client(engine, clock=ManualClock(START + timedelta(days=6)), user=None)
        _send_hours(bus, range(6 * 24))
        wait_for(
            lambda: any(e.rule == "meters.night_flow" for _, e in bus.events),
            timeout=30,
            what="night-flow alarm",
        )
        [alarm] = [a for a in open_alarms(config) if a.rule == "meters.night_flow"]
        path = f"/api/alarms/{alarm.alarm_id}/leak-verdict"
        eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
        given = client.post(path, json={"leak": False, "comment": "tank filling"}, headers=eng)
        assert given.status_code == 200, given.text

        def taken(n: int) -> bool:
            with Session(engine) as session:
                rows = session.scalars(select(RuleLessonRow.applied_at)).all()
                return len(rows) == n and all(r is not None for r in rows)

        wait_for(lambda: taken(1), timeout=30, what="the lesson taken")
        _send_hours(bus, range(6 * 24, 8 * 24))  # two more nights at the judged level
        wait_for(lambda: bus.counter("messages") >= 8 * 24, timeout=60, what="two days handled")
        closed = AlarmStore(engine).get(alarm.alarm_id)
        assert closed is not None and closed.state.value == "normal"  # the lesson closed it

        detail = client.get(f"/api/alarms/{alarm.alarm_id}", headers=sup).json()
        assert (detail["open"], detail["verdict"]["leak"], detail["verdict"]["correctable"]) == (
            False,
            False,
            True,
        )
        reversed_ = client.post(path, json={"leak": True, "reverse": True}, headers=sup)
        assert reversed_.status_code == 200, reversed_.text  # was 409: "needs no verdict"
        assert reversed_.json()["work_order_id"] is not None
        wait_for(lambda: taken(2), timeout=30, what="the withdrawal taken")
        _send_hours(bus, range(8 * 24, 9 * 24))  # the leak goes on
        wait_for(lambda: bus.counter("messages") >= 9 * 24, timeout=60, what="a day handled")

        def leak() -> list[str]:
            return [e.transition for _, e in bus.events if e.rule == "meters.night_flow"]

        wait_for(lambda: len(leak()) >= 4, timeout=30, what="the leak raised again")
        # The verdict's acknowledgement and the lesson's clear reach the service by different
        # ways (a command, the lessons table): either may come first (a loaded full run saw
        # clear, then acknowledge) — both end the first alarm.
        first, *ended, again = leak()
        assert (first, sorted(ended), again) == ("activate", ["acknowledge", "clear"], "activate")
    finally:
        svc.halt()
        engine.dispose()


def _applied(engine: Engine, n: int) -> bool:
    with Session(engine) as session:
        rows = session.scalars(select(RuleLessonRow.applied_at)).all()
        return len(rows) == n and all(r is not None for r in rows)


def _state(engine: Engine, alarm_id: str) -> str | None:
    found = AlarmStore(engine).get(alarm_id)
    return None if found is None else found.state.value


def _memory(engine: Engine, equipment: str) -> dict[str, Any] | None:
    with Session(engine) as session:
        row = session.scalars(
            select(RuleMemoryRow).where(
                RuleMemoryRow.equipment == equipment, RuleMemoryRow.rule == "meters.night_flow"
            )
        ).first()
        return None if row is None else dict(row.memory)


def test_a_reversal_taken_holds_when_the_service_dies_before_its_periodic_save(
    config: RulesConfig,  # noqa: F811
    bus: Bus,  # noqa: F811
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fifth review of issue 20, M1 (the reviewer's `test_crash_lesson.py`): the lesson row was
    marked applied in its own transaction and what the logic learned from it reached the
    database only at the next periodic save; a process that died in between came back with
    the taught level and the lesson taken: the leak was never raised again. Now the memory is
    stored in the transaction that marks the lesson taken. The crash is the periodic save made
    a no-op (also at the stop) after the "not a leak" lesson is stored."""
    config = config.model_copy(update={"memory_save_s": 0.5})
    engine = make_engine(config.database)
    svc = start(config, bus)
    try:
        add(engine, *assets())
        add(engine, EquipmentRow(site="demo", id="WM-01", building="B1", type="water_meter",
                                 rated={}, params={}))  # fmt: skip
        client = make_client(engine, clock=ManualClock(START + timedelta(days=6)), user=None)
        _send_hours(bus, range(6 * 24))
        wait_for(lambda: any(e.rule == "meters.night_flow" for _, e in bus.events),
                 timeout=30, what="night-flow alarm")  # fmt: skip
        [alarm] = [a for a in open_alarms(config) if a.rule == "meters.night_flow"]
        path = f"/api/alarms/{alarm.alarm_id}/leak-verdict"
        eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
        given = client.post(path, json={"leak": False, "comment": "tank filling"}, headers=eng)
        assert given.status_code == 200, given.text
        wait_for(lambda: _applied(engine, 1), timeout=30, what="the lesson taken")
        _send_hours(bus, range(6 * 24, 8 * 24))
        wait_for(lambda: bus.counter("messages") >= 8 * 24, timeout=60, what="two days handled")
        wait_for(lambda: (_memory(engine, "WM-01") or {}).get("taught") is not None,
                 timeout=30, what="the taught level stored")  # fmt: skip
        wait_for(lambda: _state(engine, alarm.alarm_id) == "normal", timeout=30,
                 what="the alarm closed by the lesson")  # fmt: skip

        # From here the process "dies" before any periodic save (and saves nothing at its stop).
        monkeypatch.setattr(RulesEngine, "keep_memory", lambda self, now, everything=False: 0)
        reversed_ = client.post(path, json={"leak": True, "reverse": True}, headers=sup)
        assert reversed_.status_code == 200, reversed_.text
        wait_for(lambda: _applied(engine, 2), timeout=30, what="the withdrawal taken")
        svc.halt()
        monkeypatch.undo()
        svc = start(config, bus)
        before = bus.counter("messages")
        _send_hours(bus, range(8 * 24, 10 * 24))  # the leak goes on two more nights
        wait_for(lambda: bus.counter("messages") >= before + 2 * 24, timeout=60,
                 what="two days handled")  # fmt: skip
        wait_for(
            lambda: len([e for _, e in bus.events if e.rule == "meters.night_flow"]) >= 4,
            timeout=30,
            what="the leak raised again after the restart",
        )
        leak = [e.transition for _, e in bus.events if e.rule == "meters.night_flow"]
        assert leak[-1] == "activate", leak
        assert _applied(engine, 2)
    finally:
        svc.halt()
        engine.dispose()
