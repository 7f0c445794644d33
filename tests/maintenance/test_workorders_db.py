"""Work-order transitions in the store: events with actor and time, incident key cleared."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.errors import InvalidTransition, UnknownEquipment, WorkOrderNotFound
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.workorders import create_request, transition
from tests.maintenance.conftest import T0, EventFactory, demo_site

PATH = [S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.IN_PROGRESS, S.RESOLVED, S.VERIFIED, S.CLOSED]


@pytest.fixture
def order_id(sessions: sessionmaker[Session], make_event: EventFactory) -> int:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    outcome = process_event(sessions, make_event())
    assert outcome.work_order_id is not None
    return outcome.work_order_id


def test_full_life_recorded(sessions: sessionmaker[Session], order_id: int) -> None:
    for i, status in enumerate(PATH, start=1):
        with sessions() as s:
            transition(
                s,
                order_id,
                status,
                actor="tech-li",
                at=T0 + timedelta(hours=i),
                assigned_to="tech-li" if status is S.ASSIGNED else None,
            )
            s.commit()
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None
        assert order.status == "closed"
        assert order.incident_key is None
        assert order.assigned_to == "tech-li"
        assert order.resolved_at == T0 + timedelta(hours=5)
        assert order.closed_at == T0 + timedelta(hours=7)
        events = s.scalars(
            select(WorkOrderEventRow)
            .where(WorkOrderEventRow.work_order_id == order_id)
            .order_by(WorkOrderEventRow.id)
        ).all()
    moves = [(e.from_status, e.to_status) for e in events]
    assert moves == [(None, "open"), *zip(["open", *PATH[:-1]], PATH, strict=True)]
    assert all(e.actor == "tech-li" for e in events[1:])
    assert [e.at for e in events[1:]] == [T0 + timedelta(hours=i) for i in range(1, 8)]


def test_cancel_clears_incident_key(sessions: sessionmaker[Session], order_id: int) -> None:
    with sessions() as s:
        transition(s, order_id, "cancelled", actor="duty", at=T0, note="false alarm")
        s.commit()
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None and order.incident_key is None and order.status == "cancelled"


def test_invalid_transition_changes_nothing(sessions: sessionmaker[Session], order_id: int) -> None:
    with sessions() as s, pytest.raises(InvalidTransition, match="from open to resolved"):
        transition(s, order_id, "resolved", actor="tech", at=T0)
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None and order.status == "open"
    with sessions() as s, pytest.raises(WorkOrderNotFound):
        transition(s, 99999, "assigned", actor="tech", at=T0)


def test_owner_request(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        import_site(s, demo_site())
        order = create_request(
            s,
            site="demo",
            equipment="E-01",
            title="Door squeaks",
            at=T0,
            actor="owner-1203",
            priority=4,
        )
        s.commit()
        assert order.kind == "request"
        assert order.status == "open"
        assert order.incident_key is None
        assert order.response_due == T0 + timedelta(hours=24)
        assert order.stage == "mid"  # elevator installed 2018
        with pytest.raises(UnknownEquipment):
            create_request(s, site="demo", equipment="NOPE", title="x", at=T0, actor="o")
