"""The plain maximum-likelihood model (`mle`, the scorer before the Bayesian one). Pure.

With a class's 5-parameter bathtub fit (`maintenance.bathtub`), the stage is the component
dominating the intensity at the unit's age; the probabilities are each component's share of
the intensity there, averaged over the fit's parameter draws, refined by the unit's own recent
failures and its condition indicators. Kept as `bldgwatch score --model mle` and as the
baseline of `bench/scoring.py`; its probabilities are intensity shares, not calibrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from bldgwatch.maintenance.bands import score_by_age_bands
from bldgwatch.maintenance.bathtub import BathtubFit
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.stage_texts import Message
from bldgwatch.maintenance.stagefacts import (
    age_fact,
    condition_facts,
    next_failure_fact,
    rate_fact,
    recent_fact,
    worst_condition,
)
from bldgwatch.maintenance.stagemodel import (
    DAYS_PER_YEAR,
    AssetFacts,
    FailureEvent,
    FailureStage,
    StageScore,
    age_of,
    finish,
    recent_failures,
    stage_of,
)

Floats = NDArray[np.float64]
MLE_MODEL_NAME = "bathtub-mle-v1"
CONDITION_WEIGHT = 3.0  # a fully degraded indicator quadruples the wear-out share
STAGES = (FailureStage.EARLY, FailureStage.MID, FailureStage.LATE)


@dataclass(frozen=True, slots=True)
class Trend:
    """A unit's recent failures against what its class fit expects at its age."""

    recent: int
    expected: float
    tail_p: float
    toward: FailureStage | None


def poisson_tail(n: int, mean: float) -> float:
    """P(N >= n) for N ~ Poisson(mean)."""
    return 1.0 if n <= 0 else float(special.pdtrc(n - 1, mean))


def trend_of(n: int, expected: float, falling: bool, cfg: StageConfig) -> Trend:
    """Recent failures beyond what the fit expects point to the side of the bathtub the unit
    is on: burn-in while the intensity still falls, wear-out once it rises."""
    tail = poisson_tail(n, expected)
    toward = None
    if n >= 3 and tail < cfg.trend_p_value:
        toward = FailureStage.EARLY if falling else FailureStage.LATE
    return Trend(n, expected, tail, toward)


TREND_COUNTS = np.arange(3, 400)


def trend_thresholds(expected: Floats, cfg: StageConfig) -> NDArray[np.int64]:
    """For each expected count, the fewest failures in a year that would count as a trend."""
    mean = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    tails = special.pdtrc(TREND_COUNTS[None, :] - 1, mean[:, None])
    first = np.argmax(tails < cfg.trend_p_value, axis=1)
    return np.asarray(TREND_COUNTS[first], dtype=np.int64)


def trend_threshold(expected: float, cfg: StageConfig) -> int:
    """The fewest failures in the next year that would count as a trend."""
    return int(trend_thresholds(np.array([expected]), cfg)[0])


def apply_evidence(
    probs: Sequence[float] | Floats, trend: Trend, degradation: float
) -> tuple[float, float, float]:
    """Unit evidence beyond the class model: a trend multiplies its side by the excess of
    failures, a degraded condition indicator multiplies late by up to 1 + CONDITION_WEIGHT."""
    early, mid, late = (float(p) for p in probs)
    if trend.toward is not None:
        factor = trend.recent / max(trend.expected, 1e-9)
        if trend.toward is FailureStage.EARLY:
            early *= factor
        else:
            late *= factor
    late *= 1.0 + CONDITION_WEIGHT * degradation
    total = early + mid + late
    return early / total, mid / total, late / total


def _uncertain(fit: BathtubFit, age: float) -> tuple[tuple[float, float, float], list[float]]:
    comps = fit.component_draws(age)
    shares = comps / comps.sum(axis=1, keepdims=True)
    mean = shares.mean(axis=0)
    wins = np.bincount(comps.argmax(axis=1), minlength=3) / comps.shape[0]
    return (float(mean[0]), float(mean[1]), float(mean[2])), [round(float(w), 3) for w in wins]


@dataclass(frozen=True, slots=True)
class _AtAge:
    """What the fit says at the unit's age, and the unit's recent failures against it."""

    comps: tuple[float, float, float]
    trend: Trend
    next_years: float
    ahead: float


def _at_age(
    fit: BathtubFit,
    years: float,
    history: Sequence[FailureEvent],
    as_of: datetime,
    cfg: StageConfig,
) -> _AtAge:
    start = as_of - timedelta(days=years * DAYS_PER_YEAR)
    window = min(cfg.recent_window_days / DAYS_PER_YEAR, years)
    n = recent_failures([f for f in history if f.at >= start], as_of, cfg.recent_window_days)
    p = fit.params
    comps = p.components(years)
    falling = (1 - p.beta1) * comps[0] > (p.beta3 - 1) * comps[2]
    trend = trend_of(n, p.expected(years - window, years), falling, cfg)
    return _AtAge(comps, trend, p.mean_time_to_next(years), p.expected(years, years + 1.0))


def score_fitted(
    asset: AssetFacts,
    history: Sequence[FailureEvent],
    as_of: datetime,
    fit: BathtubFit,
    cfg: StageConfig,
) -> StageScore:
    """Stage from the class's MLE bathtub fit at the unit's age, refined by trend and condition."""
    age = age_of(asset, history, as_of)
    if age is None or not age.exact:  # this model needs an exact age
        return score_by_age_bands(asset, history, as_of, cfg)
    at = _at_age(fit, age.years, history, as_of, cfg)
    comps, trend = at.comps, at.trend
    worst = worst_condition(asset)
    shares, dominates = _uncertain(fit, age.years)
    probs = apply_evidence(shares, trend, worst[1] if worst else 0.0)
    params: dict[str, Any] = {
        "model": MLE_MODEL_NAME,
        "class": asset.equipment_class,
        "fit": fit.params.as_dict(),
        "fit_failures": fit.failures,
        "fit_segments": fit.segments,
        "window_days": cfg.recent_window_days,
        "as_of": as_of.isoformat(),
        "age_years": round(age.years, 2),
        "age_basis": age.basis,
        "intensity_per_year": round(sum(comps), 4),
        "components_per_year": [round(c, 4) for c in comps],
        "expected_next_failure_years": round(at.next_years, 3),
        "recent_failures": trend.recent,
        "recent_expected": round(trend.expected, 3),
        "trend_p": round(trend.tail_p, 4),
        "condition": dict(asset.condition),
        "fit_se": fit.standard_errors(),
        "stage_confidence": dominates,
    }
    stage = stage_of(probs)
    facts = [
        age_fact(age.years, age.basis),
        rate_fact(asset.equipment_class, {"early": comps[0], "random": comps[1], "wear": comps[2]}),
        recent_fact(
            trend.recent, cfg.recent_window_days, expected=trend.expected, toward=trend.toward
        ),
    ]
    if fit.draws is not None:
        share = dominates[STAGES.index(stage)]
        facts.append(Message("stage.dominates", {"stage": stage.value, "p": share}))
    facts += [*condition_facts(worst), next_failure_fact(at.next_years)]
    settle_with = {"expected": at.ahead, "threshold": trend_threshold(at.ahead, cfg)}
    return finish(probs, facts, params, cfg, settle_with=settle_with)
