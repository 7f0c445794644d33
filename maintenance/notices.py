"""What a notice says: built by the maintenance service from a work-order event, the order and
its own roster (where technicians are reached) when it sends the event's notice.

The change itself may have been made anywhere (the console, the roster, the escalation
check); only the service knows the roster and the channels, so the text is made here, in the
site's language, with times on the site's clock (`SiteVoice`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.core.site import DEFAULT_LANGUAGE, DEFAULT_TIMEZONE, site_zone
from bldgwatch.maintenance.config import KINDS, RosterSettings, Technician
from bldgwatch.maintenance.escalation import Escalation, Level
from bldgwatch.maintenance.models import SiteRow, WorkOrderRow
from bldgwatch.maintenance.notify import Notice

ASSIGNED = "assigned"


@dataclass(frozen=True, slots=True)
class SiteVoice:
    """How a site's notices speak: its default language and its clock."""

    language: str = DEFAULT_LANGUAGE
    zone: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))

    def time(self, at: datetime) -> str:
        """A moment on the site's 24-hour clock, with the zone."""
        return i18n.format_time(at, self.zone, self.language)

    def title(self, order: WorkOrderRow) -> str:
        """The order's title in the site's language (as written when it has no key)."""
        if order.title_key is None:
            return order.title
        params = order.title_params or {}
        return i18n.render(order.title_key, params, self.language, default=order.title)


def site_voice(session: Session, site: str) -> SiteVoice:
    """The voice of a site in the register (the defaults for a site it does not know)."""
    row = session.get(SiteRow, site)
    if row is None:
        return SiteVoice()
    return SiteVoice(row.language, site_zone(row.timezone))


def calls_for_notice(event: WorkOrderEvent) -> bool:
    """Whether a change is one people are told about: assigned, overdue, escalation."""
    return event.change in KINDS


def assignment_notice(
    order: WorkOrderRow, tech: Technician | None, at: datetime, voice: SiteVoice | None = None
) -> Notice:
    """The notice to the assignee, with the assigner's note and the due times in site time."""
    voice = voice or SiteVoice()
    who = tech.name or tech.id if tech is not None else order.assigned_to
    text = i18n.render(
        "notice.assigned.text",
        {
            "id": order.id,
            "equipment": order.equipment,
            "site": order.site,
            "who": who,
            "response_due": voice.time(order.response_due),
            "resolution_due": voice.time(order.resolution_due),
            "description": order.description,
            "stage_reason": order.stage_reason,
            "note": order.assign_note or i18n.render("notice.no_note", {}, voice.language),
        },
        voice.language,
    )
    return Notice(
        kind=ASSIGNED,
        work_order_id=order.id,
        site=order.site,
        equipment=order.equipment,
        title=voice.title(order),
        priority=order.priority,
        at=at,
        text=text,
        assigned_to=order.assigned_to,
        recipients=(tech.email,) if tech is not None and tech.email else (),
        language=voice.language,
    )


def escalation_notice(
    esc: Escalation,
    roster: RosterSettings,
    supervisors: list[str],
    voice: SiteVoice | None = None,
) -> Notice:
    """Overdue: to the assignee (supervisors when unassigned); escalation: supervisors too."""
    voice = voice or SiteVoice()
    tech = roster.technician(esc.assigned_to) if esc.assigned_to else None
    mine = [tech.email] if tech is not None and tech.email else []
    recipients = mine if esc.kind == "overdue" and mine else [*mine, *supervisors]
    what = "resolution" if esc.kind == "escalation" else "response"
    nobody = i18n.render("notice.nobody", {}, voice.language)
    text = i18n.render(
        "notice.overdue.text",
        {
            "id": esc.work_order_id,
            "equipment": esc.equipment,
            "site": esc.site,
            "priority": esc.priority,
            "what": i18n.Message(f"notice.due.{what}"),
            "due": voice.time(esc.due),
            "who": esc.assigned_to or nobody,
        },
        voice.language,
    )
    return Notice(
        kind=esc.kind,
        work_order_id=esc.work_order_id,
        site=esc.site,
        equipment=esc.equipment,
        title=esc.title,
        priority=esc.priority,
        at=esc.at,
        text=text,
        assigned_to=esc.assigned_to,
        recipients=tuple(dict.fromkeys(recipients)),
        language=voice.language,
    )


def notice_for(
    event: WorkOrderEvent,
    order: WorkOrderRow,
    roster: RosterSettings,
    supervisors: list[str],
    voice: SiteVoice | None = None,
) -> Notice | None:
    """The notice an event calls for (None for changes nobody is told about), in the site's
    language and on its clock."""
    voice = voice or SiteVoice()
    if event.change == ASSIGNED:
        tech = roster.technician(order.assigned_to) if order.assigned_to else None
        return assignment_notice(order, tech, event.at, voice)
    if not calls_for_notice(event):
        return None
    level = Level.ESCALATED if event.change == "escalation" else Level.OVERDUE
    due = order.resolution_due if level is Level.ESCALATED else order.response_due
    esc = Escalation(
        work_order_id=event.work_order_id,
        site=event.site,
        equipment=event.equipment,
        title=voice.title(order),
        priority=event.priority,
        level=level,
        assigned_to=event.assigned_to,
        due=due,
        at=event.at,
    )
    return escalation_notice(esc, roster, supervisors, voice)
