"""Preventive-maintenance plans and when they fall due. Pure.

Three kinds of plan:

* calendar — an APScheduler trigger (every N days from an anchor, or a crontab line, UTC);
  elevators default to the TSG T5002 half-monthly, quarterly, half-yearly and yearly items;
* counter — every N units of a counter read from InfluxDB (pump run hours, elevator trips);
* condition — an alarm whose `maintenance` is `planned` (handled in `maintenance.incidents`).

Due points are computed from the plan's trigger with `get_next_fire_time`, which is pure, so a
test drives a year through `calendar_due` without sleeping. Missed due points collapse into
one (coalesce): a plan that was due twice while the service was down opens one order, for the
latest due point.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from bldgwatch.maintenance.config import CalendarPlan, CounterPlan

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
MAX_STEPS = 10_000  # due points walked in one call: a 15-day plan covers 400 years


def fire_times(trigger: BaseTrigger, after: datetime, until: datetime) -> list[datetime]:
    """The trigger's due points in (after, until], oldest first."""
    points: list[datetime] = []
    previous: datetime | None = None
    now = after
    for _ in range(MAX_STEPS):
        nxt = trigger.get_next_fire_time(previous, now)
        if nxt is None or nxt > until:
            return points
        if nxt > after:
            points.append(nxt)
        previous, now = nxt, nxt + timedelta(microseconds=1)
    return points


def calendar_due(trigger: BaseTrigger, last_due: datetime, now: datetime) -> datetime | None:
    """The latest due point after `last_due` up to `now`; missed earlier ones coalesce into it."""
    points = fire_times(trigger, last_due, now)
    return points[-1] if points else None


def counter_step(value: float, every: float) -> int:
    """Which multiple of `every` the counter has passed (0 before the first)."""
    return max(math.floor(value / every + 1e-9), 0)


def counter_due(value: float, every: float, last_step: int | None) -> int | None:
    """The step a counter plan falls due at, or None; the first reading only sets the baseline.

    A counter that jumped several steps (service down, counter reset upwards) opens one order.
    A counter going backwards (meter replaced) re-baselines without an order.
    """
    step = counter_step(value, every)
    if last_step is None or step <= last_step:
        return None
    return step


def pm_key(plan_id: str, site: str, equipment: str, due: datetime | int) -> str:
    """The idempotency key of one preventive order: plan, equipment and due point."""
    point = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if isinstance(due, datetime) else due
    return f"{plan_id}/{site}/{equipment}/{point}"[:200]


def describe_schedule(plan: CalendarPlan | CounterPlan) -> str:
    """How often a plan falls due, in words."""
    if isinstance(plan, CounterPlan):
        return f"every {plan.every:g} {plan.field}"
    if plan.every_days is not None:
        return f"every {plan.every_days} days"
    return f"cron {plan.cron} (UTC)"
