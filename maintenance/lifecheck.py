"""Does a class's fitted bathtub describe its failures? A predictive check of the fit. Pure.

The Bayesian model's stage probabilities hold only if the class's failure intensity really is
a power-law burn-in + a constant + a power-law wear-out. Fleets built differently (a burn-in
that ends abruptly, a wear-out that rises linearly from a delayed onset or levels off) are
fitted anyway, and the fit is then sure of boundaries it has put in the wrong place
(`docs/scoring.md`, "Limits"). The check: the class's failures are counted in age bins (at
the quantiles of their ages, about `FAILURES_PER_BIN` a bin) and compared with the counts
the fitted intensity expects from the class's exposure in each bin. The deviance G against a
free rate per bin (the saturated model) is about χ²-distributed when the model holds; its
degrees of freedom are taken as bins − 1, not bins − 1 − (fitted parameters), because the
intensity compared is the posterior mean fitted to the unbinned ages, not the binned counts'
own best fit (a class drawn from the model itself showed deviances above bins − 1 − 5 often
enough to be shrunk for nothing). Two things are read from it:

* whether the misfit is beyond chance: the χ² tail probability of G (below
  `misfit_p_value`);
* how large it is: δ = √(max(G − dof, 0) / failures), about the failure-weighted root mean
  square of (observed − expected)/expected over the bins beyond what chance gives — an effect
  size, so a class of thousands of failures is not condemned for a misfit too small to move a
  stage boundary, nor a small class spared because chance could hide a large one.

Where the misfit is beyond chance, the scorer leans on the age bands with a weight rising
with log δ from 0 at `misfit_start` to 1 at `misfit_full` (`StageConfig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from bldgwatch.maintenance.lifemodel import Floats, LifeData, Shapes, relative_cumulative

FAILURES_PER_BIN = 8
MIN_BINS, MAX_BINS = 3, 12
MIN_FAILURES = 12  # fewer: no check (it could not tell a poor fit from chance)


@dataclass(frozen=True, slots=True)
class FitCheck:
    """The outcome of the check (all 0 when the class has too few failures to check)."""

    deviance: float = 0.0
    dof: int = 0
    bins: int = 0
    failures: int = 0
    weight: float = 0.0
    """Share of the age bands in the stage probabilities (0: the fit alone)."""

    @property
    def p_value(self) -> float:
        """χ² tail probability of the deviance (1: not checked)."""
        if not self.dof:
            return 1.0
        return float(special.gammaincc(self.dof / 2.0, self.deviance / 2.0))

    @property
    def misfit(self) -> float:
        """δ: the relative misfit beyond chance (0: none, or not checked)."""
        if not self.failures:
            return 0.0
        return math.sqrt(max(self.deviance - self.dof, 0.0) / self.failures)

    def as_dict(self) -> dict[str, float]:
        """The reported check."""
        return {
            "deviance": round(self.deviance, 2),
            "dof": self.dof,
            "bins": self.bins,
            "p_value": round(self.p_value, 6),
            "misfit": round(self.misfit, 4),
            "bands_weight": round(self.weight, 3),
        }


def _exposure_below(shapes: Shapes, data: LifeData, edges: Floats) -> Floats:
    """Σ over segments of H(min(end, x)) − H(min(start, x)) for each edge x: expected
    failures / λ₀ below each edge."""
    fresh = np.minimum(data.ends[None, :], edges[:, None])
    out = relative_cumulative(shapes, fresh.ravel())[0].reshape(fresh.shape) @ data.end_counts
    if data.inner_ends.size:
        hi = np.minimum(data.inner_ends[None, :], edges[:, None])
        lo = np.minimum(data.inner_starts[None, :], edges[:, None])
        h_hi = relative_cumulative(shapes, hi.ravel())[0].reshape(hi.shape)
        h_lo = relative_cumulative(shapes, lo.ravel())[0].reshape(lo.shape)
        out = out + (h_hi - h_lo).sum(axis=1)
    return np.asarray(out, dtype=np.float64)


def misfit_weight(check: FitCheck, *, start: float, full: float, p_value: float) -> float:
    """The age bands' weight: 0 unless the misfit is beyond chance (`p_value`), else 0 up to
    δ = `start`, rising with log δ to 1 at δ = `full`."""
    if check.p_value >= p_value or check.misfit <= start:
        return 0.0
    return min(math.log(check.misfit / start) / math.log(full / start), 1.0)


def check_fit(
    data: LifeData,
    shapes: Shapes,
    lam0: float,
    *,
    start: float,
    full: float,
    p_value: float,
) -> FitCheck:
    """Observed against expected failures by age bin for the fitted intensity λ₀·h(t)."""
    if data.failures < MIN_FAILURES:
        return FitCheck()
    ages = np.repeat(data.ages, data.counts.astype(np.int64))
    bins = int(np.clip(ages.size // FAILURES_PER_BIN, MIN_BINS, MAX_BINS))
    edges = np.unique(np.quantile(ages, np.linspace(0.0, 1.0, bins + 1)))
    edges[0], edges[-1] = 0.0, max(data.max_age, float(edges[-1])) * (1 + 1e-9)
    observed = np.histogram(ages, edges)[0].astype(np.float64)
    expected = np.maximum(lam0 * np.diff(_exposure_below(shapes, data, edges)), 1e-9)
    terms = np.where(observed > 0, observed * np.log(np.maximum(observed, 1e-12) / expected), 0.0)
    deviance = float(2.0 * np.sum(terms - (observed - expected)))
    dof = max(observed.size - 1, 1)
    check = FitCheck(deviance, dof, int(observed.size), int(ages.size))
    weight = misfit_weight(check, start=start, full=full, p_value=p_value)
    return replace(check, weight=weight)


__all__ = ["FitCheck", "check_fit", "misfit_weight"]
