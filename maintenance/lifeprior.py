"""Priors of the Bayesian bathtub model, and their pooling across classes. Pure.

Each component of a class's bathtub (see `maintenance.lifemodel`) has two parameters on an
unbounded scale: its shape (logit β₁ for burn-in, log(β₃−1) for wear-out) and its crossover
age (log years), the age where it equals the random rate, i.e. the stage boundary itself.
The literature prior (sources in docs/scoring.md) puts weakly informative normals on the
shapes and centres the crossovers on the class's configured early/late boundaries.

Pooling (hierarchical, empirical Bayes): a class with little data borrows from the other
classes of the same fleet. The literature prior of an offset, N(0, σ²), is read as a
population mean μ ~ N(0, σ² − τ²) plus a class's own spread τ²; μ is estimated from what the
other classes' data say (their first-pass posteriors with the literature prior divided out;
never the class's own), τ² by moments, kept between `min_spread`²σ² and σ².
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field

from bldgwatch.core.config import StrictModel


class LifePriors(StrictModel):
    """Priors of the Bayesian bathtub model (defaults and their sources: docs/scoring.md)."""

    burn_in_shape: float = Field(
        0.55, gt=0, lt=1, description="Prior median of the burn-in Weibull shape β₁."
    )
    burn_in_shape_spread: float = Field(
        0.9, gt=0, description="Prior standard deviation of logit β₁."
    )
    wear_shape: float = Field(3.0, gt=1, description="Prior median of the wear-out shape β₃.")
    wear_shape_spread: float = Field(
        0.6, gt=0, description="Prior standard deviation of log(β₃ − 1)."
    )
    burn_in_end_spread: float = Field(
        1.0, gt=0, description="Prior sd of log(burn-in end age) around the class's early_years."
    )
    wear_onset_spread: float = Field(
        0.7, gt=0, description="Prior sd of log(wear-out onset age) around the class's late_years."
    )
    unconfigured_spread: float = Field(
        1.4,
        ge=1,
        description="A class without its own early/late_years settings: its boundary priors "
        "are this many times wider (the fallback boundaries are a guess, not knowledge).",
    )
    p_burn_in: float = Field(
        0.5, gt=0, lt=1, description="Prior probability that a class shows burn-in at all."
    )
    p_wear_out: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Prior probability that a class shows wear-out within the ages it reaches.",
    )
    rate_shape: float = Field(
        0.5, gt=0, description="Gamma prior of the random failure rate λ₀: shape."
    )
    rate_scale_years: float = Field(
        0.5, gt=0, description="Gamma prior of λ₀: rate parameter, in years (prior mean 1/yr)."
    )
    pool_classes: bool = Field(
        True, description="Pool shapes and boundary offsets across the classes of a fleet."
    )
    min_spread: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Pooling never narrows a prior below this share of its literature spread.",
    )
    pool_sites: bool = Field(
        True,
        description="Where a class has units at several sites, fit each site (with at least "
        "min_fit_units units) under a prior pooled from the other sites of the class.",
    )
    site_min_spread: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Sites of a class may be this close (share of the class prior's spread).",
    )


@dataclass(frozen=True, slots=True)
class Normal:
    """A normal distribution on the model's unbounded scale."""

    mean: float
    sd: float

    def log_density(self, x: float) -> float:
        """log N(x; mean, sd)."""
        z = (x - self.mean) / self.sd
        return -0.5 * z * z - math.log(self.sd * math.sqrt(2 * math.pi))


@dataclass(frozen=True, slots=True)
class ComponentPrior:
    """Prior of one component: its shape, its crossover age, and whether it is there."""

    shape: Normal
    cross: Normal  # log years
    p_present: float


@dataclass(frozen=True, slots=True)
class ClassPrior:
    """Everything the model assumes about one class before it sees the data."""

    burn_in: ComponentPrior
    wear_out: ComponentPrior
    rate_shape: float
    rate_scale: float
    pooled: bool = False


def logit(p: float) -> float:
    """log(p / (1 − p))."""
    return math.log(p / (1 - p))


def literature_prior(
    priors: LifePriors, early_years: float, late_years: float, *, configured: bool = True
) -> ClassPrior:
    """The unpooled prior of a class centred on its stage boundaries; a class without its own
    settings (the fallback's boundaries are a guess) gets boundary priors `unconfigured_spread`
    times wider."""
    widen = 1.0 if configured else priors.unconfigured_spread
    return ClassPrior(
        burn_in=ComponentPrior(
            Normal(logit(priors.burn_in_shape), priors.burn_in_shape_spread),
            Normal(math.log(max(early_years, 0.01)), widen * priors.burn_in_end_spread),
            priors.p_burn_in,
        ),
        wear_out=ComponentPrior(
            Normal(math.log(priors.wear_shape - 1), priors.wear_shape_spread),
            Normal(math.log(late_years), widen * priors.wear_onset_spread),
            priors.p_wear_out,
        ),
        rate_shape=priors.rate_shape,
        rate_scale=priors.rate_scale_years,
    )


@dataclass(frozen=True, slots=True)
class Estimate:
    """A class's first-pass posterior of one pooled quantity (offset from its prior centre)."""

    mean: float
    var: float


POOLED = ("burn_in.shape", "burn_in.cross", "wear_out.shape", "wear_out.cross")


def _data_only(estimate: Estimate, prior_sd: float) -> Estimate | None:
    """What the class's own data say, without the literature prior it was first fitted under
    (Gaussian deconvolution); None when the data add almost nothing to the prior."""
    precision = 1 / estimate.var - 1 / prior_sd**2
    if precision < 0.25 / prior_sd**2:
        return None
    return Estimate(estimate.mean / estimate.var / precision, 1 / precision)


def _population(
    lit_sd: float, others: Sequence[Estimate], everyone: Sequence[Estimate], min_spread: float
) -> Normal:
    """A class's prior for one offset: the literature prior N(0, σ²) split into a population
    mean μ ~ N(0, σ² − τ²) and a class's spread around it τ²; μ is learnt from the other
    classes' data-only estimates, τ² by moments (between min_spread²σ² and σ²). With no other
    class the result is the literature prior itself."""
    low, high = (min_spread * lit_sd) ** 2, lit_sd**2
    tau2 = high
    if len(everyone) >= 2:
        means = [e.mean for e in everyone]
        centre = sum(means) / len(means)
        spread = sum((m - centre) ** 2 for m in means) / (len(means) - 1)
        noise = sum(e.var for e in everyone) / len(everyone)
        tau2 = min(max(spread - noise, low), high)
    if not others or tau2 >= high * (1 - 1e-9):
        return Normal(0.0, lit_sd)
    precision = 1 / (high - tau2) + sum(1 / (e.var + tau2) for e in others)
    centre = sum(e.mean / (e.var + tau2) for e in others) / precision
    return Normal(centre, math.sqrt(tau2 + 1 / precision))


def pooled_priors(
    base: Mapping[str, ClassPrior],
    estimates: Mapping[str, Mapping[str, Estimate]],
    priors: LifePriors,
    *,
    min_spread: float | None = None,
) -> dict[str, ClassPrior]:
    """Each group's prior from the other groups' first-pass estimates (offsets from the
    centres of the priors they were fitted under), so a group never counts its own data
    twice. Groups are the classes of a fleet, or the sites of one class."""
    if not priors.pool_classes or len(base) < 2:
        return dict(base)
    floor = priors.min_spread if min_spread is None else min_spread
    out: dict[str, ClassPrior] = {}
    for cls, prior in base.items():
        parts: dict[str, Normal] = {}
        for name in POOLED:
            comp_name, field_name = name.split(".")
            lit: Normal = getattr(getattr(prior, comp_name), field_name)
            data = {
                c: d
                for c, e in estimates.items()
                if name in e and (d := _data_only(e[name], lit.sd)) is not None
            }
            others = [d for c, d in data.items() if c != cls]
            pop = _population(lit.sd, others, list(data.values()), floor)
            parts[name] = Normal(lit.mean + pop.mean, pop.sd)
        out[cls] = ClassPrior(
            burn_in=ComponentPrior(
                parts["burn_in.shape"], parts["burn_in.cross"], prior.burn_in.p_present
            ),
            wear_out=ComponentPrior(
                parts["wear_out.shape"], parts["wear_out.cross"], prior.wear_out.p_present
            ),
            rate_shape=prior.rate_shape,
            rate_scale=prior.rate_scale,
            pooled=True,
        )
    return out
