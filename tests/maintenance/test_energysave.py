"""maintenance.energysave: the baseline fit (degree-days or the period's mean), the saving
against it, and the target progress, over plain days."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from bldgwatch.maintenance.energysave import (
    MIN_DAYS,
    Bases,
    Day,
    NoBaseline,
    daily_means,
    fit,
    progress,
    savings,
)

START = date(2026, 1, 1)
BASES = Bases(heating=18.0, cooling=26.0)


def _days(temps: list[float | None], use, start: date = START) -> list[Day]:
    return [Day(start + timedelta(days=i), use(t), t, False) for i, t in enumerate(temps)]


def _weather(temp: float | None) -> float:
    assert temp is not None
    hdd, cdd = BASES.degree_days(temp)
    return 400.0 + 12.0 * hdd + 30.0 * cdd


def test_degree_days_from_the_daily_mean() -> None:
    assert BASES.degree_days(10.0) == (8.0, 0.0)
    assert BASES.degree_days(30.0) == (0.0, 4.0)
    assert BASES.degree_days(22.0) == (0.0, 0.0)


def test_the_fit_finds_the_weather_dependence_of_a_year_round_baseline() -> None:
    rng = np.random.default_rng(7)
    temps = [float(t) for t in 18 + 12 * np.sin(np.linspace(0, 2 * np.pi, 120))]
    days = [
        Day(d.day, d.used + float(rng.normal(0, 5)), d.mean_c)
        for d in _days(temps, _weather)  # type: ignore[arg-type]
    ]
    base = fit(days, START, START + timedelta(days=120), BASES)
    assert base.method == "degree_days"
    assert base.days == 120
    assert base.intercept == pytest.approx(400, abs=5)
    assert base.per_hdd == pytest.approx(12, abs=0.5)
    assert base.per_cdd == pytest.approx(30, abs=1.0)
    assert base.r2 is not None and base.r2 > 0.95
    assert base.cv_rmse is not None and base.cv_rmse < 0.05
    # A cold day is expected to use what the weather says.
    assert base.expected(5.0) == pytest.approx(400 + 12 * 13, rel=0.02)


def test_a_winter_baseline_has_no_cooling_term_and_a_negative_slope_is_dropped() -> None:
    winter = [2.0 + (i % 10) for i in range(30)]
    base = fit(_days(winter, _weather), START, START + timedelta(days=30), BASES)  # type: ignore[arg-type]
    assert (base.per_cdd, base.method) == (0.0, "degree_days")
    assert base.per_hdd == pytest.approx(12)
    # Use that falls when it gets colder is not weather: the term goes, the mean stays.
    odd = _days(winter, lambda t: 1000.0 - 20 * (18 - t))  # type: ignore[operator]
    found = fit(odd, START, START + timedelta(days=30), BASES)
    assert found.per_hdd == 0.0
    assert found.method == "average"
    assert found.intercept == pytest.approx(np.mean([d.used for d in odd]))


def test_without_temperatures_the_baseline_is_the_periods_mean_per_day() -> None:
    days = _days([None] * 20, lambda _t: 0.0)
    days = [Day(d.day, 100.0 + i, None) for i, d in enumerate(days)]
    base = fit(days, START, START + timedelta(days=20), BASES)
    assert base.method == "average"
    assert base.intercept == pytest.approx(109.5)
    assert base.expected(None) == base.expected(35.0) == pytest.approx(109.5)


def test_too_few_temperature_days_fall_back_to_the_mean() -> None:
    temps: list[float | None] = [5.0 + i for i in range(15)] + [None] * 10
    days = [Day(d.day, 200.0, d.mean_c) for d in _days(temps, lambda _t: 0.0)]
    assert fit(days, START, START + timedelta(days=25), BASES).method == "average"


def test_stuck_days_are_left_out_and_too_few_days_refuse() -> None:
    days = [Day(START + timedelta(days=i), 100.0, None, stuck=i < 10) for i in range(30)]
    days[0] = Day(START, 0.0, None, stuck=True)  # a stuck counter's day reads too low
    base = fit(days, START, START + timedelta(days=30), BASES)
    assert (base.days, base.intercept) == (20, 100.0)
    with pytest.raises(NoBaseline) as err:
        fit(days, START, START + timedelta(days=MIN_DAYS + 2), BASES)
    assert err.value.usable == 6


def test_only_days_inside_the_period_make_the_baseline() -> None:
    days = [Day(START + timedelta(days=i), 100.0 if i < 20 else 500.0, None) for i in range(40)]
    assert fit(days, START, START + timedelta(days=20), BASES).intercept == 100.0


def test_savings_against_the_weather_baseline_with_money_and_area() -> None:
    temps = [float(t) for t in np.linspace(-2, 14, 40)]
    base = fit(_days(temps, _weather), START, START + timedelta(days=40), BASES)  # type: ignore[arg-type]
    later = START + timedelta(days=60)
    # A colder reporting month, run 10 % leaner than the weather says.
    report = _days([0.0] * 30, lambda t: 0.9 * _weather(t), later)
    s = savings(base, report, tariff=0.8, area_m2=12_000.0)
    expected = 30 * (400 + 12 * 18)
    assert s.expected == pytest.approx(expected, rel=1e-6)
    assert s.used == pytest.approx(0.9 * expected, rel=1e-6)
    assert s.share == pytest.approx(0.1, abs=1e-6)
    assert s.money == pytest.approx(0.1 * expected * 0.8, rel=1e-6)
    assert s.per_m2 == pytest.approx(0.9 * expected / 12_000, rel=1e-6)
    assert s.per_day == pytest.approx(0.9 * expected / 30, rel=1e-6)
    assert s.days[0].saved == pytest.approx(0.1 * (400 + 12 * 18), rel=1e-6)
    # A plain mean baseline would have called the cold month a loss.
    flat = fit([Day(d.day, d.used, None) for d in _days(temps, _weather)], START, later, BASES)  # type: ignore[arg-type]
    assert savings(flat, report).saved < 0


def test_no_money_without_a_tariff_and_no_area_figure_without_an_area() -> None:
    base = fit(
        [Day(START + timedelta(days=i), 10.0) for i in range(14)], START, date(2026, 2, 1), BASES
    )
    s = savings(base, [Day(date(2026, 3, 1), 12.0)])
    assert (s.money, s.per_m2, s.saved) == (None, None, -2.0)
    assert savings(base, []).share is None


def test_progress_against_the_target() -> None:
    assert progress(2026, 0.05, 0.06).on_track is True
    assert progress(2026, 0.05, 0.04).on_track is False
    assert progress(2026, None, 0.04).on_track is None
    assert progress(2026, 0.05, None).on_track is None


def test_daily_means_need_enough_hours() -> None:
    d1, d2 = date(2026, 1, 1), date(2026, 1, 2)
    hourly = [(d1, 10.0 + h) for h in range(24)] + [(d2, 3.0)] * 5
    assert daily_means(hourly) == {d1: pytest.approx(21.5)}


def test_days_no_reading_covers_are_neither_fitted_nor_counted() -> None:
    days = [
        Day(START + timedelta(days=i), 0.0 if i < 10 else 100.0, None, unread=i < 10)
        for i in range(30)
    ]
    base = fit(days, START, START + timedelta(days=30), BASES)
    assert (base.days, base.intercept) == (20, 100.0)
    s = savings(base, [Day(date(2026, 3, 1), 90.0), Day(date(2026, 3, 2), 0.0, unread=True)])
    assert (len(s.days), s.used, s.expected, s.per_day) == (1, 90.0, 100.0, 90.0)
