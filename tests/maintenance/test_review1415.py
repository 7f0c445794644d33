"""Hostile review of issue 15 at the maintenance level: each test asserts the behaviour the
issue asks for and failed when written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.config import NotifySettings, ReportSettings
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import SiteRow, WorkOrderRow
from bldgwatch.maintenance.monthly import MonthlyReports
from bldgwatch.maintenance.recordmodels import ReportRunRow
from bldgwatch.maintenance.workorders import transition
from tests.console.seed import add, assets
from tests.maintenance.conftest import EventFactory


def test_a_service_down_over_two_firsts_still_sends_the_missed_month(sqlite_db: Engine) -> None:
    """The service sent January's report, was down from late February to 2 April: February's
    and March's reports are both due when it is back (the module promises that a service
    down on the 1st sends the report when it is back); only March's is sent, February's never."""
    sessions = session_factory(sqlite_db)
    with sessions() as session, session.begin():
        session.add(
            SiteRow(id="demo", name="Demo", timezone="Asia/Shanghai", since=date(2026, 1, 1))
        )
        session.add(
            ReportRunRow(
                site="demo",
                month="2026-01",
                started_at=datetime(2026, 1, 31, 22, tzinfo=UTC),
                sent_at=datetime(2026, 1, 31, 22, tzinfo=UTC),
                recipients=["boss@example.com"],
            )
        )
    sent: list[EmailMessage] = []
    reports = MonthlyReports(
        sessions,
        ReportSettings(pdf=False),
        NotifySettings(supervisors=["boss@example.com"]),
        send=sent.append,
    )
    runs = reports.run_due(datetime(2026, 4, 2, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    assert sorted(r.month for r in runs) == ["2026-02", "2026-03"]
    with Session(sqlite_db) as session:
        months = sorted(r.month for r in session.query(ReportRunRow) if r.sent_at is not None)
    assert months == ["2026-01", "2026-02", "2026-03"]


def test_the_fault_coming_back_after_the_repair_is_not_swallowed(
    sqlite_db: Engine, make_event: EventFactory
) -> None:
    """The pump's bearing alarm comes back two hours after its order was resolved. Inside the
    incident window the new activation only adds a note to the resolved order: it stays
    resolved (ready to be verified and closed), nobody goes back, and first-time fix stays
    100 %. The recurrence must send the order back to work or open a new order."""
    add(sqlite_db, *assets())
    sessions = session_factory(sqlite_db)
    t0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    first = process_event(sessions, make_event(alarm_id="A-1", at=t0))
    assert first.work_order_id is not None
    oid = first.work_order_id
    with sessions() as session:
        transition(session, oid, "assigned", actor="boss", at=t0 + timedelta(minutes=5),
                   assigned_to="tech")  # fmt: skip
        transition(session, oid, "in_progress", actor="tech", at=t0 + timedelta(minutes=30))
        transition(session, oid, "resolved", actor="tech", at=t0 + timedelta(hours=3),
                   note="bearing greased")  # fmt: skip
        session.commit()
    process_event(sessions, make_event(alarm_id="A-2", at=t0 + timedelta(hours=5)))
    with Session(sqlite_db) as session:
        orders = session.query(WorkOrderRow).filter_by(site="demo", equipment="P-01").all()
        statuses = {o.id: o.status for o in orders}
    back_to_work = statuses[oid] in ("open", "assigned", "in_progress")
    new_order = any(s == "open" for i, s in statuses.items() if i != oid)
    assert back_to_work or new_order, statuses
