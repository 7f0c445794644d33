"""Leak and waste conditions of meters (pure, stateful per slot): the night minimum flow
against the meter's own learned nights, and use outside the occupancy schedule against its
learned base load.

A meter that gives no rate (a pulse counter: only a count) is judged on the rate derived from
its counter (`counter`), once it is seen to give no rate reading (review of issue 20, F16):
the volume it counted over the whole stretch per hour, whatever the statistic — whole pulses
over short spans hid up to a pulse per span (review 20b, N2); a stretch counted over less
than `counter_span_s` is not judged.

Both cut the readings into quiet stretches in the site's time zone — each night's window
(`night_flow`), each local hour outside the building's occupancy (`off_hours`) — take one
statistic of each (the night's minimum; the hour's mean) and judge it when the stretch ends
(at the first reading after it) against a baseline learned from the last `learn` stretches
that were judged normal: the median of the nights, the 10th percentile of the off-hours
(the base load). A stretch is abnormal above ``factor * baseline + margin``; the condition
turns true after `consecutive` abnormal stretches in a row (readings come too sparsely for
the evaluator's on-delay to span an hour) and false at the first normal one. The verdict
holds until the next stretch is judged, so the rules engine's delays and lifecycle
(active/acked/cleared) apply as to every other kind.

What a meter learned — the learned stretches, the verdict and the run of abnormal ones, the
stretch under way — is its `memory()`: the rules service keeps it in the alarm store
(`rule_memory`) and gives it back (`recall`) at start, so a restart neither forgets the
baseline nor learns a running leak as the meter's normal night, and an active leak alarm
stays active (review of issue 20, F5). A meter with no stored memory learns from scratch.

Abnormal stretches never teach the baseline by themselves; a person does: a "not a leak"
verdict on the alarm (its reason given) reaches the rules service as a lesson
(`rule_lessons`), and `accept()` makes the level it alarmed on the meter's new normal
(review of issue 20, N12).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bldgwatch.core.site import OccupancyWindow, occupied, site_zone
from bldgwatch.core.workcal import CalendarSpec, is_holiday
from bldgwatch.rules.equipment import Equipment
from bldgwatch.rules.errors import ParameterMissingError
from bldgwatch.rules.kinds import NightFlowRule, OffHoursRule, night_window
from bldgwatch.rules.rulebase import resolve_limit

Stretch = Callable[[int], object | None]
"""ts_ms → the quiet stretch it falls in (a hashable id), None outside every stretch."""

OFF_HOURS_QUANTILE = 10.0  # the base load: a low percentile of the learned off-hours
TAUGHT_NIGHTS = 3
"""Normal nights in a row that end a level taught by "not a leak" (fourth review of issue 20,
M3: ended by the first quiet night, a 24-hour shop closed on Sundays alarmed every Monday):
a shop's day off or a long weekend keeps it; a lasting return to the learned nights ends it."""


def night_stretch(window: str, zone: ZoneInfo) -> Stretch:
    """The local date each night window starts on, for times inside it."""
    start, end = night_window(window)

    def stretch(ts_ms: int) -> date | None:
        local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone)
        minute = local.hour * 60 + local.minute
        if start < end:
            return local.date() if start <= minute < end else None
        if minute >= start:
            return local.date()
        if minute < end:
            return local.date() - timedelta(days=1)
        return None

    return stretch


def off_hours_stretch(
    windows: Sequence[OccupancyWindow], zone: ZoneInfo, calendar: CalendarSpec | None = None
) -> Stretch:
    """The local hour (its start) for times outside the occupancy windows, on the site's
    working calendar (a holiday is a Sunday, a make-up workday a Monday; `core.workcal`)."""

    def stretch(ts_ms: int) -> datetime | None:
        local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone)
        if occupied(windows, local, calendar):
            return None
        return local.replace(minute=0, second=0, microsecond=0, tzinfo=None)

    return stretch


@dataclass(slots=True)
class BaselineLogic:
    """One statistic per quiet stretch, judged against the learned ones when it ends."""

    stretch_of: Stretch
    stat: str  # "min" (night) or "mean" (off-hours)
    quantile: float  # of the learned stretches: 50 = the median
    factor: float
    margin: float
    min_learned: int
    learned: deque[float]
    consecutive: int = 1
    run: int = 0  # abnormal stretches in a row
    current: object | None = None
    low: float = float("inf")
    total: float = 0.0
    count: int = 0
    verdict: bool | None = None
    shown: float | None = None
    baseline: float | None = field(default=None)
    dirty: bool = False  # changed since its memory was last taken
    counter: str | None = None  # a counter point the rate is derived from (a pulse meter)
    counter_span_ms: int = 900_000
    rate_seen: bool = False  # the meter gives the rate itself: its counter is not used
    last_count: tuple[int, float] | None = None  # (ts_ms, counter) of the last count read
    span_ms: int = 0  # a counted stretch: the time its volume (`total`) was counted over
    taught: float | None = None  # a level a person said is no leak (see `accept`)
    lasting: int = 1  # normal stretches in a row that end a taught level (see `accept`)
    calm: int = 0  # normal stretches in a row since a level was taught
    as_base: bool = False  # a taught level is judged as a base load (off-hours), see `accept`
    # A stretch that neither counts toward nor breaks `calm` (an off-hours hour of a holiday:
    # review 20f, L1, 春节's nine days were 216 quiet hours, two weeks' worth, by themselves).
    not_calm: Callable[[object], bool] | None = None

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        if point == self.counter:
            if not self.rate_seen:
                self._count(value, ts_ms)
            return self.verdict
        if not self.rate_seen:  # the meter gives its rate: a counted stretch starts afresh
            self.rate_seen, self.current, self.count = True, None, 0
        where = self.stretch_of(ts_ms)
        if self.current is not None and where != self.current:
            self._judge()
        if where is not None:
            if where != self.current:
                self.current, self.low, self.total, self.count = where, float("inf"), 0.0, 0
            self.low = min(self.low, value)
            self.total += value
            self.count += 1
            self.dirty = True
        return self.verdict

    def _count(self, count: float, ts_ms: int) -> None:
        """A pulse meter's count: the stretch's figure is the volume it counted over the
        whole stretch per hour (review of issue 20, N2: whole pulses over a short span read
        0 or a pulse, and the minimum of such spans hid a leak of up to a pulse per span;
        over a two-hour night one pulse of 10 L is 5 L/h). The volume is summed reading to
        reading inside the stretch; a fall (a rollover, a new counter) adds nothing."""
        where = self.stretch_of(ts_ms)
        if self.current is not None and where != self.current:
            self._judge()
        last = self.last_count
        self.last_count = (ts_ms, count)
        if where is None:
            return
        self.dirty = True
        if where != self.current:
            self.current, self.low, self.total, self.count, self.span_ms = where, 0.0, 0.0, 0, 0
            return  # the stretch's volume is counted from its first reading on
        if last is None or ts_ms <= last[0] or count < last[1]:
            return
        self.total += count - last[1]
        self.span_ms += ts_ms - last[0]
        self.count += 1

    def memory(self) -> dict[str, Any]:
        """What it learned and where it is, as JSON; clears `dirty`."""
        self.dirty = False
        return {
            "rate_seen": self.rate_seen,
            "last_count": None if self.last_count is None else list(self.last_count),
            "learned": list(self.learned),
            "run": self.run,
            "verdict": self.verdict,
            "shown": self.shown,
            "baseline": self.baseline,
            "current": _stretch_text(self.current),
            "low": None if self.count == 0 else self.low,
            "total": self.total,
            "count": self.count,
            "span_ms": self.span_ms,
            "taught": self.taught,
            "calm": self.calm,
        }

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Continue from a `memory()` (after a restart)."""
        self.learned.clear()
        self.learned.extend(float(v) for v in memory.get("learned", []))
        self.run = int(memory.get("run", 0))
        self.verdict = memory.get("verdict")
        self.shown = memory.get("shown")
        self.baseline = memory.get("baseline")
        self.current = _stretch_of_text(memory.get("current"))
        self.count = int(memory.get("count", 0)) if self.current is not None else 0
        low = memory.get("low")
        self.low = float("inf") if low is None or self.count == 0 else float(low)
        self.total = float(memory.get("total", 0.0)) if self.count else 0.0
        self.span_ms = int(memory.get("span_ms", 0)) if self.count else 0
        self.rate_seen = bool(memory.get("rate_seen", False))
        last = memory.get("last_count")
        self.last_count = None if not last else (int(last[0]), float(last[1]))
        taught = memory.get("taught")
        self.taught = None if taught is None else float(taught)
        self.calm = int(memory.get("calm", 0))

    def accept(self, level: float | None = None) -> bool:
        """A person said the level it alarmed on is no leak nor waste ("not a leak", with its
        reason). That level is taught as a normal one *on top of* the learned stretches, which
        are kept (third review of issue 20, H1: re-seeding them with it made a later leak up
        to 1.5 × that level + margin look normal, and learned it for good): a stretch up to
        the taught level + margin is not abnormal, and is not learned either; one above it
        still alarms; `lasting` stretches in a row normal against the learned ones end the
        lesson (a night's: `TAUGHT_NIGHTS`, so a shop's day off does not end its new normal).
        `withdraw` forgets it. False when it shows no abnormal level.

        Off-hours use is taught for good (`lasting` > 1; third review of issue 20, M2: "expected
        use", a 24-hour tenant, was a standing alarm for ever): the taught level is judged as
        the base load is (`factor` × it + margin), so the tenant's use varying over the night
        stays normal while a further rise on top still alarms, and only `lasting` normal
        stretches in a row (a day's worth of off-hours back at the base load: the tenant gone)
        end it — an hour's lull does not.

        `level` is the level the person judged (the alarm's value: the stretch it was raised
        on), taught instead of the latest abnormal one (fourth review of issue 20, H3: a leak
        that grew after the alarm — a burst over the weekend — was silenced by a right verdict
        on Friday's level). A later stretch above it still alarms (a new raising)."""
        if self.shown is None or (not self.verdict and self.run == 0):
            return False
        judged = self.shown if level is None else float(level)
        self.taught = judged if self.taught is None else max(self.taught, judged)
        self.run, self.verdict, self.calm, self.dirty = 0, False, 0, True
        return True

    def withdraw(self) -> bool:
        """A supervisor reversed a "not a leak": forget the taught level, so the meter is
        judged against its own learned stretches again (and alarms at the next one that is
        above them). False when nothing was taught."""
        if self.taught is None:
            return False
        self.taught, self.calm, self.dirty = None, 0, True
        return True

    def _judge(self) -> None:
        judged, self.current = self.current, None
        self.dirty = True
        if self.count == 0:
            return
        if self.counter is not None and not self.rate_seen:  # a counted stretch
            if self.span_ms < self.counter_span_ms:
                return  # too short to say (a stretch the meter hardly reported in)
            value = self.total * 3_600_000 / self.span_ms
        else:
            value = self.low if self.stat == "min" else self.total / self.count
        if len(self.learned) >= self.min_learned:
            self.baseline = float(np.percentile(list(self.learned), self.quantile))
            abnormal = value > self.factor * self.baseline + self.margin
            if not abnormal and not (self.not_calm is not None and self.not_calm(judged)):
                self.calm += 1
                if self.calm >= self.lasting:
                    self.taught = None  # back to its learned normal: the taught level ended
            elif self.taught is not None and value <= self._taught_limit(self.taught):
                self.run, self.verdict, self.calm = 0, False, 0  # at a level said to be normal
                return  # and not learned: withdrawing the lesson re-arms the meter
            self.run = self.run + 1 if abnormal else 0
            if abnormal:
                self.shown, self.calm = value, 0
            if self.run >= self.consecutive or not abnormal:
                self.verdict = abnormal
            if abnormal:
                return  # abnormal stretches never teach the baseline
        self.learned.append(value)

    def _taught_limit(self, taught: float) -> float:
        """The highest stretch a taught level covers: a night's level + margin; an off-hours
        one as a base load, `factor` × it + margin."""
        factor = self.factor if self.as_base else 1.0
        return factor * taught + self.margin


def _stretch_text(stretch: object | None) -> str | None:
    """A stretch id (a night's date, an off-hours local hour) as text, tagged with its type."""
    if isinstance(stretch, datetime):
        return "h:" + stretch.isoformat()
    if isinstance(stretch, date):
        return "d:" + stretch.isoformat()
    return None


def _stretch_of_text(text: object) -> object | None:
    if not isinstance(text, str) or len(text) < 3:
        return None
    kind, value = text[:2], text[2:]
    try:
        if kind == "h:":
            return datetime.fromisoformat(value)
        if kind == "d:":
            return date.fromisoformat(value)
    except ValueError:
        return None
    return None


def _margin(rule: NightFlowRule | OffHoursRule, eq: Equipment) -> float:
    return resolve_limit(
        rule.margin, eq.params, eq.rated, rule=rule.id, equipment=eq.id, machine_class=None
    )


def night_flow_logic(rule: object, eq: Equipment) -> tuple[BaselineLogic, float]:
    """The logic of a `night_flow` rule on one meter."""
    assert isinstance(rule, NightFlowRule)
    margin = _margin(rule, eq)
    stretch = night_stretch(rule.night, site_zone(eq.timezone))
    learned: deque[float] = deque(maxlen=rule.learn)
    logic = BaselineLogic(
        stretch, "min", 50.0, rule.factor, margin, rule.min_learned, learned, rule.consecutive
    )
    logic.counter, logic.counter_span_ms = rule.counter, int(rule.counter_span_s * 1000)
    logic.lasting = TAUGHT_NIGHTS  # a quiet night does not end a new normal (review 20d, M3)
    return logic, margin


TAUGHT_OFF_HOURS_WEEKS = 2
"""Whole weeks of off-hours back at the base load that end an off-hours "expected use": a
weekday-night tenant's quiet weekends do not, nor a holiday (its hours do not count)."""


def off_hours_per_week(stretch: Stretch, zone: ZoneInfo) -> int:
    """How many off-hours stretches (local hours outside occupancy) a week holds."""
    monday = datetime(2026, 1, 5, tzinfo=zone)  # any whole week: the schedule is weekly
    start_ms = int(monday.timestamp() * 1000)
    return sum(stretch(start_ms + h * 3_600_000) is not None for h in range(7 * 24))


def off_hours_logic(rule: object, eq: Equipment) -> tuple[BaselineLogic, float]:
    """The logic of an `off_hours` rule; not applied to equipment without a schedule."""
    assert isinstance(rule, OffHoursRule)
    if not eq.occupancy:
        raise ParameterMissingError(rule.id, eq.id, "occupancy")
    margin = _margin(rule, eq)
    stretch = off_hours_stretch(eq.occupancy, site_zone(eq.timezone), eq.calendar)
    learned: deque[float] = deque(maxlen=rule.learn)
    logic = BaselineLogic(
        stretch,
        "mean",
        OFF_HOURS_QUANTILE,
        rule.factor,
        margin,
        rule.min_learned,
        learned,
        rule.consecutive,
    )
    logic.counter, logic.counter_span_ms = rule.counter, int(rule.counter_span_s * 1000)
    # "expected use" is a new normal (third review, M2) that lasts across the weekly pattern:
    # only `TAUGHT_OFF_HOURS_WEEKS` whole weeks of off-hours back at the base load end it
    # (fifth review of issue 20, M3: a weekday-night tenant's weekend ended it every week)
    week = off_hours_per_week(stretch, site_zone(eq.timezone))
    logic.lasting = max(2, rule.min_learned, TAUGHT_OFF_HOURS_WEEKS * week)
    # The site's holidays are not a return to the base load: their off-hours do not count
    # toward ending it (a tenant closed for 春节 comes back to its taught level).
    calendar = eq.calendar
    logic.not_calm = lambda hour: isinstance(hour, datetime) and is_holiday(calendar, hour.date())
    logic.as_base = True
    return logic, margin
