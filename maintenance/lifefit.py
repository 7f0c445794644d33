"""Fitting the Bayesian bathtub model of a class: every variant, their evidence, the mixture. Pure.

See `maintenance.lifemodel` for the model. Each variant is fitted by its posterior mode (damped
Newton from a few starts), a Laplace approximation at the mode, then importance sampling from a
defensive mixture (85 % a multivariate t around the mode with the widened Laplace covariance,
15 % the prior) which gives weighted posterior draws and the variant's log evidence. The class
posterior (`maintenance.lifepost`) mixes the variants by their posterior probabilities.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from bldgwatch.maintenance.lifemodel import (
    BOUNDS,
    DRAWS,
    MIN_ESS,
    SCALE,
    T_DF,
    VARIANTS,
    Floats,
    LifeData,
    Variant,
    log_posterior,
)
from bldgwatch.maintenance.lifepost import ClassPosterior, VariantFit
from bldgwatch.maintenance.lifeprior import ClassPrior

DEFENSIVE = 0.15  # share of importance draws taken from the prior
HESSIAN_STEP = 1e-3
MAX_ITER = 60


def _prior_arrays(variant: Variant, prior: ClassPrior) -> tuple[Floats, Floats]:
    means, sds = [], []
    for _name, comp in variant.components(prior):
        means += [comp.shape.mean, comp.cross.mean]
        sds += [comp.shape.sd, comp.cross.sd]
    return np.array(means), np.array(sds)


def _bounds(variant: Variant) -> list[tuple[float, float]]:
    return [b for name in variant.names for b in BOUNDS[name]]


def _starts(variant: Variant, prior: ClassPrior, data: LifeData) -> list[Floats]:
    means, _sds = _prior_arrays(variant, prior)
    oldest = max(data.max_age, 0.1)
    alternatives: list[dict[int, float]] = [{}]
    col = 0
    for name, _comp in variant.components(prior):
        if name == "wear_out":
            alternatives += [{col + 1: math.log(0.5 * oldest)}, {col + 1: math.log(1.5 * oldest)}]
        else:
            alternatives += [{col + 1: math.log(0.3)}]
        col += 2
    starts = []
    for alt in alternatives:
        x = means.copy()
        for i, v in alt.items():
            x[i] = v
        starts.append(x)
    return starts


def _stencil(x: Floats, h: float) -> Floats:
    """x, then x ± h eᵢ, then x ± h eᵢ ± h eⱼ (i < j): every point a central-difference gradient
    and Hessian need, so one vectorised call of the log posterior gives both."""
    d = x.size
    unit = np.eye(d) * h
    rows = [x]
    rows += [x + unit[i] for i in range(d)] + [x - unit[i] for i in range(d)]
    for i in range(d):
        for j in range(i + 1, d):
            rows += [x + unit[i] + unit[j], x + unit[i] - unit[j]]
            rows += [x - unit[i] + unit[j], x - unit[i] - unit[j]]
    return np.array(rows)


def _derivatives(values: Floats, d: int, h: float) -> tuple[Floats, Floats]:
    """Gradient and Hessian from the log posterior at `_stencil`'s points."""
    f0, plus, minus = values[0], values[1 : 1 + d], values[1 + d : 1 + 2 * d]
    grad = (plus - minus) / (2 * h)
    hess = np.diag((plus - 2 * f0 + minus) / (h * h))
    k = 1 + 2 * d
    for i in range(d):
        for j in range(i + 1, d):
            pp, pm, mp, mm = values[k : k + 4]
            hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h * h)
            k += 4
    return grad, hess


STEPS = np.array([1.0, 0.5, 0.25, 0.1, 0.03])


def _ascend(x: Floats, variant: Variant, prior: ClassPrior, data: LifeData) -> tuple[Floats, float]:
    """Damped Newton ascent of the log posterior from `x` (modified Hessian, a vectorised line
    search over a few step lengths, bounds by clipping)."""
    low, high = (np.array(b) for b in zip(*_bounds(variant), strict=True))
    d = x.size
    x = np.clip(x, low, high)
    current = float(log_posterior(x, variant, prior, data)[0])
    for _ in range(MAX_ITER):
        values = log_posterior(_stencil(x, HESSIAN_STEP), variant, prior, data)
        grad, hess = _derivatives(values, d, HESSIAN_STEP)
        vals, vecs = np.linalg.eigh(-(hess + hess.T) / 2)
        vals = np.maximum(np.abs(vals), 1e-3 * max(float(np.abs(vals).max()), 1.0))
        step = vecs @ ((vecs.T @ grad) / vals)
        trial = np.clip(x[None, :] + STEPS[:, None] * step[None, :], low, high)
        scores = log_posterior(trial, variant, prior, data)
        best = int(np.argmax(scores))
        if scores[best] <= current + 1e-7:
            break
        x, current = trial[best], float(scores[best])
    return x, current


def _mode(
    variant: Variant, prior: ClassPrior, data: LifeData, hint: Floats | None = None
) -> Floats:
    """The posterior mode: from a hint (an earlier mode) and the prior centre, else from a
    few starts spread over the plausible boundaries."""
    if hint is not None:
        starts = [hint, _prior_arrays(variant, prior)[0]]
    else:
        starts = _starts(variant, prior, data)
    best_x, best_value = None, -math.inf
    for x0 in starts:
        x, value = _ascend(x0, variant, prior, data)
        if value > best_value:
            best_x, best_value = x, value
    assert best_x is not None
    return best_x


def _covariance(variant: Variant, prior: ClassPrior, data: LifeData, mode: Floats) -> Floats:
    """Inverse of the negative Hessian of the log posterior at the mode; eigenvalues kept
    within sane bounds (a direction the data do not curve keeps a prior-sized variance)."""
    values = log_posterior(_stencil(mode, HESSIAN_STEP), variant, prior, data)
    _grad, hess = _derivatives(values, mode.size, HESSIAN_STEP)
    _means, sds = _prior_arrays(variant, prior)
    floor = 1 / (4 * float(sds.max()) ** 2)
    vals, vecs = np.linalg.eigh(-(hess + hess.T) / 2)
    vals = np.clip(np.nan_to_num(vals, nan=floor), floor, 1e8)
    return np.asarray(vecs @ np.diag(1 / vals) @ vecs.T)


def _log_t(x: Floats, loc: Floats, chol: Floats) -> Floats:
    """log density of the multivariate t (T_DF degrees of freedom, scale chol·cholᵀ)."""
    d = loc.size
    solved = np.linalg.solve(chol, (x - loc).T)
    maha = (solved**2).sum(axis=0)
    return np.asarray(
        special.gammaln((T_DF + d) / 2)
        - special.gammaln(T_DF / 2)
        - 0.5 * d * math.log(T_DF * math.pi)
        - np.log(np.diag(chol)).sum()
        - 0.5 * (T_DF + d) * np.log1p(maha / T_DF),
        dtype=np.float64,
    )


def _importance(
    variant: Variant,
    prior: ClassPrior,
    data: LifeData,
    mode: Floats,
    cov: Floats,
    *,
    rng: np.random.Generator,
    scale: float,
    size: int,
) -> tuple[Floats, Floats, float]:
    """Draws, log weights (unnormalised) and ESS from the defensive mixture proposal."""
    means, sds = _prior_arrays(variant, prior)
    d = mode.size
    chol = np.asarray(np.linalg.cholesky(cov * scale**2), dtype=np.float64)
    n_prior = round(DEFENSIVE * size)
    z = rng.standard_normal((size - n_prior, d))
    chi = rng.chisquare(T_DF, size - n_prior)
    from_t = mode + (z / np.sqrt(chi / T_DF)[:, None]) @ chol.T
    from_prior = means + sds * rng.standard_normal((n_prior, d))
    draws = np.vstack([from_t, from_prior])
    log_q_t = _log_t(draws, mode, chol)
    log_q_prior = (
        -0.5 * (((draws - means) / sds) ** 2).sum(axis=1)
        - np.log(sds).sum()
        - 0.5 * d * math.log(2 * math.pi)
    )
    log_q = np.logaddexp(math.log(1 - DEFENSIVE) + log_q_t, math.log(DEFENSIVE) + log_q_prior)
    log_w = log_posterior(draws, variant, prior, data) - log_q
    w = np.exp(log_w - log_w.max())
    ess = float(w.sum() ** 2 / (w**2).sum())
    return draws, log_w, ess


def fit_variant(
    variant: Variant,
    prior: ClassPrior,
    data: LifeData,
    rng: np.random.Generator,
    *,
    laplace_only: bool = False,
    hint: Floats | None = None,
) -> VariantFit:
    """The variant's posterior (weighted draws) and its log evidence; `laplace_only` stops at
    the Laplace approximation (the mode as the one draw), enough for pooling's first pass."""
    if variant.dim == 0:
        lp = float(log_posterior(np.zeros((1, 0)), variant, prior, data)[0])
        return VariantFit(
            variant, lp, np.zeros(0), np.zeros((0, 0)), np.zeros((1, 0)), np.ones(1), 1.0
        )
    mode = _mode(variant, prior, data, hint)
    cov = _covariance(variant, prior, data, mode)
    if laplace_only:
        lp = float(log_posterior(mode, variant, prior, data)[0])
        log_det = float(np.linalg.slogdet(cov)[1])
        log_evidence = lp + 0.5 * mode.size * math.log(2 * math.pi) + 0.5 * log_det
        return VariantFit(variant, log_evidence, mode, cov, mode[None, :], np.ones(1), 1.0)
    size = DRAWS[variant.dim]
    draws, log_w, ess = _importance(
        variant, prior, data, mode, cov, rng=rng, scale=SCALE, size=size
    )
    if ess < MIN_ESS:  # a poor proposal: wider and twice as many
        wide = _importance(variant, prior, data, mode, cov, rng=rng, scale=2 * SCALE, size=2 * size)
        if wide[2] > ess:
            draws, log_w, ess = wide
    log_evidence = float(special.logsumexp(log_w) - math.log(log_w.size))
    weights = np.exp(log_w - special.logsumexp(log_w))
    return VariantFit(variant, log_evidence, mode, cov, draws, weights, ess)


def fit_class(
    prior: ClassPrior,
    data: LifeData,
    *,
    seed: int = 0,
    laplace_only: bool = False,
    hints: ClassPosterior | None = None,
) -> ClassPosterior:
    """Fit every variant and weigh them by evidence × prior probability; `hints` (an earlier
    fit of the same class) gives each variant's optimiser a start near its mode."""
    rng = np.random.default_rng(seed)
    modes = {f.variant: f.mode for f in hints.fits} if hints is not None else {}
    fits = [
        fit_variant(v, prior, data, rng, laplace_only=laplace_only, hint=modes.get(v))
        for v in VARIANTS
    ]
    logs = np.array([f.log_evidence + f.variant.log_prior_probability(prior) for f in fits])
    probs = np.exp(logs - special.logsumexp(logs))
    done = tuple(
        VariantFit(f.variant, f.log_evidence, f.mode, f.cov, f.draws, f.weights, f.ess, float(p))
        for f, p in zip(fits, probs, strict=True)
    )
    return ClassPosterior(data, prior, done)
