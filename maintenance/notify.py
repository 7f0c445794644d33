"""Notices about work orders — assigned, overdue, escalation — and missed inspection rounds
(`maintenance.roundnotices`) by webhook (httpx) and e-mail (SMTP, stdlib smtplib).

Sent after the change is committed, best effort: a channel that fails is logged and counted,
never retried or allowed to undo the change (the order's timeline keeps the fact).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.message import EmailMessage

import httpx
import orjson

from bldgwatch.core import i18n
from bldgwatch.core.httpclient import http_client
from bldgwatch.maintenance.config import NotifySettings, SmtpSettings, WebhookTarget

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice about one work order (or, with no order, one missed round: `round_id`)."""

    kind: str
    work_order_id: int | None
    site: str
    equipment: str
    title: str
    priority: int
    at: datetime
    text: str
    assigned_to: str | None = None
    recipients: tuple[str, ...] = field(default=())
    language: str = "en"
    round_id: int | None = None

    def payload(self) -> bytes:
        """The webhook body."""
        body = asdict(self)
        body["at"] = self.at.isoformat()
        body["recipients"] = list(self.recipients)
        return orjson.dumps(body)

    def subject(self) -> str:
        """The e-mail subject, in the notice's language."""
        kind = i18n.render(f"notice.kind.{self.kind}", {}, self.language, default=self.kind)
        if self.work_order_id is None:
            other = {"kind": kind, "title": self.title, "site": self.site}
            return i18n.render("notice.subject.other", other, self.language)[:200]
        params = {"kind": kind, "id": self.work_order_id, "priority": self.priority}
        return i18n.render("notice.subject", {**params, "title": self.title}, self.language)[:200]


@dataclass(slots=True)
class NotifyCounters:
    """Deliveries since start."""

    sent: int = 0
    failed: int = 0


def _about(notice: Notice) -> str:
    if notice.work_order_id is not None:
        return f"order {notice.work_order_id}"
    return f"round {notice.round_id}"


class Notifier:
    """Sends notices to every configured channel; never raises on a channel's failure."""

    def __init__(self, settings: NotifySettings, *, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._http = http or http_client()
        self.counters = NotifyCounters()

    def send(self, notice: Notice) -> None:
        """Deliver by webhook and, with recipients and a mail server, by e-mail."""
        for hook in self.settings.webhooks:
            if notice.kind in hook.kinds:
                self._post(hook, notice)
        if self.settings.smtp is not None and notice.recipients:
            self._mail(self.settings.smtp, notice)

    def _post(self, hook: WebhookTarget, notice: Notice) -> None:
        try:
            resp = self._http.post(
                hook.url,
                content=notice.payload(),
                headers={"content-type": "application/json"},
                timeout=hook.timeout_s,
            )
            resp.raise_for_status()
        except httpx.HTTPError as err:
            self.counters.failed += 1
            logger.warning("webhook %s for %s failed: %s", hook.url, _about(notice), err)
            return
        self.counters.sent += 1

    def _mail(self, smtp: SmtpSettings, notice: Notice) -> None:
        msg = EmailMessage()
        msg["From"] = smtp.sender
        msg["To"] = ", ".join(notice.recipients)
        msg["Subject"] = notice.subject()
        msg.set_content(notice.text)
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as server:
                if smtp.starttls:
                    server.starttls()
                if smtp.username:
                    server.login(smtp.username, smtp.password or "")
                server.send_message(msg)
        except (smtplib.SMTPException, OSError) as err:
            self.counters.failed += 1
            logger.warning("mail for %s failed: %s", _about(notice), err)
            return
        self.counters.sent += 1

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._http.close()
