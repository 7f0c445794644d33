"""The contractors' scorecard (维保单位考核): per contractor, site and month (site time), how
the orders dispatched to it kept the contract's clocks, how often its repairs failed again,
and what they cost.

For the orders dispatched in the month (`dispatched_at` in the site's month):

* on-time response: the order was started (first move to in_progress after the dispatch)
  no later than its response due time; judged once it was started or its due time passed;
* on-time resolution: resolved (first move to resolved after the dispatch) no later than its
  resolution due time; judged likewise;
* repeat failures: of its orders resolved, those whose equipment failed again within
  `REPEAT_DAYS` of the resolution — the order itself reopened (resolved → assigned or open),
  or a new reactive order or repair request on the same equipment;
* cost: the orders' cost (labour, parts and contractor charges booked on them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.contractormodels import ContractorRow
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.models import (
    WorkOrderEventRow,
    WorkOrderKind,
    WorkOrderRow,
    WorkOrderStatus,
)

REPEAT_DAYS = 30
"""A failure of the same equipment this soon after a resolution counts against it."""
_NEW_FAILURES = (WorkOrderKind.REACTIVE.value, WorkOrderKind.REQUEST.value)


@dataclass
class Scorecard:
    """One contractor's figures for one site and month."""

    contractor: str
    name: str = ""
    """The company's name (its id where the company was removed)."""
    dispatched: int = 0
    preventive: int = 0
    """Of them preventive (e.g. the elevator company's TSG T5002 maintenance)."""
    response_judged: int = 0
    response_on_time: int = 0
    resolution_judged: int = 0
    resolution_on_time: int = 0
    resolved: int = 0
    repeat_failures: int = 0
    cost: float = 0.0
    orders: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The figures with their rates (None where nothing was judged yet)."""
        return {
            "contractor": self.contractor,
            "name": self.name or self.contractor,
            "dispatched": self.dispatched,
            "preventive": self.preventive,
            "response_on_time_rate": _rate(self.response_on_time, self.response_judged),
            "resolution_on_time_rate": _rate(self.resolution_on_time, self.resolution_judged),
            "resolved": self.resolved,
            "repeat_failures": self.repeat_failures,
            "cost": round(self.cost, 2),
            "orders": self.orders,
        }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _first_move(events: list[WorkOrderEventRow], to: str, after: datetime) -> datetime | None:
    times = [e.at for e in events if e.to_status == to and e.from_status != to and e.at >= after]
    return min(times, default=None)


def _judge(
    card: Scorecard, order: WorkOrderRow, events: list[WorkOrderEventRow], now: datetime
) -> None:
    start = order.dispatched_at or order.created_at
    started = _first_move(events, WorkOrderStatus.IN_PROGRESS.value, start)
    if started is not None or order.response_due <= now:
        card.response_judged += 1
        card.response_on_time += started is not None and started <= order.response_due
    resolved = _first_move(events, WorkOrderStatus.RESOLVED.value, start)
    if resolved is not None or order.resolution_due <= now:
        card.resolution_judged += 1
        card.resolution_on_time += resolved is not None and resolved <= order.resolution_due
    if resolved is not None:
        card.resolved += 1


def _failed_again(session: Session, order: WorkOrderRow, events: list[WorkOrderEventRow]) -> bool:
    start = order.dispatched_at or order.created_at
    resolved = _first_move(events, WorkOrderStatus.RESOLVED.value, start)
    if resolved is None:
        return False
    until = resolved + timedelta(days=REPEAT_DAYS)
    reopened = any(
        e.from_status == WorkOrderStatus.RESOLVED.value
        and e.to_status in (WorkOrderStatus.ASSIGNED.value, WorkOrderStatus.OPEN.value)
        and resolved <= e.at <= until
        for e in events
    )
    if reopened:
        return True
    again = session.scalar(
        select(WorkOrderRow.id).where(
            WorkOrderRow.site == order.site,
            WorkOrderRow.equipment == order.equipment,
            WorkOrderRow.kind.in_(_NEW_FAILURES),
            WorkOrderRow.id != order.id,
            WorkOrderRow.created_at > resolved,
            WorkOrderRow.created_at <= until,
        )
    )
    return again is not None


def scorecards(
    session: Session, site: str, period: Period, now: datetime, *, contractor: str | None = None
) -> list[Scorecard]:
    """Each contractor's scorecard at `site` for `period` (only `contractor`'s when given),
    by contractor id."""
    stmt = select(WorkOrderRow).where(
        WorkOrderRow.site == site,
        WorkOrderRow.contractor.is_not(None),
        WorkOrderRow.dispatched_at >= period.start,
        WorkOrderRow.dispatched_at < period.end,
    )
    if contractor is not None:
        stmt = stmt.where(WorkOrderRow.contractor == contractor)
    orders = list(session.scalars(stmt.order_by(WorkOrderRow.id)))
    timeline: dict[int, list[WorkOrderEventRow]] = defaultdict(list)
    if orders:
        rows = session.scalars(
            select(WorkOrderEventRow).where(
                WorkOrderEventRow.work_order_id.in_([o.id for o in orders])
            )
        )
        for row in rows:
            timeline[row.work_order_id].append(row)
    cards: dict[str, Scorecard] = {}
    for order in orders:
        card = cards.setdefault(str(order.contractor), Scorecard(str(order.contractor)))
        card.dispatched += 1
        card.preventive += order.kind == WorkOrderKind.PREVENTIVE.value
        card.orders.append(order.id)
        card.cost += order.cost or 0.0
        _judge(card, order, timeline[order.id], now)
        card.repeat_failures += _failed_again(session, order, timeline[order.id])
    for company in session.scalars(select(ContractorRow).where(ContractorRow.id.in_(cards))):
        cards[company.id].name = company.name
    return [cards[c] for c in sorted(cards)]
