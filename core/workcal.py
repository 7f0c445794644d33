"""A site's working calendar: which local days are workdays (issues 19 and 20).

Mainland China moves its workdays around public holidays: 国庆 and 春节 take a week off and
give back one or two Saturdays or Sundays as workdays (调休上班). A site file's `calendar:`
says whether the site follows the official calendar (`official: cn`, from the PyPI package
`chinesecalendar`, which follows the State Council's yearly notice) and lists the site's own
`holidays:` and make-up `workdays:`, which override it. A site without `calendar:` works
Monday to Friday.

`is_workday(calendar, day)` is the one answer every service uses: rounds that repeat on
workdays (`maintenance.rounds`), occupancy schedules (`core.site.occupied`: a holiday is
taken as a Sunday, a make-up workday as a Monday) and the console's calendar notes.
Outside the years the package knows it falls back to Monday–Friday plus the site's lists,
says so once in the log, and `covers()` tells the pages.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Annotated, Literal, Self

import chinese_calendar
from pydantic import Discriminator, Field, PrivateAttr, Tag, model_validator

from bldgwatch.core.config import StrictModel

logger = logging.getLogger(__name__)

MAX_RANGE_DAYS = 366
"""The longest `from`/`to` range of a calendar list (a typo of a year is caught)."""
AHEAD_DAYS = 60
"""How far ahead the console lists the coming holidays and make-up workdays."""


class DayRange(StrictModel):
    """A stretch of days, both ends included (site time)."""

    from_: date = Field(alias="from", description="First day, YYYY-MM-DD.")
    to: date = Field(description="Last day, YYYY-MM-DD, not before `from`.")

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.to < self.from_:
            raise ValueError(f"range {self.from_}…{self.to}: `to` is before `from`")
        if (self.to - self.from_).days >= MAX_RANGE_DAYS:
            raise ValueError(f"range {self.from_}…{self.to}: longer than {MAX_RANGE_DAYS} days")
        return self

    def days(self) -> list[date]:
        """Every day of the range."""
        return [self.from_ + timedelta(days=n) for n in range((self.to - self.from_).days + 1)]


DayEntry = Annotated[
    Annotated[date, Tag("date")] | Annotated[DayRange, Tag("range")],
    Discriminator(lambda v: "range" if isinstance(v, dict | DayRange) else "date"),
]
"""A date, or a `{from, to}` range (a bad entry's error names the one it looks like)."""


def _days(entries: list[DayEntry]) -> set[date]:
    out: set[date] = set()
    for entry in entries:
        out.update(entry.days() if isinstance(entry, DayRange) else [entry])
    return out


class CalendarSpec(StrictModel):
    """A site's working calendar: the official one it follows and its own days."""

    official: Literal["cn"] | None = Field(
        None,
        description="The official calendar followed: `cn` (mainland China's public holidays "
        "and make-up workdays, 调休, from the `chinesecalendar` package); unset: Monday to "
        "Friday. Outside the years the package knows: Monday to Friday (logged, shown).",
    )
    holidays: list[DayEntry] = Field(
        default_factory=list,
        description="The site's own days off: dates (YYYY-MM-DD) or ranges `{from: …, to: …}`; "
        "they override the official calendar.",
    )
    workdays: list[DayEntry] = Field(
        default_factory=list,
        description="The site's own make-up workdays (a Saturday worked), dates or ranges; "
        "they override the official calendar. A day may not be in both lists.",
    )

    _holidays: frozenset[date] = PrivateAttr(default=frozenset())
    _workdays: frozenset[date] = PrivateAttr(default=frozenset())

    @model_validator(mode="after")
    def _check_lists(self) -> Self:
        self._holidays = frozenset(_days(self.holidays))
        self._workdays = frozenset(_days(self.workdays))
        both = sorted(self._holidays & self._workdays)
        if both:
            shown = ", ".join(d.isoformat() for d in both[:5])
            raise ValueError(f"calendar: {shown} in both `holidays` and `workdays`")
        return self

    def own_holidays(self) -> frozenset[date]:
        """The site's own holidays, ranges spread out."""
        return self._holidays

    def own_workdays(self) -> frozenset[date]:
        """The site's own make-up workdays, ranges spread out."""
        return self._workdays

    def stored(self) -> dict[str, object]:
        """As the site register keeps it (JSON, `from`/`to` by their file names)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


_warned: set[tuple[str, int]] = set()


def _official(official: str, day: date) -> bool | None:
    """The official calendar's answer for the day; None outside the years it knows
    (logged once per calendar and year)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if (official, day.year) not in _warned:
            _warned.add((official, day.year))
            logger.warning(
                "working calendar %s: year %d is not known (package chinesecalendar %s); "
                "Monday to Friday plus the site's own days",
                official,
                day.year,
                getattr(chinese_calendar, "__version__", "?"),
            )
        return None


def covers(calendar: CalendarSpec | None, day: date) -> bool:
    """Whether the official calendar the site follows knows this day's year (True for a
    site that follows none: Monday to Friday is all it asks)."""
    if calendar is None or calendar.official is None:
        return True
    return _official(calendar.official, day) is not None


def is_workday(calendar: CalendarSpec | None, day: date) -> bool:
    """Whether a local day is a workday of a site with this calendar (None: Monday to
    Friday). The site's own lists first, then the official calendar, then the weekday."""
    if calendar is not None:
        if day in calendar.own_holidays():
            return False
        if day in calendar.own_workdays():
            return True
        if calendar.official is not None:
            found = _official(calendar.official, day)
            if found is not None:
                return found
    return day.weekday() < 5


def is_holiday(calendar: CalendarSpec | None, day: date) -> bool:
    """Whether a local day is a holiday (not an ordinary weekend): one of the site's own, or
    an official one of the calendar it follows — on whatever weekday it falls."""
    if calendar is None:
        return False
    if day in calendar.own_holidays():
        return True
    if day in calendar.own_workdays() or calendar.official is None:
        return False
    return _official(calendar.official, day) is False and official_names(day) is not None


def weekday_as(calendar: CalendarSpec | None, day: date) -> int:
    """The weekday (0 = Monday … 6 = Sunday) a day's occupancy follows: a holiday is taken
    as a Sunday whatever its weekday (review 20f, L2: a Saturday holiday kept Saturday's
    occupied hours), a make-up workday on a weekend as a Monday, every other day as
    itself."""
    weekday = day.weekday()
    work = is_workday(calendar, day)
    if not work and (weekday < 5 or is_holiday(calendar, day)):
        return 6
    if weekday >= 5 and work:
        return 0
    return weekday


def official_names(day: date) -> tuple[str, str] | None:
    """The official holiday of a day the `cn` calendar knows, as (English, Chinese) names
    (e.g. ("National Day", "国庆节")), also for its make-up workdays; None otherwise."""
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if not isinstance(name, str):
        return None
    return name, str(getattr(chinese_calendar.Holiday(name), "chinese", name))


def special_days(
    calendar: CalendarSpec | None, start: date, days: int = AHEAD_DAYS
) -> list[dict[str, str | None]]:
    """The days from `start` on (`days` of them) whose being a workday differs from Monday
    to Friday: holidays on weekdays and make-up workdays on weekends, each
    `{"day", "kind": "holiday" | "workday", "name", "name_zh"}` (the official holiday's
    names, or None for the site's own days)."""
    out: list[dict[str, str | None]] = []
    for n in range(days):
        day = start + timedelta(days=n)
        work = is_workday(calendar, day)
        if work == (day.weekday() < 5):
            continue
        names = None
        if calendar is not None and calendar.official == "cn":
            own = day in calendar.own_holidays() or day in calendar.own_workdays()
            names = None if own else official_names(day)
        out.append(
            {
                "day": day.isoformat(),
                "kind": "workday" if work else "holiday",
                "name": names[0] if names else None,
                "name_zh": names[1] if names else None,
            }
        )
    return out


def describe(
    calendar: CalendarSpec | None, start: date, days: int = AHEAD_DAYS
) -> dict[str, object]:
    """What the console shows of a site's calendar from `start`: which calendar it follows
    (`official`: "cn" or None), whether that calendar knows the coming days (`covered`;
    False: Monday to Friday is used; `known_until`: then the last day of them it knows, None
    for none), the counts of the site's own days and the special
    days ahead."""
    last = start + timedelta(days=days - 1)
    covered = covers(calendar, start) and covers(calendar, last)
    known = [d for d in (start + timedelta(days=n) for n in range(days)) if covers(calendar, d)]
    return {
        "official": calendar.official if calendar is not None else None,
        "covered": covered,
        # review 19i L3: "no holidays" held over days the calendar does not know
        "known_until": None if covered or not known else known[-1].isoformat(),
        "own_holidays": len(calendar.own_holidays()) if calendar is not None else 0,
        "own_workdays": len(calendar.own_workdays()) if calendar is not None else 0,
        "from": start.isoformat(),
        "days": days,
        "special": special_days(calendar, start, days),
    }
