"""Overdue orders escalate, driven by the clock: a flag on the order, an event and a notice.

Level 1 (`overdue`): the response clock ran out and nobody is on site yet (open or assigned).
Level 2 (`escalation`): the resolution clock ran out and the order is not resolved.
Each level is reached once per order (`escalation_level` only rises), so a check may run as
often as wanted, by any number of processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import SiteRow, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.workorders import add_note

logger = logging.getLogger(__name__)

S = WorkOrderStatus
NOT_RESPONDED = frozenset({S.OPEN, S.ASSIGNED})
NOT_RESOLVED = frozenset({S.OPEN, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD})
ACTOR = "escalation"


class Level(IntEnum):
    """How far an order has escalated."""

    NONE = 0
    OVERDUE = 1  # response overdue
    ESCALATED = 2  # resolution overdue


@dataclass(frozen=True, slots=True)
class Escalation:
    """One order reaching a new level (what the notices are about)."""

    work_order_id: int
    site: str
    equipment: str
    title: str
    priority: int
    level: Level
    assigned_to: str | None
    due: datetime
    at: datetime

    @property
    def kind(self) -> str:
        """Notice kind: `overdue` or `escalation`."""
        return "overdue" if self.level is Level.OVERDUE else "escalation"


def due_level(
    status: str, response_due: datetime, resolution_due: datetime, now: datetime
) -> Level:
    """The level an order should be at now. Pure."""
    state = S(status)
    if state in NOT_RESOLVED and now > resolution_due:
        return Level.ESCALATED
    if state in NOT_RESPONDED and now > response_due:
        return Level.OVERDUE
    return Level.NONE


def _late(now: datetime, due: datetime) -> str:
    minutes = int((now - due).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def escalate_overdue(session: Session, now: datetime) -> list[Escalation]:
    """Raise every overdue order to its level; the caller commits, then sends the notices."""
    candidates = session.scalars(
        select(WorkOrderRow)
        .where(
            WorkOrderRow.status.in_([s.value for s in NOT_RESOLVED]),
            WorkOrderRow.escalation_level < Level.ESCALATED,
            or_(WorkOrderRow.response_due < now, WorkOrderRow.resolution_due < now),
        )
        .order_by(WorkOrderRow.id)
        .with_for_update()
    ).all()
    raised = []
    for order in candidates:
        level = due_level(order.status, order.response_due, order.resolution_due, now)
        if level <= order.escalation_level:
            continue
        due = order.resolution_due if level is Level.ESCALATED else order.response_due
        what = "resolution" if level is Level.ESCALATED else "response"
        order.escalation_level = int(level)
        order.escalated_at = now
        site = session.get(SiteRow, order.site)
        tz = site.timezone if site is not None else "Asia/Shanghai"
        local = due.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
        late = int((now - due).total_seconds() // 60)
        add_note(  # in the reader's language, the due time on the site's clock (19d-r M5)
            session,
            order,
            actor=ACTOR,
            at=now,
            note=f"{'escalated' if level is Level.ESCALATED else 'overdue'}: "
            f"{what} due {due.isoformat()}, {_late(now, due)} late",
            message=Message(
                f"note.{'resolution' if level is Level.ESCALATED else 'response'}_overdue",
                {"due": f"{local} ({tz})", "hours": late // 60, "minutes": late % 60},
            ),
        )
        raised.append(
            Escalation(
                order.id,
                order.site,
                order.equipment,
                order.title,
                order.priority,
                level,
                order.assigned_to,
                due,
                now,
            )
        )
        logger.warning("work order %d %s: %s overdue", order.id, level.name.lower(), what)
    session.flush()
    return raised
