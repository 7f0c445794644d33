"""Inspection rounds (巡检): a route of stops (equipment, each with its checklist template) and
the local times it falls due each day, runs of its due points, and which were done on time,
late or missed.

Due points come from APScheduler cron triggers in the site's time zone, walked with
`maintenance.plans.fire_times` as the preventive plans' are (a round at 08:00 and 20:00 is
due at those local times every day, DST included). A run done later than due +
`late_after_min` is late; a due point with no run done by due + `missed_after_min` is missed.
"Done" is when the server received the run's last entry, not the phone's clock: a phone's time
cannot be checked, so back-dating the entries cannot make a late run on time, nor a missed run
late (review 19r M2). A shift is one of the round's times: a round per shift is a round with
the shifts' start times.

A round keeps its schedule's history (`schedule`: the times and active flag from each change
on), so a due point counts by the times in force when it fell due and an inactive period has
none (review 19r M3, M4); a point due before the round was made counts only if it was run. A
run keeps a copy of the route and items at its start (`route_of`), so editing the round or a
template during the run changes nothing of it.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.core.workcal import CalendarSpec, is_workday
from bldgwatch.maintenance.assets import calendar_of
from bldgwatch.maintenance.checklists import (
    ChecklistItem,
    claim_unchanged,
    items_of,
    next_version,
    plain,
    refused,
)
from bldgwatch.maintenance.errors import MaintenanceError, UnknownEquipment
from bldgwatch.maintenance.models import EquipmentRow, SiteRow
from bldgwatch.maintenance.plans import fire_times
from bldgwatch.maintenance.requestmodels import RequestPointRow
from bldgwatch.maintenance.roundmodels import (
    ChecklistTemplateRow,
    InspectionRoundRow,
    RoundRunRow,
    SiteWorkdayRow,
)
from bldgwatch.maintenance.technicians import StoredTechnicians

Repeat = Literal["daily", "weekly", "workdays", "monthly"]
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
START_EARLY = timedelta(hours=1)  # a run may start this long before its due point


class NoRoundDue(MaintenanceError):  # noqa: N818 - the domain's name for it
    """No due point of the round is open to start now; says the round's name and when the
    next one opens, on the site's clock (review 19c-r L6)."""

    def __init__(self, round_id: int, name: str = "", opens: str = "") -> None:
        key = "error.round.none_due_until" if opens else "error.round.none_due"
        super().__init__(Message(key, {"id": str(round_id), "name": name, "opens": opens}))


def _none_due(
    row: InspectionRoundRow, zone: ZoneInfo, at: datetime, workcal: Workcal
) -> NoRoundDue:
    """NoRoundDue naming the round and when its next point opens (local time and zone)."""
    ahead = due_points(row, zone, at, at + timedelta(days=62), workcal)
    opens = ""
    if ahead:
        local = (ahead[0] - START_EARLY).astimezone(zone)
        opens = f"{local:%Y-%m-%d %H:%M} ({zone.key})"
    return NoRoundDue(row.id, row.name, opens)


class Stop(BaseModel):
    """One stop of a route: an equipment and the template it is checked with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equipment: str = Field(min_length=1, max_length=64, description="Equipment id.")
    template_id: int = Field(ge=1, le=2**31 - 1, description="Checklist template id.")


ROUND_EXAMPLE: dict[str, JsonValue] = {
    "name": "强电井早晚班巡检",
    "times": ["08:00", "20:00"],
    "stops": [{"equipment": "SP-01", "template_id": 1}, {"equipment": "SP-02", "template_id": 1}],
    "late_after_min": 60,
    "missed_after_min": 240,
    "active": True,
    "repeat": "daily",
}


class RoundIn(BaseModel):
    """A round as saved."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ROUND_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200, description="The round's name.")
    times: list[str] = Field(
        min_length=1,
        max_length=24,
        description="Local due times HH:MM (one per shift); 8:00 and full-width ８：００ are "
        "taken as 08:00.",
    )
    stops: list[Stop] = Field(min_length=1, max_length=100, description="The route, in order.")
    late_after_min: int = Field(60, ge=0, le=1440, description="Late when done after this.")
    missed_after_min: int = Field(
        240, ge=1, le=1440, description="Missed when not done by due + this (minutes)."
    )
    active: bool = Field(True, description="An inactive round falls due no more.")
    repeat: Repeat = Field(
        "daily",
        description="On which days the times fall due, in the site's time zone: `daily`; "
        "`weekly` on `weekdays`; `workdays` on the site's working calendar's workdays (its "
        "`calendar`: official holidays off, make-up workdays on; without one Monday to "
        "Friday); `monthly` on `month_days` (a day "
        "past a month's end falls on its last day).",
    )
    weekdays: list[int] = Field(
        default_factory=list,
        max_length=7,
        description="A weekly round's days: 0 = Monday … 6 = Sunday (as on-call shifts).",
    )
    month_days: list[int] = Field(
        default_factory=list, max_length=31, description="A monthly round's days of month, 1…31."
    )
    assignee: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The technician responsible for the round (an active technician of the "
        "site), or none.",
    )
    team: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="The team (technicians of one skill, e.g. electrical) responsible for the "
        "round, or none.",
    )

    @field_validator("times", mode="before")
    @classmethod
    def _times(cls, times: Any) -> Any:
        """Due times as people write them (8:00, ８：００, 08:00) as HH:MM (review 19c-r M3)."""
        if not isinstance(times, list):
            return times
        out = []
        for time in times:
            if not isinstance(time, str):
                return times  # pydantic names the wrong type
            typed = unicodedata.normalize("NFKC", time).strip()
            if re.fullmatch(r"[0-9]:[0-5][0-9]", typed):
                typed = "0" + typed
            if not HHMM.match(typed):
                raise refused(
                    "time", "'{time}' is not a time: write it as 8:00 or 08:00", time=time
                )
            out.append(typed)
        return out

    @field_validator("stops", mode="before")
    @classmethod
    def _some_stop(cls, stops: Any) -> Any:
        if isinstance(stops, list) and not stops:
            raise refused("no_stop", "choose at least one stop")
        return stops

    @model_validator(mode="after")
    def _check(self) -> Self:
        plain("name_text", self.name)
        seen: set[str] = set()
        for time in self.times:
            if time in seen:
                raise refused("time_twice", "the time {time} is given twice", time=time)
            seen.add(time)
        days = sorted(set(self.weekdays))
        if self.repeat == "weekly" and not days:
            raise refused("weekdays", "a weekly round needs its days of the week")
        if any(not 0 <= d <= 6 for d in days):
            raise refused("weekdays", "a weekly round needs its days of the week")
        month_days = sorted(set(self.month_days))
        if self.repeat == "monthly" and not month_days:
            raise refused("month_days", "a monthly round needs its days of the month (1 to 31)")
        if any(not 1 <= d <= 31 for d in month_days):
            raise refused("month_days", "a monthly round needs its days of the month (1 to 31)")
        self.weekdays = days if self.repeat == "weekly" else []
        self.month_days = month_days if self.repeat == "monthly" else []
        if self.late_after_min > self.missed_after_min:
            raise refused(
                "late_missed",
                "late after {late} min is above missed after {missed} min",
                late=self.late_after_min,
                missed=self.missed_after_min,
            )
        return self


def zone_of(session: Session, site: str) -> ZoneInfo:
    """The site's time zone."""
    row = session.get(SiteRow, site)
    return ZoneInfo(row.timezone if row is not None else "Asia/Shanghai")


def equipment_codes(session: Session, site: str, equipment: str) -> list[str]:
    """The codes of the equipment's QR labels in use (its request points not retired), oldest
    first: any of them proves presence (a car and a machine-room label, a new label before the
    old one is retired; review 19r M8)."""
    return list(
        session.scalars(
            select(RequestPointRow.code)
            .where(
                RequestPointRow.site == site,
                RequestPointRow.equipment == equipment,
                RequestPointRow.retired_at.is_(None),
            )
            .order_by(RequestPointRow.id)
        )
    )


def equipment_code(session: Session, site: str, equipment: str) -> str | None:
    """The code of the equipment's first QR label in use, or None."""
    codes = equipment_codes(session, site, equipment)
    return codes[0] if codes else None


class ChecklistNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No such checklist template at the site."""

    def __init__(self, template_id: int) -> None:
        super().__init__(Message("error.checklist.not_found", {"id": str(template_id)}))


class StopRefused(MaintenanceError):  # noqa: N818 - the domain's name for it
    """A stop whose equipment does not fit its template or carries no QR label."""

    def __init__(self, reason: str, stop: int, equipment: str) -> None:
        params = {"stop": str(stop), "equipment": equipment}
        super().__init__(Message(f"error.round.stop_{reason}", params))


def _check_stop(session: Session, site: str, n: int, stop: Stop, *, labelled: bool) -> None:
    """UnknownEquipment or ChecklistNotFound unless the stop's equipment and template are the
    site's; StopRefused unless the equipment is of the template's class and location and
    carries a QR label to scan (when `labelled`)."""
    asset = session.get(EquipmentRow, (site, stop.equipment))
    template = session.get(ChecklistTemplateRow, stop.template_id)
    if asset is None:
        raise UnknownEquipment(site, stop.equipment)
    if template is None or template.site != site:
        raise ChecklistNotFound(stop.template_id)
    if template.equipment_type != asset.type:
        raise StopRefused("class", n + 1, stop.equipment)
    if template.location is not None and template.location not in (asset.building, asset.location):
        raise StopRefused("location", n + 1, stop.equipment)
    if labelled and equipment_code(session, site, stop.equipment) is None:
        raise StopRefused("no_label", n + 1, stop.equipment)


def rounds_needing(session: Session, site: str, equipment: str, code: str) -> list[str]:
    """The names of the site's active rounds that stop at the equipment when `code` is its
    only QR label in use: retiring it leaves them nothing to scan (review 19c-r M2)."""
    if equipment_codes(session, site, equipment) != [code]:
        return []
    found = session.scalars(
        select(InspectionRoundRow)
        .where(InspectionRoundRow.site == site, InspectionRoundRow.active.is_(True))
        .order_by(InspectionRoundRow.id)
    )
    return [r.name for r in found if any(s["equipment"] == equipment for s in r.stops)]


def save_round(
    session: Session,
    site: str,
    body: RoundIn,
    *,
    round_id: int | None,
    at: datetime,
    actor: str,
    seen: datetime | None = None,
) -> InspectionRoundRow:
    """Create (no id) or replace a round of the site; flushes, the caller commits.
    ChangedMeanwhile when `seen` (the version edited) is no longer the round's. An inactive
    round's stops need not carry a QR label: a round whose label was retired can still be
    switched off (review 19c-r M2); it is checked again when it is switched on."""
    for n, stop in enumerate(body.stops):
        _check_stop(session, site, n, stop, labelled=body.active)
    _check_people(session, site, body)
    row = None if round_id is None else session.get(InspectionRoundRow, round_id)
    if row is not None and seen is not None:
        claim_unchanged(session, row, seen, at)
    if row is None:
        row = InspectionRoundRow(site=site, created_at=at)
        session.add(row)
    times = sorted(body.times)
    clocks = (body.late_after_min, body.missed_after_min)
    days = {"repeat": body.repeat, "weekdays": body.weekdays, "month_days": body.month_days}
    if (row.times, row.active, row.late_after_min, row.missed_after_min, _days(row)) != (
        times,
        body.active,
        *clocks,
        days,
    ):  # a new period from now on: the points already due keep their days, times and clocks
        row.schedule = [*_schedule(row), _period(at, times, body.active, *clocks, days)]
    row.name, row.times, row.active = body.name, times, body.active
    row.repeat, row.weekdays, row.month_days = body.repeat, body.weekdays, body.month_days
    row.assignee, row.team = body.assignee, body.team
    row.stops = [stop.model_dump() for stop in body.stops]
    row.late_after_min, row.missed_after_min = body.late_after_min, body.missed_after_min
    if seen is None:
        row.updated_at = next_version(row.updated_at, at)
    row.updated_by = actor
    session.flush()
    return row


def _period(  # noqa: PLR0917 - one period's fields, in their order
    at: datetime,
    times: list[str],
    active: bool,
    late: int,
    missed: int,
    days: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "from": at.astimezone(UTC).isoformat(),
        "times": times,
        "active": active,
        "late_after_min": late,
        "missed_after_min": missed,
        **(days or DAILY),
    }


DAILY: dict[str, Any] = {"repeat": "daily", "weekdays": [], "month_days": []}


def _days(row: InspectionRoundRow) -> dict[str, Any]:
    """On which days the round falls due now (a round saved before repeats: daily)."""
    return {
        "repeat": row.repeat or "daily",
        "weekdays": list(row.weekdays or []),
        "month_days": list(row.month_days or []),
    }


@dataclass(frozen=True, slots=True)
class Judged:
    """A site's calendar with the verdicts kept on its past days (`SiteWorkdayRow`): a kept
    day answers as it was judged, any other as the calendar says now (review 19i M3)."""

    calendar: CalendarSpec | None
    kept: dict[date, bool]

    def is_workday(self, day: date) -> bool:
        """The kept verdict on the day, else the calendar's."""
        found = self.kept.get(day)
        return is_workday(self.calendar, day) if found is None else found


Workcal = CalendarSpec | Judged | None
"""What `falls_on` asks whether a day is a workday: a calendar (None: Monday to Friday) or
a site's calendar with its kept verdicts."""


def judge_days(session: Session, site: str, first: date, last: date, now: datetime) -> Judged:
    """The site's calendar with its kept verdicts from `first` to `last` (local days); each
    of those days that has ended in the site's zone by `now` and has no verdict yet gets one,
    from the calendar as it is now, kept for good (in the caller's transaction)."""
    cal = calendar_of(session, site)
    kept = {
        r.day: r.workday
        for r in session.scalars(
            select(SiteWorkdayRow).where(
                SiteWorkdayRow.site == site,
                SiteWorkdayRow.day >= first,
                SiteWorkdayRow.day <= last,
            )
        )
    }
    today = now.astimezone(zone_of(session, site)).date()
    day = first
    while day <= min(last, today - timedelta(days=1)):
        if day not in kept:
            kept[day] = keep_day(session, site, day, is_workday(cal, day), now)
        day += timedelta(days=1)
    return Judged(cal, kept)


def keep_day(session: Session, site: str, day: date, workday: bool, now: datetime) -> bool:
    """Keep the verdict on the site's day unless one is kept already; the kept one."""
    try:
        with session.begin_nested():
            session.add(SiteWorkdayRow(site=site, day=day, workday=workday, judged_at=now))
    except IntegrityError:  # judged by another instance meanwhile
        found = session.get(SiteWorkdayRow, (site, day))
        return workday if found is None else found.workday
    return workday


def judge_run_day(session: Session, run: RoundRunRow, now: datetime) -> None:
    """A run done: its due point's day is judged as the calendar has it now."""
    day = run.due_at.astimezone(zone_of(session, run.site)).date()
    if session.get(SiteWorkdayRow, (run.site, day)) is None:
        keep_day(session, run.site, day, is_workday(calendar_of(session, run.site), day), now)


def falls_on(period: dict[str, Any], day: date, workcal: Workcal = None) -> bool:
    """Whether a period's times fall due on this local day (review 19c-r M8); `workdays` on
    the site's working calendar (None: Monday to Friday; `core.workcal`), as judged on the
    day once it is past (`Judged`)."""
    repeat = period.get("repeat") or "daily"
    if repeat == "weekly":
        return day.weekday() in (period.get("weekdays") or [])
    if repeat == "workdays":
        if isinstance(workcal, Judged):
            return workcal.is_workday(day)
        return is_workday(workcal, day)
    if repeat == "monthly":
        last = calendar.monthrange(day.year, day.month)[1]
        wanted = {min(d, last) for d in period.get("month_days") or []}
        return day.day in wanted
    return True


class PersonRefused(MaintenanceError):  # noqa: N818 - the domain's name for it
    """A round given to someone who is no active technician of the site, or to a team no
    technician of the site belongs to (422)."""

    def __init__(self, kind: str, value: str, site: str) -> None:
        super().__init__(Message(f"error.round.{kind}_unknown", {kind: value, "site": site}))


def _check_people(session: Session, site: str, body: RoundIn) -> None:
    directory = StoredTechnicians(session)
    if body.assignee is not None:
        tech = directory.technician(body.assignee)
        if tech is None or not tech.active or not tech.serves(site):
            raise PersonRefused("assignee", body.assignee, site)
    if body.team is not None:
        skills = {s for t in directory.team() if t.serves(site) for s in t.skills}
        if body.team not in skills:
            raise PersonRefused("team", body.team, site)


def _schedule(row: InspectionRoundRow) -> list[dict[str, Any]]:
    """The round's periods so far (a round saved before schedules: one, since it was made).
    A period kept before periods had their own late/missed minutes takes the round's minutes
    as they are until the next save (which then stamps them on it; review 19c-r H1)."""
    if row.times is None:  # being made
        return []
    clocks = {"late_after_min": row.late_after_min, "missed_after_min": row.missed_after_min}
    if row.schedule is not None:
        return [{**clocks, **DAILY, **period} for period in row.schedule]
    return [
        _period(row.created_at, row.times, row.active, row.late_after_min, row.missed_after_min)
    ]


def clocks_at(row: InspectionRoundRow, due: datetime) -> tuple[timedelta, timedelta]:
    """How long after this due point a run is late and missed: the minutes in force when the
    point fell due, so a later edit of the round never rewrites past outcomes (19c-r H1)."""
    periods = _schedule(row)
    found = periods[0] if periods else None
    for period in periods:
        if datetime.fromisoformat(period["from"]) <= due:
            found = period
    if found is None:
        return timedelta(minutes=row.late_after_min), timedelta(minutes=row.missed_after_min)
    return (
        timedelta(minutes=found["late_after_min"]),
        timedelta(minutes=found["missed_after_min"]),
    )


def longest_window(row: InspectionRoundRow) -> timedelta:
    """The longest missed-after of any period: how far back an open point may lie."""
    return timedelta(
        minutes=max([row.missed_after_min, *(p["missed_after_min"] for p in _schedule(row))])
    )


def _due(
    row: InspectionRoundRow,
    zone: ZoneInfo,
    after: datetime,
    until: datetime,
    workcal: Workcal = None,
) -> list[tuple[datetime, datetime]]:
    """Each due point in (after, until] with the start of the period it falls in, oldest
    first. A point belongs to the period in force when it fell due: a later change of times
    or of the active flag never takes back a point already due, so it is missed when not done
    (review 19b-r M6); an inactive period has none. The first period starts
    `missed_after_min` before the round was made (such a point may be run, never missed)."""
    periods = _schedule(row)
    window = timedelta(minutes=periods[0]["missed_after_min"]) if periods else timedelta(0)
    points: dict[datetime, datetime] = {}
    for n, period in enumerate(periods):
        since = datetime.fromisoformat(period["from"])
        end = until
        if n + 1 < len(periods):
            end = min(until, datetime.fromisoformat(periods[n + 1]["from"]))
        start = max(after, since - window if n == 0 else since)
        if not period["active"] or start >= end:
            continue
        for time in period["times"]:
            hour, minute = time.split(":")
            trigger = CronTrigger(hour=int(hour), minute=int(minute), timezone=zone)
            points.update(
                (p.astimezone(UTC), since)
                for p in fire_times(trigger, start, end)
                if falls_on(period, p.astimezone(zone).date(), workcal)
            )
    return sorted(points.items())


def due_points(
    row: InspectionRoundRow,
    zone: ZoneInfo,
    after: datetime,
    until: datetime,
    workcal: Workcal = None,
) -> list[datetime]:
    """The round's due points in (after, until], oldest first (UTC), each by the times in
    force when it fell due (`_due`), on the site's working calendar."""
    return [point for point, _ in _due(row, zone, after, until, workcal)]


def route_of(session: Session, row: InspectionRoundRow) -> list[dict[str, Any]]:
    """The round's stops with their templates' items as they are now: the copy a run keeps."""
    route = []
    for stop in row.stops:
        template = session.get(ChecklistTemplateRow, stop["template_id"])
        items = [i.model_dump(mode="json") for i in items_of(template)] if template else []
        route.append({**stop, "items": items})
    return route


def run_route(session: Session, run: RoundRunRow) -> list[tuple[str, list[ChecklistItem]]]:
    """The run's stops (equipment and items) as at its start (a run started before copies
    were kept: the round's as they are now)."""
    route = run.route
    if route is None:
        rnd = session.get(InspectionRoundRow, run.round_id)
        assert rnd is not None
        route = route_of(session, rnd)
    return [
        (str(s["equipment"]), [ChecklistItem.model_validate(i) for i in s["items"]]) for s in route
    ]


def start_run(
    session: Session, row: InspectionRoundRow, *, at: datetime, actor: str
) -> RoundRunRow:
    """The run of the due point open now, started by this call or before; NoRoundDue when
    none is. A point is open from an hour before it until it is missed (by the clocks in force
    when it fell due). The oldest point already due and neither done nor missed comes first
    (a technician 65 minutes late for 14:00 does the 14:00 run, late, not the 16:00 one;
    review 19c-r H3); one nobody has started before one someone is working on; also when an
    edit has since taken its time out or the round has been switched off (it is still
    counted; 19c-r L2); a point not yet due only when none is. A run
    this technician started and has not finished is theirs until its point is missed, even
    when the next point opens meanwhile (review 19b-r M7). Commits."""
    zone = zone_of(session, row.site)
    since = at - longest_window(row)
    days = (since.astimezone(zone).date(), (at + START_EARLY).astimezone(zone).date())
    cal = judge_days(session, row.site, *days, at)  # a past day as judged (19i M3)
    open_points = [
        p
        for p in due_points(row, zone, since, at + START_EARLY, cal)
        if at <= p + clocks_at(row, p)[1]
    ]
    if not open_points:
        raise _none_due(row, zone, at, cal)
    mine = session.scalars(
        select(RoundRunRow)
        .where(
            RoundRunRow.round_id == row.id,
            RoundRunRow.due_at.in_(open_points),
            RoundRunRow.started_by == actor,
            RoundRunRow.done_at.is_(None),
        )
        .order_by(RoundRunRow.due_at)
    ).first()
    if mine is not None:
        return mine
    started = {
        r.due_at: r.done_at
        for r in session.execute(
            select(RoundRunRow.due_at, RoundRunRow.done_at).where(
                RoundRunRow.round_id == row.id, RoundRunRow.due_at.in_(open_points)
            )
        )
    }
    fresh = [p for p in open_points if p not in started]  # nobody has started these yet
    going = [p for p in open_points if p in started and started[p] is None]
    if not fresh and not going:
        raise _none_due(row, zone, at, cal)
    due = (fresh or going)[0]
    found = run_at(session, row.id, due)
    if found is not None:
        return found
    run = RoundRunRow(
        round_id=row.id,
        site=row.site,
        due_at=due,
        started_at=at,
        started_by=actor,
        route=route_of(session, row),
    )
    session.add(run)
    try:
        session.commit()
    except IntegrityError:  # started by another phone at the same moment
        session.rollback()
        found = run_at(session, row.id, due)
        assert found is not None
        return found
    return run


def run_at(session: Session, round_id: int, due: datetime) -> RoundRunRow | None:
    """The round's run of this due point, if started."""
    return session.scalars(
        select(RoundRunRow).where(RoundRunRow.round_id == round_id, RoundRunRow.due_at == due)
    ).one_or_none()


@dataclass(frozen=True, slots=True)
class DuePoint:
    """One due point of a round and how it went."""

    due_at: datetime
    state: str  # on_time, late, missed, open (not yet missed), upcoming
    run_id: int | None
    done_at: datetime | None
    synced_at: datetime | None = None


def outcome(row: InspectionRoundRow, due: datetime, run: RoundRunRow | None, now: datetime) -> str:
    """on_time, late, missed, open or upcoming; done (at the phone's time of its last entry,
    `maintenance.roundentries`) after the missed point is missed still."""
    late_after, missed_after = clocks_at(row, due)
    missed = due + missed_after
    if run is not None and run.done_at is not None and run.done_at <= missed:
        late = run.done_at > due + late_after
        return "late" if late else "on_time"
    if now > missed:
        return "missed"
    return "open" if now >= due - START_EARLY else "upcoming"


def history(
    session: Session, row: InspectionRoundRow, after: datetime, until: datetime, now: datetime
) -> list[DuePoint]:
    """The round's due points in (after, until] and how each went: a past day's points as
    the site's calendar judged the day (`judge_days`, kept from then on), and a done run
    whatever the calendar says of its day now (review 19i M3)."""
    runs = {
        r.due_at: r
        for r in session.scalars(
            select(RoundRunRow).where(
                RoundRunRow.round_id == row.id,
                RoundRunRow.due_at > after,
                RoundRunRow.due_at <= until,
            )
        )
    }
    found = []
    zone = zone_of(session, row.site)
    first, last = (t.astimezone(zone).date() for t in (after, until))
    cal = judge_days(session, row.site, first, last, now)
    due_at = _due(row, zone, after, until, cal)
    listed = {due for due, _ in due_at}
    done_off = [(r.due_at, r.due_at) for r in runs.values() if r.done_at and r.due_at not in listed]
    for due, since in sorted([*due_at, *done_off]):
        run = runs.get(due)
        state = outcome(row, due, run, now)
        if state == "missed" and due < since:
            continue  # due before its times were set: may be run, never missed (19r L3)
        done = (run.done_at, run.synced_at) if run else (None, None)
        found.append(DuePoint(due, state, run.id if run else None, *done))
    return found


def counts(points: Sequence[DuePoint]) -> dict[str, int]:
    """How many due points went each way."""
    tally = Counter(p.state for p in points)
    return {
        state: tally.get(state, 0) for state in ("on_time", "late", "missed", "open", "upcoming")
    }


def rounds_of(session: Session, sites: set[str] | None) -> Sequence[InspectionRoundRow]:
    """The rounds of these sites (all with None), by id."""
    query = select(InspectionRoundRow).order_by(InspectionRoundRow.id)
    if sites is not None:
        query = query.where(InspectionRoundRow.site.in_(sites))
    return session.scalars(query).all()
