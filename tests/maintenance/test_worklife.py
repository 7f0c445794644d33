"""Work-order life completion: roster assignment, labour, parts, repair class, escalation,
notices by webhook and e-mail, and the equipment history that carries all of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from email import message_from_string

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.assets import equipment_history, import_site
from bldgwatch.maintenance.config import (
    NotifySettings,
    RosterSettings,
    Shift,
    SmtpSettings,
    Technician,
    WebhookTarget,
)
from bldgwatch.maintenance.errors import InvalidTransition, MaintenanceError
from bldgwatch.maintenance.escalation import Level, due_level
from bldgwatch.maintenance.i18n import render
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import EquipmentRow, WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.notify import Notifier
from bldgwatch.maintenance.outbox import OutboxRelay
from bldgwatch.maintenance.roster import choose_technician
from bldgwatch.maintenance.worklog import (
    Completion,
    InvalidWorkLog,
    RepairClass,
    add_labour,
    add_part,
    record_completion,
)
from tests.maintenance.conftest import T0, EventFactory, demo_site
from tests.maintenance.desks import seeded_desk
from tests.maintenance.servers import http_sink, smtp_sink

MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # T0 is Monday 08:00
NIGHT = Shift(days=[0], start=time(18, 0), end=time(8, 0))
TEAM = [
    Technician(id="li", sites=["demo"], skills=["mechanical"], email="li@example.org"),
    Technician(id="wang", sites=["*"], skills=["mechanical", "electrical"], on_call=[NIGHT]),
    Technician(id="zhao", sites=["other"], skills=["mechanical"]),
    Technician(id="chen", sites=["demo"], skills=["elevator"], on_call=[Shift()]),
]


@pytest.mark.parametrize(
    ("site", "skill", "when", "load", "expected"),
    [
        ("demo", "mechanical", MONDAY_NOON, {}, "li"),  # nobody on call: by load, then id
        ("demo", "mechanical", MONDAY_NOON, {"li": 2}, "wang"),
        ("demo", "mechanical", MONDAY_NOON.replace(hour=20), {}, "wang"),  # on call
        ("demo", "mechanical", MONDAY_NOON.replace(day=3, hour=7), {}, "wang"),  # overnight
        ("demo", "mechanical", MONDAY_NOON.replace(day=3, hour=9), {}, "li"),
        ("other", "mechanical", MONDAY_NOON, {"zhao": 5, "wang": 1}, "wang"),
        ("demo", "elevator", MONDAY_NOON, {}, "chen"),
        ("demo", "plumbing", MONDAY_NOON, {}, None),
    ],
)
def test_choose_technician(
    site: str, skill: str, when: datetime, load: dict[str, int], expected: str | None
) -> None:
    chosen = choose_technician(TEAM, site=site, skill=skill, when=when, load=load)
    assert (chosen.id if chosen else None) == expected


@pytest.mark.parametrize(
    ("status", "minutes", "level"),
    [
        ("open", 100, Level.NONE),
        ("open", 121, Level.OVERDUE),  # P2: respond within 2 h
        ("assigned", 121, Level.OVERDUE),
        ("in_progress", 121, Level.NONE),  # someone is on site
        ("in_progress", 24 * 60 + 1, Level.ESCALATED),  # resolve within 24 h
        ("on_hold", 24 * 60 + 1, Level.ESCALATED),
        ("resolved", 24 * 60 + 1, Level.NONE),
    ],
)
def test_due_level(status: str, minutes: int, level: Level) -> None:
    now = T0 + timedelta(minutes=minutes)
    assert due_level(status, T0 + timedelta(hours=2), T0 + timedelta(hours=24), now) is level


@pytest.fixture
def order_id(sessions: sessionmaker[Session], make_event: EventFactory) -> int:
    with sessions() as s:  # a site that reads English: these tests read its notices
        import_site(s, demo_site().model_copy(update={"language": "en"}))
        s.commit()
    outcome = process_event(sessions, make_event())
    assert outcome.work_order_id is not None
    return outcome.work_order_id


def relay(sessions: sessionmaker[Session], notifier: Notifier, wire: list[WorkOrderEvent]) -> None:
    """One pass of the service's outbox relay: events into `wire`, notices to `notifier`."""

    def publish(topic: str, payload: bytes) -> bool:
        wire.append(WorkOrderEvent.model_validate_json(payload))
        return True

    relayed = OutboxRelay(
        sessions, publish=publish, notifier=notifier, roster=RosterSettings(technicians=TEAM)
    )
    relayed.relay()


@pytest.fixture
def channels() -> Iterator[tuple[Notifier, list[bytes], list[object]]]:
    with http_sink() as (hook, url), smtp_sink() as (mails, port):
        notifier = Notifier(
            NotifySettings(
                webhooks=[WebhookTarget(url=url)],
                smtp=SmtpSettings(port=port),
                supervisors=["boss@example.org"],
            )
        )
        yield notifier, hook.bodies, mails  # type: ignore[misc]
        notifier.close()


def test_assign_work_escalate_and_notify(
    sessions: sessionmaker[Session],
    order_id: int,
    channels: tuple[Notifier, list[bytes], list[object]],
) -> None:
    notifier, hooks, mails = channels
    wire: list[WorkOrderEvent] = []
    desk = seeded_desk(sessions, RosterSettings(technicians=TEAM))
    relay(sessions, notifier, [])  # the order's creation: `wire` records the desk's changes
    # response due 10:00 (P2): at 10:30 nobody has come yet
    assert [e.level for e in desk.escalate(T0 + timedelta(hours=2, minutes=30))] == [Level.OVERDUE]
    assert desk.escalate(T0 + timedelta(hours=3)) == []  # once per level
    with sessions() as s:  # the note says it in the reader's language, on the site's clock
        note = s.scalars(
            select(WorkOrderEventRow).where(
                WorkOrderEventRow.work_order_id == order_id, WorkOrderEventRow.actor == "escalation"
            )
        ).one()
        assert note.message is not None
        zh = render(note.message, "zh-CN")
        assert (
            zh.startswith("响应超时：应于 2026-03-02 10:00 (UTC)") and "+00:00" not in zh
        )  # site zone
        assert render(note.message, "en").endswith("0 h 30 min late")
    order = desk.assign(order_id, at=T0 + timedelta(hours=3), actor="dispatcher")
    assert order.status == "assigned" and order.assigned_to == "li"
    with pytest.raises(InvalidTransition):
        desk.assign(order_id, at=T0 + timedelta(hours=3), actor="dispatcher")
    desk.move(order_id, S.IN_PROGRESS, at=T0 + timedelta(hours=4), actor="li")
    with sessions() as s:
        add_labour(s, order_id, technician="li", hours=2.5, rate=80, at=T0 + timedelta(hours=6))
        add_part(
            s,
            order_id,
            part_no="6205-2RS",
            description="bearing",
            quantity=2,
            unit_cost=45.5,
            at=T0 + timedelta(hours=6),
            actor="li",
        )
        done = Completion(RepairClass.MAJOR, "bearing worn out", downtime_h=5.5)
        record_completion(s, order_id, done, at=T0 + timedelta(hours=7), actor="li")
        with pytest.raises(InvalidWorkLog):
            add_labour(s, order_id, technician="li", hours=0, rate=80, at=T0)
        s.commit()
    # resolution due 08:00 next day: still in progress then → escalation to the supervisor
    [esc] = desk.escalate(T0 + timedelta(hours=25))
    assert esc.level is Level.ESCALATED and esc.assigned_to == "li"
    desk.move(order_id, S.RESOLVED, at=T0 + timedelta(hours=26), actor="li", note="replaced")
    # The maintenance service sends what the changes left in the outbox.
    relay(sessions, notifier, wire)

    kinds = [orjson.loads(b)["kind"] for b in hooks]
    assert kinds == ["overdue", "assigned", "escalation"]
    rcpts = [m.recipients for m in mails]  # type: ignore[attr-defined]
    assert rcpts == [
        ["boss@example.org"],
        ["li@example.org"],
        ["li@example.org", "boss@example.org"],
    ]
    subject = message_from_string(mails[1].data)["Subject"]  # type: ignore[attr-defined]
    assert subject.startswith(f"[bldgwatch assigned] #{order_id} P2")
    assert notifier.counters.failed == 0 and notifier.counters.sent == 6
    assert [e.change for e in wire] == [
        "overdue",
        "assigned",
        "in_progress",
        "escalation",
        "resolved",
    ]
    assert wire[1].assigned_to == "li" and wire[1].previous_status == "open"

    with sessions() as s:
        row = s.get(WorkOrderRow, order_id)
        assert row is not None
        assert (row.labour_hours, row.cost) == (2.5, 2.5 * 80 + 2 * 45.5)
        assert (row.repair_class, row.root_cause, row.downtime_h) == (
            "major",
            "bearing worn out",
            5.5,
        )
        assert row.escalation_level == 2
        asset = s.get(EquipmentRow, ("demo", "P-01"))
        assert asset is not None and asset.last_overhaul == T0.date()  # a major repair renews age
        history = equipment_history(s, "demo", "P-01")
        assert [p.part_no for p in history.parts] == ["6205-2RS"]
        assert [lab.hours for lab in history.labour] == [2.5]
        assert history.totals() == {
            "orders": 1,
            "labour_hours": 2.5,
            "parts_cost": 91.0,
            "labour_cost": 200.0,
            "cost": 291.0,
            "downtime_h": 5.5,
            "repair_classes": {"major": 1},
        }


def test_failed_channels_do_not_undo_the_change(
    sessions: sessionmaker[Session], order_id: int
) -> None:
    with http_sink(status=500) as (hook, url):
        notifier = Notifier(
            NotifySettings(webhooks=[WebhookTarget(url=url)], smtp=SmtpSettings(port=1))
        )
        desk = seeded_desk(sessions, RosterSettings(technicians=TEAM))
        desk.assign(order_id, at=T0, actor="dispatcher", technician="li")
        relay(sessions, notifier, [])
        notifier.close()
    assert len(hook.bodies) == 1 and notifier.counters.failed == 2
    with sessions() as s:
        row = s.get(WorkOrderRow, order_id)
        assert row is not None and row.status == "assigned"


@pytest.mark.parametrize(
    ("technician", "error"),
    [
        ("nobody", "technician 'nobody' does not exist or is not active"),
        ("zhao", "technician 'zhao' does not serve site 'demo'"),
        ("gone", "technician 'gone' does not exist or is not active"),
    ],
)
def test_orders_go_only_to_active_technicians_of_their_site(
    sessions: sessionmaker[Session], order_id: int, technician: str, error: str
) -> None:
    gone = Technician(id="gone", sites=["demo"], skills=["mechanical"], active=False)
    desk = seeded_desk(sessions, RosterSettings(technicians=[*TEAM, gone]))
    with pytest.raises(MaintenanceError, match=error):
        desk.assign(order_id, at=T0, actor="dispatcher", technician=technician)
    with pytest.raises(MaintenanceError, match=error):  # nor by accepting it as `technician`
        desk.move(order_id, S.ASSIGNED, at=T0, actor=technician)
    with sessions() as s:
        row = s.get(WorkOrderRow, order_id)
        assert row is not None and (row.status, row.assigned_to) == ("open", None)
    # The roster never picks an inactive technician either.
    only_gone = seeded_desk(sessions, RosterSettings(technicians=[gone]))
    with pytest.raises(MaintenanceError, match="nobody serves demo"):
        only_gone.assign(order_id, at=T0, actor="dispatcher")
