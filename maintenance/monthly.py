"""The monthly report, made and e-mailed by the maintenance service on the first of each month
in each site's time zone.

The service's housekeeping tick asks `MonthlyReports.run_due(now)` every
`reports.check_interval_s`: a site is due from `reports.hour` on the 1st (site time) for the
month before, when it was managed in that month and its report has not been sent. The claim
is a `report_runs` row (site, month) inserted before the work, so two service instances never
send it twice and a service that was down on the 1st sends it when it is back — every month
missed since the site's newest run (up to `MAX_CATCH_UP`, oldest first), so a service down
over two firsts sends both months. The report goes
to the site's supervisors (`notify.site_supervisors` and `notify.supervisors`) as HTML and PDF
in each configured language; a failure is recorded on the run (not retried: the console
serves any month's report at /api/reports/{site}/{yyyy-mm}.pdf).

Driven by the injected clock (not APScheduler's wall-clock triggers), so tests and
accelerated scenarios move time instead of waiting for a first of the month.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.maintenance.config import (
    NotifySettings,
    ReportSettings,
    SmtpSettings,
    StageConfig,
)
from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.htmldoc import num, pct
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import NoFigures, site_clock
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.printing import ReportError, pdf_bytes
from bldgwatch.maintenance.recordmodels import ReportRunRow
from bldgwatch.maintenance.report import ReportData, render_html, report_data
from bldgwatch.maintenance.texts import text

logger = logging.getLogger(__name__)

MAX_CATCH_UP = 12
"""The most months one run sends for a site that missed several (a year)."""
Sessions = Callable[[], Session]
Send = Callable[[EmailMessage], None]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file of the report's mail."""

    filename: str
    maintype: str
    subtype: str
    data: bytes


def due_month(now: datetime, tz: str, hour: int) -> Period | None:
    """The month whose report is due at `now` in the zone: the previous one, from `hour` on
    the 1st; None before that hour on the 1st (the month before is not yet over for long)."""
    current = Period.of(now, tz)
    if now < current.start + timedelta(hours=hour):
        return None
    return current.previous()


def missed_months(due: Period, last: str | None) -> list[Period]:
    """The months to send when `due` is due, oldest first: every month after `last` (the
    newest month the site has a run of) up to `due`, at most `MAX_CATCH_UP`; only `due` when
    the site never had a run (a new install does not send its whole past)."""
    months = [due]
    while last is not None and len(months) < MAX_CATCH_UP and months[-1].previous().label > last:
        months.append(months[-1].previous())
    return months[::-1]


def smtp_sender(smtp: SmtpSettings) -> Send:
    """Send a message through the configured mail server (stdlib smtplib)."""

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username:
                server.login(smtp.username, smtp.password or "")
            server.send_message(message)

    return send


class MonthlyReports:
    """Makes and sends the monthly reports that are due."""

    def __init__(
        self,
        sessions: Sessions,
        settings: ReportSettings,
        notify: NotifySettings,
        *,
        send: Send | None = None,
        printer: Callable[[str], bytes] = pdf_bytes,
        stage: StageConfig | None = None,
        store: TimeSeriesStore | None = None,
    ) -> None:
        self._sessions = sessions
        self.settings = settings
        self.notify = notify
        self._send = send or (smtp_sender(notify.smtp) if notify.smtp is not None else None)
        self._print = printer
        self._stage = stage or StageConfig()
        self._store = store

    def run_due(self, now: datetime) -> list[ReportRunRow]:
        """Send every report due at `now` (each claimed first); the runs this call made."""
        if not self.settings.enabled:
            return []
        newest = (
            select(ReportRunRow.site, func.max(ReportRunRow.month))
            .group_by(ReportRunRow.site)
            .subquery()
        )
        with self._sessions() as session:
            sites = session.execute(
                select(SiteRow.id, SiteRow.timezone, newest.c[1])
                .outerjoin(newest, newest.c.site == SiteRow.id)
                .order_by(SiteRow.id)
            ).all()
        runs = []
        for site, tz, last in sites:
            due = due_month(now, tz, self.settings.hour)
            if due is None:
                continue
            for month in missed_months(due, last):
                run = self._claim(site, month, now)
                if run is not None:
                    runs.append(self._deliver(run, month, now))
        return runs

    def _claim(self, site: str, month: Period, now: datetime) -> ReportRunRow | None:
        with self._sessions() as session:
            if session.get(ReportRunRow, (site, month.label)) is not None:
                return None
            try:
                site_clock(session, site).check(month, now)
            except NoFigures:
                return None  # the site was not managed yet in that month
            run = ReportRunRow(site=site, month=month.label, started_at=now, recipients=[])
            session.add(run)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None  # another instance claimed it
            return run

    def _deliver(self, run: ReportRunRow, month: Period, now: datetime) -> ReportRunRow:
        recipients = self.notify.supervisors_of(run.site)
        error = None
        try:
            with self._sessions() as session:
                data = report_data(
                    session,
                    run.site,
                    month,
                    as_of=now,
                    stage_config=self._stage,
                    store=self._store,
                )
            if not recipients:
                raise MaintenanceError(f"site {run.site} has no supervisors to send the report to")
            if self._send is None:
                raise MaintenanceError("no mail server configured (notify.smtp)")
            self._send(self.message(data, recipients))
        except (MaintenanceError, smtplib.SMTPException, OSError) as err:
            error = str(err)
            logger.warning("monthly report %s %s not sent: %s", run.site, run.month, err)
        with self._sessions() as session:
            stored = session.get(ReportRunRow, (run.site, run.month))
            assert stored is not None
            stored.recipients = recipients
            stored.sent_at = None if error else now
            stored.error = error
            session.commit()
            session.refresh(stored)
            session.expunge(stored)
        if error is None:
            logger.info("monthly report %s %s sent to %s", run.site, run.month, recipients)
        return stored

    def attachments(self, data: ReportData) -> list[Attachment]:
        """The report in each language, as HTML and (when wanted) PDF."""
        files = []
        for lang in self.settings.languages:
            page = render_html(data, lang)
            stem = f"{data.site}-{data.period.label}-{lang}"
            files.append(Attachment(f"{stem}.html", "text", "html", page.encode("utf-8")))
            if self.settings.pdf:
                try:
                    pdf = self._print(page)
                except ReportError as err:  # no Chromium (a compose or README install)
                    logger.warning(
                        "monthly report %s %s: no PDF (%s), the HTML is sent alone; the PDF "
                        "needs chromium and fonts-noto-cjk on this machine (or reports.pdf: "
                        "false)",
                        data.site,
                        data.period.label,
                        err,
                    )
                    continue
                files.append(Attachment(f"{stem}.pdf", "application", "pdf", pdf))
        return files

    def message(self, data: ReportData, recipients: list[str]) -> EmailMessage:
        """The mail: subject and text in each language, the files attached."""
        files = self.attachments(data)
        smtp = self.notify.smtp
        msg = EmailMessage()
        msg["From"] = smtp.sender if smtp is not None else "bldgwatch@localhost"
        msg["To"] = ", ".join(recipients)
        month_names = {
            lang: text("report.month", lang, year=data.period.year, month=data.period.month)
            for lang in self.settings.languages
        }
        first = self.settings.languages[0]
        msg["Subject"] = text(
            "mail.report.subject", first, site=data.site_name, month=month_names[first]
        )
        url = f"{self.settings.console_url.rstrip('/')}/api/reports/{data.site}/{data.period.label}"
        k = data.month
        bodies = [
            text(
                "mail.report.body",
                lang,
                site=data.site_name,
                month=month_names[lang],
                files=", ".join(f.filename for f in files),
                url=f"{url}.pdf?lang={lang}",
                good=pct(k.good_condition),
                failures=len(data.orders),
                open=k.backlog,
                cost=num(k.cost, 2),
            )
            for lang in self.settings.languages
        ]
        msg.set_content("\n\n---\n\n".join(bodies))
        for f in files:
            if f.maintype == "text":  # as text with its charset, so mail readers show the Chinese
                msg.add_attachment(
                    f.data.decode("utf-8"), subtype=f.subtype, charset="utf-8", filename=f.filename
                )
            else:
                msg.add_attachment(
                    f.data, maintype=f.maintype, subtype=f.subtype, filename=f.filename
                )
        return msg
