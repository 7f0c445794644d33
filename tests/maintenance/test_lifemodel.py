"""The Bayesian bathtub model: hand-computed intensities and evidence, and the components it
chooses on fleets where the answer is known."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bldgwatch.maintenance import lifemodel
from bldgwatch.maintenance.bathtub import Segment
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.fleetfit import UnitRecord, fit_fleet
from bldgwatch.maintenance.fleetgen import TrueBathtub, segment_failures
from bldgwatch.maintenance.lifefit import fit_class
from bldgwatch.maintenance.lifemodel import (
    Shapes,
    Variant,
    dominant_stage,
    life_data,
    log_posterior,
    relative_cumulative,
    relative_intensity,
)
from bldgwatch.maintenance.lifeprior import LifePriors, literature_prior
from bldgwatch.maintenance.scoring import AssetFacts, score_stage

SHAPES = Shapes(
    beta1=np.array([0.5]), cross1=np.array([1.0]), beta3=np.array([3.0]), cross3=np.array([10.0])
)
PRIOR = literature_prior(LifePriors(), early_years=1.0, late_years=15.0)
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def test_intensity_and_cumulative_by_hand() -> None:
    # h(4) = 1 + (4/1)^(0.5-1) + (4/10)^(3-1) = 1 + 0.5 + 0.16
    assert relative_intensity(SHAPES, np.array([4.0]))[0, 0] == pytest.approx(1.66)
    # H(4) = 4 + (1/0.5)(4/1)^0.5 + (10/3)(4/10)^3 = 4 + 4 + 0.213333
    assert relative_cumulative(SHAPES, np.array([4.0]))[0, 0] == pytest.approx(8.213333, rel=1e-6)
    assert relative_cumulative(SHAPES, np.array([0.0]))[0, 0] == 0.0


@pytest.mark.parametrize(
    ("age", "stage"),
    [(0.5, 0), (1.0, 0), (1.01, 1), (4.0, 1), (10.0, 1), (12.0, 2)],  # ties go to the earlier
)
def test_the_dominant_component_changes_at_the_crossover_ages(age: float, stage: int) -> None:
    assert dominant_stage(SHAPES, np.array([age]))[0, 0] == stage


def test_constant_rate_evidence_is_the_gamma_poisson_marginal() -> None:
    # 3 failures in 4 + 6 unit-years, λ₀ ~ Gamma(0.5, 0.5): log p = lgamma(3.5) − lgamma(0.5)
    # + 0.5·log 0.5 − 3.5·log(0.5 + 10) = 1.200974 − 0.572365 − 0.346574 − 8.229813
    data = life_data([Segment(0.0, 4.0, (1.0, 3.0)), Segment(0.0, 6.0, (2.5,))])
    value = log_posterior(np.zeros((1, 0)), Variant(False, False), PRIOR, data)[0]
    assert value == pytest.approx(-7.947778, abs=1e-5)
    assert data.exposure == pytest.approx(10.0)


def test_binning_a_large_class_barely_moves_the_posterior(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    truth = TrueBathtub(lam0=2.0, beta1=0.5, cross1=0.5, beta3=3.0, cross3=12.0)
    spans = rng.uniform(0.1, 25, 400)
    segments = [Segment(0.0, s, tuple(segment_failures(truth, s, rng))) for s in spans]
    z = np.array([[0.0, math.log(0.5), math.log(2.0), math.log(12.0)]])
    binned = life_data(segments)
    monkeypatch.setattr(lifemodel, "COMPRESS_ABOVE", 10**9)
    exact = life_data(segments)
    assert binned.ages.size < exact.ages.size / 5  # it did bin
    full = Variant(True, True)
    assert log_posterior(z, full, PRIOR, binned)[0] == pytest.approx(
        log_posterior(z, full, PRIOR, exact)[0], abs=1.0
    )


def _fleet(truth: TrueBathtub, ages: np.ndarray, seed: int) -> list[Segment]:
    rng = np.random.default_rng(seed)
    return [Segment(0.0, float(a), tuple(segment_failures(truth, float(a), rng))) for a in ages]


def test_a_constant_rate_is_reported_without_burn_in_or_wear_out() -> None:
    truth = TrueBathtub(lam0=1.0)
    ages = np.random.default_rng(2).uniform(0.1, 25, 150)
    post = fit_class(PRIOR, life_data(_fleet(truth, ages, 3)))
    presence = post.presence()
    assert presence["burn_in"] < 0.2 and presence["wear_out"] < 0.2
    probs = post.stage_probabilities(np.array([0.3, 5.0, 24.0]))
    assert (probs[:, 1] > 0.8).all()
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_a_strong_wear_out_is_found_where_it_is() -> None:
    truth = TrueBathtub(lam0=0.5, beta1=0.4, cross1=0.3, beta3=4.0, cross3=9.0)
    ages = np.random.default_rng(4).uniform(0.1, 20, 300)
    post = fit_class(PRIOR, life_data(_fleet(truth, ages, 5)))
    assert post.presence()["wear_out"] > 0.99
    point = post.point()
    assert point.cross3 == pytest.approx(9.0, rel=0.15)
    assert point.beta3 == pytest.approx(4.0, rel=0.25)
    probs = post.stage_probabilities(np.array([5.0, 14.0]))
    assert probs[0, 1] > 0.9 and probs[1, 2] > 0.9


def test_young_elevators_are_not_called_late() -> None:
    """The issue's case: a young fleet never reaches wear-out; the fit must not invent it, and
    a 2.7-year-old elevator must not be advised for replacement."""
    truth = TrueBathtub(lam0=2.0, beta1=0.5, cross1=0.5, beta3=3.5, cross3=15.0)
    ages = np.random.default_rng(6).uniform(0.05, 3.0, 20)
    records = [UnitRecord((s,)) for s in _fleet(truth, ages, 7)]
    fit = fit_fleet({"elevator": records}, StageConfig())["elevator"]
    assert fit.presence["wear_out"] < 0.5
    installed = (AS_OF - timedelta(days=2.7 * 365.25)).date()
    score = score_stage(AssetFacts("E-07", "elevator", installed=installed), [], AS_OF, None, fit)
    assert score.p_late < 0.05
    assert score.stage.value in ("early", "mid")
    assert "replacement" not in score.reason
    assert "no wear-out seen in elevators up to" in score.reason
    assert score.params["components_present"]["wear_out"] < 0.5
