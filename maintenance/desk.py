"""The work-order desk: changes in their own transaction, then the wire event and the notices.

What the service (and the console) call to move orders along: assign (by hand or by the
roster), transition, escalate overdue orders. Each method commits; after the commit it
publishes a `WorkOrderEvent` (if a publisher is given) and sends notices (if a notifier is).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.config import RosterSettings, Technician
from bldgwatch.maintenance.escalation import Escalation, escalate_overdue
from bldgwatch.maintenance.events import order_event
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.notify import Notice, Notifier
from bldgwatch.maintenance.roster import NoTechnician, assign_order
from bldgwatch.maintenance.workorders import transition

logger = logging.getLogger(__name__)

Publisher = Callable[[WorkOrderEvent], None]


def assignment_notice(order: WorkOrderRow, tech: Technician | None, at: datetime) -> Notice:
    """The notice to the assignee."""
    who = tech.name or tech.id if tech is not None else order.assigned_to
    return Notice(
        kind="assigned",
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


class WorkDesk:
    """Moves orders along and tells the world."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        roster: RosterSettings | None = None,
        notifier: Notifier | None = None,
        publish: Publisher | None = None,
    ) -> None:
        self._sessions = sessions
        self.roster = roster or RosterSettings()
        self._notifier = notifier
        self._publish = publish

    def _emit(self, event: WorkOrderEvent | None, notices: list[Notice]) -> None:
        if event is not None and self._publish is not None:
            self._publish(event)
        if self._notifier is not None:
            for notice in notices:
                self._notifier.send(notice)

    def assign(
        self, order_id: int, *, at: datetime, actor: str, technician: str | None = None
    ) -> WorkOrderRow:
        """Assign to `technician` or to the roster's pick (NoTechnician, InvalidTransition)."""
        with self._sessions() as session:
            previous = session.get(WorkOrderRow, order_id)
            src = previous.status if previous is not None else None
            order, tech = assign_order(
                session, order_id, self.roster, at=at, actor=actor, technician=technician
            )
            event = self._status_event(order, src, at, actor)
            session.commit()
        self._emit(event, [assignment_notice(order, tech, at)])
        return order

    def move(
        self,
        order_id: int,
        to_status: WorkOrderStatus | str,
        *,
        at: datetime,
        actor: str,
        note: str = "",
    ) -> WorkOrderRow:
        """Any other transition (WorkOrderNotFound 404, InvalidTransition 409)."""
        with self._sessions() as session:
            previous = session.get(WorkOrderRow, order_id)
            src = previous.status if previous is not None else None
            order = transition(session, order_id, to_status, actor=actor, at=at, note=note)
            event = self._status_event(order, src, at, actor)
            session.commit()
        self._emit(event, [])
        return order

    def auto_assign(self, order_id: int, *, at: datetime) -> WorkOrderRow | None:
        """Assign a new order by the roster when `auto_assign` is on; None when nobody fits."""
        if not self.roster.auto_assign:
            return None
        try:
            return self.assign(order_id, at=at, actor="roster")
        except NoTechnician as err:
            logger.warning("order %d stays unassigned: %s", order_id, err)
            return None

    def escalate(self, now: datetime, supervisors: list[str] | None = None) -> list[Escalation]:
        """Escalate every overdue order; events and notices after the commit."""
        with self._sessions() as session:
            raised = escalate_overdue(session, now)
            events = [
                order_event(
                    o,
                    change=esc.kind,
                    cause=f"{esc.level.value}",
                    at=now,
                    actor="escalation",
                    previous_status=o.status,
                )
                for esc in raised
                if (o := session.get(WorkOrderRow, esc.work_order_id)) is not None
            ]
            session.commit()
        if self._notifier is not None:
            sup = supervisors if supervisors is not None else self._notifier.settings.supervisors
            notices = [escalation_notice(esc, self.roster, sup) for esc in raised]
        else:
            notices = []
        for event in events:
            self._emit(event, [])
        self._emit(None, notices)
        return raised

    @staticmethod
    def _status_event(
        order: WorkOrderRow, src: str | None, at: datetime, actor: str
    ) -> WorkOrderEvent:
        return order_event(
            order,
            change=order.status,
            cause=f"{src}>{order.status}@{at.isoformat()}",
            at=at,
            actor=actor,
            previous_status=src,
        )
