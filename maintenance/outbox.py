"""The work-order outbox: events and notices leave in the transaction of their change, and only
the maintenance service sends them.

Writers (`maintenance.desk` for the console and the service, the alarm consumer, the plan
runner) call `enqueue` inside the change's transaction. The service's `OutboxRelay` reads the
outbox every `outbox_poll_s` on a thread of its own:

- an event is published (QoS 1, the service's own broker identity) and deleted once the
  broker confirms it; a crash in between publishes it again after the restart, with the same
  event id, which consumers dedupe on. Events go out in the order they were committed.
  A confirmed event is kept for `resend_window_s` and published again after every reconnect
  (`core.resend`): a broker killed before its next autosave loses what it acknowledged since.
- a notice (assigned, overdue, escalation) is claimed by deleting its row — only one relay's
  delete succeeds, however many instances run — and then sent once, best effort, to the
  service's channels: no notice is sent twice for the same change. A crash between the claim
  and the send loses that one notice; the order's timeline keeps the fact.
- a missed round's notice (`maintenance.roundnotices`) is claimed and sent as a notice is, to
  the site's supervisors; the rounds page keeps the fact.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.core.resend import ResendWindow
from bldgwatch.maintenance.config import RosterSettings
from bldgwatch.maintenance.events import event_message
from bldgwatch.maintenance.models import WorkOrderOutboxRow, WorkOrderRow
from bldgwatch.maintenance.notices import calls_for_notice, notice_for, site_voice
from bldgwatch.maintenance.notify import Notice, Notifier
from bldgwatch.maintenance.roundnotices import OUTBOX_KIND as ROUND
from bldgwatch.maintenance.roundnotices import MissedPoint, missed_notice

logger = logging.getLogger(__name__)

EVENT = "event"
NOTICE = "notice"
BATCH = 200

Publish = Callable[[str, bytes], bool]
"""Publish one message with QoS 1; True once the broker has confirmed it."""


def enqueue(session: Session, event: WorkOrderEvent) -> None:
    """Add an event (and the notice it calls for) to the outbox, in the caller's transaction."""
    topic, payload = event_message(event)
    kinds = (EVENT, NOTICE) if calls_for_notice(event) else (EVENT,)
    for kind in kinds:
        session.add(
            WorkOrderOutboxRow(
                kind=kind,
                event_id=event.event_id,
                topic=topic,
                payload=payload.decode(),
                created_at=event.at,
            )
        )


class OutboxRelay:
    """Sends what the outbox holds: events to the broker, notices to people."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        publish: Publish,
        notifier: Notifier | None = None,
        roster: RosterSettings | None = None,
        resend: ResendWindow | None = None,
    ) -> None:
        self._sessions = sessions
        self._publish = publish
        self._notifier = notifier
        self._roster = roster or RosterSettings()
        self.resend = resend or ResendWindow(0.0)
        self._resend_due = threading.Event()
        self.published = 0
        self.republished = 0
        self.noticed = 0

    def reconnected(self) -> None:
        """The broker connection came back (network thread): the next pass first publishes
        again what the broker acknowledged within the resend window."""
        self._resend_due.set()

    def relay(self) -> int:
        """One pass over the outbox (oldest first); how many entries went out."""
        if self._resend_due.is_set():
            self._resend_recent()
        with self._sessions() as session:
            rows = session.scalars(
                select(WorkOrderOutboxRow).order_by(WorkOrderOutboxRow.id).limit(BATCH)
            ).all()
        events = [r for r in rows if r.kind == EVENT]
        done = self._publish_events(events)
        noticed = sum(self._send_notice(r) for r in rows if r.kind in (NOTICE, ROUND))
        return done + noticed

    def _publish_events(self, rows: Sequence[WorkOrderOutboxRow]) -> int:
        confirmed: list[int] = []
        for row in rows:
            if not self._publish(row.topic, row.payload.encode()):
                break  # the rest waits for the next pass, so events keep their order
            confirmed.append(row.id)
            self.resend.confirmed(row.event_id, row.topic, row.payload.encode())
        if confirmed:
            with self._sessions() as session:
                session.execute(
                    delete(WorkOrderOutboxRow).where(WorkOrderOutboxRow.id.in_(confirmed))
                )
                session.commit()
            self.published += len(confirmed)
        return len(confirmed)

    def _resend_recent(self) -> None:
        """Publish again, oldest first, the events the broker acknowledged within the window
        before the connection dropped (consumers dedupe on event_id); all or, on a failure,
        again at the next pass."""
        self._resend_due.clear()
        recent = self.resend.recent()
        for event_id, event in recent:
            if not self._publish(event.topic, event.payload):
                self._resend_due.set()
                return
            # The copy's acknowledgement is the event's confirmation now: a second drop soon
            # after (before the broker's autosave) publishes it again.
            self.resend.confirmed(event_id, event.topic, event.payload)
        self.resend.resent()
        self.republished += len(recent)
        if recent:
            logger.info("reconnected: %d acknowledged work-order events sent again", len(recent))

    def _send_notice(self, row: WorkOrderOutboxRow) -> bool:
        """Claim the notice (one relay wins), then send it; False when another relay had it."""
        about = (  # a payload nobody can read raises here, before the claim
            MissedPoint.model_validate_json(row.payload)
            if row.kind == ROUND
            else WorkOrderEvent.model_validate_json(row.payload)
        )
        notice = None
        with self._sessions() as session:
            result = session.execute(
                delete(WorkOrderOutboxRow).where(WorkOrderOutboxRow.id == row.id)
            )
            claimed = cast("CursorResult[Any]", result).rowcount == 1
            if claimed and self._notifier is not None:
                notice = self._notice_of(session, about, self._notifier)
            session.commit()
        if notice is None or self._notifier is None:
            return False
        self._notifier.send(notice)
        self.noticed += 1
        return True

    def _notice_of(
        self, session: Session, about: WorkOrderEvent | MissedPoint, notifier: Notifier
    ) -> Notice | None:
        """What the claimed entry says, to whom (None when its order or round is gone)."""
        if isinstance(about, MissedPoint):
            return missed_notice(session, about, notifier.settings.supervisors_of)
        order = session.get(WorkOrderRow, about.work_order_id)
        if order is None:
            return None
        supervisors = notifier.settings.supervisors_of(order.site)
        voice = site_voice(session, order.site)
        return notice_for(about, order, self._roster, supervisors, voice)

    def run(self, stop: threading.Event, every_s: float) -> None:
        """Relay at start and then every `every_s` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                self.relay()
            except SQLAlchemyError as err:  # the entries stay: the next pass sends them
                logger.warning("work-order outbox not relayed: %s", err)
            stop.wait(every_s)


class RelayThread:
    """A relay on a thread of its own, so a slow webhook never holds up the alarm consumer."""

    def __init__(
        self, relay: OutboxRelay, *, every_s: float, on_failure: Callable[[], None]
    ) -> None:
        self._relay = relay
        self._every_s = every_s
        self._on_failure = on_failure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="maintenance-outbox")
        self.failed = False

    def _work(self) -> None:
        try:
            self._relay.run(self._stop, self._every_s)
        except Exception:  # the relay's top: stop the service so a supervisor restarts it
            logger.exception("work-order outbox relay failed; stopping")
            self.failed = True
            self._on_failure()

    def start(self) -> None:
        """Start relaying."""
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Finish the pass under way and stop."""
        self._stop.set()
        self._thread.join(timeout)
