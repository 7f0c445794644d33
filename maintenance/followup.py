"""The follow-up (回访) of a resolved order: the owner or user is asked how the repair went.

Outcomes: `satisfied` verifies the order (resolved → verified); `not_satisfied` and
`reopened` (the fault came back) send it back to work — to its technician (→ assigned), or
to the pool (→ open) when nobody had it. Every follow-up is kept (outcome, satisfaction 1–5,
note), so the follow-up rate, the satisfaction and the minor-repair pass rate count them.
The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from bldgwatch.maintenance.errors import InvalidRecord, InvalidTransition
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.recordmodels import FollowUpRow
from bldgwatch.maintenance.texts import named
from bldgwatch.maintenance.workorders import add_note, get_order, transition


class Outcome(StrEnum):
    """What the follow-up found."""

    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    REOPENED = "reopened"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One follow-up's findings."""

    outcome: Outcome
    satisfaction: int | None = None  # 1 … 5
    note: str = ""


def record_follow_up(
    session: Session, order_id: int, follow_up: FollowUp, *, at: datetime, actor: str
) -> WorkOrderRow:
    """Record the follow-up and move the order (InvalidTransition unless it is resolved)."""
    if follow_up.satisfaction is not None and not 1 <= follow_up.satisfaction <= 5:
        raise InvalidRecord("satisfaction", Message("error.record.satisfaction"))
    order = get_order(session, order_id, for_update=True)
    if order.status != WorkOrderStatus.RESOLVED.value:
        raise InvalidTransition(order.status, "follow-up", order_id=order_id)
    session.add(
        FollowUpRow(
            work_order_id=order.id,
            outcome=follow_up.outcome.value,
            satisfaction=follow_up.satisfaction,
            note=follow_up.note,
            at=at,
            actor=actor[:64],
        )
    )
    score = "–" if follow_up.satisfaction is None else f"{follow_up.satisfaction}/5"
    add_note(
        session,
        order,
        actor=actor,
        at=at,
        kind="follow_up",
        message=Message(
            "note.followup", {"outcome": named("outcome", follow_up.outcome.value), "score": score}
        ),
    )
    if follow_up.outcome is Outcome.SATISFIED:
        return transition(
            session, order_id, WorkOrderStatus.VERIFIED, actor=actor, at=at, note=follow_up.note
        )
    back = WorkOrderStatus.ASSIGNED if order.assigned_to else WorkOrderStatus.OPEN
    order = transition(session, order_id, back, actor=actor, at=at, note=follow_up.note)
    add_note(
        session,
        order,
        actor=actor,
        at=at,
        kind="reopened",
        message=Message("note.reopened", {"status": named("status", back.value)}),
    )
    session.flush()
    return order
