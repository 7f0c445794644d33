"""The owners' outbox publishers, in-process: what the rules and maintenance services do with
the changes the console commits, for tests that run the console without those services."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance.outbox import OutboxRelay
from bldgwatch.rules.store import AlarmStore

Deliver = Callable[[str, bytes], None]


class OwnerRelays:
    """Publishes the alarm outbox (as the rules service does) and the work-order outbox (the
    maintenance service's relay itself) to `deliver`, the broker's stand-in."""

    def __init__(self, engine: Engine, deliver: Deliver) -> None:
        self._alarms = AlarmStore(engine)
        self._deliver = deliver
        self._orders = OutboxRelay(session_factory(engine), publish=self._confirmed)

    def _confirmed(self, topic: str, payload: bytes) -> bool:
        self._deliver(topic, payload)
        return True

    def relay(self) -> None:
        """One pass over both outboxes; what went out leaves them."""
        entries = self._alarms.outbox()
        for entry in entries:
            self._deliver(entry.topic, entry.payload)
        self._alarms.published([e.event_id for e in entries])
        self._orders.relay()
