"""Saving you can show (issue 20, point 5): a building's baseline, the saving against it, its
energy KPIs and the progress against the site's yearly reduction target. Pure: daily
consumption (from `maintenance.energy`) and daily mean temperatures come in, figures go out.

**Baseline.** Over the baseline period a user chose, each day's consumption is regressed on
that day's heating and cooling degree-days (HDD = max(0, heating base − daily mean °C),
CDD = max(0, daily mean − cooling base)) by ordinary least squares (`numpy.linalg.lstsq`):
consumption ≈ a + b·HDD + c·CDD. A degree-day term with no spread in the period (a summer
baseline has no HDD) is left out, and one whose fitted slope is negative (more use when it is
milder is not weather) is dropped and the fit repeated. That needs temperature on at least
`MIN_DAYS` days and on `MIN_COVER` of the baseline's days, and on the reporting day itself;
without it the baseline is the plain one: the period's mean consumption per day (a day of the
reporting period is expected to use what a baseline day did on average). Days a stuck counter
touches are left out of the fit (their figure is too low), and so are days no reading covers
(before a meter's first reading or after its last) and days inside a meter outage whose
increment was only estimated (a reset in the gap: the figure is the usual rate, not a
reading). None of those is counted as a saving or in the target's progress either: a jammed
register's day is not "saved energy"; `Savings.left_out` names them.

**Saving** of a day = expected − actual (positive: less was used); the share is over the
expected total, the money at the site's tariff.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

MIN_DAYS = 14
"""Fewest usable baseline days for any baseline."""
MIN_COVER = 0.8
"""Share of the usable baseline days that must have a temperature for the weather fit."""

Method = Literal["degree_days", "average"]


@dataclass(frozen=True, slots=True)
class Day:
    """One day of the site's calendar: what was used, and the day's mean temperature."""

    day: date
    used: float
    mean_c: float | None = None
    stuck: bool = False
    unread: bool = False
    """No counter reading covers the whole day (before the first, after the last): its use
    is unknown, so it is neither fitted nor counted."""
    estimated: bool = False
    """Inside a meter outage whose increment is an estimate (a reset in the gap): neither
    fitted nor counted."""

    @property
    def counted(self) -> bool:
        """Whether the day's figure is a reading to fit and to count as saving."""
        return not (self.stuck or self.unread or self.estimated)


@dataclass(frozen=True, slots=True)
class Bases:
    """Degree-day base temperatures (°C)."""

    heating: float = 18.0
    cooling: float = 26.0

    def degree_days(self, mean_c: float) -> tuple[float, float]:
        """(HDD, CDD) of a day with this mean temperature."""
        return max(0.0, self.heating - mean_c), max(0.0, mean_c - self.cooling)


@dataclass(frozen=True, slots=True)
class Baseline:
    """How much a day is expected to use."""

    method: Method
    start: date
    end: date
    days: int
    """Baseline days used in the fit."""
    intercept: float
    """Per day (average: the mean per day)."""
    per_hdd: float = 0.0
    per_cdd: float = 0.0
    r2: float | None = None
    """Degree-day fit: coefficient of determination over the baseline days."""
    cv_rmse: float | None = None
    """Degree-day fit: root-mean-square error over the mean per day."""
    bases: Bases = Bases()

    def expected(self, mean_c: float | None) -> float:
        """What a day with this mean temperature is expected to use (the weather fit needs
        the temperature; without it the average of the fit's days stands in)."""
        if self.method == "average":
            return self.intercept
        if mean_c is None:
            return self.intercept + self.per_hdd * self.mean_hdd + self.per_cdd * self.mean_cdd
        hdd, cdd = self.bases.degree_days(mean_c)
        return max(0.0, self.intercept + self.per_hdd * hdd + self.per_cdd * cdd)

    mean_hdd: float = 0.0
    """Degree-day fit: the baseline days' mean HDD (stands in for a day without temperature)."""
    mean_cdd: float = 0.0


class NoBaseline(ValueError):  # noqa: N818
    """Too few usable days in the baseline period."""

    def __init__(self, usable: int) -> None:
        super().__init__(f"{usable} usable baseline days, at least {MIN_DAYS} needed")
        self.usable = usable


def fit(days: Sequence[Day], start: date, end: date, bases: Bases) -> Baseline:
    """The baseline from the days in [start, end) (others are ignored); NoBaseline when fewer
    than `MIN_DAYS` of them are usable (not touched by a stuck counter)."""
    usable = [d for d in days if start <= d.day < end and d.counted]
    if len(usable) < MIN_DAYS:
        raise NoBaseline(len(usable))
    warm = [d for d in usable if d.mean_c is not None]
    if len(warm) >= MIN_DAYS and len(warm) >= MIN_COVER * len(usable):
        found = _weather_fit(warm, start, end, bases)
        if found is not None:
            return found
    mean = float(np.mean([d.used for d in usable]))
    return Baseline("average", start, end, len(usable), mean, bases=bases)


def _weather_fit(days: Sequence[Day], start: date, end: date, bases: Bases) -> Baseline | None:
    y = np.array([d.used for d in days], dtype=float)
    dd = np.array([bases.degree_days(d.mean_c) for d in days if d.mean_c is not None])
    terms = [k for k in (0, 1) if np.ptp(dd[:, k]) > 1e-9]
    while terms:
        x = np.column_stack([np.ones(len(y)), dd[:, terms]])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        negative = [t for t, c in zip(terms, coef[1:], strict=True) if c < 0]
        if negative:
            terms = [t for t in terms if t not in negative]
            continue
        fitted = x @ coef
        residual = float(np.sum((y - fitted) ** 2))
        total = float(np.sum((y - y.mean()) ** 2))
        slopes = dict(zip(terms, coef[1:], strict=True))
        mean_y = float(y.mean())
        return Baseline(
            "degree_days",
            start,
            end,
            len(y),
            float(coef[0]),
            float(slopes.get(0, 0.0)),
            float(slopes.get(1, 0.0)),
            r2=1.0 - residual / total if total > 0 else None,
            cv_rmse=math.sqrt(residual / len(y)) / mean_y if mean_y > 0 else None,
            bases=bases,
            mean_hdd=float(dd[:, 0].mean()),
            mean_cdd=float(dd[:, 1].mean()),
        )
    return None


@dataclass(frozen=True, slots=True)
class DaySaving:
    """A reporting day against the baseline."""

    day: date
    used: float
    expected: float
    mean_c: float | None
    stuck: bool

    @property
    def saved(self) -> float:
        return self.expected - self.used


@dataclass(frozen=True, slots=True)
class Savings:
    """A reporting period against the baseline."""

    days: list[DaySaving]
    used: float
    expected: float
    saved: float
    share: float | None
    """saved / expected (0.05 = 5 % less than expected); None when nothing was expected."""
    money: float | None
    """saved × tariff; None without a tariff."""
    per_day: float | None
    per_m2: float | None
    """used / floor area; None without an area."""
    left_out: list[tuple[date, Literal["stuck", "estimated"]]] = field(default_factory=list)
    """Read days not counted, and why: a counter stood still (the figure is too low), or the
    day lies in an outage whose increment is only estimated."""


def savings(
    baseline: Baseline,
    days: Sequence[Day],
    *,
    tariff: float | None = None,
    area_m2: float | None = None,
) -> Savings:
    """Each day's use against what the baseline expects, and the totals (days no reading
    covers, stuck and estimated days are left out; the last two are named in `left_out`)."""
    rows = [
        DaySaving(d.day, d.used, baseline.expected(d.mean_c), d.mean_c, d.stuck)
        for d in days
        if d.counted
    ]
    left_out: list[tuple[date, Literal["stuck", "estimated"]]] = [
        (d.day, "stuck" if d.stuck else "estimated") for d in days if not d.unread and not d.counted
    ]
    used = sum(r.used for r in rows)
    expected = sum(r.expected for r in rows)
    saved = expected - used
    return Savings(
        rows,
        used,
        expected,
        saved,
        saved / expected if expected > 0 else None,
        saved * tariff if tariff is not None else None,
        used / len(rows) if rows else None,
        used / area_m2 if area_m2 else None,
        left_out,
    )


@dataclass(frozen=True, slots=True)
class Progress:
    """The year so far against the site's reduction target."""

    year: int
    target: float | None
    """0.05 = use 5 % less than the baseline expects; None: no target set."""
    achieved: float | None
    """The saving share of the year so far."""
    on_track: bool | None


def progress(year: int, target: float | None, achieved: float | None) -> Progress:
    """On track when the share saved so far is at least the target."""
    on_track = None if target is None or achieved is None else achieved >= target
    return Progress(year, target, achieved, on_track)


def daily_means(hourly: Sequence[tuple[date, float]], *, min_hours: int = 6) -> dict[date, float]:
    """The mean temperature of each local day from its hourly means (each hour given with the
    local day it starts in); a day with fewer than `min_hours` hours has none."""
    by_day: dict[date, list[float]] = {}
    for day, value in hourly:
        by_day.setdefault(day, []).append(value)
    return {d: float(np.mean(v)) for d, v in by_day.items() if len(v) >= min_hours}
