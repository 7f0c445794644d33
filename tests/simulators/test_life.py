"""Life models: bathtub intensity, stages, failure drawing, renewals, determinism."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from scipy import integrate

from bldgwatch.simulators.life import (
    YEAR,
    LifeParams,
    Renewal,
    Stage,
    components,
    cumulative,
    failure_ages,
    intensity,
    live,
    stage_at,
    true_stage,
)

PARAMS = LifeParams(
    early_beta=0.5, early_eta_years=8.0, random_per_year=0.5, wear_beta=3.0, wear_eta_years=12.0
)
T_INSTALL = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "stage"),
    [
        (0.0, Stage.EARLY),
        (0.01, Stage.EARLY),
        (0.12, Stage.EARLY),  # early = random at 8/64 = 0.125 years
        (0.13, Stage.MID),
        (5.0, Stage.MID),
        (16.9, Stage.MID),  # wear = random at sqrt(288) = 16.97 years
        (17.0, Stage.LATE),
        (40.0, Stage.LATE),
    ],
)
def test_stage_is_the_dominating_component(age: float, stage: Stage) -> None:
    assert stage_at(PARAMS, age) is stage


def test_components_fall_stay_and_rise() -> None:
    young, old = components(PARAMS, 1.0), components(PARAMS, 10.0)
    assert young[Stage.EARLY] > old[Stage.EARLY]
    assert young[Stage.MID] == old[Stage.MID] == 0.5
    assert young[Stage.LATE] < old[Stage.LATE]
    assert intensity(PARAMS, 2.0) == pytest.approx(sum(components(PARAMS, 2.0).values()))


@pytest.mark.parametrize("age", [0.5, 3.0, 15.0, 25.0])
def test_cumulative_is_the_integral_of_the_intensity(age: float) -> None:
    area, _err = integrate.quad(lambda t: intensity(PARAMS, t), 0.0, age, limit=200)
    assert cumulative(PARAMS, age) == pytest.approx(area, rel=1e-4)


def test_failure_counts_match_the_expected_counts_by_age_band() -> None:
    rng = random.Random(2024)
    fleet = 3000
    ages = [a for _ in range(fleet) for a in failure_ages(PARAMS, 0.0, 20.0, rng)]
    for low, high in [(0.0, 0.5), (0.5, 5.0), (5.0, 12.0), (12.0, 20.0)]:
        observed = sum(1 for a in ages if low < a <= high)
        expected = fleet * (cumulative(PARAMS, high) - cumulative(PARAMS, low))
        assert abs(observed - expected) < 4 * math.sqrt(expected), (low, high, observed, expected)


def test_same_seed_same_life_other_seed_other_life() -> None:
    def history(seed: int) -> list[tuple[str, datetime]]:
        life = live(
            "E-01",
            "elevator",
            PARAMS,
            Renewal(after_years=10),
            installed=T_INSTALL,
            until=datetime(2026, 1, 1, tzinfo=UTC),
            rng=random.Random(seed),
        )
        return [(ev.event, ev.at) for ev in life.events]

    assert history(3) == history(3)
    assert history(3) != history(4)


def test_renewal_resets_the_age_and_the_stage() -> None:
    until = datetime(2026, 1, 1, tzinfo=UTC)
    renewal = Renewal(after_years=20, replace_share=1.0)
    life = live(
        "P-01", "pump", PARAMS, renewal, installed=T_INSTALL, until=until, rng=random.Random(1)
    )
    renewals = [ev for ev in life.events if ev.event in ("overhaul", "replaced")]
    assert [ev.event for ev in renewals] == ["replaced"]
    renewed = renewals[0].at
    assert renewed == T_INSTALL + 20 * YEAR
    assert life.age_at(renewed - YEAR) == pytest.approx(19.0)
    assert true_stage(life, renewed - YEAR) is Stage.LATE
    assert life.age_at(renewed + YEAR / 365) == pytest.approx(1 / 365, abs=1e-6)
    assert life.true_stage(renewed + YEAR / 365) is Stage.EARLY
    assert life.events[0].event == "installed" and life.events[0].at == T_INSTALL
    for ev in life.failures():
        assert T_INSTALL < ev.at <= until
        assert ev.stage is life.true_stage(ev.at)


def test_no_renewal_means_one_age_axis() -> None:
    until = datetime(2010, 1, 1, tzinfo=UTC)
    life = live(
        "S-1", "shaft", PARAMS, Renewal(), installed=T_INSTALL, until=until, rng=random.Random(5)
    )
    assert {ev.event for ev in life.events} <= {"installed", "failure"}
    assert life.age_at(until) == pytest.approx((until - T_INSTALL) / YEAR)
    assert life.age_at(T_INSTALL - YEAR) == 0.0
