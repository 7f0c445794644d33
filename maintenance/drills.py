"""Drills (演练) of emergency plans: the one writer of the drill table, and their clocks.

A drill is scheduled for a time (stored UTC, entered and shown in the site's time zone),
may be moved or cancelled while scheduled, and is recorded when held: who took part, when
each step of the plan was reached, findings and follow-up actions. Step times may also be
set one by one while the drill runs (the "now" buttons of the people on the spot). The
drill keeps the plan's steps as rehearsed (the version is noted), so later edits of the plan
do not change its timings. `timings` compares each step's time after the first with its
target; `overdue` flags a scheduled drill past its day and its course, `next_due` a plan not
drilled within its kind's interval (`DrillSettings`).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.maintenance.config import DrillSettings
from bldgwatch.maintenance.emergencymodels import (
    DrillCorrectionRow,
    DrillRow,
    DrillStatus,
    EmergencyPlanRow,
)
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.models import SiteRow

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No drill was held before this."""
MAX_AHEAD = timedelta(days=3 * 366)
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock a step's time may be (a phone's clock runs fast)."""
"""Drills are scheduled at most this far ahead."""


class DrillNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No drill with that id (HTTP 404)."""

    def __init__(self, drill_id: int) -> None:
        super().__init__(Message("error.drill.unknown", {"id": str(drill_id)}))


class DrillClosed(MaintenanceError):  # noqa: N818
    """The drill is no longer scheduled (recorded or cancelled; HTTP 409)."""

    def __init__(self, drill_id: int, status: str) -> None:
        named = Message(f"maintenance.drill_status.{status}").to_json(default=status)
        super().__init__(Message("error.drill.closed", {"id": str(drill_id), "status": named}))


class DrillTwice(MaintenanceError):  # noqa: N818
    """The plan has a drill scheduled at that time already (HTTP 409): a double tap or a
    replayed request schedules one drill (review 19c-d M10)."""

    def __init__(self, drill_id: int) -> None:
        super().__init__(Message("error.drill.twice", {"id": str(drill_id)}))


class StepTimed(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The step was timed already (HTTP 409): a second phone or a retried tap does not move
    it; a re-time says why (review 19d-d M2)."""

    def __init__(self, drill_id: int, step: int, at: str, by: str) -> None:
        params = {"id": str(drill_id), "step": str(step), "at": at, "by": by or "—"}
        super().__init__(Message("error.drill.step_timed", params))


@dataclass(frozen=True, slots=True)
class StepTiming:
    """One step of a drill or an entrapment: when it was reached, minutes after the start,
    its target, and whether it came later than the target."""

    text: str
    target_min: int | None
    at: datetime | None
    minutes: float | None
    over: bool


@dataclass(frozen=True, slots=True)
class DrillRecord:
    """What a held drill records; `step_times` align with the plan's steps (None: skipped)."""

    participants: Sequence[str]
    step_times: Sequence[datetime | None]
    findings: str
    actions: Sequence[str]
    cleared: Sequence[int] = ()
    """Steps (numbered from 1) whose time set before is wrong and cleared (review 19d L7)."""
    reason: str | None = None
    """Why steps timed before (live) are moved or cleared; needed when any is (19e M4)."""


def timings(steps: Sequence[dict[str, Any]]) -> list[StepTiming]:
    """Each step's minutes after the first step (the targets count from it: none without its
    time, review 19d M1), and whether it is over its target. `steps`: `{text, target_min,
    at}` with `at` ISO text or None. Pure."""
    times = [datetime.fromisoformat(s["at"]) if s.get("at") else None for s in steps]
    start = times[0] if times else None
    out = []
    for step, at in zip(steps, times, strict=True):
        minutes = None if at is None or start is None else (at - start).total_seconds() / 60
        if minutes is not None:  # a step timed in step 1's minute, seconds before it
            minutes = max(minutes, 0.0)
        target = step.get("target_min")
        over = minutes is not None and target is not None and minutes > target
        out.append(StepTiming(step["text"], target, at, minutes, over))
    return out


def grace_end(row: DrillRow, zone: ZoneInfo, steps: list[dict[str, Any]]) -> datetime:
    """Until when a scheduled drill may still be held and recorded: the end of its scheduled
    day on the site's calendar, or, when later, its time plus the longest step target of
    `steps` (its plan's: a drill held late in the day runs its course). Pure."""
    local = row.scheduled_at.astimezone(zone)
    next_day = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone)
    longest = max((s.get("target_min") or 0 for s in steps), default=0)
    return max(next_day.astimezone(UTC), row.scheduled_at + timedelta(minutes=longest))


def overdue(
    row: DrillRow, now: datetime, zone: ZoneInfo, steps: list[dict[str, Any]] | None = None
) -> bool:
    """Whether a scheduled drill is past its grace (`grace_end`) without being recorded; a
    drill being held (started, not yet recorded) is not overdue within it (review 19d M8).
    `steps`: the plan's, when the drill has not copied them yet. Pure."""
    if row.status != DrillStatus.SCHEDULED:
        return False
    return now >= grace_end(row, zone, row.steps or steps or [])


def add_months(at: datetime, months: int, zone: ZoneInfo) -> datetime:
    """`at` moved by whole calendar months on the site's calendar (the day clipped to the
    month's last), back in UTC. Pure."""
    local = at.astimezone(zone)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def next_due(
    kind: str, last_held: datetime | None, settings: DrillSettings, zone: ZoneInfo
) -> datetime | None:
    """When the plan's next drill falls due: its kind's interval after the last one held;
    None when the kind has no interval. A plan never drilled is due at once (`EARLIEST`)."""
    months = settings.interval_months.get(kind)
    if months is None:
        return None
    return EARLIEST if last_held is None else add_months(last_held, months, zone)


def interval_overdue(due: datetime | None, now: datetime, zone: ZoneInfo) -> bool:
    """Whether a plan's next drill, due on `due`'s day on the site's calendar, is overdue:
    from the day after (the page says "due by" that day; review 19b-d L6). Pure."""
    return due is not None and now.astimezone(zone).date() > due.astimezone(zone).date()


def last_held(session: Session, plan_ids: Sequence[int]) -> dict[int, datetime]:
    """When each plan's latest recorded drill was held (its first step's time, not when it
    was scheduled: a drill that slipped counts from when it took place, review 19c-d H1)."""
    query = (
        select(DrillRow.plan_id, func.max(DrillRow.held_at))
        .where(DrillRow.plan_id.in_(list(plan_ids)), DrillRow.status == DrillStatus.RECORDED)
        .group_by(DrillRow.plan_id)
    )
    return {row[0]: row[1] for row in session.execute(query) if row[1] is not None}


def zone_of_site(session: Session, site: str) -> ZoneInfo:
    row = session.get(SiteRow, site)
    return ZoneInfo(row.timezone if row is not None else "Asia/Shanghai")


def on_site_clock(at: datetime | str, zone: ZoneInfo) -> str:
    """A time on the site's clock with its zone, as refusals give it (review 19e L2)."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _check_time(field: str, at: datetime, now: datetime, zone: ZoneInfo) -> None:
    if at.tzinfo is None:
        raise ValueError("drill times need a timezone")
    if not EARLIEST <= at <= now + MAX_AHEAD:
        raise InvalidRecord(field, Message("error.drill.time", {"at": on_site_clock(at, zone)}))


def _check_held(field: str, at: datetime, now: datetime, zone: ZoneInfo) -> None:
    """A step's time has happened: from 2000 up to now (and the clock skew), never ahead."""
    if at.tzinfo is None:
        raise ValueError("drill times need a timezone")
    if not EARLIEST <= at <= now + CLOCK_SKEW:
        params = {"at": on_site_clock(at, zone), "now": on_site_clock(now, zone)}
        raise InvalidRecord(field, Message("error.drill.held_time", params))


def _check_in_drill(field: str, number: int, at: datetime, row: DrillRow, zone: ZoneInfo) -> None:
    """A step's time lies in the drill: not before its scheduled time (less the clock skew;
    a drill held earlier is moved first), so a mistyped day or year is refused (review 19c-d
    M1). A drill that slipped and is held late has its steps then (H1)."""
    if at < row.scheduled_at - CLOCK_SKEW:
        params = {
            "step": str(number),
            "at": on_site_clock(at, zone),
            "scheduled": on_site_clock(row.scheduled_at, zone),
        }
        raise InvalidRecord(field, Message("error.drill.before_drill", params))


def schedule(
    session: Session, plan: EmergencyPlanRow, when: datetime, *, at: datetime, actor: str
) -> DrillRow:
    """A drill of `plan` scheduled for `when` (InvalidRecord `scheduled_at` when out of
    range, `plan_id` when the plan is retired; the caller commits)."""
    if plan.retired_at is not None:
        retired = Message("error.emergency.plan_retired", {"id": str(plan.id)})
        raise InvalidRecord("plan_id", retired)
    _check_time("scheduled_at", when, at, zone_of_site(session, plan.site))
    # the plan's row held to the commit: two schedules of one plan take turns
    session.execute(
        select(EmergencyPlanRow.id).where(EmergencyPlanRow.id == plan.id).with_for_update()
    )
    twin = session.scalar(
        select(DrillRow.id).where(
            DrillRow.plan_id == plan.id,
            DrillRow.scheduled_at == when,
            DrillRow.status == DrillStatus.SCHEDULED,
        )
    )
    if twin is not None:
        raise DrillTwice(twin)
    row = DrillRow(
        plan_id=plan.id,
        site=plan.site,
        kind=plan.kind,
        status=DrillStatus.SCHEDULED,
        scheduled_at=when,
        steps=[],
        participants=[],
        findings="",
        actions=[],
        note="",
        created_at=at,
        created_by=actor,
        updated_at=at,
        updated_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def _open(session: Session, drill_id: int) -> DrillRow:
    row = session.get(DrillRow, drill_id, with_for_update=True)
    if row is None:
        raise DrillNotFound(drill_id)
    if row.status != DrillStatus.SCHEDULED:
        raise DrillClosed(drill_id, row.status)
    return row


def _touch(row: DrillRow, at: datetime, actor: str) -> DrillRow:
    row.updated_at, row.updated_by = at, actor
    return row


def reschedule(
    session: Session, drill_id: int, when: datetime, note: str, *, at: datetime, actor: str
) -> DrillRow:
    """Move a scheduled drill to `when`, with the reason if given (plain, visible text)."""
    if note:
        _check_reason(note)
    row = _open(session, drill_id)
    _check_time("scheduled_at", when, at, zone_of_site(session, row.site))
    row.scheduled_at, row.note = when, note
    return _touch(row, at, actor)


def cancel(session: Session, drill_id: int, note: str, *, at: datetime, actor: str) -> DrillRow:
    """Cancel a scheduled drill, with the reason (plain, visible text)."""
    _check_reason(note)
    row = _open(session, drill_id)
    row.status, row.note = DrillStatus.CANCELLED, note
    return _touch(row, at, actor)


def _check_reason(note: str, field: str = "note") -> None:
    """Why a drill was moved, cancelled, corrected or voided is said in visible text (review
    19d M3)."""
    if blank(note) or first_hidden(note, lines=True) is not None:
        raise InvalidRecord(field, Message("error.drill.text", {"text": note[:40]}))


def _rehearsed(session: Session, row: DrillRow) -> list[dict[str, Any]]:
    """The drill's steps: the plan's as they are at its first timing, kept from then on."""
    if not row.steps:
        plan = session.get(EmergencyPlanRow, row.plan_id)
        assert plan is not None  # a foreign key
        row.plan_version = plan.version
        return [{**step, "at": None} for step in plan.steps]
    return [dict(step) for step in row.steps]


def time_step(
    session: Session,
    drill_id: int,
    number: int,
    when: datetime,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
) -> DrillRow:
    """Set the time step `number` (1-based) of a running drill was reached. A step timed
    already is refused (StepTimed, naming when and by whom) unless this is a re-time with a
    reason: then the old and new time are kept in the drill's corrections (review 19d-d M2)."""
    if reason is not None:
        _check_reason(reason, field="reason")
    row = _open(session, drill_id)
    if row.scheduled_at > at + CLOCK_SKEW:  # not before the drill (review 19b-d L3)
        raise InvalidRecord("drill", Message("error.drill.not_yet", {"id": str(row.id)}))
    steps = _rehearsed(session, row)
    if not 1 <= number <= len(steps):
        raise InvalidRecord("step", Message("error.drill.step", {"step": str(number)}))
    zone = zone_of_site(session, row.site)
    _check_held("at", when, at, zone)
    _check_in_drill("at", number, when, row, zone)
    before = steps[number - 1].get("at")
    if before is not None and reason is None:
        local = on_site_clock(before, zone)
        raise StepTimed(row.id, number, local, steps[number - 1].get("by", ""))
    old_times = [s.get("at") for s in steps]
    steps[number - 1]["at"] = when.astimezone(UTC).isoformat()
    steps[number - 1]["by"] = actor
    if steps[0].get("at") is not None:  # none before step 1, the targets count from it
        _check_order(steps, zone, field="at")
    row.steps = steps
    if before is not None and reason is not None:
        changes = {"step_times": {"from": old_times, "to": [s.get("at") for s in steps]}}
        session.add(
            DrillCorrectionRow(
                drill_id=row.id, kind="retimed", at=at, actor=actor, reason=reason, changes=changes
            )
        )
        row.corrections += 1
    return _touch(row, at, actor)


def _check_texts(held: DrillRecord) -> None:
    """Names and actions are plain, visible text; findings too when given."""
    texts = [("participants", p) for p in held.participants]
    texts += [("actions", a) for a in held.actions]
    if held.findings:
        texts.append(("findings", held.findings))
    for field, value in texts:
        hidden = first_hidden(value, lines=field != "participants")
        if blank(value) or hidden is not None:
            raise InvalidRecord(field, Message("error.drill.text", {"text": value[:40]}))


def record(
    session: Session, drill_id: int, held: DrillRecord, *, at: datetime, actor: str
) -> DrillRow:
    """Record the drill as held: participants, step times (one per step of the plan; None
    keeps a time set before, unless its step is in `cleared`), findings and actions."""
    _check_texts(held)
    row = _open(session, drill_id)
    if row.scheduled_at > at + CLOCK_SKEW:  # held early: move it to when it was held first
        raise InvalidRecord("drill", Message("error.drill.not_yet", {"id": str(row.id)}))
    steps = _rehearsed(session, row)
    zone = zone_of_site(session, row.site)
    if len(held.step_times) != len(steps):
        params = {"given": str(len(held.step_times)), "steps": str(len(steps))}
        raise InvalidRecord("step_times", Message("error.drill.step_count", params))
    old_times = [step.get("at") for step in steps]
    for number in held.cleared:
        if not 1 <= number <= len(steps):
            raise InvalidRecord("cleared", Message("error.drill.step", {"step": str(number)}))
        steps[number - 1]["at"] = None
    for number, (step, when) in enumerate(zip(steps, held.step_times, strict=True), 1):
        if when is not None:
            _check_held("step_times", when, at, zone)
            _check_in_drill("step_times", number, when, row, zone)
            before = old_times[number - 1]
            if before is not None and _same_minute(before, when, zone):
                step["at"] = before  # the form shows the minute: the phone's second stays
            else:
                step["at"] = when.astimezone(UTC).isoformat()
    if not steps or steps[0]["at"] is None:  # the targets count from it
        raise InvalidRecord("step_times", Message("error.drill.no_times"))
    _check_order(steps, zone)
    _keep_retimes(session, row, old_times, steps, reason=held.reason, zone=zone, at=at, actor=actor)
    row.steps, row.participants = steps, list(held.participants)
    row.findings, row.actions = held.findings, list(held.actions)
    row.status, row.recorded_at = DrillStatus.RECORDED, at
    row.held_at = datetime.fromisoformat(steps[0]["at"])
    return _touch(row, at, actor)


class DrillNotRecorded(MaintenanceError):  # noqa: N818
    """Only a recorded drill is corrected or voided (HTTP 409)."""

    def __init__(self, drill_id: int, status: str) -> None:
        params = {
            "id": str(drill_id),
            "status": Message(f"maintenance.drill_status.{status}").to_json(),
        }
        super().__init__(Message("error.drill.not_recorded", params))


def _recorded(session: Session, drill_id: int) -> DrillRow:
    row = session.get(DrillRow, drill_id, with_for_update=True)
    if row is None:
        raise DrillNotFound(drill_id)
    if row.status != DrillStatus.RECORDED:
        raise DrillNotRecorded(drill_id, row.status)
    return row


def _claim(session: Session, row: DrillRow, seen: int) -> None:
    """Take the drill's record for this change: of two corrections from the same reading,
    one wins and the other is told (compare-and-set on the count of corrections)."""
    taken = session.execute(
        update(DrillRow)
        .where(DrillRow.id == row.id, DrillRow.corrections == seen)
        .values(corrections=seen + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise DrillChanged(row.id)
    session.refresh(row)


class DrillChanged(MaintenanceError):  # noqa: N818
    """The drill's record was corrected since it was read (HTTP 409)."""

    def __init__(self, drill_id: int) -> None:
        super().__init__(Message("error.drill.changed", {"id": str(drill_id)}))


def correct(
    session: Session,
    drill_id: int,
    held: DrillRecord,
    reason: str,
    *,
    seen: int,
    at: datetime,
    actor: str,
) -> DrillRow:
    """Correct a recorded drill (review 19c-d M13): participants, step times (None keeps the
    one recorded; `cleared` empties it), findings and actions, checked as when recording; the
    reason and what changed are kept (`drill_corrections`). `seen`: the number of corrections
    the editor read (409 DrillChanged when another came first)."""
    _check_reason(reason, field="reason")
    _check_texts(held)
    row = _recorded(session, drill_id)
    zone = zone_of_site(session, row.site)
    steps = [dict(step) for step in row.steps]
    if len(held.step_times) != len(steps):
        params = {"given": str(len(held.step_times)), "steps": str(len(steps))}
        raise InvalidRecord("step_times", Message("error.drill.step_count", params))
    for number in held.cleared:
        if not 1 <= number <= len(steps):
            raise InvalidRecord("cleared", Message("error.drill.step", {"step": str(number)}))
        steps[number - 1]["at"] = None
    for number, (step, when) in enumerate(zip(steps, held.step_times, strict=True), 1):
        if when is not None:
            _check_held("step_times", when, at, zone)
            _check_in_drill("step_times", number, when, row, zone)
            step["at"] = when.astimezone(UTC).isoformat()
    if not steps or steps[0]["at"] is None:
        raise InvalidRecord("step_times", Message("error.drill.no_times"))
    _check_order(steps, zone)
    before = {
        "participants": list(row.participants),
        "findings": row.findings,
        "actions": list(row.actions),
        "step_times": [s.get("at") for s in row.steps],
    }
    after = {
        "participants": list(held.participants),
        "findings": held.findings,
        "actions": list(held.actions),
        "step_times": [s.get("at") for s in steps],
    }
    changes = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    if not changes:
        raise InvalidRecord("drill", Message("error.drill.unchanged", {"id": str(row.id)}))
    _claim(session, row, seen)
    row.steps, row.participants = steps, list(held.participants)
    row.findings, row.actions = held.findings, list(held.actions)
    row.held_at = datetime.fromisoformat(steps[0]["at"])
    session.add(
        DrillCorrectionRow(
            drill_id=row.id, kind="corrected", at=at, actor=actor, reason=reason, changes=changes
        )
    )
    return _touch(row, at, actor)


def void(
    session: Session, drill_id: int, reason: str, *, seen: int, at: datetime, actor: str
) -> DrillRow:
    """Void a drill recorded by mistake (the wrong drill picked, review 19c-d M13): it stays
    in the list as voided with the reason, and counts as held nowhere (plan clock, reports)."""
    _check_reason(reason, field="reason")
    row = _recorded(session, drill_id)
    _claim(session, row, seen)
    row.status = DrillStatus.VOIDED
    changes = {"status": {"from": DrillStatus.RECORDED.value, "to": DrillStatus.VOIDED.value}}
    session.add(
        DrillCorrectionRow(
            drill_id=row.id, kind="voided", at=at, actor=actor, reason=reason, changes=changes
        )
    )
    return _touch(row, at, actor)


def corrections_of(
    session: Session, drill_ids: Sequence[int]
) -> dict[int, list[DrillCorrectionRow]]:
    """Each drill's corrections and voiding, oldest first."""
    query = select(DrillCorrectionRow).where(DrillCorrectionRow.drill_id.in_(list(drill_ids)))
    found: dict[int, list[DrillCorrectionRow]] = {i: [] for i in drill_ids}
    for row in session.scalars(query.order_by(DrillCorrectionRow.at, DrillCorrectionRow.id)):
        found[row.drill_id].append(row)
    return found


def _check_order(steps: list[dict[str, Any]], zone: ZoneInfo, field: str = "step_times") -> None:
    """Each step counts from the first, so none may come before it; after it, steps may be
    reached in any order (the duty officer calls the lift company and talks to the passenger
    at once, review 19c-d M2). Compared to the minute: a time typed or picked "now" to the
    minute is not before a step timed on a phone seconds earlier (M7). The refusal names both
    times on the site's clock (review 19e M4)."""
    first = datetime.fromisoformat(steps[0]["at"])
    start = first.replace(second=0, microsecond=0)
    for number, step in enumerate(steps[1:], 2):
        if step["at"] is not None and datetime.fromisoformat(step["at"]) < start:
            params = {"step": str(number), "at": on_site_clock(step["at"], zone)}
            params["first"] = on_site_clock(first, zone)
            raise InvalidRecord(field, Message("error.drill.step_order", params))


def _same_minute(before: str, when: datetime, zone: ZoneInfo) -> bool:
    """Whether a time typed to the minute is the minute of the time held to the second."""
    held = datetime.fromisoformat(before).astimezone(zone).replace(second=0, microsecond=0)
    return held == when.astimezone(zone).replace(second=0, microsecond=0)


def _keep_retimes(
    session: Session,
    row: DrillRow,
    old: list[str | None],
    steps: list[dict[str, Any]],
    *,
    reason: str | None,
    zone: ZoneInfo,
    at: datetime,
    actor: str,
) -> None:
    """The record form moving or clearing a step timed before (live, on a phone) re-times it:
    that needs the reason, and the old and new times are kept as a `retimed` correction, as
    a re-time from the phone is (review 19e M4)."""
    pairs = enumerate(zip(old, steps, strict=True), 1)
    moved = [n for n, (was, step) in pairs if was and was != step["at"]]
    if not moved:
        return
    if reason is None or blank(reason):
        timed = "; ".join(
            f"{n} ({on_site_clock(old[n - 1] or '', zone)}, {steps[n - 1].get('by') or '?'})"
            for n in moved
        )
        raise InvalidRecord("reason", Message("error.drill.retime_reason", {"steps": timed}))
    _check_reason(reason, field="reason")
    changes = {"step_times": {"from": old, "to": [s.get("at") for s in steps]}}
    session.add(
        DrillCorrectionRow(
            drill_id=row.id, kind="retimed", at=at, actor=actor, reason=reason.strip(),
            changes=changes,
        )
    )  # fmt: skip
    row.corrections += 1


def drills(
    session: Session,
    sites: set[str] | None,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> list[DrillRow]:
    """The drills of `sites` (None: all), latest schedule first; from `since` when given.
    With `now`, the drills to hold now come first, soonest first: those still scheduled up to
    a day ahead (today's, the running and the overdue ones), so today's drill is at the top
    of a technician's phone and never cut off by drills planned years ahead (review 19c-d
    M14); the rest follow, latest schedule first, up to 500 in all."""
    query = select(DrillRow)
    if sites is not None:
        query = query.where(DrillRow.site.in_(sorted(sites)))
    if since is not None:
        query = query.where(DrillRow.scheduled_at >= since)
    rest = query
    first: list[DrillRow] = []
    if now is not None:
        soon = (DrillRow.status == DrillStatus.SCHEDULED) & (
            DrillRow.scheduled_at <= now + timedelta(days=1)
        )
        order = (DrillRow.scheduled_at, DrillRow.id)
        first = list(session.scalars(query.where(soon).order_by(*order).limit(500)))
        rest = query.where(~soon)
    rest = rest.order_by(DrillRow.scheduled_at.desc(), DrillRow.id.desc())
    return first + list(session.scalars(rest.limit(500 - len(first))))
