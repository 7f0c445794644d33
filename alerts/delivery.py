"""Sending one message: render it for its recipient, try its channels in order, record every
attempt, retry with backoff, fall back to the next channel, respect each channel's limits.

A message's state moves in committed steps, so a restart resumes it where it stood:
`queued` (claimed by the dispatcher, no provider called yet) → `sending` (taken by a sender
right before the provider calls) → `sent`, `failed`, `cancelled`, or `retry` (waiting for
`next_try_at`: a backoff, a rate limit) → `queued` … A crash in `queued` costs nothing: the
next start submits it again. The one state a crash can leave that may have reached a
provider is `sending`; the service then marks it `unknown` and does not send it again
(`Dispatcher.recover`): whether the provider took the message cannot be known, and sending
it twice for the same step is what the outbox exists to prevent. The escalation's next
reminder goes out as planned.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks, store
from bldgwatch.alerts.channels import KINDS, Channel, SendContext
from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError, SecretError
from bldgwatch.alerts.models import (
    AckTokenRow,
    AlertChannelRow,
    AttemptRow,
    EscalationRow,
    MessageRow,
    NotificationRow,
)
from bldgwatch.alerts.pacing import WindowLimiter
from bldgwatch.alerts.render import Notice, NoticeItem, RescueClock, render
from bldgwatch.alerts.secrets import SecretBox, resolve
from bldgwatch.alerts.sites import site_info
from bldgwatch.core.backoff import backoff_delay
from bldgwatch.core.clock import Clock

logger = logging.getLogger(__name__)

QUEUED, SENDING, RETRY = "queued", "sending", "retry"


@dataclass
class _Built:
    version: datetime
    channel: Channel | None
    why: str


class ChannelBook:
    """The site's channels as senders, rebuilt when a channel's row changes, and one rate
    limiter per channel that outlives those rebuilds."""

    def __init__(
        self,
        box: SecretBox,
        ctx: SendContext,
        *,
        environ: Mapping[str, str],
        secrets_dir: Path | None,
    ) -> None:
        self._box = box
        self._ctx = ctx
        self._environ = environ
        self._secrets_dir = secrets_dir
        self._built: dict[tuple[str, str], _Built] = {}
        self._limiters: dict[tuple[str, str], WindowLimiter] = {}
        self._lock = threading.Lock()

    def _build(self, row: AlertChannelRow) -> _Built:
        kind = KINDS.get(row.kind)
        if kind is None:
            return _Built(row.updated_at, None, f"unknown channel kind {row.kind}")
        try:
            secrets = {
                k: resolve(v, environ=self._environ, secrets_dir=self._secrets_dir)
                for k, v in self._box.open(row.secrets).items()
            }
        except SecretError as err:
            return _Built(row.updated_at, None, str(err))
        try:
            settings = kind.settings_model.model_validate(row.document)
        except ValidationError as err:  # stored before a rule it breaks: skipped, not sent
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            why = f"channel {row.id} settings refused: {where}: {first['msg']}"
            logger.error("site %s: %s", row.site, why)
            return _Built(row.updated_at, None, why)
        return _Built(row.updated_at, kind(row.id, settings, secrets, self._ctx), "")

    def get(self, session: Session, site: str, channel_id: str) -> tuple[Channel | None, str]:
        """The channel as a sender, or None and why not (missing, disabled, bad secret)."""
        row = session.get(AlertChannelRow, (site, channel_id))
        if row is None:
            return None, f"no channel {channel_id}"
        if not row.enabled:
            return None, f"channel {channel_id} is disabled"
        with self._lock:
            built = self._built.get((site, channel_id))
            if built is None or built.version != row.updated_at:
                built = self._built[(site, channel_id)] = self._build(row)
        return built.channel, built.why

    def limiter(self, site: str, channel: Channel) -> WindowLimiter:
        """The channel's rate limiter (its limits as built first)."""
        with self._lock:
            key = (site, channel.channel_id)
            if key not in self._limiters:
                self._limiters[key] = WindowLimiter(channel.limits())
            return self._limiters[key]

    def seed(
        self, site: str, channel_id: str, limits: list[tuple[int, float]], at: datetime
    ) -> None:
        """Count a send of before a restart against the channel's limits."""
        with self._lock:
            key = (site, channel_id)
            if key not in self._limiters:
                self._limiters[key] = WindowLimiter(limits)
            limiter = self._limiters[key]
        limiter.note(at)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one delivery pass ended: the message's status and, for `retry`, when."""

    status: str
    next_try_at: datetime | None = None


class Deliverer:
    """Delivers messages the dispatcher hands it, one pass each (thread-safe)."""

    def __init__(
        self,
        cfg: AlertsConfig,
        *,
        sessions: Callable[[], Session],
        book: ChannelBook,
        box: SecretBox,
        clock: Clock,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._cfg = cfg
        self._sessions = sessions
        self._book = book
        self._box = box
        self._clock = clock
        self._jitter = jitter
        self._rescue = RescueClock(cfg.rescue_minutes, frozenset(cfg.rescue_families))

    # -- one pass -------------------------------------------------------------------------
    def deliver(self, message_id: int) -> Outcome:
        """Try the message's channels from where it stands; commit each step."""
        with self._sessions() as session:
            msg = session.get(MessageRow, message_id)
            if msg is None or msg.status != QUEUED:
                return Outcome(msg.status if msg else "missing")
            notes = session.scalars(
                select(NotificationRow).where(
                    NotificationRow.message_id == message_id,
                    NotificationRow.status == store.QUEUED,
                )
            ).all()
            live = [n for n in notes if self._still_wanted(session, n)]
            for note in notes:
                if note not in live:  # acknowledged (or stopped) since: not worth a message
                    note.status = store.CANCELLED
            contact = store.load_contact(session, msg.site, msg.contact_id)
            if not live or contact is None or not contact.active:
                return self._finish(session, msg, live, store.CANCELLED)
            notice = self._render(session, msg, live, contact)
            msg.subject = notice.subject[:500]
            if not self._take(session, msg):
                return Outcome(msg.status)
            outcome = self._try_channels(session, msg, notice, contact)
            if outcome.status in (store.SENT, store.FAILED):
                return self._finish(session, msg, live, outcome.status)
            session.commit()
            return outcome

    @staticmethod
    def _take(session: Session, msg: MessageRow) -> bool:
        """`queued` → `sending`, committed, right before the provider calls: False when
        another sender took the message first."""
        result = session.execute(
            update(MessageRow)
            .where(MessageRow.id == msg.id, MessageRow.status == QUEUED)
            .values(status=SENDING)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            session.rollback()
            return False
        msg.status = SENDING
        session.commit()
        return True

    @staticmethod
    def _still_wanted(session: Session, note: NotificationRow) -> bool:
        row = session.get(EscalationRow, (note.alarm_id, note.policy_id))
        return row is not None and row.status == store.ACTIVE and row.round == note.round

    def _finish(
        self, session: Session, msg: MessageRow, notes: list[NotificationRow], status: str
    ) -> Outcome:
        msg.status = status
        if status == store.SENT:
            msg.sent_at = self._clock.now()
        for note in notes:
            note.status = status
        session.commit()
        return Outcome(status)

    # -- rendering ------------------------------------------------------------------------
    def _render(
        self, session: Session, msg: MessageRow, notes: list[NotificationRow], contact: Contact
    ) -> Notice:
        cfg = self._cfg
        info = site_info(session, msg.site, cfg.default_timezone)
        tokens = {
            t.alarm_id: acklinks.make_token(self._box.link_key, t.id, t.expires_at)
            for t in session.scalars(select(AckTokenRow).where(AckTokenRow.message_id == msg.id))
        }
        items: dict[str, NoticeItem] = {}
        for note in notes:
            esc = session.get(EscalationRow, (note.alarm_id, note.policy_id))
            assert esc is not None
            before = items.get(note.alarm_id)
            roles = (*before.roles, note.target) if before else (note.target,)
            token = tokens.get(note.alarm_id)
            items[note.alarm_id] = NoticeItem(
                alarm=store.facts_from_json(esc.alarm),
                repeat=max(note.repeat, before.repeat if before else 0),
                level=max(note.level, before.level if before else 0),
                roles=tuple(r.split(":")[0] if r.startswith("contact:") else r for r in roles),
                open_url=cfg.console_url + cfg.alarm_path.format(alarm_id=note.alarm_id),
                ack_url=f"{cfg.console_url}{acklinks.ACK_PATH}{token}" if token else None,
            )
        return render(
            list(items.values()),
            language=contact.language,
            site=info,
            rescue=self._rescue,
            now=self._clock.now(),
            list_url=cfg.console_url + "/alarms",
            link_ttl_h=cfg.ack_link_ttl_h,
        )

    # -- channels -------------------------------------------------------------------------
    def _attempt(
        self,
        session: Session,
        msg: MessageRow,
        channel_id: str,
        *,
        kind: str,
        status: str,
        response: str,
        latency_ms: float | None = None,
    ) -> None:
        session.add(
            AttemptRow(
                message_id=msg.id,
                site=msg.site,
                contact_id=msg.contact_id,
                channel_id=channel_id,
                channel_kind=kind,
                at=self._clock.now(),
                status=status,
                latency_ms=latency_ms,
                response=response[:1000],
            )
        )

    def _try_channels(
        self, session: Session, msg: MessageRow, notice: Notice, contact: Contact
    ) -> Outcome:
        while msg.channel_index < len(msg.channels):
            outcome = self._try_one(session, msg, notice, contact)
            if outcome is not None:
                return outcome
            msg.channel_index, msg.attempt = msg.channel_index + 1, 0  # fall back
        logger.error("message %d to %s: every channel failed", msg.id, msg.contact_id)
        return Outcome(store.FAILED)

    def _try_one(
        self, session: Session, msg: MessageRow, notice: Notice, contact: Contact
    ) -> Outcome | None:
        """One try on the current channel: its outcome, or None to fall back to the next."""
        limits = self._cfg.delivery
        channel_id = msg.channels[msg.channel_index]
        channel, why = self._book.get(session, msg.site, channel_id)
        if channel is None or not channel.reaches(contact):
            why = why or f"{contact.id} has no address for {channel_id}"
            kind = channel.kind if channel else "-"
            self._attempt(session, msg, channel_id, kind=kind, status="skipped", response=why)
            return None
        now = self._clock.now()
        wait = self._book.limiter(msg.site, channel).take(now)
        if wait > 0:
            said = f"wait {wait:.1f} s"
            self._attempt(
                session, msg, channel_id, kind=channel.kind, status="rate_limited", response=said
            )
            return None if wait > limits.rate_wait_max_s else self._retry_at(msg, now, wait)
        started = time.monotonic()
        try:
            answer = channel.send(notice, contact)
        except DeliveryError as err:
            latency = (time.monotonic() - started) * 1000
            said = f"{err.detail} {err.response}".strip()
            self._attempt(
                session,
                msg,
                channel_id,
                kind=channel.kind,
                status="failed",
                response=said,
                latency_ms=latency,
            )
            logger.warning("message %d via %s failed: %s", msg.id, channel_id, err.detail)
            return self._after_failure(msg, err)
        latency = (time.monotonic() - started) * 1000
        self._attempt(
            session,
            msg,
            channel_id,
            kind=channel.kind,
            status="sent",
            response=answer,
            latency_ms=latency,
        )
        msg.channel_id = channel_id
        return Outcome(store.SENT)

    def _after_failure(self, msg: MessageRow, err: DeliveryError) -> Outcome | None:
        """Retry the same channel after a backoff, or None to fall back."""
        limits = self._cfg.delivery
        if not err.retryable or msg.attempt + 1 >= limits.attempts_per_channel:
            return None
        if err.retry_after is not None and err.retry_after > limits.rate_wait_max_s:
            return None  # e.g. a robot throttled for minutes: the next channel is sooner
        delay = backoff_delay(
            msg.attempt,
            initial=limits.retry_initial_s,
            maximum=limits.retry_max_s,
            jitter=self._jitter(),
            retry_after=err.retry_after,
        )
        msg.attempt += 1
        return self._retry_at(msg, self._clock.now(), delay)

    @staticmethod
    def _retry_at(msg: MessageRow, now: datetime, wait_s: float) -> Outcome:
        when = now + timedelta(seconds=wait_s)
        msg.status, msg.next_try_at = RETRY, when
        return Outcome(RETRY, when)
