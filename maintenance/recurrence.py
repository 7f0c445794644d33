"""A fault that comes back after its repair: the repair failed.

An activation of an incident whose order is already resolved, within the incident window,
means the fix did not hold. A property manager counts that against the repair (first-time fix,
零修合格率), and someone has to go back: the resolved order is sent back to work — to its
technician (→ assigned), or to the pool (→ open) when nobody had it — as a "reopened" 回访
does, with a timeline note and the status change's event (the technician's notice). A
verified order cannot go back (its follow-up found it fixed): the incident leaves it and the
alarm opens a new order, which the KPIs count as a repeat of the same equipment and family.
The caller commits.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bldgwatch.core.models import AlarmEvent
from bldgwatch.maintenance.events import order_event
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.outbox import enqueue
from bldgwatch.maintenance.texts import named
from bldgwatch.maintenance.workorders import add_note, transition

logger = logging.getLogger(__name__)


def after_repair(session: Session, order: WorkOrderRow, event: AlarmEvent) -> WorkOrderRow | None:
    """Handle the incident's fault coming back while its order is resolved or verified: the
    order reopened (resolved), or None when a new order must open (verified; the incident
    key is released)."""
    if order.status != WorkOrderStatus.RESOLVED.value:
        order.incident_key = None
        session.flush()
        logger.info("order %d verified, fault back: %s opens a new order", order.id, event.rule)
        return None
    actor = f"alarm:{event.rule}"
    back = WorkOrderStatus.ASSIGNED if order.assigned_to else WorkOrderStatus.OPEN
    src = order.status
    order = transition(session, order.id, back, actor=actor, at=event.at)
    add_note(
        session,
        order,
        actor=actor,
        at=event.at,
        kind="reopened",
        message=Message("note.recurred", {"status": named("status", back.value)}),
    )
    session.flush()
    change = order_event(
        order, change=back.value, cause=event.event_id, at=event.at, actor=actor,
        previous_status=src,
    )  # fmt: skip
    enqueue(session, change)
    logger.info("order %d: fault back after the repair, reopened (%s)", order.id, back.value)
    return order
