"""Hostile review of issue 15 at the maintenance level: each test asserts the behaviour the
issue asks for and failed when written."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.config import NotifySettings, ReportSettings
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.monthly import MonthlyReports
from bldgwatch.maintenance.recordmodels import ReportRunRow


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
