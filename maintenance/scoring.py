"""Failure-stage scoring: early (burn-in), mid (random) or late (wear-out) life of an asset.

Pure. With a class fit (`maintenance.bathtub`, a bathtub intensity fitted by maximum
likelihood to the fleet's failures), the stage is the component dominating the intensity at the
unit's age (since install, or the last overhaul or replacement, which renews age); the
probabilities are each component's share of the intensity there, averaged over the fit's
uncertainty (parameter draws from the estimate's asymptotic covariance), refined by the unit's
own recent failures against what the fit expects and by condition indicators. The score also
says how sure the fit is of the dominating component (`stage_confidence`: the share of draws in
which each component dominates at that age). Without a fit (a class with
too little history) the transparent fallback applies: age against per-class early/late
boundaries, recent failures shifting the probabilities. `StageScore` has the same shape for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import stats

from bldgwatch.maintenance.bathtub import BathtubFit
from bldgwatch.maintenance.config import ClassParams, StageConfig

MODEL_NAME = "age-bands-v1"
FIT_MODEL_NAME = "bathtub-mle-v1"
CONDITION_WEIGHT = 3.0  # a fully degraded indicator quadruples the wear-out share
CONDITION_BAND_SHIFT = 0.6  # age bands: a fully degraded indicator moves this much to late
DAYS_PER_YEAR = 365.25
SHIFT_PER_FAILURE = 0.15
MAX_SHIFT = 0.45
BAND_EDGE_WEIGHT = 0.15
MIN_MID = 0.05  # never fully certain: random failures happen at any age


class FailureStage(StrEnum):
    """Where on the bathtub curve the equipment stands."""

    EARLY = "early"
    MID = "mid"
    LATE = "late"


ADVICE: dict[FailureStage, str] = {
    FailureStage.EARLY: "check installation, commissioning and warranty",
    FailureStage.MID: "keep to the PM plan and spares",
    FailureStage.LATE: "shorten PM intervals, plan overhaul or replacement",
}

CLASS_NOUNS: dict[str, str] = {
    "elevator": "elevators",
    "pump": "pumps",
    "shaft_panel": "shaft panels",
    "temp_sensor": "temperature sensors",
}


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the scorer knows about one asset."""

    equipment: str
    equipment_class: str
    installed: date | None = None
    last_overhaul: date | None = None
    condition: dict[str, float] = field(default_factory=dict)
    """Condition indicators scaled 0 (healthy) … 1 (at its alarm limit), e.g. a vibration
    trend; the worst one raises the wear-out share."""


@dataclass(frozen=True, slots=True)
class FailureEvent:
    """One past failure of the asset (a reactive work order, a repair)."""

    at: datetime
    family: str | None = None
    repair_class: str | None = None


@dataclass(frozen=True, slots=True)
class StageScore:
    """The scorer's answer: a stage, its probabilities, a one-line reason and the inputs used."""

    stage: FailureStage
    p_early: float
    p_mid: float
    p_late: float
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_detail(self) -> dict[str, Any]:
        """JSON-friendly form stored with the work order (`stage_detail`)."""
        return {
            "stage": self.stage.value,
            "p_early": round(self.p_early, 4),
            "p_mid": round(self.p_mid, 4),
            "p_late": round(self.p_late, 4),
            "params": self.params,
        }


@dataclass(frozen=True, slots=True)
class _Age:
    years: float
    basis: str  # "install" or "overhaul"


def _age(asset: AssetFacts, as_of: datetime) -> _Age | None:
    starts = [
        (d, b)
        for d, b in ((asset.installed, "install"), (asset.last_overhaul, "overhaul"))
        if d is not None
    ]
    if not starts:
        return None
    start, basis = max(starts, key=lambda s: s[0])
    days = (as_of.date() - start).days
    return _Age(max(days, 0) / DAYS_PER_YEAR, basis)


def _recent(history: Sequence[FailureEvent], as_of: datetime, window_days: int) -> int:
    since = as_of - timedelta(days=window_days)
    return sum(1 for f in history if since <= f.at <= as_of)


def _base_probs(years: float, p: ClassParams) -> tuple[float, float, float]:
    if years < p.early_years:
        return 0.75, 0.25, 0.0
    if years > p.late_years:
        return 0.0, 0.25, 0.75
    x = (years - p.early_years) / (p.late_years - p.early_years)
    early, late = BAND_EDGE_WEIGHT * (1 - x), BAND_EDGE_WEIGHT * x
    return early, 1 - early - late, late


def _shift(
    probs: tuple[float, float, float], failures: int, *, burn_in: bool
) -> tuple[float, float, float]:
    """Recent failures move weight off mid: onto early in burn-in, onto late otherwise."""
    early, mid, late = probs
    moved = min(SHIFT_PER_FAILURE * failures, MAX_SHIFT, max(mid - MIN_MID, 0.0))
    if burn_in:
        return early + moved, mid - moved, late
    return early, mid - moved, late + moved


def _stage_of(probs: tuple[float, float, float]) -> FailureStage:
    early, mid, late = probs
    if late > mid and late >= early:
        return FailureStage.LATE
    if early > mid:
        return FailureStage.EARLY
    return FailureStage.MID


def _failures_text(n: int, window_days: int) -> str:
    span = "the last year" if window_days == 365 else f"the last {window_days} days"
    return f"{n} failure{'s' if n != 1 else ''} in {span}"


def _reason(stage: FailureStage, age: _Age, p: ClassParams, noun: str, *, n: int, win: int) -> str:
    since = f"{age.years:.1f} years since {age.basis}"
    if age.years < p.early_years:
        where = f"inside the {p.early_years:g}-year burn-in for {noun}"
    elif age.years > p.late_years:
        where = f"past the {p.late_years:g}-year wear-out onset for {noun}"
    else:
        where = f"within the mid-life band {p.early_years:g}–{p.late_years:g} years for {noun}"
    text = f"{stage.value} life: {since}, {where}; {_failures_text(n, win)}"
    if stage is FailureStage.LATE and age.years <= p.late_years:
        text += " suggest early wear-out"
    return f"{text} — {ADVICE[stage]}"


def _unknown_age(asset: AssetFacts, n: int, cfg: StageConfig, params: dict[str, Any]) -> StageScore:
    params.update(age_years=None, age_basis=None)
    reason = (
        f"mid life assumed: install date unknown for {asset.equipment}; "
        f"{_failures_text(n, cfg.recent_window_days)} — {ADVICE[FailureStage.MID]}"
    )
    return StageScore(FailureStage.MID, 0.25, 0.5, 0.25, reason, params)


def score_stage(
    asset: AssetFacts,
    history: Sequence[FailureEvent],
    as_of: datetime,
    class_params: StageConfig | None = None,
    fit: BathtubFit | None = None,
) -> StageScore:
    """Score the life stage of `asset` at `as_of`.

    With `fit` (its class's bathtub fit, enough history) the fitted model decides; without,
    the age bands of `class_params` do.
    """
    cfg = class_params or StageConfig()
    if fit is not None and fit.failures >= cfg.min_fit_failures:
        return score_fitted(asset, history, as_of, fit, cfg)
    return score_by_age_bands(asset, history, as_of, cfg)


def score_by_age_bands(
    asset: AssetFacts, history: Sequence[FailureEvent], as_of: datetime, cfg: StageConfig
) -> StageScore:
    """The fallback model: age since install/overhaul against per-class boundaries."""
    own = cfg.params_for(asset.equipment_class)
    p = own or cfg.fallback
    noun = CLASS_NOUNS.get(asset.equipment_class, asset.equipment_class)
    n = _recent(history, as_of, cfg.recent_window_days)
    params: dict[str, Any] = {
        "model": MODEL_NAME,
        "class": asset.equipment_class,
        "class_params": "class" if own else "fallback",
        "early_years": p.early_years,
        "late_years": p.late_years,
        "recent_failures": n,
        "window_days": cfg.recent_window_days,
        "as_of": as_of.isoformat(),
    }
    age = _age(asset, as_of)
    if age is None:
        return _unknown_age(asset, n, cfg, params)
    params.update(age_years=round(age.years, 2), age_basis=age.basis)
    probs = _shift(_base_probs(age.years, p), n, burn_in=age.years < p.early_years)
    worst = max(asset.condition.items(), key=lambda kv: kv[1], default=None)
    if worst is not None and worst[1] > 0:  # a deteriorating indicator: weight onto wear-out
        early, mid, late = probs
        moved = min(max(mid - MIN_MID, 0.0), CONDITION_BAND_SHIFT * min(worst[1], 1.0))
        probs = (early, mid - moved, late + moved)
        params["condition"] = dict(asset.condition)
    stage = _stage_of(probs)
    reason = _reason(stage, age, p, noun, n=n, win=cfg.recent_window_days)
    if worst is not None and worst[1] > 0:
        head, _, advice = reason.rpartition(" — ")
        reason = f"{head}; {worst[0]} at {worst[1]:.0%} of its limit — {advice}"
    return StageScore(stage, *probs, reason=reason, params=params)


# -- the fitted model ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Trend:
    recent: int
    expected: float
    tail_p: float
    toward: FailureStage | None


def _trend(fit: BathtubFit, age: float, n: int, expected: float, cfg: StageConfig) -> _Trend:
    """Recent failures beyond what the fit expects point to the side of the bathtub the unit
    is on: burn-in while the intensity still falls, wear-out once it rises."""
    tail = float(stats.poisson.sf(n - 1, expected)) if n > 0 else 1.0
    toward = None
    if n >= 3 and tail < cfg.trend_p_value:
        p = fit.params
        early, _, late = p.components(age)
        falling = (1 - p.beta1) * early > (p.beta3 - 1) * late  # the sign of dλ/dt
        toward = FailureStage.EARLY if falling else FailureStage.LATE
    return _Trend(n, expected, tail, toward)


def _uncertain(fit: BathtubFit, age: float) -> tuple[tuple[float, float, float], list[float]]:
    """Each component's share of the intensity at `age`, averaged over the fit's parameter
    draws, and the share of draws in which each component dominates (the stage's confidence)."""
    comps = fit.component_draws(age)
    shares = comps / comps.sum(axis=1, keepdims=True)
    mean = shares.mean(axis=0)
    wins = np.bincount(comps.argmax(axis=1), minlength=3) / comps.shape[0]
    return (float(mean[0]), float(mean[1]), float(mean[2])), [round(float(w), 3) for w in wins]


def _fitted_probs(
    shares: tuple[float, float, float], trend: _Trend, degradation: float
) -> tuple[float, float, float]:
    early, mid, late = shares
    if trend.toward is not None:
        factor = trend.recent / max(trend.expected, 1e-9)
        if trend.toward is FailureStage.EARLY:
            early *= factor
        else:
            late *= factor
    late *= 1.0 + CONDITION_WEIGHT * degradation
    total = early + mid + late
    return early / total, mid / total, late / total


def _fitted_reason(
    stage: FailureStage,
    *,
    age: _Age,
    comps: tuple[float, float, float],
    noun: str,
    trend: _Trend,
    next_years: float,
    degradation: tuple[str, float] | None,
    confidence: float | None,
) -> str:
    names = {"early": comps[0], "random": comps[1], "wear-out": comps[2]}
    lead = {FailureStage.EARLY: "early", FailureStage.MID: "random", FailureStage.LATE: "wear-out"}
    shares = ", ".join(f"{k} {v:.2f}" for k, v in names.items())
    text = (
        f"{stage.value} life: {age.years:.1f} years since {age.basis}; failure rate of {noun} "
        f"at this age {sum(comps):.2f}/yr ({shares})"
    )
    text += f"; {trend.recent} failure{'s' if trend.recent != 1 else ''} in the last year"
    text += f" ({trend.expected:.1f} expected)"
    if trend.toward is not None:
        text += f" point to {lead[trend.toward]}"
    if confidence is not None:
        text += f"; {lead[stage]} dominates here in {confidence:.0%} of the fits the data allow"
    if degradation is not None and degradation[1] > 0:
        text += f"; {degradation[0]} at {degradation[1]:.0%} of its limit"
    text += f"; next failure expected in ~{_duration(next_years)}"
    return f"{text} — {ADVICE[stage]}"


def _duration(years: float) -> str:
    if years < 1 / 12:
        return f"{years * DAYS_PER_YEAR:.0f} days"
    if years < 2:
        return f"{years * 12:.0f} months"
    return f"{years:.1f} years"


def score_fitted(
    asset: AssetFacts,
    history: Sequence[FailureEvent],
    as_of: datetime,
    fit: BathtubFit,
    cfg: StageConfig,
) -> StageScore:
    """Stage from the class's bathtub fit at the unit's age, refined by its trend and condition."""
    noun = CLASS_NOUNS.get(asset.equipment_class, asset.equipment_class)
    age = _age(asset, as_of)
    params: dict[str, Any] = {
        "model": FIT_MODEL_NAME,
        "class": asset.equipment_class,
        "fit": fit.params.as_dict(),
        "fit_failures": fit.failures,
        "fit_segments": fit.segments,
        "window_days": cfg.recent_window_days,
        "as_of": as_of.isoformat(),
    }
    if age is None:
        return _unknown_age(asset, _recent(history, as_of, cfg.recent_window_days), cfg, params)
    start = as_of - timedelta(days=age.years * DAYS_PER_YEAR)
    window = min(cfg.recent_window_days / DAYS_PER_YEAR, age.years)
    since = [f for f in history if f.at >= start]
    n = _recent(since, as_of, cfg.recent_window_days)
    comps = fit.params.components(age.years)
    trend = _trend(fit, age.years, n, fit.params.expected(age.years - window, age.years), cfg)
    worst = max(asset.condition.items(), key=lambda kv: kv[1], default=None)
    degradation = min(max(worst[1], 0.0), 1.0) if worst else 0.0
    shares, dominates = _uncertain(fit, age.years)
    probs = _fitted_probs(shares, trend, degradation)
    stage = _stage_of(probs)
    next_years = fit.params.mean_time_to_next(age.years)
    params.update(
        age_years=round(age.years, 2),
        age_basis=age.basis,
        intensity_per_year=round(sum(comps), 4),
        components_per_year=[round(c, 4) for c in comps],
        expected_next_failure_years=round(next_years, 3),
        recent_failures=n,
        recent_expected=round(trend.expected, 3),
        trend_p=round(trend.tail_p, 4),
        condition=dict(asset.condition),
        fit_se=fit.standard_errors(),
        stage_confidence=dominates,
    )
    reason = _fitted_reason(
        stage,
        age=age,
        comps=comps,
        noun=noun,
        trend=trend,
        next_years=next_years,
        degradation=worst,
        confidence=None if fit.draws is None else dominates[list(FailureStage).index(stage)],
    )
    return StageScore(stage, *probs, reason=reason, params=params)
