"""Bayesian bathtub model of one equipment class, with the components chosen by the data. Pure.

Failures of a unit form a Poisson process along its age t (years since install or the last
renewal) with intensity

    λ(t) = λ₀ · h(t),   h(t) = 1 + [burn-in] (t/c₁)^(β₁−1) + [wear-out] (t/c₃)^(β₃−1)

so c₁ and c₃ are the ages where burn-in and wear-out equal the random rate λ₀: the stage
boundaries themselves. (η₁ = (β₁ c₁^(β₁−1)/λ₀)^(1/β₁) in the usual power-law form, likewise
η₃.) λ₀ has a conjugate gamma prior and is integrated out in closed form, leaving at most four
parameters. Four variants are compared (with/without burn-in × with/without wear-out): each
is fitted by its posterior mode, a Laplace approximation, and importance sampling from a
multivariate t around it, which also estimates its marginal likelihood (the evidence). The
variants' posterior probabilities follow from their evidence and prior probabilities, so a
component the data never reach is reported absent instead of being invented.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from bldgwatch.maintenance.bathtub import Segment
from bldgwatch.maintenance.lifeprior import ClassPrior, ComponentPrior

Floats = NDArray[np.float64]
MIN_AGE = 1e-6  # years (~30 s): a failure at age 0 would have infinite burn-in intensity
BIN_WIDTH = 0.02  # relative width of the age bins large classes are compressed into
COMPRESS_ABOVE = 2000  # failures; below this every failure age is kept as it is
DRAWS = {2: 300, 4: 600}  # importance samples by dimension
T_DF = 5.0
SCALE = 1.3  # proposal widening over the Laplace covariance
MIN_ESS = 25.0
# bounds on the unbounded scale: logit β₁, log c₁, log(β₃−1), log c₃
BOUNDS = {
    "burn_in": ((-5.0, 5.0), (math.log(1e-3), math.log(100.0))),
    "wear_out": ((math.log(0.05), math.log(30.0)), (math.log(0.05), math.log(1000.0))),
}


@dataclass(frozen=True, slots=True)
class LifeData:
    """One class's failures (ages, with counts after binning) and exposure: segments from
    age 0 (ends with counts after binning) and left-truncated segments (start > 0)."""

    ages: Floats
    counts: Floats
    ends: Floats
    end_counts: Floats
    inner_starts: Floats
    inner_ends: Floats
    failures: int
    segments: int
    max_age: float
    exposure: float


def _bin_log(values: Floats) -> tuple[Floats, Floats]:
    """Values grouped into `BIN_WIDTH` log bins: the mean log value of each bin, its count."""
    logs = np.log(values)
    keys = np.floor(logs / BIN_WIDTH).astype(np.int64)
    uniq, index, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sums = np.bincount(index, weights=logs, minlength=uniq.size)
    return np.exp(sums / counts), counts.astype(np.float64)


def life_data(segments: Sequence[Segment]) -> LifeData:
    """The class's data; above `COMPRESS_ABOVE` failures (or segments) the ages (the segment
    ends) go into 2 % log-age bins, each represented by its mean log age."""
    raw = np.maximum(
        np.fromiter(itertools.chain.from_iterable(s.failures for s in segments), np.float64),
        MIN_AGE,
    )
    starts = np.array([s.start for s in segments], dtype=np.float64)
    ends = np.array([max(s.end, MIN_AGE) for s in segments], dtype=np.float64)
    ages, counts = raw, np.ones_like(raw)
    if raw.size > COMPRESS_ABOVE:
        ages, counts = _bin_log(raw)
    fresh, inner = ends[starts <= 0], starts > 0
    end_counts = np.ones_like(fresh)
    if fresh.size > COMPRESS_ABOVE // 4:
        fresh, end_counts = _bin_log(fresh)
    return LifeData(
        ages=ages,
        counts=counts,
        ends=fresh,
        end_counts=end_counts,
        inner_starts=starts[inner],
        inner_ends=ends[inner],
        failures=int(raw.size),
        segments=len(segments),
        max_age=float(ends.max()) if ends.size else 0.0,
        exposure=float(np.sum(ends - starts)),
    )


@dataclass(frozen=True, slots=True)
class Shapes:
    """Component parameters of K parameter sets (arrays of length K; None = absent)."""

    beta1: Floats | None = None
    cross1: Floats | None = None
    beta3: Floats | None = None
    cross3: Floats | None = None


def shapes_of(z: Floats, burn_in: bool, wear_out: bool) -> Shapes:
    """Natural parameters from rows of the unbounded vector (K × d)."""
    z = np.atleast_2d(z)
    col = 0
    beta1 = cross1 = beta3 = cross3 = None
    if burn_in:
        beta1, cross1 = special.expit(z[:, 0]), np.exp(z[:, 1])
        col = 2
    if wear_out:
        beta3, cross3 = 1.0 + np.exp(z[:, col]), np.exp(z[:, col + 1])
    return Shapes(beta1, cross1, beta3, cross3)


def _power(t: Floats, beta: Floats, cross: Floats, exponent_shift: float) -> Floats:
    """(t/c)^(β − 1 + shift) for K parameter sets × M ages, overflow-safe."""
    logs = (beta[:, None] - 1 + exponent_shift) * (np.log(t)[None, :] - np.log(cross)[:, None])
    return np.asarray(np.exp(np.minimum(logs, 700.0)), dtype=np.float64)


def relative_intensity(s: Shapes, t: Floats) -> Floats:
    """h(t) = λ(t)/λ₀ (K × M)."""
    out = np.ones((_k(s), t.size))
    if s.beta1 is not None and s.cross1 is not None:
        out += _power(t, s.beta1, s.cross1, 0.0)
    if s.beta3 is not None and s.cross3 is not None:
        out += _power(t, s.beta3, s.cross3, 0.0)
    return out


def relative_cumulative(s: Shapes, t: Floats) -> Floats:
    """H(t) = Λ(t)/λ₀ = t + (c₁/β₁)(t/c₁)^β₁ + (c₃/β₃)(t/c₃)^β₃ (K × M); H(0) = 0."""
    t = np.asarray(t, dtype=np.float64)
    safe = np.maximum(t, 1e-12)
    out = np.broadcast_to(t, (_k(s), t.size)).copy()
    if s.beta1 is not None and s.cross1 is not None:
        out += (s.cross1 / s.beta1)[:, None] * _power(safe, s.beta1, s.cross1, 1.0)
    if s.beta3 is not None and s.cross3 is not None:
        out += (s.cross3 / s.beta3)[:, None] * _power(safe, s.beta3, s.cross3, 1.0)
    out[:, t <= 0] = 0.0
    return out


def _k(s: Shapes) -> int:
    for arr in (s.beta1, s.beta3):
        if arr is not None:
            return int(arr.size)
    return 1


def dominant_stage(s: Shapes, t: Floats) -> NDArray[np.int64]:
    """Index (0 early, 1 mid, 2 late) of the component dominating at each age (K × M); ties
    go to the earlier stage. λ₀ cancels: the comparison is of h's terms with 1."""
    parts = np.ones((3, _k(s), t.size))
    parts[0] = 0.0 if s.beta1 is None else _power(t, s.beta1, s.cross1, 0.0)  # type: ignore[arg-type]
    parts[2] = 0.0 if s.beta3 is None else _power(t, s.beta3, s.cross3, 0.0)  # type: ignore[arg-type]
    return np.asarray(np.argmax(parts, axis=0), dtype=np.int64)


# -- one variant --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Variant:
    """Which components a variant has."""

    burn_in: bool
    wear_out: bool

    @property
    def dim(self) -> int:
        """Number of unbounded parameters."""
        return 2 * (int(self.burn_in) + int(self.wear_out))

    @property
    def names(self) -> tuple[str, ...]:
        """The present components, in parameter order."""
        return (("burn_in",) if self.burn_in else ()) + (("wear_out",) if self.wear_out else ())

    def components(self, prior: ClassPrior) -> list[tuple[str, ComponentPrior]]:
        """The present components with their priors, in parameter order."""
        return [(name, getattr(prior, name)) for name in self.names]

    def log_prior_probability(self, prior: ClassPrior) -> float:
        """log P(variant): each component present or not independently."""
        p1, p3 = prior.burn_in.p_present, prior.wear_out.p_present
        return math.log(p1 if self.burn_in else 1 - p1) + math.log(p3 if self.wear_out else 1 - p3)


VARIANTS = (Variant(True, True), Variant(True, False), Variant(False, True), Variant(False, False))


def exposure_of(s: Shapes, data: LifeData) -> Floats:
    """G = Σ (H(end) − H(start)) over the segments: expected failures / λ₀ (length K)."""
    g = relative_cumulative(s, data.ends) @ data.end_counts
    if data.inner_ends.size:
        g = g + relative_cumulative(s, data.inner_ends).sum(axis=1)
        g = g - relative_cumulative(s, data.inner_starts).sum(axis=1)
    return np.asarray(g, dtype=np.float64)


def log_posterior(z: Floats, variant: Variant, prior: ClassPrior, data: LifeData) -> Floats:
    """Unnormalised log posterior of K parameter rows, λ₀ integrated out (length K)."""
    z = np.atleast_2d(z)
    s = shapes_of(z, variant.burn_in, variant.wear_out)
    loglik = np.log(relative_intensity(s, data.ages)) @ data.counts
    g = exposure_of(s, data)
    a0, b0, n = prior.rate_shape, prior.rate_scale, data.failures
    rate_part = (
        special.gammaln(a0 + n)
        - special.gammaln(a0)
        + a0 * math.log(b0)
        - (a0 + n) * np.log(b0 + g)
    )
    lp = loglik + rate_part
    col = 0
    for _name, comp in variant.components(prior):
        for k, normal in enumerate((comp.shape, comp.cross)):
            lp = (
                lp
                - 0.5 * ((z[:, col + k] - normal.mean) / normal.sd) ** 2
                - math.log(normal.sd * math.sqrt(2 * math.pi))
            )
        col += 2
    return np.where(np.isfinite(lp), lp, -1e300)


def rate_posterior(
    z: Floats, variant: Variant, prior: ClassPrior, data: LifeData
) -> tuple[Floats, Floats]:
    """Gamma posterior (shape, rate) of λ₀ given each parameter row."""
    s = shapes_of(np.atleast_2d(z), variant.burn_in, variant.wear_out)
    g = exposure_of(s, data)
    return np.full(g.shape, prior.rate_shape + data.failures), prior.rate_scale + g
