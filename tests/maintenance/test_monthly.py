"""The monthly report is made and e-mailed on the first of each month in the site's time zone,
once (whatever the number of service instances or checks), to the site's supervisors, with
the HTML and PDF in each language; a month before the site existed is never sent."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_string, policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import NotifySettings, ReportSettings, SmtpSettings
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.monthly import MonthlyReports, due_month
from bldgwatch.maintenance.printing import ReportError
from bldgwatch.maintenance.recordmodels import ReportRunRow
from tests.maintenance.conftest import demo_site
from tests.maintenance.servers import smtp_sink
from tests.tools import require_binary

TZ = "Asia/Shanghai"
FIRST_OF_APRIL_0600 = datetime(2026, 3, 31, 22, tzinfo=UTC)  # 06:00 on 1 April in Shanghai


def test_due_month_follows_the_sites_clock() -> None:
    assert due_month(FIRST_OF_APRIL_0600 - timedelta(hours=1), TZ, 6) is None
    due = due_month(FIRST_OF_APRIL_0600, TZ, 6)
    assert due is not None and due.label == "2026-03"
    # in UTC it is still 31 March: no April yet, so the month due is February's
    utc = due_month(FIRST_OF_APRIL_0600, "UTC", 6)
    assert utc is not None and utc.label == "2026-02"


@pytest.fixture
def site(sessions: sessionmaker[Session]) -> None:
    spec = demo_site().model_copy(update={"timezone": TZ, "since": date(2026, 3, 1)})
    with sessions() as s:
        import_site(s, spec)
        s.commit()
    WorkDesk(sessions).request(
        site="demo",
        equipment="P-01",
        title="水泵异响",
        at=datetime(2026, 3, 10, tzinfo=UTC),
        actor="desk",
    )


def test_sent_once_on_the_first_to_the_sites_supervisors(
    sessions: sessionmaker[Session], site: None
) -> None:
    require_binary("chromium")
    settings = ReportSettings(languages=["zh-CN", "en"], console_url="https://bw.example.org/")
    with smtp_sink() as (mails, port):
        notify = NotifySettings(
            smtp=SmtpSettings(port=port),
            supervisors=["boss@example.org"],
            site_supervisors={"demo": ["pm@example.org"], "other": ["x@example.org"]},
        )
        reports = MonthlyReports(sessions, settings, notify)
        assert reports.run_due(FIRST_OF_APRIL_0600 - timedelta(minutes=1)) == []
        [run] = reports.run_due(FIRST_OF_APRIL_0600)
        assert (run.site, run.month, run.error) == ("demo", "2026-03", None)
        assert run.sent_at == FIRST_OF_APRIL_0600
        # later checks, and a second service instance, send nothing more
        assert reports.run_due(FIRST_OF_APRIL_0600 + timedelta(hours=1)) == []
        other = MonthlyReports(sessions, settings, notify)
        assert other.run_due(FIRST_OF_APRIL_0600 + timedelta(hours=2)) == []
    [mail] = mails
    assert mail.recipients == ["pm@example.org", "boss@example.org"]  # type: ignore[attr-defined]
    message = message_from_string(mail.data, policy=policy.default)  # type: ignore[attr-defined]
    assert message["Subject"] == "【Demo Tower】设备维护月报 2026年3月"
    names = sorted(p.get_filename() for p in message.iter_attachments())
    assert names == [
        "demo-2026-03-en.html",
        "demo-2026-03-en.pdf",
        "demo-2026-03-zh-CN.html",
        "demo-2026-03-zh-CN.pdf",
    ]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    assert "https://bw.example.org/api/reports/demo/2026-03.pdf?lang=zh-CN" in content
    assert "故障及报修 1 次" in content and "faults and requests 1" in content
    html = next(p for p in message.iter_attachments() if p.get_filename().endswith("zh-CN.html"))
    assert "水泵异响" in html.get_content()
    pdf = next(p for p in message.iter_attachments() if p.get_filename().endswith("en.pdf"))
    assert pdf.get_content().startswith(b"%PDF")
    # the Chinese PDF is readable: its text is set in an embedded CJK font (fonts-noto-cjk),
    # not in boxes of a Latin font
    zh = next(p for p in message.iter_attachments() if p.get_filename().endswith("zh-CN.pdf"))
    fonts = set(
        re.findall(rb"/(?:BaseFont|FontName)\s*/(?:[A-Z]{6}\+)?([A-Za-z0-9-]+)", zh.get_content())
    )
    assert any(b"CJKsc" in name for name in fonts), fonts  # the SC forms of the Han glyphs


def test_a_failure_is_recorded_and_no_month_before_the_site(
    sessions: sessionmaker[Session], site: None
) -> None:
    settings = ReportSettings(pdf=False)
    reports = MonthlyReports(sessions, settings, NotifySettings(smtp=SmtpSettings(port=1)))
    [run] = reports.run_due(FIRST_OF_APRIL_0600)
    assert run.sent_at is None and "no supervisors" in (run.error or "")
    # a month later the site has supervisors but the mail server is down: recorded too
    notify = NotifySettings(smtp=SmtpSettings(port=1, timeout_s=2), supervisors=["b@example.org"])
    reports = MonthlyReports(sessions, settings, notify)
    [may] = reports.run_due(FIRST_OF_APRIL_0600 + timedelta(days=30))
    assert (may.month, may.sent_at) == ("2026-04", None) and may.error
    # February: the site came under management on 1 March, so there is nothing to send
    with sessions() as s:
        months = s.scalars(select(ReportRunRow.month).order_by(ReportRunRow.month)).all()
    assert months == ["2026-03", "2026-04"]
    assert (
        MonthlyReports(sessions, ReportSettings(enabled=False), notify).run_due(
            FIRST_OF_APRIL_0600 + timedelta(days=61)
        )
        == []
    )


def test_without_chromium_the_html_is_sent_alone(
    sessions: sessionmaker[Session], site: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A README or compose install has no Chromium: the report still goes out, as HTML, and
    the log says what the PDF needs (it was not sent at all)."""

    def no_chromium(_page: str) -> bytes:
        raise ReportError(Message("error.pdf.no_chromium"))

    settings = ReportSettings(languages=["zh-CN", "en"], console_url="https://bw.example.org/")
    with smtp_sink() as (mails, port):
        notify = NotifySettings(smtp=SmtpSettings(port=port), supervisors=["boss@example.org"])
        reports = MonthlyReports(sessions, settings, notify, printer=no_chromium)
        [run] = reports.run_due(FIRST_OF_APRIL_0600)
    assert run.error is None and run.sent_at == FIRST_OF_APRIL_0600
    [mail] = mails
    message = message_from_string(mail.data, policy=policy.default)  # type: ignore[attr-defined]
    names = sorted(p.get_filename() for p in message.iter_attachments())
    assert names == ["demo-2026-03-en.html", "demo-2026-03-zh-CN.html"]
    assert "chromium and fonts-noto-cjk" in caplog.text
