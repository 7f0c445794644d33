"""Preventive-maintenance plans and when they fall due. Pure.

Three kinds of plan:

* calendar — an APScheduler trigger (every N days from an anchor, or a crontab line) in each
  site's time zone;
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
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bldgwatch.core.points import point_info
from bldgwatch.maintenance.config import CalendarPlan, CounterPlan
from bldgwatch.maintenance.i18n import Message

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
MONTH_ABBR = (
    "",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
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
    """How often a plan falls due, for logs (in English, each site's zone; a reader gets
    `schedule_text`)."""
    if isinstance(plan, CounterPlan):
        return f"every {plan.every:g} {plan.field}"
    if plan.every_days is not None:
        return f"every {plan.every_days} days from local midnight"
    return f"cron {plan.cron} (site's time zone)"


def schedule_rule(plan: CalendarPlan | CounterPlan) -> dict[str, Any]:
    """The plan's schedule as data (kept in `pm_plans.rule` so the console can say it in words
    and compute the next due date in each site's zone)."""
    if isinstance(plan, CounterPlan):
        return {"every": plan.every, "field": plan.field}
    rule: dict[str, Any] = {"includes": list(plan.includes)}
    if plan.every_days is not None:
        rule["every_days"] = plan.every_days
        if plan.anchor is not None:
            rule["anchor"] = plan.anchor.isoformat()
    else:
        rule["cron"] = plan.cron
    return rule


def rule_trigger(rule: Mapping[str, Any], tz: str) -> BaseTrigger | None:
    """The trigger of a stored calendar rule in zone `tz` (None for a counter or no rule)."""
    zone = ZoneInfo(tz)
    if rule.get("cron"):
        return CronTrigger.from_crontab(str(rule["cron"]), timezone=zone)
    if rule.get("every_days"):
        anchor = (
            datetime.fromisoformat(rule["anchor"])
            if rule.get("anchor")
            else ANCHOR.replace(tzinfo=zone)
        )
        return IntervalTrigger(days=int(rule["every_days"]), start_date=anchor, timezone=zone)
    return None


def next_due(
    rule: Mapping[str, Any], tz: str, *, now: datetime, last_due: datetime | None
) -> datetime | None:
    """The next due point of a calendar rule after `now` (and after the last one that opened an
    order), or None (a counter plan)."""
    trigger = rule_trigger(rule, tz)
    if trigger is None:
        return None
    after = max(now, last_due) if last_due is not None else now
    found: datetime | None = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return found


def _months(months: list[int], lang: str) -> str:
    if lang == "en":
        return ", ".join(MONTH_ABBR[m] for m in months)
    return "、".join(str(m) for m in months)


def schedule_message(
    rule: Mapping[str, Any], tz: str, lang: str, *, equipment_type: str = ""
) -> Message:
    """How often a plan falls due, in words, in the site's zone (review 19c-r M5): e.g.
    每半月（每 15 天，Asia/Shanghai 0:00）, 每年 1、7 月 1 日 00:00（Asia/Shanghai）."""
    if "every" in rule:
        info = point_info(equipment_type, str(rule.get("field", "")))
        what = info.label_in(lang, str(rule["field"])) if info else str(rule.get("field", ""))
        unit = f" {info.unit}" if info and info.unit else ""
        return Message("pm.schedule.counter", {"every": f"{rule['every']:g}{unit}", "what": what})
    if rule.get("every_days"):
        days = int(rule["every_days"])
        key = "pm.schedule.half_monthly" if days == 15 else "pm.schedule.every_days"
        return Message(key, {"days": days, "zone": tz})
    cron = str(rule.get("cron") or "")
    fields = cron.split()
    if len(fields) == 5 and fields[4] == "*" and all(re.fullmatch(r"\d+", f) for f in fields[:3]):
        minute, hour, day, month = int(fields[0]), int(fields[1]), int(fields[2]), fields[3]
        at = f"{hour:02d}:{minute:02d}"
        if month == "*":
            return Message("pm.schedule.monthly", {"day": day, "time": at, "zone": tz})
        if re.fullmatch(r"\d+(,\d+)*", month) and all(1 <= int(m) <= 12 for m in month.split(",")):
            months = _months([int(m) for m in month.split(",")], lang)
            return Message(
                "pm.schedule.yearly", {"months": months, "day": day, "time": at, "zone": tz}
            )
    return Message("pm.schedule.cron", {"cron": cron, "zone": tz})
