"""What a notice says: built by the maintenance service from a work-order event, the order and
its own roster (where technicians are reached) when it sends the event's notice.

The change itself may have been made anywhere (the console, the roster, the escalation
check); only the service knows the roster and the channels, so the text is made here.
"""

from __future__ import annotations

from datetime import datetime

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.config import KINDS, RosterSettings, Technician
from bldgwatch.maintenance.escalation import Escalation, Level
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.notify import Notice

ASSIGNED = "assigned"


def calls_for_notice(event: WorkOrderEvent) -> bool:
    """Whether a change is one people are told about: assigned, overdue, escalation."""
    return event.change in KINDS


def assignment_notice(order: WorkOrderRow, tech: Technician | None, at: datetime) -> Notice:
    """The notice to the assignee."""
    who = tech.name or tech.id if tech is not None else order.assigned_to
    return Notice(
        kind=ASSIGNED,
        work_order_id=order.id,
        site=order.site,
        equipment=order.equipment,
        title=order.title,
        priority=order.priority,
        at=at,
        text=(
            f"Work order #{order.id} for {order.equipment} ({order.site}) is assigned to {who}.\n"
            f"Respond by {order.response_due.isoformat()}, resolve by "
            f"{order.resolution_due.isoformat()}.\n\n{order.description}\n\n"
            f"Life stage: {order.stage_reason}"
        ),
        assigned_to=order.assigned_to,
        recipients=(tech.email,) if tech is not None and tech.email else (),
    )


def escalation_notice(esc: Escalation, roster: RosterSettings, supervisors: list[str]) -> Notice:
    """Overdue: to the assignee (supervisors when unassigned); escalation: supervisors too."""
    tech = roster.technician(esc.assigned_to) if esc.assigned_to else None
    mine = [tech.email] if tech is not None and tech.email else []
    recipients = mine if esc.kind == "overdue" and mine else [*mine, *supervisors]
    what = "resolution" if esc.kind == "escalation" else "response"
    return Notice(
        kind=esc.kind,
        work_order_id=esc.work_order_id,
        site=esc.site,
        equipment=esc.equipment,
        title=esc.title,
        priority=esc.priority,
        at=esc.at,
        text=(
            f"Work order #{esc.work_order_id} for {esc.equipment} ({esc.site}), P{esc.priority}: "
            f"{what} was due {esc.due.isoformat()} and is overdue.\n"
            f"Assigned to: {esc.assigned_to or 'nobody'}."
        ),
        assigned_to=esc.assigned_to,
        recipients=tuple(dict.fromkeys(recipients)),
    )


def notice_for(
    event: WorkOrderEvent, order: WorkOrderRow, roster: RosterSettings, supervisors: list[str]
) -> Notice | None:
    """The notice an event calls for (None for changes nobody is told about)."""
    if event.change == ASSIGNED:
        tech = roster.technician(order.assigned_to) if order.assigned_to else None
        return assignment_notice(order, tech, event.at)
    if not calls_for_notice(event):
        return None
    level = Level.ESCALATED if event.change == "escalation" else Level.OVERDUE
    due = order.resolution_due if level is Level.ESCALATED else order.response_due
    esc = Escalation(
        work_order_id=event.work_order_id,
        site=event.site,
        equipment=event.equipment,
        title=event.title,
        priority=event.priority,
        level=level,
        assigned_to=event.assigned_to,
        due=due,
        at=event.at,
    )
    return escalation_notice(esc, roster, supervisors)
