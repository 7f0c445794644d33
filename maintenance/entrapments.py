"""Real entrapments (困人) timed against the site's entrapment plan and the rescue target.

An entrapment alarm (fault codes ELEV_ENTRAPMENT_*, `rules.detection`) opens a reactive
order (`maintenance.incidents`) whose response clock is the rescue-arrival rule (30 min from
the alarm, `config.DEFAULT_FAULT_CODES`). Its timeline, from what the order records:

* alarm: when the order's clocks started (the alarm's activation);
* notified: the first of the order's assignment (to a technician) and its dispatch to the
  maintenance company (the alert service's acknowledgements are not maintenance's to read);
* on site: the first move to in progress (what the SLA response clock counts);
* released: the "passengers released" note a technician or engineer records on the order
  (`record_release`), else the order's resolution.

Each moment is compared with the target of the plan step naming that milestone, and the
arrival with the order's own rescue target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.emergency import MILESTONES, plan_of
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.i18n import Message as OrderMessage
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    WorkOrderEventRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.workorders import add_note

ENTRAPMENT = "ELEV_ENTRAPMENT"
"""The fault-code prefix of entrapments."""
RELEASED = "released"
"""The kind of the order event recording that the passengers were released."""


class NotAnEntrapment(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The order is not an open entrapment order, or its release is already recorded
    (HTTP 409)."""

    def __init__(self, order_id: int, why: str) -> None:
        super().__init__(Message(f"error.entrapment.{why}", {"id": str(order_id)}))


@dataclass(frozen=True, slots=True)
class Moment:
    """One milestone of a rescue: when, minutes after the alarm, the plan's target."""

    milestone: str
    at: datetime | None
    minutes: float | None
    target_min: int | None
    over: bool


@dataclass(frozen=True, slots=True)
class Entrapment:
    """An entrapment order and its rescue timed against the plan and the rescue target."""

    order: WorkOrderRow
    moments: list[Moment]
    rescue_target_min: float
    arrival_late: bool
    """On site later than the rescue target, or not yet on site past it."""
    released_by_note: bool
    plan_id: int | None


def is_entrapment(order: WorkOrderRow) -> bool:
    """Whether the order was opened for an entrapment alarm."""
    return (order.fault_code or "").startswith(ENTRAPMENT)


def alarm_time(order: WorkOrderRow) -> datetime:
    """When the order's clocks started: the alarm."""
    started = (order.stage_detail or {}).get("sla_started_at")
    return datetime.fromisoformat(started) if started else order.created_at


def _first(events: list[WorkOrderEventRow], status: str) -> datetime | None:
    return next((e.at for e in events if e.to_status == status and e.from_status != status), None)


def moments_of(
    order: WorkOrderRow, events: list[WorkOrderEventRow]
) -> tuple[dict[str, datetime | None], bool]:
    """When each milestone was reached (`events` oldest first), and whether the release is
    the recorded note (else the resolution). Pure."""
    assigned = _first(events, WorkOrderStatus.ASSIGNED.value)
    notified = min((t for t in (assigned, order.dispatched_at) if t is not None), default=None)
    on_site = _first(events, WorkOrderStatus.IN_PROGRESS.value)
    note = next((e.at for e in events if e.kind == RELEASED), None)
    released = note if note is not None else order.resolved_at
    found = {"alarm": alarm_time(order), "notified": notified, "on_site": on_site}
    return found | {"released": released}, note is not None


def timed(
    order: WorkOrderRow,
    events: list[WorkOrderEventRow],
    targets: dict[str, int | None],
    now: datetime,
    plan_id: int | None = None,
) -> Entrapment:
    """The rescue of `order` timed against the plan's milestone `targets`. Pure. A cancelled
    order (a false alarm) is late only for what it reached late, not for what it never
    needed to reach (review 19d M5)."""
    found, by_note = moments_of(order, events)
    called_off = order.status == WorkOrderStatus.CANCELLED.value
    start = found["alarm"]
    assert start is not None
    moments = []
    for milestone in MILESTONES:
        at = found[milestone]
        minutes = None if at is None else (at - start).total_seconds() / 60
        target = targets.get(milestone)
        late = target is not None and (
            (minutes is not None and minutes > target)
            or (at is None and not called_off and (now - start).total_seconds() / 60 > target)
        )
        moments.append(Moment(milestone, at, minutes, target, late))
    rescue = (order.response_due - start).total_seconds() / 60
    on_site = found["on_site"]
    if on_site is not None:
        arrival_late = on_site > order.response_due
    else:  # not there yet: late once the clock has run out, unless it was called off
        arrival_late = not called_off and now > order.response_due
    return Entrapment(order, moments, rescue, arrival_late, by_note, plan_id)


def plan_targets(steps: list[dict[str, Any]]) -> dict[str, int | None]:
    """The target of each milestone a plan's step names. Pure."""
    return {s["milestone"]: s.get("target_min") for s in steps if s.get("milestone")}


def entrapments(
    session: Session, sites: set[str] | None, *, since: datetime, until: datetime, now: datetime
) -> list[Entrapment]:
    """The entrapment orders of `sites` (None: all) whose alarm came in [since, until),
    newest first, each timed against its site's entrapment plan."""
    query = (
        select(WorkOrderRow)
        .where(
            WorkOrderRow.fault_code.like(ENTRAPMENT + "%"),
            WorkOrderRow.created_at >= since,
            WorkOrderRow.created_at < until,
        )
        .order_by(WorkOrderRow.created_at.desc())
        .limit(500)
    )
    if sites is not None:
        query = query.where(WorkOrderRow.site.in_(sorted(sites)))
    return [time_order(session, order, now) for order in session.scalars(query)]


def time_order(session: Session, order: WorkOrderRow, now: datetime) -> Entrapment:
    """One entrapment order timed against its site's entrapment plan."""
    events = list(
        session.scalars(
            select(WorkOrderEventRow)
            .where(WorkOrderEventRow.work_order_id == order.id)
            .order_by(WorkOrderEventRow.at, WorkOrderEventRow.id)
        )
    )
    plan = plan_of(session, order.site, "entrapment")
    targets = plan_targets(plan.steps) if plan is not None else {}
    return timed(order, events, targets, now, plan.id if plan is not None else None)


def record_release(
    session: Session, order_id: int, when: datetime, *, at: datetime, actor: str
) -> WorkOrderRow:
    """Record on an open entrapment order that the passengers were released at `when`
    (NotAnEntrapment; InvalidRecord `released_at` before the alarm or in the future; the
    caller commits)."""
    order = session.get(WorkOrderRow, order_id, with_for_update=True)
    if order is None or not is_entrapment(order):
        raise NotAnEntrapment(order_id, "not_one")
    if order.status in TERMINAL_STATUSES:
        raise NotAnEntrapment(order_id, "closed")
    taken = select(WorkOrderEventRow.id).where(
        WorkOrderEventRow.work_order_id == order_id, WorkOrderEventRow.kind == RELEASED
    )
    if session.scalar(taken) is not None:
        raise NotAnEntrapment(order_id, "already_released")
    if not alarm_time(order) <= when <= at:
        raise InvalidRecord("released_at", Message("error.entrapment.release_time"))
    note = OrderMessage("note.released")
    add_note(session, order, actor=actor, at=when, kind=RELEASED, message=note)
    return order
