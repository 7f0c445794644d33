"""A class's fitted Bayesian bathtub model: its variants weighed, and what follows from them.
Pure. Built by `maintenance.lifefit.fit_class`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bldgwatch.maintenance.lifemodel import (
    Floats,
    LifeData,
    Variant,
    dominant_stage,
    rate_posterior,
    shapes_of,
)
from bldgwatch.maintenance.lifeprior import ClassPrior, Estimate

STAGE_CHUNK = 2000  # ages per block when mixing draws (bounds memory)


@dataclass(frozen=True, slots=True)
class VariantFit:
    """One variant's posterior: weighted draws on the unbounded scale and its evidence."""

    variant: Variant
    log_evidence: float
    mode: Floats
    cov: Floats
    draws: Floats
    weights: Floats
    ess: float
    probability: float = 0.0


@dataclass(frozen=True, slots=True)
class PointParams:
    """Posterior means of the most probable variant (None: component absent)."""

    lam0: float
    beta1: float | None
    cross1: float | None
    beta3: float | None
    cross3: float | None
    sd: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        """The reported fit: shapes, crossover ages, and the usual η's."""
        out = {"lam0": round(self.lam0, 5)}
        if self.beta1 is not None and self.cross1 is not None:
            eta1 = (self.beta1 * self.cross1 ** (self.beta1 - 1) / self.lam0) ** (1 / self.beta1)
            out |= {"beta1": round(self.beta1, 4), "eta1": round(eta1, 4)}
            out["burn_in_end_years"] = round(self.cross1, 3)
        if self.beta3 is not None and self.cross3 is not None:
            eta3 = (self.beta3 * self.cross3 ** (self.beta3 - 1) / self.lam0) ** (1 / self.beta3)
            out |= {"beta3": round(self.beta3, 4), "eta3": round(eta3, 4)}
            out["wear_onset_years"] = round(self.cross3, 3)
        return out


def _weighted_sd(values: Floats, weights: Floats) -> float:
    mean = float(values @ weights)
    return float(np.sqrt(max(float(((values - mean) ** 2) @ weights), 0.0)))


@dataclass(frozen=True, slots=True)
class ClassPosterior:
    """A class's fitted model: its variants with their posterior probabilities."""

    data: LifeData
    prior: ClassPrior
    fits: tuple[VariantFit, ...]

    @property
    def failures(self) -> int:
        """Failures the fit saw."""
        return self.data.failures

    @property
    def top(self) -> VariantFit:
        """The most probable variant."""
        return max(self.fits, key=lambda f: f.probability)

    def presence(self) -> dict[str, float]:
        """Posterior probability that each component is there."""
        return {
            name: float(sum(f.probability for f in self.fits if name in f.variant.names))
            for name in ("burn_in", "wear_out")
        }

    def stage_probabilities(self, ages: Floats) -> Floats:
        """P(early), P(mid), P(late) at each age (n × 3): the share of the posterior (variants
        and their draws) in which each component dominates the intensity there."""
        ages = np.maximum(np.asarray(ages, dtype=np.float64), 1e-6)
        out = np.zeros((ages.size, 3))
        for f in self.fits:
            if f.probability < 1e-6:
                continue
            if f.variant.dim == 0:
                out[:, 1] += f.probability
                continue
            s = shapes_of(f.draws, f.variant.burn_in, f.variant.wear_out)
            for lo in range(0, ages.size, STAGE_CHUNK):
                block = ages[lo : lo + STAGE_CHUNK]
                idx = dominant_stage(s, block)
                for stage in range(3):
                    out[lo : lo + STAGE_CHUNK, stage] += f.probability * (
                        f.weights @ (idx == stage)
                    )
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)

    def point(self) -> PointParams:
        """Posterior means (and sds) of the most probable variant's parameters."""
        f = self.top
        s = shapes_of(f.draws, f.variant.burn_in, f.variant.wear_out)
        shape, rate = rate_posterior(f.draws, f.variant, self.prior, self.data)
        lam_mean = shape / rate
        lam0 = float(lam_mean @ f.weights)
        lam_var = float((shape / rate / rate) @ f.weights) + _weighted_sd(lam_mean, f.weights) ** 2
        sd = {"lam0": math.sqrt(lam_var)}
        values: dict[str, float | None] = {
            "beta1": None,
            "cross1": None,
            "beta3": None,
            "cross3": None,
        }
        for name in values:
            arr = getattr(s, name)
            if arr is not None:
                values[name] = float(arr @ f.weights)
                sd[name] = _weighted_sd(arr, f.weights)
        return PointParams(
            lam0, values["beta1"], values["cross1"], values["beta3"], values["cross3"], sd
        )

    def estimates(self) -> dict[str, Estimate]:
        """Offsets of the component parameters from their prior centres (mean, variance over
        the variants that have the component), for pooling."""
        out: dict[str, Estimate] = {}
        for name in ("burn_in", "wear_out"):
            having = [f for f in self.fits if name in f.variant.names and f.probability > 0]
            total = sum(f.probability for f in having)
            if total < 1e-3:
                continue
            comp = getattr(self.prior, name)
            for k, (label, centre) in enumerate(
                (("shape", comp.shape.mean), ("cross", comp.cross.mean))
            ):
                means, second = 0.0, 0.0
                for f in having:
                    col = 2 * f.variant.names.index(name) + k
                    m = float(f.draws[:, col] @ f.weights)
                    v = (
                        float(f.cov[col, col])
                        if f.draws.shape[0] == 1
                        else _weighted_sd(f.draws[:, col], f.weights) ** 2
                    )
                    means += f.probability / total * m
                    second += f.probability / total * (v + m * m)
                out[f"{name}.{label}"] = Estimate(means - centre, max(second - means * means, 1e-6))
        return out
