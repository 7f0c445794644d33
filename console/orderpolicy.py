"""Who may do what to a work order now, by role and status: the actions the console's order
page offers, and the check the record routes make (403 naming why).

Supervisors (and admins) may do whatever the order's status allows; a technician works on
the orders assigned to them (and may accept an open, unassigned one); engineers on duty may
comment; viewers only read. A contractor's user works on the orders dispatched to its
contractor (the routes show it no other): start, hold, resume, resolve, complete, attach and
comment. A booking on a closed or cancelled order is a late booking,
a supervisor's only.
"""

from __future__ import annotations

from bldgwatch.console.auth import CONTRACTOR, ENGINEER, SUPERVISOR, TECHNICIAN, User
from bldgwatch.console.errors import ForbiddenError
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.models import WorkOrderRow

WORKING = ("book", "complete", "attach", "comment")
BY_STATUS: dict[str, tuple[str, ...]] = {
    "open": ("assign", "accept", "cancel", "attach", "comment"),
    "assigned": ("start", "cancel", *WORKING),
    "in_progress": ("hold", "resolve", "cancel", *WORKING),
    "on_hold": ("resume", "cancel", *WORKING),
    "resolved": ("follow_up", "cancel", *WORKING),
    "verified": ("close", "cancel", *WORKING),
    "closed": ("book_late", "attach", "comment"),
    "cancelled": ("book_late", "comment"),
}
TECHNICIAN_ACTIONS = frozenset(
    {"accept", "start", "hold", "resume", "resolve", "book", "complete", "attach", "comment"}
)
CONTRACTOR_ACTIONS = frozenset(
    {"start", "hold", "resume", "resolve", "complete", "attach", "comment"}
)
MOVES = {"accept": "assigned", "start": "in_progress", "hold": "on_hold", "resume": "in_progress"}
"""Actions that are plain moves (POST /transition with `to`)."""


def actions(user: User, order: WorkOrderRow) -> list[str]:
    """What `user` may do to the order now."""
    possible = BY_STATUS.get(order.status, ())
    if user.has_any(frozenset({SUPERVISOR})):
        return [a for a in possible if a != "accept"]
    if CONTRACTOR in user.roles and _dispatched_to(user, order):
        return [a for a in possible if a in CONTRACTOR_ACTIONS]
    if TECHNICIAN in user.roles:
        if order.status == "open":
            return ["accept", "comment"] if order.assigned_to in (None, user.name) else []
        if order.assigned_to == user.name:
            return [a for a in possible if a in TECHNICIAN_ACTIONS]
    if ENGINEER in user.roles or TECHNICIAN in user.roles:
        return ["comment"]
    return []


def check(user: User, order: WorkOrderRow, action: str) -> None:
    """403 unless `user` may take `action` on the order (its status aside: the desk answers
    409 for a move the state machine refuses)."""
    if action in _any_status(user, order):
        return
    doing = Message(f"action.{action}").to_json(default=action.replace("_", " "))
    params = {"user": user.name, "doing": doing, "id": str(order.id)}
    raise ForbiddenError(Message("error.work_order.may_not", params))


def _any_status(user: User, order: WorkOrderRow) -> set[str]:
    """The actions `user` would have on the order in any status (so that a move the status
    forbids is a 409 from the desk, not a 403)."""
    if user.has_any(frozenset({SUPERVISOR})):
        return {a for acts in BY_STATUS.values() for a in acts}
    if TECHNICIAN in user.roles and order.assigned_to == user.name:
        return set(TECHNICIAN_ACTIONS)
    if CONTRACTOR in user.roles and _dispatched_to(user, order):
        return set(CONTRACTOR_ACTIONS)
    if ENGINEER in user.roles or TECHNICIAN in user.roles:
        return {"comment"}
    return set()


def _dispatched_to(user: User, order: WorkOrderRow) -> bool:
    """Whether the order is dispatched to the contractor `user` acts for."""
    return user.contractor is not None and order.contractor == user.contractor
