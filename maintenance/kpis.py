"""Maintenance KPIs of one site (or building) and month. Pure: plain rows in, figures out.

The period is a calendar month in the site's time zone; `as_of` is the earlier of now and its
end, and its start is the later of the month's start and the day the site came under
management (`since`): no figure counts time before the site existed. Definitions (sources and
reasoning in docs/kpis.md):

* good condition (设备完好率) = unit-days in good condition / unit-days of the period. A unit is
  in good condition on a (site-local) day when no fault of it was open at any moment of that
  day — a reactive order, or an owner's repair request of P1–P3, from its creation until its
  resolution (cancelled ones never count). The standard formula 完好设备台数 / 设备总台数,
  taken day by day and averaged over the period.
* availability (时间可用率) = 1 − downtime / unit hours. Downtime of a reactive order runs from
  its creation for its recorded `downtime_h`, or, without one, until it was resolved (still
  running at `as_of` when unresolved); clipped to the period.
* failures = reactive orders created in the period; MTBF = (unit hours − downtime) / failures.
* MTTR = mean hours from creation to resolution of reactive orders resolved in the period.
* emergency timeliness (急修及时率): P1–P2 reactive orders and repair requests whose response
  fell due in the period, on time when someone was on site (`in_progress`) by the response due
  time; orders not yet due at `as_of` are left out unless already answered.
* minor-repair timeliness (零修及时率): P3–P4 reactive orders and requests whose resolution fell
  due in the period, on time when resolved by then.
* minor-repair pass rate (零修合格率): P3–P4 reactive orders and requests resolved in the
  period that stayed fixed: not reopened (by a follow-up, or by its fault coming back within
  the incident window) and no new order of the same equipment and fault family within
  `repeat_days`.
* first-time fix: the same for reactive orders of every priority.
* follow-up rate (回访率): reactive orders and requests resolved in the period that had a
  follow-up (回访) recorded by `as_of` (the status `verified` alone does not count);
  satisfaction: follow-ups in the period whose outcome was satisfied, and their mean score
  (1–5).
* PM compliance: preventive orders whose resolution fell due in the period, done by then;
  and of their checklists' items (the plans' tasks), those ticked (`pm_item_compliance`).
  A cancelled preventive order counts as due and not done (its items ticked before still
  count as done): its due point gets no other order.
* backlog: orders open (not resolved, closed or cancelled) at `as_of`.
* cost: labour, parts and contractor charges booked in the period, per category and in all,
  against the month's budget.
* complaints (有效投诉办结率 and their clocks): `maintenance.complaintkpis`, added by
  `maintenance.kpistore` for a whole site.

A rate is None when nothing was there to count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
FAULT_KINDS = frozenset({"reactive", "request"})
Cost = tuple[datetime, float] | tuple[datetime, float, str]
"""(when, amount) or (when, amount, category); without a category a cost counts as labour."""


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month in a time zone (UTC unless given)."""

    year: int
    month: int
    tz: str = "UTC"

    def _local(self, year: int, month: int) -> datetime:
        return datetime(year, month, 1, tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    @property
    def start(self) -> datetime:
        """First instant of the month (UTC)."""
        return self._local(self.year, self.month)

    @property
    def end(self) -> datetime:
        """First instant of the next month (UTC)."""
        nxt = self.next()
        return self._local(nxt.year, nxt.month)

    @property
    def label(self) -> str:
        """`YYYY-MM`."""
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, label: str, tz: str = "UTC") -> Period:
        """The month of a `YYYY-MM` label."""
        return cls(int(label[:4]), int(label[5:7]), tz)

    @classmethod
    def of(cls, when: datetime, tz: str = "UTC") -> Period:
        """The month `when` falls in, in the time zone."""
        local = when.astimezone(ZoneInfo(tz))
        return cls(local.year, local.month, tz)

    def previous(self) -> Period:
        """The month before."""
        if self.month == 1:
            return Period(self.year - 1, 12, self.tz)
        return Period(self.year, self.month - 1, self.tz)

    def next(self) -> Period:
        """The month after."""
        if self.month == 12:
            return Period(self.year + 1, 1, self.tz)
        return Period(self.year, self.month + 1, self.tz)

    def contains(self, when: datetime | None) -> bool:
        """True when `when` lies in the month."""
        return when is not None and self.start <= when < self.end

    def day_of(self, when: datetime) -> date:
        """The local date of an instant."""
        return when.astimezone(ZoneInfo(self.tz)).date()

    def day_start(self, day: date) -> datetime:
        """The first instant (UTC) of a local date."""
        zone = ZoneInfo(self.tz)
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


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
    followed_up: datetime | None = None  # first follow-up (回访), any outcome
    reopened: bool = False  # sent back to work after its resolution (回访, or the fault came back)
    checks_due: int = 0  # items of a preventive order's checklist (its plan's tasks)
    checks_done: int = 0  # of which ticked


@dataclass(frozen=True, slots=True)
class FollowUpFacts:
    """One follow-up: when, its outcome and score."""

    at: datetime
    outcome: str
    satisfaction: int | None = None


@dataclass(frozen=True, slots=True)
class SiteKpis:
    """One site's (or building's) figures for one month."""

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
    good_condition: float | None = None
    minor_pass_rate: float | None = None
    satisfaction: float | None = None
    satisfaction_score: float | None = None
    cost_by_category: dict[str, float] = field(default_factory=dict)
    budget_by_category: dict[str, float] | None = None
    building: str | None = None
    # Complaints (maintenance.complaintkpis); site-wide only, None for a building.
    complaints: int | None = None
    valid_complaints: int | None = None
    complaint_resolution_rate: float | None = None
    complaint_response_on_time: float | None = None
    complaint_resolution_on_time: float | None = None
    # The items of the PM orders' checklists ticked (not only the orders closed in time).
    pm_item_compliance: float | None = None
    pm_items_due: int = 0
    pm_items_done: int = 0
    # Inspection rounds' due points of the month (maintenance.rounds); site-wide only.
    rounds_late: int | None = None
    rounds_missed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly, rates rounded to 4 places."""
        return {k: _rounded(v) for k, v in asdict(self).items()}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _downtime(order: OrderFacts, start: datetime, stop: datetime) -> float:
    if order.kind != "reactive" or order.status == "cancelled":
        return 0.0
    if order.downtime_h is not None:
        end = order.created_at + order.downtime_h * HOUR
    else:
        end = order.resolved_at or stop
    lo, hi = max(order.created_at, start), min(end, stop)
    return max((hi - lo) / HOUR, 0.0)


def _pm_done(order: OrderFacts) -> bool:
    """Whether a preventive order was done by its due time (a cancelled one never was)."""
    return order.status != "cancelled" and _on_time(order.resolved_at, order.resolution_due)


def _on_time(done: datetime | None, due: datetime) -> bool:
    return done is not None and done <= due


def _timeliness(
    orders: Sequence[OrderFacts], period: Period, as_of: datetime
) -> tuple[float | None, float | None]:
    urgent = [
        o
        for o in orders
        if o.kind in FAULT_KINDS and o.priority <= 2 and period.contains(o.response_due)
    ]
    urgent = [
        o for o in urgent if o.response_due <= as_of or _on_time(o.responded_at, o.response_due)
    ]
    minor = [
        o
        for o in orders
        if o.kind in FAULT_KINDS and o.priority >= 3 and period.contains(o.resolution_due)
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
        and other.kind in FAULT_KINDS
        and other.equipment == order.equipment
        and other.family == order.family
        and order.resolved_at < other.created_at <= order.resolved_at + repeat
        for other in orders
    )


def _stayed_fixed(order: OrderFacts, orders: Sequence[OrderFacts], repeat: timedelta) -> bool:
    return not order.reopened and not _repeated(order, orders, repeat)


def is_defect(order: OrderFacts) -> bool:
    """A fault that takes a unit out of good condition while open: a reactive order, or a
    repair request of P1–P3 (a P4 request is a low-priority nuisance that leaves the
    equipment working); cancelled orders never."""
    if order.status == "cancelled":
        return False
    return order.kind == "reactive" or (order.kind == "request" and order.priority <= 3)


def good_condition(
    orders: Sequence[OrderFacts],
    fleet: Sequence[str],
    period: Period,
    start: datetime,
    stop: datetime,
) -> float | None:
    """Share of unit-days in [start, stop) (whole local days) with no fault open. Pure."""
    if stop <= start or not fleet:
        return None
    first, last = period.day_of(start), period.day_of(stop - timedelta(microseconds=1))
    days = (last - first).days + 1
    bad: dict[str, set[date]] = {unit: set() for unit in fleet}
    tick = timedelta(microseconds=1)
    for o in orders:
        if not is_defect(o) or o.equipment not in bad:
            continue
        if o.created_at >= stop or (o.resolved_at is not None and o.resolved_at < start):
            continue
        lo, hi = max(o.created_at, start), min(o.resolved_at or stop, stop)
        day = period.day_of(lo)
        end = period.day_of(hi - tick) if hi > lo else day
        while day <= end:
            bad[o.equipment].add(day)
            day += timedelta(days=1)
    total = days * len(fleet)
    return (total - sum(len(d) for d in bad.values())) / total


def _costs(costs: Sequence[Cost], period: Period) -> dict[str, float]:
    found: dict[str, float] = {}
    for cost in costs:
        at, amount = cost[0], cost[1]
        category = cost[2] if len(cost) == 3 else "labour"
        if period.contains(at):
            found[category] = found.get(category, 0.0) + amount
    return found


def _satisfaction(
    follow_ups: Sequence[FollowUpFacts], period: Period
) -> tuple[float | None, float | None]:
    mine = [f for f in follow_ups if period.contains(f.at)]
    scores = [f.satisfaction for f in mine if f.satisfaction is not None]
    return (
        _rate(sum(f.outcome == "satisfied" for f in mine), len(mine)),
        sum(scores) / len(scores) if scores else None,
    )


def site_kpis(
    site: str,
    period: Period,
    orders: Sequence[OrderFacts],
    *,
    units: int,
    costs: Sequence[Cost],
    budget: float | Mapping[str, float] | None,
    as_of: datetime,
    repeat_days: int = 7,
    since: datetime | None = None,
    fleet: Sequence[str] | None = None,
    follow_ups: Sequence[FollowUpFacts] = (),
    building: str | None = None,
) -> SiteKpis:
    """The month's KPIs from the orders, the unit count (and ids), costs, budget, follow-ups.

    `since`: when the site came under management; time before it counts nowhere.
    """
    as_of = min(as_of, period.end)
    start = max(period.start, since) if since is not None else period.start
    live = [o for o in orders if o.status != "cancelled"]
    downtime = sum(_downtime(o, start, as_of) for o in live)
    unit_hours = units * max((as_of - start) / HOUR, 0.0)
    failures = [o for o in live if o.kind == "reactive" and period.contains(o.created_at)]
    repaired = [o for o in live if o.kind == "reactive" and period.contains(o.resolved_at)]
    served = [o for o in live if o.kind in FAULT_KINDS and period.contains(o.resolved_at)]
    minor = [o for o in served if o.priority >= 3]
    # A cancelled PM order still fell due and was not done: cancelling it must not lift the
    # month's compliance (its due point is unique, so nothing replaces it; review 19c-r M11).
    pm = [o for o in orders if o.kind == "preventive" and period.contains(o.resolution_due)]
    pm = [o for o in pm if o.resolution_due <= as_of or _pm_done(o)]
    emergency, minor_on_time = _timeliness(live, period, as_of)
    repeat = timedelta(days=repeat_days)
    by_category = _costs(costs, period)
    cost = sum(by_category.values())
    budgets = budget if isinstance(budget, Mapping) or budget is None else {"all": budget}
    budget_total = sum(budgets.values()) if budgets is not None else None
    backlog = [  # cancelled later counts: it was open then (cancelling sets closed_at)
        o
        for o in orders
        if o.created_at < as_of
        and (o.resolved_at is None or o.resolved_at >= as_of)
        and (o.closed_at is None or o.closed_at >= as_of)
    ]
    mttr = [(o.resolved_at - o.created_at) / HOUR for o in repaired if o.resolved_at]
    satisfied, score = _satisfaction(follow_ups, period)
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
        minor_timeliness=minor_on_time,
        first_time_fix=_rate(sum(_stayed_fixed(o, live, repeat) for o in repaired), len(repaired)),
        follow_up_rate=_rate(
            sum(o.followed_up is not None and o.followed_up <= as_of for o in served), len(served)
        ),
        pm_compliance=_rate(sum(_pm_done(o) for o in pm), len(pm)),
        backlog=len(backlog),
        cost=cost,
        budget=budget_total,
        cost_vs_budget=cost / budget_total if budget_total else None,
        good_condition=good_condition(live, fleet, period, start, as_of) if fleet else None,
        minor_pass_rate=_rate(sum(_stayed_fixed(o, live, repeat) for o in minor), len(minor)),
        satisfaction=satisfied,
        satisfaction_score=score,
        cost_by_category=by_category,
        budget_by_category=dict(budget) if isinstance(budget, Mapping) else None,
        building=building,
        pm_item_compliance=_rate(sum(o.checks_done for o in pm), sum(o.checks_due for o in pm)),
        pm_items_due=sum(o.checks_due for o in pm),
        pm_items_done=sum(o.checks_done for o in pm),
    )
