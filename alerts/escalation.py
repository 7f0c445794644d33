"""Escalation (pure): which policies take an alarm, the notices a policy's steps and repeats
call for over time, and what is due at a moment.

A policy's steps are levels: level L starts `steps[L].after_min` after the alarm and notifies
that step's targets; while no one acknowledges, every `repeat_every_min` the notice repeats
to everyone reached so far (levels 0 … L), until the next level starts (the last level
repeats up to `max_repeats` times). The occurrences of an escalation are therefore a fixed
list once its policy and start are known; the store keeps how many have been issued.

When the service was away or quiet hours held notices back, what became due meanwhile is
collapsed: each level that started is still announced to its new targets, and of the
repeats only the latest is sent — nobody gets a burst of stale reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from bldgwatch.alerts.documents import Policy, QuietHours


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    """What a notice tells of an alarm (from its activation event)."""

    alarm_id: str
    site: str
    building: str
    equipment: str
    equipment_type: str
    rule: str
    fault_code: str
    family: str
    severity: str
    priority: int
    message: str
    value: float | None
    raised_at: datetime


def _listed(values: list[str], value: str, *, globs: bool = False) -> bool:
    if not values:
        return True
    if globs:
        return any(fnmatchcase(value, pattern) for pattern in values)
    return value in values


def policy_applies(policy: Policy, alarm: AlarmFacts, zone: ZoneInfo) -> bool:
    """True when an enabled policy matches the alarm and its hours cover the alarm's time."""
    m = policy.match
    matched = (
        policy.enabled
        and (not m.priorities or alarm.priority in m.priorities)
        and _listed(m.equipment_types, alarm.equipment_type)
        and _listed(m.buildings, alarm.building)
        and _listed(m.rules, alarm.rule, globs=True)
        and _listed(m.fault_codes, alarm.fault_code, globs=True)
    )
    if not matched:
        return False
    local = alarm.raised_at.astimezone(zone)
    return not policy.hours or any(w.covers(local) for w in policy.hours)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One notice of an escalation: level, repeat number (0 = the level's start), when, whom."""

    level: int
    repeat: int
    due: datetime
    targets: tuple[str, ...]

    @property
    def key(self) -> str:
        """Unique within its escalation round, e.g. `1.0` (level 1 starts), `0.3`."""
        return f"{self.level}.{self.repeat}"


def occurrences(policy: Policy, start: datetime) -> list[Occurrence]:
    """Every notice the policy calls for if nobody ever acknowledges, in order of time."""
    starts = [start + timedelta(minutes=s.after_min) for s in policy.steps]
    out: list[Occurrence] = []
    reached: list[str] = []
    for level, step in enumerate(policy.steps):
        out.append(Occurrence(level, 0, starts[level], tuple(step.notify)))
        reached += [t for t in step.notify if t not in reached]
        if policy.repeat_every_min is None:
            continue
        every = timedelta(minutes=policy.repeat_every_min)
        until = starts[level + 1] if level + 1 < len(starts) else None
        for k in range(1, policy.max_repeats + 1):
            due = starts[level] + k * every
            if until is not None and due >= until:
                break
            out.append(Occurrence(level, k, due, tuple(reached)))
    out.sort(key=lambda o: (o.due, o.level, o.repeat))
    return out


def quiet_until(
    quiet: QuietHours | None, priority: int, now: datetime, zone: ZoneInfo
) -> datetime | None:
    """The end of the quiet hours holding an alarm of `priority` back at `now`, or None."""
    if quiet is None or priority not in quiet.priorities:
        return None
    local = now.astimezone(zone)
    if not quiet.covers(local):
        return None
    day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        day += timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to issue now, how far the escalation has got, and when to look again."""

    issue: list[Occurrence]
    issued: int
    next_at: datetime | None


def plan(
    policy: Policy,
    *,
    start: datetime,
    issued: int,
    now: datetime,
    priority: int,
    zone: ZoneInfo,
) -> Plan:
    """The notices due at `now` after the first `issued` occurrences (collapsed, see above)."""
    every = occurrences(policy, start)
    due = [o for o in every[issued:] if o.due <= now]
    held = quiet_until(policy.quiet_hours, priority, now, zone)
    if due and held is not None:
        return Plan(issue=[], issued=issued, next_at=held)
    issue = [o for o in due if o.repeat == 0]
    repeats = [o for o in due if o.repeat != 0]
    if repeats:
        issue.append(repeats[-1])
        issue.sort(key=lambda o: (o.due, o.level, o.repeat))
    done = issued + len(due)
    next_at = every[done].due if done < len(every) else None
    return Plan(issue=issue, issued=done, next_at=next_at)
