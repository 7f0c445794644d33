"""The follow-ups (回访) the desk owes: every resolved repair — a reactive order or a repair
request's — waits for its follow-up call or the requester's rating by link; recording it
(`WorkDesk.follow_up`) moves the order on (verified, or back to work), out of this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.publicrequests import RequestStatus, request_number
from bldgwatch.maintenance.requestmodels import PublicRequestRow

KINDS = ("reactive", "request")
"""The orders that get a follow-up: repairs (preventive maintenance does not)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Someone who asked for this repair: their request's number, name and phone, and
    whether they may still rate it by their status link."""

    number: str
    name: str | None
    phone: str | None
    can_rate: bool


def due_orders(site_filter: ColumnElement[bool]) -> Select[WorkOrderRow]:
    """Resolved repairs without their follow-up yet, at the sites `site_filter` lets
    through (the caller orders and pages it)."""
    return select(WorkOrderRow).where(
        WorkOrderRow.status == WorkOrderStatus.RESOLVED.value,
        WorkOrderRow.kind.in_(KINDS),
        site_filter,
    )


def due_at(order: WorkOrderRow, within: timedelta) -> datetime:
    """When the order's follow-up is due: `within` after it was resolved."""
    return (order.resolved_at or order.updated_at) + within


def callers(session: Session, order: WorkOrderRow) -> list[Caller]:
    """The requests this order answers (accepted onto it, or merged into one that was), in
    the order they came: the people to call back. Only an accepted request's requester can
    rate by link (a merged one follows its primary)."""
    accepted = list(
        session.scalars(
            select(PublicRequestRow)
            .where(
                PublicRequestRow.work_order_id == order.id,
                PublicRequestRow.status == RequestStatus.ACCEPTED.value,
            )
            .order_by(PublicRequestRow.created_at, PublicRequestRow.id)
        )
    )
    merged = (
        list(
            session.scalars(
                select(PublicRequestRow)
                .where(PublicRequestRow.merged_into_id.in_([r.id for r in accepted]))
                .order_by(PublicRequestRow.created_at, PublicRequestRow.id)
            )
        )
        if accepted
        else []
    )
    return [
        Caller(request_number(r), r.caller_name, r.phone, r in accepted and r.rated_at is None)
        for r in (*accepted, *merged)
    ]
