"""Work-order change events: `core.models.WorkOrderEvent` on `bw/v1/{site}/workorders/{eq}`.

Built inside the transaction that made the change (so they describe what was committed), put
in the work-order outbox in that transaction and published by the maintenance service
(`maintenance.outbox`), QoS 1. Event ids are derived from what caused the
change (the alarm event, the stored transition row), so a re-publication carries the same id
and consumers dedupe on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from bldgwatch.core import topics
from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.models import WorkOrderRow

_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-4f51-9d57-0c2b8f1e7a10")

CREATED = "created"
ALARM_ATTACHED = "alarm_attached"
COMMENTED = "commented"
WORK_LOGGED = "work_logged"
COMPLETION = "completion"
FOLLOWED_UP = "followed_up"
ATTACHED = "attachment"


def event_id(order_id: int, change: str, cause: str) -> str:
    """A stable id for one change of one order caused by `cause` (an alarm id, a row id)."""
    return str(uuid.uuid5(_NAMESPACE, f"{order_id}/{change}/{cause}"))


def order_event(
    order: WorkOrderRow,
    *,
    change: str,
    cause: str,
    at: datetime,
    actor: str | None = None,
    previous_status: str | None = None,
) -> WorkOrderEvent:
    """The wire event for one change of a (flushed) order."""
    return WorkOrderEvent(
        event_id=event_id(order.id, change, cause),
        work_order_id=order.id,
        site=order.site,
        equipment=order.equipment,
        kind=order.kind,
        change=change,
        status=order.status,
        previous_status=previous_status,
        priority=order.priority,
        title=order.title,
        at=at,
        actor=actor,
        assigned_to=order.assigned_to,
    )


def event_message(event: WorkOrderEvent) -> tuple[str, bytes]:
    """Topic and payload of an event as the outbox keeps and publishes them."""
    topic = topics.work_orders(event.site, event.equipment)
    return topic, event.model_dump_json(by_alias=True).encode()
