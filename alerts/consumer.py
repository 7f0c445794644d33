"""Alarm events in: one transaction each (escalations started or stopped, notices put in the
outbox), acknowledged to the broker only after it commits; and the tick that issues the
steps of escalations as they fall due.

Both run on the service's worker thread, so an escalation has one writer. A bad message is
acknowledged and dead-lettered with a counted reason; a database error leaves the delivery
unacknowledged and it is retried (the broker redelivers it after a restart as well; the
activation's event id makes that harmless). Any other failure while handling one message costs
that message only: logged once with its id, counted (`handler_failures`), dead-lettered as
`handler_failed` and acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.config import COMPONENT
from bldgwatch.alerts.models import EscalationRow
from bldgwatch.alerts.sites import site_info
from bldgwatch.core import topics
from bldgwatch.core.clock import Clock
from bldgwatch.core.deadletter import DeadLetter, DeadLetters
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.inbox import Delivery
from bldgwatch.core.models import SCHEMA_VERSION, AlarmEvent, AlarmState

logger = logging.getLogger(__name__)

STOPS = {
    AlarmState.ACTIVE_ACK: "acknowledged",
    AlarmState.NORMAL: "normal",
    AlarmState.SHELVED: "shelved",
    AlarmState.SUPPRESSED: "suppressed",
    AlarmState.OUT_OF_SERVICE: "out_of_service",
}
"""States that end an escalation, and the reason recorded."""


@dataclass(slots=True)
class Counters:
    """What the consumer has done since start (in the retained status)."""

    received: int = 0
    activations: int = 0
    notices: int = 0
    stops: int = 0
    ignored: int = 0
    deadlettered: int = 0
    db_errors: int = 0
    handler_failures: int = 0
    ticks: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain dict for JSON."""
        return asdict(self)


def decode_event(topic: str, payload: bytes) -> AlarmEvent:
    """Parse and check one alarm message; DecodeError names the dead-letter reason."""
    try:
        event = AlarmEvent.model_validate_json(payload)
    except ValidationError as err:
        bad_json = any(e["type"] == "json_invalid" for e in err.errors())
        raise DecodeError("invalid_json" if bad_json else "invalid_schema", str(err)) from err
    if event.schema_version != SCHEMA_VERSION:
        raise DecodeError("unsupported_schema", f"schema {event.schema_version}")
    if event.at.tzinfo is None:
        raise DecodeError("invalid_schema", "`at` has no time zone")
    if len(event.alarm_id) > 36 or len(event.site) > 64 or len(event.event_id) > 36:
        raise DecodeError("invalid_schema", "an id is longer than the store keeps")
    if topic.rsplit("/", 1)[-1] != event.equipment or topics.site_of(topic) != event.site:
        raise DecodeError("topic_mismatch", f"{event.site}/{event.equipment} published on {topic}")
    return event


class AlarmConsumer:
    """Alarm events → escalations; the tick → due steps. Worker thread only."""

    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        ack: Callable[[Delivery], object],
        publish: Callable[[str, bytes], object],
        clock: Clock,
        instance: str,
        default_zone: str,
        on_issued: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._ack = ack
        self._clock = clock
        self._default_zone = default_zone
        self._on_issued = on_issued
        self.counters = Counters()
        self.dead = DeadLetters(COMPONENT, publish, instance=instance, now=clock.now)

    def handle(self, delivery: Delivery) -> bool:
        """Process one delivery; True when done (acked), False when it must be retried.

        A supervisor's top per message: an unforeseen failure is logged, counted,
        dead-lettered (`handler_failed`) and acknowledged; the worker goes on."""
        try:
            return self._handle(delivery)
        except Exception as err:  # a supervisor's top, per message
            self.counters.handler_failures += 1
            logger.exception(
                "alerts: handling message mid %d on %s failed; dead-lettered",
                delivery.mid,
                delivery.topic,
            )
            self._dead_letter(
                delivery, DecodeError("handler_failed", f"{type(err).__name__}: {err}")
            )
            self._ack(delivery)
            return True

    def _handle(self, delivery: Delivery) -> bool:
        self.counters.received += 1
        try:
            event = decode_event(delivery.topic, delivery.payload)
        except DecodeError as err:
            self._dead_letter(delivery, err)
            self._ack(delivery)
            return True
        try:
            issued = self._apply(event)
        except (OperationalError, IntegrityError) as err:  # away, or a concurrent writer
            self.counters.received -= 1  # it comes back through the retry
            self.counters.db_errors += 1
            logger.error("event %s not stored, will retry: %s", event.event_id, err)
            return False
        except SQLAlchemyError as err:  # refused for good (data error): do not loop on it
            self._dead_letter(delivery, DecodeError("store_rejected", str(err)))
            self._ack(delivery)
            return True
        self._ack(delivery)
        if issued:
            self._on_issued()
        return True

    def _apply(self, event: AlarmEvent) -> int:
        now = self._clock.now()
        with self._sessions() as session:
            zone = site_info(session, event.site, self._default_zone).zone
            issued = 0
            if (
                event.state is AlarmState.ACTIVE_UNACK
                and event.previous_state is not AlarmState.ACTIVE_UNACK
            ):
                issued = store.activate(session, event, now, zone)
                self.counters.activations += 1
            elif event.state is AlarmState.RTN_UNACK:
                self.counters.stops += store.stop(
                    session, event.alarm_id, reason="cleared", by=None, at=event.at, clear=True
                )
            elif event.state in STOPS:
                self.counters.stops += store.stop(
                    session, event.alarm_id, reason=STOPS[event.state], by=event.actor, at=event.at
                )
            else:
                self.counters.ignored += 1
            session.commit()
        self.counters.notices += issued
        return issued

    def tick(self, now: datetime, *, limit: int = 200) -> int:
        """Issue the steps due at `now`, one escalation per transaction; notices issued."""
        with self._sessions() as session:
            due = store.due_escalations(session, now, limit)
        issued = 0
        for key in due:
            with self._sessions() as session:
                row = session.get(EscalationRow, key)
                if row is None or row.status != store.ACTIVE:
                    continue
                zone = site_info(session, row.site, self._default_zone).zone
                issued += store.advance(session, row, now, zone)
                session.commit()
        self.counters.notices += issued
        self.counters.ticks += 1
        if issued:
            self._on_issued()
        return issued

    def _dead_letter(self, delivery: Delivery, err: DecodeError) -> None:
        letter = DeadLetter(err.reason, err.detail, delivery.topic, None, delivery.payload)
        self.dead.send(letter)
        self.counters.deadlettered = self.dead.total
        logger.warning("dead letter from %s: %s", delivery.topic, err.reason)
