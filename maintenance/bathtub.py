"""The bathtub failure intensity of an equipment class, fitted by maximum likelihood. Pure.

Failures are a non-homogeneous Poisson process along each unit's age t (years since install,
or since the last overhaul or replacement, which renews age). Its intensity is the sum of

* a falling power law (infant mortality, β₁ < 1): λ₁(t) = (β₁/η₁)(t/η₁)^(β₁−1)
* a constant (random failures): λ₀
* a rising power law (wear-out, β₃ > 1): λ₃(t) = (β₃/η₃)(t/η₃)^(β₃−1)

with cumulative intensity Λ(t) = (t/η₁)^β₁ + λ₀t + (t/η₃)^β₃. The η are characteristic lives
in years. A unit observed over the age segments [sⱼ, eⱼ] with failures at ages tᵢ contributes
Σ log λ(tᵢ) − Σ (Λ(eⱼ) − Λ(sⱼ)) to the log-likelihood; running units are censored at the
as-of time, which is just where their last segment ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # scipy.optimize is imported where used: `bldgwatch score` rarely needs it
    from scipy import optimize

MIN_AGE = 1e-6  # years: a failure at age 0 would have infinite early intensity
# Bounds of the optimiser's variables (log scale), wide enough for any real fleet.
_LOG_ETA = (math.log(1e-3), math.log(1e4))
_LOG_LAM0 = (math.log(1e-6), math.log(1e3))
_LOGIT_B1 = (-6.0, 6.0)
_LOG_B3M1 = (math.log(0.02), math.log(20.0))
_BOUNDS = (_LOGIT_B1, _LOG_ETA, _LOG_LAM0, _LOG_B3M1, _LOG_ETA)
DRAWS = 400  # parameter draws from the fit's sampling distribution (fixed seed: reproducible)
_HESSIAN_STEP = 1e-3  # central differences on the optimiser's (log / logit) scale
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Segment:
    """One unit's age interval between renewals (or to the as-of time), and its failures."""

    start: float
    end: float
    failures: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class BathtubParams:
    """The fitted (or true) intensity: shapes β and characteristic lives η in years."""

    beta1: float
    eta1: float
    lam0: float
    beta3: float
    eta3: float

    def components(self, age: float) -> tuple[float, float, float]:
        """Early, constant and wear-out intensity at `age` (failures per year)."""
        t = max(age, MIN_AGE)
        early = self.beta1 / self.eta1 * (t / self.eta1) ** (self.beta1 - 1)
        late = self.beta3 / self.eta3 * (t / self.eta3) ** (self.beta3 - 1)
        return early, self.lam0, late

    def intensity(self, age: float) -> float:
        """λ(age), failures per year."""
        return float(sum(self.components(age)))

    def cumulative(self, age: float) -> float:
        """Λ(age): expected failures from age 0 to `age`."""
        t = max(age, 0.0)
        early: float = (t / self.eta1) ** self.beta1
        late: float = (t / self.eta3) ** self.beta3
        return early + self.lam0 * t + late

    def expected(self, start: float, end: float) -> float:
        """Expected failures between two ages."""
        return self.cumulative(end) - self.cumulative(start)

    def mean_time_to_next(self, age: float) -> float:
        """Expected years from `age` to the next failure: ∫ exp(−(Λ(age+x) − Λ(age))) dx."""
        base = self.cumulative(age)

        def survival(x: float) -> float:
            return math.exp(-(self.cumulative(age + x) - base))

        from scipy import integrate

        value, _err = integrate.quad(survival, 0.0, math.inf, limit=200)
        return float(value)

    def as_dict(self) -> dict[str, float]:
        """Rounded parameters for JSON."""
        return {
            "beta1": round(self.beta1, 4),
            "eta1": round(self.eta1, 4),
            "lam0": round(self.lam0, 5),
            "beta3": round(self.beta3, 4),
            "eta3": round(self.eta3, 4),
        }


@dataclass(frozen=True, slots=True)
class BathtubFit:
    """A class's fit and the data behind it."""

    params: BathtubParams
    log_likelihood: float
    failures: int
    segments: int
    exposure_years: float
    converged: bool
    covariance: tuple[tuple[float, ...], ...] | None = None
    """Asymptotic covariance of the estimate on the optimiser's scale (logit β₁, log η₁, log λ₀,
    log(β₃−1), log η₃): the inverse Hessian of the negative log-likelihood; None = unknown."""
    draws: Floats | None = field(default=None, compare=False, repr=False)
    """Parameter sets drawn from N(estimate, covariance), columns β₁ η₁ λ₀ β₃ η₃."""

    def standard_errors(self) -> dict[str, float]:
        """Standard error of each parameter (delta method); empty without a covariance."""
        if self.covariance is None:
            return {}
        sd = np.sqrt(np.clip(np.diag(np.asarray(self.covariance)), 0.0, None))
        p = self.params
        scale = (p.beta1 * (1 - p.beta1), p.eta1, p.lam0, p.beta3 - 1, p.eta3)
        names = ("beta1", "eta1", "lam0", "beta3", "eta3")
        return {n: float(round(d * s, 4)) for n, d, s in zip(names, sd, scale, strict=True)}

    def component_draws(self, age: float) -> Floats:
        """Early, constant and wear-out intensity at `age` under each parameter draw (n × 3);
        the point estimate alone (1 × 3) when the fit has no covariance."""
        if self.draws is None:
            return np.array([self.params.components(age)], dtype=np.float64)
        b1, e1, lam0, b3, e3 = self.draws.T
        t = max(age, MIN_AGE)
        early = b1 / e1 * (t / e1) ** (b1 - 1)
        late = b3 / e3 * (t / e3) ** (b3 - 1)
        return np.column_stack([early, lam0, late])


def _natural(x: Floats) -> Floats:
    """Optimiser scale (rows of 5) to β₁ η₁ λ₀ β₃ η₃."""
    x = np.atleast_2d(x)
    b1, e1, lam0, b3, e3 = x.T
    return np.column_stack(
        [1 / (1 + np.exp(-b1)), np.exp(e1), np.exp(lam0), 1 + np.exp(b3), np.exp(e3)]
    )


def _unpack(x: Floats) -> BathtubParams:
    return BathtubParams(
        beta1=1.0 / (1.0 + math.exp(-x[0])),
        eta1=math.exp(x[1]),
        lam0=math.exp(x[2]),
        beta3=1.0 + math.exp(x[3]),
        eta3=math.exp(x[4]),
    )


def _cum(p: BathtubParams, t: Floats) -> Floats:
    return np.asarray((t / p.eta1) ** p.beta1 + p.lam0 * t + (t / p.eta3) ** p.beta3)


def _neg_log_likelihood(x: Floats, ages: Floats, starts: Floats, ends: Floats) -> float:
    p = _unpack(x)
    lam = (
        p.beta1 / p.eta1 * (ages / p.eta1) ** (p.beta1 - 1)
        + p.lam0
        + p.beta3 / p.eta3 * (ages / p.eta3) ** (p.beta3 - 1)
    )
    exposure = float(np.sum(_cum(p, ends) - _cum(p, starts)))
    value = exposure - float(np.sum(np.log(lam)))
    return value if math.isfinite(value) else 1e300


def _starts(n: int, exposure: float, oldest: float) -> list[Floats]:
    rate = max(n / max(exposure, 1e-9), 1e-6)
    guesses = []
    for beta1 in (0.4, 0.7):
        for beta3 in (2.0, 4.0):
            for eta3 in (0.6 * oldest, 1.2 * oldest):
                eta1 = (1.0 / (0.2 * rate + 1e-6)) ** (1.0 / beta1)
                guesses.append(
                    np.array(
                        [
                            math.log(beta1 / (1 - beta1)),
                            math.log(min(max(eta1, 1e-3), 1e4)),
                            math.log(0.5 * rate),
                            math.log(beta3 - 1),
                            math.log(max(eta3, 1e-2)),
                        ]
                    )
                )
    return guesses


def _hessian(fun: Callable[[Floats], float], x: Floats, step: float = _HESSIAN_STEP) -> Floats:
    """Central-difference Hessian of `fun` at `x`."""
    n = x.size
    hess = np.zeros((n, n))
    unit = np.eye(n) * step
    for i in range(n):
        for j in range(i, n):
            value = (
                fun(x + unit[i] + unit[j])
                - fun(x + unit[i] - unit[j])
                - fun(x - unit[i] + unit[j])
                + fun(x - unit[i] - unit[j])
            ) / (4 * step * step)
            hess[i, j] = hess[j, i] = value
    return hess


def _covariance(hess: Floats) -> Floats | None:
    """Inverse Hessian; directions the data do not curve (a parameter at a bound) get a wide,
    finite variance instead of an infinite one. None when the Hessian is unusable."""
    if not np.all(np.isfinite(hess)):
        return None
    values, vectors = np.linalg.eigh((hess + hess.T) / 2)
    values = np.clip(values, 1e-2, None)  # variance <= 100 on the log scale
    return np.asarray(vectors @ np.diag(1 / values) @ vectors.T)


def _draws(x: Floats, cov: Floats) -> Floats:
    rng = np.random.default_rng(0)
    low, high = [b[0] for b in _BOUNDS], [b[1] for b in _BOUNDS]
    xs = np.clip(rng.multivariate_normal(x, cov, size=DRAWS, method="eigh"), low, high)
    return _natural(xs)


def _maximise(ages: Floats, starts: Floats, ends: Floats) -> optimize.OptimizeResult:
    from scipy import optimize

    low, high = [b[0] for b in _BOUNDS], [b[1] for b in _BOUNDS]
    exposure = float(np.sum(ends - starts))
    best: optimize.OptimizeResult | None = None
    for guess in _starts(int(ages.size), exposure, float(ends.max())):
        res = optimize.minimize(
            _neg_log_likelihood,
            np.clip(guess, low, high),
            args=(ages, starts, ends),
            method="L-BFGS-B",
            bounds=_BOUNDS,
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    return best


def fit_bathtub(segments: Sequence[Segment]) -> BathtubFit:
    """Maximum-likelihood bathtub intensity of one class from its units' age segments, with
    the estimate's asymptotic covariance and parameter draws from it (the fit's uncertainty)."""
    ages = np.array([max(t, MIN_AGE) for s in segments for t in s.failures], dtype=np.float64)
    starts = np.array([s.start for s in segments], dtype=np.float64)
    ends = np.array([s.end for s in segments], dtype=np.float64)
    if ages.size == 0:
        raise ValueError("no failures to fit")
    best = _maximise(ages, starts, ends)
    x = np.asarray(best.x, dtype=np.float64)
    cov = _covariance(_hessian(lambda v: _neg_log_likelihood(v, ages, starts, ends), x))
    return BathtubFit(
        params=_unpack(x),
        log_likelihood=-float(best.fun),
        failures=int(ages.size),
        segments=len(segments),
        exposure_years=float(np.sum(ends - starts)),
        converged=bool(best.success),
        covariance=None if cov is None else tuple(tuple(float(v) for v in row) for row in cov),
        draws=None if cov is None else _draws(x, cov),
    )
