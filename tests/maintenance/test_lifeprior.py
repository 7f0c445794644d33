"""Priors of the Bayesian bathtub model: literature centres, and pooling across classes."""

from __future__ import annotations

import math

import pytest

from bldgwatch.maintenance.lifeprior import (
    Estimate,
    LifePriors,
    literature_prior,
    pooled_priors,
)

PRIORS = LifePriors()


def test_literature_prior_centres_on_the_configured_boundaries() -> None:
    prior = literature_prior(PRIORS, early_years=0.5, late_years=10.0)
    assert prior.burn_in.shape.mean == pytest.approx(math.log(0.55 / 0.45))
    assert prior.burn_in.cross.mean == pytest.approx(math.log(0.5))
    assert prior.wear_out.shape.mean == pytest.approx(math.log(3.0 - 1))
    assert prior.wear_out.cross.mean == pytest.approx(math.log(10.0))
    assert prior.wear_out.cross.sd == PRIORS.wear_onset_spread
    assert not prior.pooled


def _base() -> dict[str, object]:
    return {c: literature_prior(PRIORS, 1.0, 15.0) for c in ("lift", "pump", "fan")}


def test_a_class_borrows_the_others_wear_onset_never_its_own() -> None:
    base = _base()
    # lift and pump say (sharply) wear-out comes at e^0.5 ≈ 1.65 × the configured onset;
    # fan has no data about it at all
    sharp = {"wear_out.cross": Estimate(0.5, 0.01)}
    estimates = {"lift": sharp, "pump": sharp, "fan": {}}
    pooled = pooled_priors(base, estimates, PRIORS)  # type: ignore[arg-type]
    fan = pooled["fan"].wear_out.cross
    assert fan.mean - math.log(15.0) == pytest.approx(0.5, abs=0.1)
    sd = PRIORS.wear_onset_spread
    assert PRIORS.min_spread * sd <= fan.sd < sd  # narrower, never below the floor
    # lift's prior comes from pump (and the literature), not from lift's own estimate
    lift = pooled["lift"].wear_out.cross
    assert 0.2 < lift.mean - math.log(15.0) < 0.5
    burn = pooled["fan"].burn_in.cross  # nobody knows about burn-in: the literature stands
    assert burn.mean == pytest.approx(0.0) and burn.sd == pytest.approx(PRIORS.burn_in_end_spread)


def test_a_lone_class_keeps_the_literature_prior() -> None:
    base = _base()
    estimates = {"lift": {"wear_out.cross": Estimate(0.5, 0.01)}, "pump": {}, "fan": {}}
    pooled = pooled_priors(base, estimates, PRIORS)  # type: ignore[arg-type]
    lift = pooled["lift"].wear_out.cross
    assert lift.mean == pytest.approx(math.log(15.0))
    assert lift.sd == pytest.approx(PRIORS.wear_onset_spread)


def test_pooling_can_be_switched_off() -> None:
    base = _base()
    off = LifePriors(pool_classes=False)
    estimates = {c: {"wear_out.cross": Estimate(0.5, 0.01)} for c in base}
    assert pooled_priors(base, estimates, off) == base  # type: ignore[arg-type]
