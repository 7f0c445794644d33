"""The dispatcher: notices in the outbox become messages, one per recipient, paced by the
flood rule, and go to a pool of senders.

Each pass (every `delivery.poll_s`, or at once when the consumer has issued notices): the
pending notices are grouped per recipient; a recipient the flood rule lets through (an
urgent notice, `flood.urgent_priority`, is paced only by urgent messages) gets one message
with all of them (a digest when several alarms), made in one transaction with its
acknowledge links and the notices claimed `pending` → `queued` by a conditional update (so
two dispatchers never make two messages of one notice) — only then is anything sent. The
message is `queued` until a sender takes it (`queued` → `sending`, again conditional) right
before the provider call. Messages waiting to retry whose time has come are claimed the same
way (`retry` → `queued`). The pool's workers deliver them (`alerts.delivery`).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks, store
from bldgwatch.alerts.channels.base import clip
from bldgwatch.alerts.config import AlertsConfig
from bldgwatch.alerts.delivery import QUEUED, RETRY, SENDING, ChannelBook, Deliverer
from bldgwatch.alerts.models import AttemptRow, MessageRow, NotificationRow
from bldgwatch.alerts.pacing import SentMessage, flood_release
from bldgwatch.alerts.secrets import SecretBox
from bldgwatch.core.backoff import backoff_delay
from bldgwatch.core.clock import Clock

logger = logging.getLogger(__name__)

BATCH = 2000
PROVIDER_CALLS = ("sent", "failed", "interrupted")
"""Attempt statuses of a call that reached (or may have reached) the provider."""


class Dispatcher:
    """Turns due notices into messages and hands them to the senders."""

    def __init__(
        self,
        cfg: AlertsConfig,
        *,
        sessions: Callable[[], Session],
        deliverer: Deliverer,
        book: ChannelBook,
        box: SecretBox,
        clock: Clock,
    ) -> None:
        self._cfg = cfg
        self._sessions = sessions
        self._deliverer = deliverer
        self._book = book
        self._box = box
        self._clock = clock
        self._pool = ThreadPoolExecutor(cfg.delivery.workers, thread_name_prefix="alerts-send")
        self._inflight: set[int] = set()
        self._lock = threading.Lock()
        self._settling = threading.Lock()
        self._deferred: set[tuple[str, str]] = set()
        self._unsettled: dict[int, str] = {}  # message → what its sender failed with
        self._errors: dict[int, int] = {}  # message → sender errors before a provider call
        self.wake = threading.Event()
        self.counters: dict[str, int] = defaultdict(int)

    # -- start ----------------------------------------------------------------------------
    def recover(self) -> int:
        """After a restart: messages caught mid-send become `unknown` (never sent again),
        messages claimed but not yet handed to a provider (`queued`) are submitted again, and
        the sends of the last minutes count against the channels' limits again."""
        now = self._clock.now()
        with self._sessions() as session:
            waiting = session.scalars(
                select(MessageRow.id).where(MessageRow.status == QUEUED).order_by(MessageRow.id)
            ).all()
            stuck = session.scalars(select(MessageRow).where(MessageRow.status == SENDING)).all()
            for msg in stuck:
                msg.status = store.UNKNOWN
                channel = (
                    msg.channels[msg.channel_index]
                    if msg.channel_index < len(msg.channels)
                    else "-"
                )
                session.add(
                    AttemptRow(
                        message_id=msg.id,
                        site=msg.site,
                        contact_id=msg.contact_id,
                        channel_id=channel,
                        channel_kind="-",
                        at=now,
                        status="interrupted",
                        response="the service stopped during this attempt; not sent again",
                    )
                )
                session.execute(
                    update(NotificationRow)
                    .where(NotificationRow.message_id == msg.id)
                    .values(status=store.UNKNOWN)
                )
            self._seed_limits(session, now)
            session.commit()
        if stuck:
            logger.warning(
                "%d messages were being sent at the last stop: marked unknown", len(stuck)
            )
        for message_id in waiting:  # nothing of these reached a provider: send them now
            self._submit(message_id)
        return len(stuck)

    def _seed_limits(self, session: Session, now: datetime) -> None:
        """Count the provider calls of the last minutes against each channel's limits: the
        sent ones and also the refused and throttled ones (a robot counts every call it
        answered) and the interrupted ones (the call may have reached it); not the local
        `rate_limited` waits or `skipped` channels, which never called a provider."""
        since = now - timedelta(minutes=2)
        called = session.execute(
            select(AttemptRow.site, AttemptRow.channel_id, AttemptRow.at).where(
                AttemptRow.status.in_(PROVIDER_CALLS), AttemptRow.at > since
            )
        ).all()
        for site, channel_id, at in called:
            channel, _ = self._book.get(session, site, channel_id)
            if channel is not None:
                self._book.seed(site, channel_id, channel.limits(), at)

    # -- one pass -------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim what is due and submit it; how many messages were submitted."""
        now = self._clock.now()
        self._settle()
        claimed = self._claim_new(now) + self._claim_retries(now)
        for message_id in claimed:
            self._submit(message_id)
        return len(claimed)

    def _claim_new(self, now: datetime) -> list[int]:
        with self._sessions() as session:
            notes = session.scalars(
                select(NotificationRow)
                .where(NotificationRow.status == store.PENDING, NotificationRow.due_at <= now)
                .order_by(NotificationRow.priority, NotificationRow.due_at, NotificationRow.id)
                .limit(BATCH)
            ).all()
            groups: dict[tuple[str, str], list[NotificationRow]] = defaultdict(list)
            for note in notes:
                groups[(note.site, note.contact_id or "")].append(note)
            made = []
            for (site, contact_id), group in groups.items():
                message_id = self._make_message(session, site, contact_id, group, now)
                if message_id is not None:
                    made.append(message_id)
            session.commit()
        return made

    def _recent(
        self, session: Session, site: str, contact_id: str, now: datetime
    ) -> list[SentMessage]:
        flood = self._cfg.flood
        since = now - timedelta(seconds=max(flood.window_s, flood.interval_s))
        rows = session.execute(
            select(MessageRow.created_at, MessageRow.held, func.min(NotificationRow.priority))
            .outerjoin(NotificationRow, NotificationRow.message_id == MessageRow.id)
            .where(
                MessageRow.site == site,
                MessageRow.contact_id == contact_id,
                MessageRow.created_at > since,
            )
            .group_by(MessageRow.id, MessageRow.created_at, MessageRow.held)
            .order_by(MessageRow.created_at)
        ).all()
        return [SentMessage(at, held, 4 if p is None else p) for at, held, p in rows]

    def _make_message(
        self,
        session: Session,
        site: str,
        contact_id: str,
        group: list[NotificationRow],
        now: datetime,
    ) -> int | None:
        key = (site, contact_id)
        recent = self._recent(session, site, contact_id, now)
        threshold = self._cfg.flood.urgent_priority
        if min(n.priority for n in group) <= threshold:
            # An urgent notice is paced only by urgent messages: a flood of lower priorities
            # never holds it (a flood of P1s, a power cut, is still grouped).
            recent = [m for m in recent if m.priority <= threshold]
        if flood_release(now, recent, self._cfg.flood) > now:
            if key not in self._deferred:
                self.counters["flood_held"] += 1
            self._deferred.add(key)
            return None
        contact = store.load_contact(session, site, contact_id)
        if contact is None or not contact.active:
            for note in group:
                note.status = store.UNRESOLVED
            return None
        group = self._claim_notes(session, group)
        if not group:  # another dispatcher took them
            return None
        alarms = list(dict.fromkeys(n.alarm_id for n in group))
        msg = MessageRow(
            site=site,
            contact_id=contact_id,
            created_at=now,
            status=QUEUED,
            held=key in self._deferred,
            channels=list(group[0].channels),
            channel_index=0,
            attempt=0,
            alarm_count=len(alarms),
            language=contact.language,
            subject="",
        )
        self._deferred.discard(key)
        session.add(msg)
        session.flush()
        for note in group:  # already claimed above; the ORM's copy catches up
            note.status, note.message_id = store.QUEUED, msg.id
        linked = alarms if len(alarms) == 1 else alarms[: self._cfg.flood.digest_links]
        ttl = timedelta(hours=self._cfg.ack_link_ttl_h)
        for alarm_id in linked:
            acklinks.issue(
                session,
                self._box.link_key,
                alarm_id=alarm_id,
                site=site,
                contact_id=contact_id,
                message_id=msg.id,
                now=now,
                ttl=ttl,
            )
        self.counters["messages"] += 1
        self.counters["digests" if len(alarms) > 1 else "singles"] += 1
        return msg.id

    @staticmethod
    def _claim_notes(session: Session, group: list[NotificationRow]) -> list[NotificationRow]:
        """The notices of `group` this pass takes (`pending` → `queued`, conditionally: a
        notice another dispatcher took meanwhile is left to it)."""
        taken = []
        for note in group:
            result = session.execute(
                update(NotificationRow)
                .where(NotificationRow.id == note.id, NotificationRow.status == store.PENDING)
                .values(status=store.QUEUED)
                .execution_options(synchronize_session=False)
            )
            if cast("CursorResult[Any]", result).rowcount == 1:
                taken.append(note)
        return taken

    def _claim_retries(self, now: datetime) -> list[int]:
        with self._sessions() as session:
            ids = session.scalars(
                select(MessageRow.id)
                .where(MessageRow.status == RETRY, MessageRow.next_try_at <= now)
                .order_by(MessageRow.next_try_at)
                .limit(BATCH)
            ).all()
            claimed = []
            for message_id in ids:
                result = session.execute(
                    update(MessageRow)
                    .where(MessageRow.id == message_id, MessageRow.status == RETRY)
                    .values(status=QUEUED)
                )
                if cast("CursorResult[Any]", result).rowcount == 1:
                    claimed.append(message_id)
            session.commit()
        return claimed

    # -- the pool -------------------------------------------------------------------------
    def _submit(self, message_id: int) -> None:
        with self._lock:
            if message_id in self._inflight:
                return
            self._inflight.add(message_id)
        future = self._pool.submit(self._deliverer.deliver, message_id)
        future.add_done_callback(lambda f: self._done(message_id, f))

    def _done(self, message_id: int, future: Future[Any]) -> None:
        try:
            self._outcome(message_id, future)
        finally:  # in flight until settled: `idle` means nothing is left half-done
            with self._lock:
                self._inflight.discard(message_id)

    def _outcome(self, message_id: int, future: Future[Any]) -> None:
        error = future.exception()
        if error is None:
            self.counters[future.result().status] += 1
            with self._lock:
                self._errors.pop(message_id, None)  # the count is of errors in a row
            return
        logger.error("delivering message %d failed: %r", message_id, error, exc_info=error)
        self.counters["errors"] += 1
        with self._lock:
            self._unsettled[message_id] = clip(repr(error))
        self._settle()

    def _settle(self) -> None:
        """Give every message a sender failed on (an error at its top) a state that moves on:
        one the store could not take now is tried again at the next pass."""
        with self._settling:  # one settler at a time: a message is settled once
            with self._lock:
                pending = dict(self._unsettled)
            for message_id, why in pending.items():
                try:
                    with self._sessions() as session:
                        self._settle_one(session, message_id, why)
                        session.commit()
                except SQLAlchemyError as err:
                    logger.warning("message %d not settled yet: %s", message_id, err)
                    continue
                with self._lock:
                    self._unsettled.pop(message_id, None)

    def _settle_one(self, session: Session, message_id: int, why: str) -> None:
        """Once `sending`, whether the provider took the message is unknown: it and its
        notices become `unknown` (never sent again). Still `queued`, nothing reached a
        provider: it is retried with backoff, and after `attempts_per_channel` such errors
        it and its notices fail. Its notices stay `queued` only while it waits to retry."""
        msg = session.get(MessageRow, message_id)
        if msg is None or msg.status not in (QUEUED, SENDING):
            return  # finished after all, or another sender has it
        channel = msg.channels[msg.channel_index] if msg.channel_index < len(msg.channels) else "-"
        row = AttemptRow(
            message_id=msg.id,
            site=msg.site,
            contact_id=msg.contact_id,
            channel_id=channel,
            channel_kind="-",
            at=self._clock.now(),
            status="interrupted" if msg.status == SENDING else "error",
            response=f"the sender failed: {why}"[:1000],
        )
        session.add(row)
        with self._lock:
            errors = self._errors[message_id] = self._errors.get(message_id, 0) + 1
        limits = self._cfg.delivery
        if msg.status == QUEUED and errors < limits.attempts_per_channel:
            delay = backoff_delay(
                errors - 1, initial=limits.retry_initial_s, maximum=limits.retry_max_s, jitter=1.0
            )
            msg.status, msg.next_try_at = RETRY, self._clock.now() + timedelta(seconds=delay)
            return
        final = store.UNKNOWN if msg.status == SENDING else store.FAILED
        msg.status = final
        with self._lock:
            self._errors.pop(message_id, None)
        session.execute(
            update(NotificationRow)
            .where(NotificationRow.message_id == msg.id, NotificationRow.status == store.QUEUED)
            .values(status=final)
        )

    def idle(self) -> bool:
        """True when no message is being sent."""
        with self._lock:
            return not self._inflight

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until `stop` is set, then let the senders finish."""
        try:
            while not stop.is_set():
                self.run_once()
                self.wake.wait(self._cfg.delivery.poll_s)
                self.wake.clear()
        finally:
            self._pool.shutdown(wait=True)
