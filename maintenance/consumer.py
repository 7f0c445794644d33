"""The alarm consumer: MQTT deliveries in, one transaction each, acknowledged after commit.

paho puts deliveries into a `core.inbox.Inbox` on its network thread; the service's own
thread calls `handle` for each delivery, so a slow database never blocks the MQTT keepalive.
A delivery is acked only after its transaction commits: a crash before that means the broker
redelivers it, and the event-id claim makes the redelivery harmless. Work-order changes
(created, alarm attached) go into the work-order outbox in the same transaction; the
service's `maintenance.outbox.OutboxRelay` publishes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bldgwatch.core import topics
from bldgwatch.core.clock import Clock
from bldgwatch.core.deadletter import DeadLetter, DeadLetters
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.inbox import Delivery, Inbox
from bldgwatch.core.models import SCHEMA_VERSION, AlarmEvent
from bldgwatch.core.safejson import DEFAULT_LIMITS, DecodeLimits, load_json
from bldgwatch.maintenance.incidents import IncidentPolicy, OutcomeKind, process_event
from bldgwatch.maintenance.models import EquipmentRow

logger = logging.getLogger(__name__)

COMPONENT = "maintenance"
# Column widths of incident_alarms / work_orders: longer values cannot be stored.
MAX_LENGTHS = {
    "event_id": 36,
    "alarm_id": 36,
    "site": 64,
    "equipment": 64,
    "family": 64,
    "fault_code": 64,
}


@dataclass(slots=True)
class Counters:
    """What the consumer has done since start (published in the status message)."""

    received: int = 0
    created: int = 0
    attached: int = 0
    recorded: int = 0
    duplicates: int = 0
    deadlettered: int = 0
    db_errors: int = 0
    handler_failures: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)  # by reason

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


def decode_event(topic: str, payload: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> AlarmEvent:
    """Parse and check one alarm message within `limits`; DecodeError names the dead-letter
    reason."""
    try:
        doc = load_json(payload, limits)
    except DecodeError as err:
        reason = "invalid_json" if err.reason == "malformed_json" else err.reason
        raise DecodeError(reason, err.detail) from err
    try:
        event = AlarmEvent.model_validate(doc)
    except ValidationError as err:
        raise DecodeError("invalid_schema", str(err)) from err
    if event.schema_version != SCHEMA_VERSION:
        raise DecodeError("unsupported_schema", f"schema {event.schema_version}")
    if event.at.tzinfo is None:
        raise DecodeError("invalid_schema", "`at` has no time zone")
    for name, limit in MAX_LENGTHS.items():
        if len(getattr(event, name)) > limit:
            raise DecodeError("invalid_schema", f"{name} longer than {limit} characters")
    parts = topic.split("/")
    if parts[-1] != event.equipment or topics.site_of(topic) != event.site:
        raise DecodeError("topic_mismatch", f"{event.site}/{event.equipment} published on {topic}")
    return event


class AlarmConsumer:
    """Turns alarm deliveries into committed incident outcomes, dead letters and acks."""

    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        policy: IncidentPolicy,
        publish: Callable[[str, bytes], None],  # dead letters
        inbox: Inbox,
        clock: Clock,
        instance: str,
        on_created: Callable[[int], None] | None = None,
        limits: DecodeLimits = DEFAULT_LIMITS,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._inbox = inbox
        self._on_created = on_created
        self._limits = limits
        self._registered: set[tuple[str, str]] = set()  # known to be in the asset register
        self.counters = Counters()
        self.dead = DeadLetters(COMPONENT, publish, instance=instance, now=clock.now)

    # -- worker thread ----------------------------------------------------------------------
    def next_delivery(self, timeout: float) -> Delivery | None:
        """The next delivery, or None after `timeout` seconds."""
        return self._inbox.get(timeout)

    @property
    def pending(self) -> int:
        """Deliveries waiting for the worker."""
        return self._inbox.pending

    def handle(self, delivery: Delivery) -> bool:
        """Process one delivery; True when done (acked), False when it must be retried.

        A failure nobody foresaw costs this delivery only: logged once with its mid, counted,
        dead-lettered (`handler_failed`) and acknowledged.
        """
        try:
            return self._handle(delivery)
        except Exception as err:  # a supervisor's top, per message
            self.counters.handler_failures += 1
            logger.exception(
                "maintenance: handling message mid %d on %s failed; dead-lettered",
                delivery.mid,
                delivery.topic,
            )
            self._dead_letter(delivery, DecodeError("handler_failed", repr(err)))
            self._ack_delivery(delivery)
            return True

    def _handle(self, delivery: Delivery) -> bool:
        self.counters.received += 1
        try:
            event = decode_event(delivery.topic, delivery.payload, self._limits)
        except DecodeError as err:
            self._dead_letter(delivery, err)
            self._ack_delivery(delivery)
            return True
        try:
            if not self._registered_equipment(event):
                # Only registered equipment gets orders (a forged `ghost/NOPE` gets none).
                reason = f"{event.site}/{event.equipment} is not in the asset register"
                self._dead_letter(delivery, DecodeError("unknown_equipment", reason))
                self._ack_delivery(delivery)
                return True
            outcome = process_event(self._sessions, event, self._policy)
        except (OperationalError, IntegrityError) as err:
            self.counters.received -= 1  # it comes back through the retry
            self.counters.db_errors += 1
            logger.error("event %s not stored, will retry: %s", event.event_id, err)
            return False
        except DBAPIError as err:  # the store refuses it for good (data error): do not loop
            self._dead_letter(delivery, DecodeError("store_rejected", str(err)))
            self._ack_delivery(delivery)
            return True
        self._count(outcome.kind)
        logger.debug(
            "event %s: %s (order %s)", event.event_id, outcome.kind.value, outcome.work_order_id
        )
        self._ack_delivery(delivery)
        created = outcome.kind is OutcomeKind.CREATED and outcome.work_order_id is not None
        if created and self._on_created is not None:
            self._on_created(outcome.work_order_id or 0)  # after the ack: never blocks it
        return True

    def _registered_equipment(self, event: AlarmEvent) -> bool:
        """True when the asset register holds the event's equipment (positives are cached:
        equipment is never removed from the register)."""
        key = (event.site, event.equipment)
        if key in self._registered:
            return True
        with self._sessions() as session:
            known = session.get(EquipmentRow, key) is not None
        if known:
            self._registered.add(key)
        return known

    def _count(self, kind: OutcomeKind) -> None:
        if kind is OutcomeKind.CREATED:
            self.counters.created += 1
        elif kind is OutcomeKind.ATTACHED:
            self.counters.attached += 1
        elif kind is OutcomeKind.RECORDED:
            self.counters.recorded += 1
        else:
            self.counters.duplicates += 1

    def _ack_delivery(self, delivery: Delivery) -> None:
        self._inbox.ack(delivery)

    def _dead_letter(self, delivery: Delivery, err: DecodeError) -> None:
        letter = DeadLetter(err.reason, err.detail, delivery.topic, None, delivery.payload)
        count = self.dead.send(letter)
        self.counters.deadlettered = self.dead.total
        self.counters.dead_letters = self.dead.counts()
        # The first of each reason at WARNING, repeats at DEBUG: a flood must not flood the log.
        log = logger.warning if count == 1 else logger.debug
        log("dead letter from %s: %s", delivery.topic, err)
