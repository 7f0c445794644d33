"""Maintenance KPIs of one site and month. Pure: plain rows in, figures out.

Definitions (period = the calendar month in UTC, `as_of` = the earlier of now and its end):

* availability (设备完好率) = 1 − downtime / (units × hours in the period). Downtime of a
  reactive order runs from its creation for its recorded `downtime_h`, or, without one, until
  it was resolved (still running at `as_of` when unresolved); clipped to the period.
* failures = reactive orders created in the period; MTBF = (unit hours − downtime) / failures.
* MTTR = mean hours from creation to resolution of reactive orders resolved in the period.
* emergency timeliness (急修及时率): P1–P2 reactive orders whose response fell due in the
  period, on time when someone was on site (`in_progress`) by the response due time; orders
  not yet due at `as_of` are left out.
* minor-repair timeliness (零修及时率): P3–P4 reactive orders and owners' requests whose
  resolution fell due in the period, on time when resolved by then.
* first-time fix: reactive orders resolved in the period with no new reactive order of the same
  equipment and fault family within `repeat_days` after the resolution.
* follow-up rate (回访率): reactive orders and requests resolved in the period that were verified.
* PM compliance: preventive orders whose resolution fell due in the period, done by then.
* backlog: orders open (not resolved, closed or cancelled) at `as_of`.
* cost: labour and parts booked in the period, against the month's budget.

A rate is None when nothing was there to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month, UTC."""

    year: int
    month: int

    @property
    def start(self) -> datetime:
        """First instant of the month."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """First instant of the next month."""
        if self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, self.month + 1, 1, tzinfo=UTC)

    @property
    def label(self) -> str:
        """`YYYY-MM`."""
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Period:
        """The month before."""
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def contains(self, when: datetime | None) -> bool:
        """True when `when` lies in the month."""
        return when is not None and self.start <= when < self.end


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the KPIs need of one work order."""

    id: int
    equipment: str
    kind: str
    priority: int
    status: str
    created_at: datetime
    response_due: datetime
    resolution_due: datetime
    family: str | None = None
    responded_at: datetime | None = None  # first move to in_progress
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    verified: bool = False
    downtime_h: float | None = None


@dataclass(frozen=True, slots=True)
class SiteKpis:
    """One site's figures for one month."""

    site: str
    month: str
    units: int
    failures: int
    downtime_h: float
    availability: float | None
    mtbf_h: float | None
    mttr_h: float | None
    emergency_timeliness: float | None
    minor_timeliness: float | None
    first_time_fix: float | None
    follow_up_rate: float | None
    pm_compliance: float | None
    backlog: int
    cost: float
    budget: float | None
    cost_vs_budget: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly, rates rounded to 4 places."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def downtime_hours(order: OrderFacts, period: Period, as_of: datetime) -> float:
    """Hours of the period the order's equipment was down (reactive orders only)."""
    if order.kind != "reactive" or order.status == "cancelled":
        return 0.0
    if order.downtime_h is not None:
        end = order.created_at + order.downtime_h * HOUR
    else:
        end = order.resolved_at or as_of
    start, stop = max(order.created_at, period.start), min(end, period.end, as_of)
    return max((stop - start) / HOUR, 0.0)


def _on_time(done: datetime | None, due: datetime) -> bool:
    return done is not None and done <= due


def _timeliness(
    orders: Sequence[OrderFacts], period: Period, as_of: datetime
) -> tuple[float | None, float | None]:
    urgent = [
        o
        for o in orders
        if o.kind == "reactive" and o.priority <= 2 and period.contains(o.response_due)
    ]
    urgent = [
        o for o in urgent if o.response_due <= as_of or _on_time(o.responded_at, o.response_due)
    ]
    minor = [
        o
        for o in orders
        if o.kind in {"reactive", "request"}
        and o.priority >= 3
        and period.contains(o.resolution_due)
    ]
    minor = [
        o for o in minor if o.resolution_due <= as_of or _on_time(o.resolved_at, o.resolution_due)
    ]
    return (
        _rate(sum(_on_time(o.responded_at, o.response_due) for o in urgent), len(urgent)),
        _rate(sum(_on_time(o.resolved_at, o.resolution_due) for o in minor), len(minor)),
    )


def _repeated(order: OrderFacts, orders: Sequence[OrderFacts], repeat: timedelta) -> bool:
    assert order.resolved_at is not None
    return any(
        other.id != order.id
        and other.kind == "reactive"
        and other.equipment == order.equipment
        and other.family == order.family
        and order.resolved_at < other.created_at <= order.resolved_at + repeat
        for other in orders
    )


def site_kpis(
    site: str,
    period: Period,
    orders: Sequence[OrderFacts],
    *,
    units: int,
    costs: Sequence[tuple[datetime, float]],
    budget: float | None,
    as_of: datetime,
    repeat_days: int = 7,
) -> SiteKpis:
    """The month's KPIs from the site's orders, its unit count, booked costs and budget."""
    as_of = min(as_of, period.end)
    live = [o for o in orders if o.status != "cancelled"]
    downtime = sum(downtime_hours(o, period, as_of) for o in live)
    unit_hours = units * (min(period.end, as_of) - period.start) / HOUR
    failures = [o for o in live if o.kind == "reactive" and period.contains(o.created_at)]
    repaired = [o for o in live if o.kind == "reactive" and period.contains(o.resolved_at)]
    served = [
        o for o in live if o.kind in {"reactive", "request"} and period.contains(o.resolved_at)
    ]
    pm = [o for o in live if o.kind == "preventive" and period.contains(o.resolution_due)]
    pm = [o for o in pm if o.resolution_due <= as_of or _on_time(o.resolved_at, o.resolution_due)]
    emergency, minor = _timeliness(live, period, as_of)
    repeat = timedelta(days=repeat_days)
    cost = sum(amount for at, amount in costs if period.contains(at))
    backlog = [  # cancelled later counts: it was open then (cancelling sets closed_at)
        o
        for o in orders
        if o.created_at < as_of
        and (o.resolved_at is None or o.resolved_at >= as_of)
        and (o.closed_at is None or o.closed_at >= as_of)
    ]
    mttr = [(o.resolved_at - o.created_at) / HOUR for o in repaired if o.resolved_at]
    return SiteKpis(
        site=site,
        month=period.label,
        units=units,
        failures=len(failures),
        downtime_h=downtime,
        availability=1 - downtime / unit_hours if unit_hours > 0 else None,
        mtbf_h=(unit_hours - downtime) / len(failures) if failures else None,
        mttr_h=sum(mttr) / len(mttr) if mttr else None,
        emergency_timeliness=emergency,
        minor_timeliness=minor,
        first_time_fix=_rate(sum(not _repeated(o, live, repeat) for o in repaired), len(repaired)),
        follow_up_rate=_rate(sum(o.verified for o in served), len(served)),
        pm_compliance=_rate(sum(_on_time(o.resolved_at, o.resolution_due) for o in pm), len(pm)),
        backlog=len(backlog),
        cost=cost,
        budget=budget,
        cost_vs_budget=cost / budget if budget else None,
    )
