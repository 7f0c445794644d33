"""The fitted bathtub's check against the class's failure counts by age: a class drawn from
the model passes it; a class whose wear-out is not a power law fails it, and its stage
probabilities then lean on the age bands (issue 17's review: overconfident off the model)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from bldgwatch.maintenance.bands import base_probs
from bldgwatch.maintenance.bathtub import Segment
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.fleetfit import UnitRecord, fit_fleet
from bldgwatch.maintenance.fleetgen import TrueBathtub, segment_failures
from bldgwatch.maintenance.lifecheck import FitCheck, check_fit, misfit_weight
from bldgwatch.maintenance.lifemodel import Shapes, life_data
from bldgwatch.maintenance.scoring import AssetFacts, score_stage

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
CFG = StageConfig()


def _power_law_fleet(seed: int) -> list[UnitRecord]:
    truth = TrueBathtub(lam0=0.5, beta1=0.4, cross1=0.3, beta3=4.0, cross3=9.0)
    rng = np.random.default_rng(seed)
    ages = rng.uniform(0.1, 20, 300)
    return [
        UnitRecord((Segment(0.0, float(a), tuple(segment_failures(truth, float(a), rng))),))
        for a in ages
    ]


def _levelling_fleet(seed: int) -> list[UnitRecord]:
    """Random failures at 0.5 a year, and from 8 years on a wear-out of 10 a year at once
    (a step: no power law rises like that)."""
    rng = np.random.default_rng(seed)
    records = []
    for age in rng.uniform(0.1, 25, 300):
        span = float(age)
        times = list(rng.uniform(0, span, rng.poisson(0.5 * span)))
        if span > 8.0:
            times += list(rng.uniform(8.0, span, rng.poisson(10.0 * (span - 8.0))))
        records.append(UnitRecord((Segment(0.0, span, tuple(sorted(times))),)))
    return records


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_class_drawn_from_the_model_passes_the_check(seed: int) -> None:
    fit = fit_fleet({"pump": _power_law_fleet(seed)}, CFG)["pump"]
    assert fit.check.dof > 0 and fit.check.failures == fit.failures
    assert fit.check.weight == 0.0
    ages = np.array([0.2, 5.0, 14.0])
    assert np.array_equal(fit.stage_probabilities(ages), fit.posterior.stage_probabilities(ages))


def test_a_wear_out_that_is_no_power_law_leans_on_the_age_bands() -> None:
    fit = fit_fleet({"pump": _levelling_fleet(11)}, CFG)["pump"]
    check = fit.check
    assert check.p_value < CFG.misfit_p_value
    assert check.misfit > CFG.misfit_start
    assert 0.0 < check.weight <= 1.0
    ages = np.array([2.0, 6.0, 20.0])
    own = fit.posterior.stage_probabilities(ages)
    bands = np.array([base_probs(a, CFG.boundaries("pump")) for a in ages])
    mixed = fit.stage_probabilities(ages)
    assert mixed == pytest.approx((1 - check.weight) * own + check.weight * bands)
    installed = (AS_OF - timedelta(days=6.0 * 365.25)).date()  # truly mid: no wear-out before 8
    score = score_stage(AssetFacts("P-06", "pump", installed=installed), [], AS_OF, None, fit)
    assert score.message is not None
    assert score.message.params["advice"].key != "advice.late"
    assert "lean" in score.texts["en"] and "年龄分段" in score.texts["zh-CN"]
    assert score.params["fit_check"]["bands_weight"] == round(check.weight, 3)


def test_the_bands_weight_rises_with_the_misfit_beyond_chance() -> None:
    def check(deviance: float, dof: int, failures: int) -> FitCheck:
        return FitCheck(deviance, dof, dof + 3, failures)

    kw = {"start": 0.05, "full": 0.3, "p_value": 0.01}
    assert misfit_weight(check(12.0, 9, 400), **kw) == 0.0  # chance explains it
    big = check(9.0 + 0.3**2 * 400, 9, 400)  # δ = 0.3, far beyond chance
    assert big.p_value < 1e-6
    assert big.misfit == pytest.approx(0.3)
    assert misfit_weight(big, **kw) == pytest.approx(1.0)
    mid = check(9.0 + 0.1**2 * 4000, 9, 4000)  # δ = 0.1
    expected = math.log(0.1 / 0.05) / math.log(0.3 / 0.05)
    assert misfit_weight(mid, **kw) == pytest.approx(expected)
    small = check(9.0 + 0.04**2 * 40000, 9, 40000)  # significant, but δ = 0.04 < start
    assert small.p_value < 1e-6 and misfit_weight(small, **kw) == 0.0


def test_a_class_with_few_failures_is_not_checked() -> None:
    data = life_data([Segment(0.0, 3.0, (0.5, 1.0)), Segment(0.0, 2.0, ())])
    out = check_fit(data, Shapes(), 0.3, start=0.05, full=0.3, p_value=0.01)
    assert out == FitCheck() and out.p_value == 1.0 and out.misfit == 0.0


def test_the_misfit_settings_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match="misfit_full"):
        StageConfig(misfit_start=0.3, misfit_full=0.2)
