"""What a notice says: built by the maintenance service from a work-order event, the order and
its own roster (where technicians are reached) when it sends the event's notice.

The change itself may have been made anywhere (the console, the roster, the escalation
check); only the service knows the roster and the channels, so the text is made here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.config import KINDS, RosterSettings, Technician
from bldgwatch.maintenance.escalation import Escalation, Level
from bldgwatch.maintenance.i18n import LANGUAGES
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.notify import Notice
from bldgwatch.maintenance.texts import order_text, text

ASSIGNED = "assigned"


def calls_for_notice(event: WorkOrderEvent) -> bool:
    """Whether a change is one people are told about: assigned, overdue, escalation."""
    return event.change in KINDS


def _local(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _both(key: str, **params: object) -> str:
    """The message in every language, Chinese first (the roster keeps no one's language)."""
    return "\n\n---\n\n".join(text(key, lang, **params) for lang in LANGUAGES)


def assignment_notice(
    order: WorkOrderRow, tech: Technician | None, at: datetime, *, tz: str = "UTC"
) -> Notice:
    """The notice to the assignee, with the assigner's note and the due times in site time."""
    who = tech.name or tech.id if tech is not None else order.assigned_to
    body = "\n\n---\n\n".join(
        text(
            "mail.assigned",
            lang,
            id=order.id,
            equipment=order.equipment,
            site=order.site,
            who=who,
            title=order_text(order.texts, "title", order.title, lang),
            response_due=_local(order.response_due, tz),
            resolution_due=_local(order.resolution_due, tz),
            tz=tz,
            note=order.assign_note or text("mail.no_note", lang),
            description=order_text(order.texts, "description", order.description, lang),
            stage=order.stage_reason,
        )
        for lang in LANGUAGES
    )
    return Notice(
        kind=ASSIGNED,
        work_order_id=order.id,
        site=order.site,
        equipment=order.equipment,
        title=order.title,
        priority=order.priority,
        at=at,
        text=body,
        assigned_to=order.assigned_to,
        recipients=(tech.email,) if tech is not None and tech.email else (),
    )


def escalation_notice(
    esc: Escalation, roster: RosterSettings, supervisors: list[str], *, tz: str = "UTC"
) -> Notice:
    """Overdue: to the assignee (supervisors when unassigned); escalation: supervisors too."""
    tech = roster.technician(esc.assigned_to) if esc.assigned_to else None
    mine = [tech.email] if tech is not None and tech.email else []
    recipients = mine if esc.kind == "overdue" and mine else [*mine, *supervisors]
    body = _both(
        f"mail.{esc.kind}",
        id=esc.work_order_id,
        equipment=esc.equipment,
        site=esc.site,
        priority=esc.priority,
        due=_local(esc.due, tz),
        tz=tz,
        who=esc.assigned_to or "–",
    )
    return Notice(
        kind=esc.kind,
        work_order_id=esc.work_order_id,
        site=esc.site,
        equipment=esc.equipment,
        title=esc.title,
        priority=esc.priority,
        at=esc.at,
        text=body,
        assigned_to=esc.assigned_to,
        recipients=tuple(dict.fromkeys(recipients)),
    )


def notice_for(
    event: WorkOrderEvent,
    order: WorkOrderRow,
    roster: RosterSettings,
    supervisors: list[str],
    *,
    tz: str = "UTC",
) -> Notice | None:
    """The notice an event calls for (None for changes nobody is told about); times in the
    site's zone `tz`."""
    if event.change == ASSIGNED:
        tech = roster.technician(order.assigned_to) if order.assigned_to else None
        return assignment_notice(order, tech, event.at, tz=tz)
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
    return escalation_notice(esc, roster, supervisors, tz=tz)
