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
from typing import Literal, Self

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import Field, model_validator

from bldgwatch.core.config import StrictModel

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
MAX_STEPS = 10_000  # due points walked in one call: a 15-day plan covers 400 years


class CalendarPlan(StrictModel):
    """A plan due on a calendar."""

    id: str = Field(description="Plan id (unique; part of each order's idempotency key).")
    equipment_type: str = Field(description="Equipment type the plan applies to.")
    every_days: int | None = Field(None, gt=0, description="Due every N days from `anchor`.")
    cron: str | None = Field(None, description="Or a crontab line (UTC), e.g. '0 0 1 1,7 *'.")
    anchor: datetime = Field(ANCHOR, description="Start of the `every_days` rhythm (UTC).")
    title: str = Field(description="Order title; the equipment id is appended.")
    tasks: list[str] = Field(default_factory=list, description="Task list put on the order.")
    priority: int = Field(4, ge=1, le=4, description="Order priority.")

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if (self.every_days is None) == (self.cron is None):
            raise ValueError("give exactly one of every_days and cron")
        if self.cron is not None:
            CronTrigger.from_crontab(self.cron, timezone=UTC)
        if self.anchor.tzinfo is None:
            raise ValueError("anchor needs a time zone")
        return self

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger of this plan."""
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=UTC)
        assert self.every_days is not None
        return IntervalTrigger(days=self.every_days, start_date=self.anchor, timezone=UTC)


class CounterPlan(StrictModel):
    """A plan due every N units of a counter (run hours, trips, starts)."""

    id: str = Field(description="Plan id (unique; part of each order's idempotency key).")
    equipment_type: str = Field(description="Equipment type (the InfluxDB measurement).")
    field: str = Field(description="Counter field in InfluxDB, e.g. run_hours or trip_count.")
    every: float = Field(gt=0, description="Due each time the counter passes a multiple of this.")
    title: str = Field(description="Order title; the equipment id is appended.")
    tasks: list[str] = Field(default_factory=list, description="Task list put on the order.")
    priority: int = Field(4, ge=1, le=4, description="Order priority.")


def _elevator(
    plan_id: str, title: str, tasks: list[str], *, every_days: int | None = None, cron: str = ""
) -> CalendarPlan:
    return CalendarPlan(
        id=plan_id,
        equipment_type="elevator",
        every_days=every_days,
        cron=cron or None,
        title=title,
        tasks=tasks,
    )


DEFAULT_CALENDAR: list[CalendarPlan] = [
    _elevator(
        "elevator.half_monthly",
        "Elevator half-monthly maintenance",
        [
            "machine room, car top, pit: clean and check for oil and debris",
            "brake: function, wear, clearance",
            "doors: operation, safety edge/light curtain, locks",
            "car: lighting, ventilation, alarm button, intercom",
            "levelling accuracy at every floor",
        ],
        every_days=15,
    ),
    _elevator(
        "elevator.quarterly",
        "Elevator quarterly maintenance",
        [
            "traction sheave and ropes: wear, tension",
            "guide shoes and rails: wear, lubrication",
            "door hangers, tracks and gibs",
        ],
        cron="0 0 1 1,4,7,10 *",
    ),
    _elevator(
        "elevator.half_yearly",
        "Elevator half-yearly maintenance",
        [
            "governor and safety gear: function",
            "traction machine: bearing noise, oil level and leakage",
            "buffers, limit and final-limit switches",
        ],
        cron="0 0 1 1,7 *",
    ),
    _elevator(
        "elevator.yearly",
        "Elevator yearly maintenance",
        [
            "insulation resistance and earthing of the electrical installation",
            "brake: full-load stopping test",
            "safety gear and governor: trip test",
            "prepare the annual inspection",
        ],
        cron="0 0 1 1 *",
    ),
]

DEFAULT_COUNTERS: list[CounterPlan] = [
    CounterPlan(
        id="pump.run_hours",
        equipment_type="pump",
        field="run_hours",
        every=2000,
        title="Pump service by run hours",
        tasks=["bearings: lubricate, check noise and temperature", "seal: leakage", "coupling"],
    ),
    CounterPlan(
        id="elevator.trips",
        equipment_type="elevator",
        field="trip_count",
        every=100_000,
        title="Elevator service by trips",
        tasks=["door operator and contacts", "brake linings", "traction ropes"],
    ),
]


class PlanSettings(StrictModel):
    """Preventive plans of the maintenance service."""

    enabled: bool = Field(True, description="Open preventive orders on schedule.")
    calendar: list[CalendarPlan] = Field(
        default_factory=lambda: list(DEFAULT_CALENDAR),
        description="Calendar plans; default: elevator half-monthly (every 15 days), "
        "quarterly, half-yearly and yearly (TSG T5002).",
    )
    counters: list[CounterPlan] = Field(
        default_factory=lambda: list(DEFAULT_COUNTERS),
        description="Counter plans; default: pump every 2000 run hours, elevator every "
        "100000 trips.",
    )
    check_interval_s: float = Field(
        300.0, gt=0, description="How often the scheduler checks the plans, seconds."
    )
    counter_source: Literal["influxdb", "none"] = Field(
        "influxdb",
        description="Where counters are read: InfluxDB (the `influx` settings), or none.",
    )


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
