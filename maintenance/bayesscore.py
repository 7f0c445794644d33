"""Stage scores from a class's Bayesian bathtub fit (`maintenance.fleetfit`). Pure.

P(stage) at a unit's age is the share of the class posterior (its variants and their draws)
in which that stage's component dominates the intensity there: a calibrated probability, not
an intensity share. A unit known only since its first record gets the mixture of those
probabilities over its age posterior. The unit's own evidence beyond the class model (a
significant run of recent failures, a degraded condition indicator) then shifts the
probabilities as in the MLE model; `stage_confidence` keeps the class-model probabilities.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.fleetfit import ClassFit, age_posterior, weighted_median
from bldgwatch.maintenance.lifemodel import Floats, relative_cumulative
from bldgwatch.maintenance.mlescore import apply_evidence, trend_of, trend_thresholds
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
    Age,
    AssetFacts,
    FailureEvent,
    StageScore,
    age_of,
    finish,
    recent_failures,
)

FIT_MODEL_NAME = "bathtub-bayes-v2"
HORIZON = np.geomspace(1e-4, 300.0, 160)  # years ahead, for the expected time to next failure


def expected_next(fit: ClassFit, ages: Floats) -> Floats:
    """Expected years to the next failure at each age: ∫₀^∞ exp(−(Λ(a+x) − Λ(a))) dx."""
    shapes, lam0 = fit.shapes, fit.point.lam0
    base = relative_cumulative(shapes, ages)[0]
    ahead = ages[:, None] + HORIZON[None, :]
    cum = relative_cumulative(shapes, ahead.ravel())[0].reshape(ahead.shape)
    survival = np.exp(-lam0 * (cum - base[:, None]))
    head = np.concatenate([np.zeros((ages.size, 1)), HORIZON[None, :].repeat(ages.size, 0)], 1)
    surv = np.concatenate([np.ones((ages.size, 1)), survival], 1)
    return np.asarray(np.trapezoid(surv, head, axis=1), dtype=np.float64)


def expected_between(fit: ClassFit, start: Floats, end: Floats) -> Floats:
    """Expected failures between two ages (point estimate)."""
    s = fit.shapes
    upper = relative_cumulative(s, end)[0]
    lower = relative_cumulative(s, np.maximum(start, 0.0))[0]
    return np.asarray(fit.point.lam0 * (upper - lower), dtype=np.float64)


def _components(fit: ClassFit, age: float) -> dict[str, float]:
    p, lam0 = fit.point, fit.point.lam0
    out = {"random": lam0}
    if p.beta1 is not None and p.cross1 is not None:
        out["early"] = lam0 * (max(age, 1e-3) / p.cross1) ** (p.beta1 - 1)
    if p.beta3 is not None and p.cross3 is not None:
        out["wear"] = lam0 * (age / p.cross3) ** (p.beta3 - 1)
    return {k: out[k] for k in ("early", "random", "wear") if k in out}


def _falling(fit: ClassFit, age: float) -> bool:
    comps, p = _components(fit, age), fit.point
    down = (1 - (p.beta1 or 1.0)) * comps.get("early", 0.0)
    up = ((p.beta3 or 1.0) - 1) * comps.get("wear", 0.0)
    return down > up


def _class_facts(fit: ClassFit, age: float, stage_probs: Floats) -> list[Message]:
    """The stage boundary nearest the unit, and components the data do not show."""
    facts = []
    name = "wear_out" if age > 3 * (fit.point.cross1 or 1.0) else "burn_in"
    bound = fit.boundaries.get(name)
    if bound is not None and fit.presence.get(name, 0.0) >= 0.5:
        low, high = round(bound[1], 2), round(bound[2], 2)
        params = {
            "cls": fit.name,
            "component": name,
            "median": round(bound[0], 2),
            "low": low,
            "high": high,
        }
        facts.append(Message("stage.onset", params))
    if fit.check.weight > 0:
        params = {
            "cls": fit.name,
            "misfit": round(fit.check.misfit, 3),
            "weight": round(fit.check.weight, 3),
        }
        facts.append(Message("stage.misfit", params))
    p_wear, p_burn = fit.presence.get("wear_out", 0.0), fit.presence.get("burn_in", 0.0)
    if p_wear < 0.5:
        oldest = round(fit.posterior.data.max_age, 1)
        facts.append(
            Message(
                "stage.absent",
                {
                    "cls": fit.name,
                    "component": "wear",
                    "max_age": oldest,
                    "p": round(1 - p_wear, 3),
                },
            )
        )
    if p_burn < 0.5 and stage_probs[0] < 0.5 and age < 3.0:
        facts.append(
            Message(
                "stage.absent", {"cls": fit.name, "component": "early", "p": round(1 - p_burn, 3)}
            )
        )
    return facts


@dataclass(frozen=True, slots=True)
class _Unit:
    facts: AssetFacts
    history: Sequence[FailureEvent]
    age: Age | None


@functools.lru_cache(maxsize=64)
def _class_params(fit: ClassFit, window_days: int, as_of: datetime) -> dict[str, Any]:
    """The class's part of every unit's params (built once per class and time)."""
    return {
        "model": FIT_MODEL_NAME,
        "class": fit.name,
        "fit_site": fit.site or None,
        "fit": fit.point.as_dict(),
        "fit_se": {k: round(v, 4) for k, v in fit.point.sd.items()},
        "fit_failures": fit.failures,
        "fit_segments": fit.posterior.data.segments,
        "fit_units": fit.units,
        "fit_imputed_ages": fit.imputed,
        "components_present": {k: round(v, 3) for k, v in fit.presence.items()},
        "fit_check": fit.check.as_dict(),
        "prior": "pooled" if fit.posterior.prior.pooled else "literature",
        "window_days": window_days,
        "as_of": as_of.isoformat(),
    }


def _base_params(fit: ClassFit, cfg: StageConfig, as_of: datetime) -> dict[str, Any]:
    return dict(_class_params(fit, cfg.recent_window_days, as_of))


def _exact(
    unit: _Unit,
    fit: ClassFit,
    probs: Floats,
    *,
    cfg: StageConfig,
    as_of: datetime,
    numbers: tuple[float, float, float, int],
) -> StageScore:
    asset, age = unit.facts, unit.age
    assert age is not None
    next_years, recent_expected, ahead, threshold = numbers
    start = as_of - timedelta(days=age.years * DAYS_PER_YEAR)
    n = recent_failures([f for f in unit.history if f.at >= start], as_of, cfg.recent_window_days)
    trend = trend_of(n, recent_expected, _falling(fit, age.years), cfg)
    worst = worst_condition(asset)
    comps = _components(fit, age.years)
    params = _base_params(fit, cfg, as_of)
    params.update(
        age_years=round(age.years, 2),
        age_basis=age.basis,
        intensity_per_year=round(sum(comps.values()), 4),
        components_per_year=[round(comps.get(k, 0.0), 4) for k in ("early", "random", "wear")],
        expected_next_failure_years=round(next_years, 3),
        recent_failures=n,
        recent_expected=round(recent_expected, 3),
        trend_p=round(trend.tail_p, 4),
        condition=dict(asset.condition),
        stage_confidence=[round(float(p), 3) for p in probs],
    )
    facts = [
        age_fact(age.years, age.basis),
        rate_fact(asset.equipment_class, comps),
        *_class_facts(fit, age.years, probs),
        recent_fact(n, cfg.recent_window_days, expected=recent_expected, toward=trend.toward),
        *condition_facts(worst),
        next_failure_fact(next_years),
    ]
    final = apply_evidence(probs, trend, worst[1] if worst else 0.0)
    settle_with = {"expected": round(ahead, 2), "threshold": threshold}
    return finish(final, facts, params, cfg, settle_with=settle_with)


def _unknown(unit: _Unit, fit: ClassFit, cfg: StageConfig, as_of: datetime) -> StageScore:
    """Age only bounded below (first record), or not known at all: mix over its age posterior."""
    asset, age = unit.facts, unit.age
    params = _base_params(fit, cfg, as_of)
    n = recent_failures(unit.history, as_of, cfg.recent_window_days)
    at_least = None  # P(late) at the least possible age, when there is a bound
    if age is None:
        grid, w = age_posterior(fit.point, 0.0, (), fit.unit_ages, fit.late_years)
        first = Message("stage.age_from_profile", {"equipment": asset.equipment})
        params.update(age_years=None, age_basis=None)
    else:
        seen = sorted(f.at for f in unit.history if f.at <= as_of)
        since = [(t - seen[0]).total_seconds() / 86400 / DAYS_PER_YEAR for t in seen[1:]]
        grid, w = age_posterior(fit.point, age.years, since, fit.unit_ages, fit.late_years)
        first = Message("stage.age_at_least", {"years": round(age.years, 2), "basis": age.basis})
        params.update(age_years=None, age_basis=age.basis, age_at_least=round(age.years, 2))
        at_least = float(fit.stage_probabilities(np.array([age.years]))[0, 2])
    estimate = weighted_median(grid, w)
    probs = w @ fit.stage_probabilities(grid)
    worst = worst_condition(asset)
    final = apply_evidence(probs, trend_of(0, 1.0, False, cfg), worst[1] if worst else 0.0)
    params.update(
        age_estimate_years=round(estimate, 2),
        recent_failures=n,
        condition=dict(asset.condition),
        stage_confidence=[round(float(p), 3) for p in probs],
    )
    facts = [
        first,
        Message("stage.age_estimate", {"years": round(estimate, 1)}),
        *_class_facts(fit, estimate, probs),
        recent_fact(n, cfg.recent_window_days),
        *condition_facts(worst),
    ]
    return finish(
        final, facts, params, cfg, settle_with={"age_unknown": True}, late_at_least=at_least
    )


def score_units(
    units: Sequence[tuple[AssetFacts, Sequence[FailureEvent]]],
    as_of: datetime,
    fit: ClassFit,
    cfg: StageConfig,
) -> list[StageScore]:
    """Scores of many units of one class at `as_of` (their class-model numbers vectorised)."""
    prepared = [_Unit(f, h, age_of(f, h, as_of)) for f, h in units]
    exact = [i for i, u in enumerate(prepared) if u.age is not None and u.age.exact]
    ages = np.array([prepared[i].age.years for i in exact], dtype=np.float64)  # type: ignore[union-attr]
    window = np.minimum(cfg.recent_window_days / DAYS_PER_YEAR, ages)
    probs = fit.stage_probabilities(ages) if exact else np.zeros((0, 3))
    nexts = expected_next(fit, ages) if exact else ages
    recent = expected_between(fit, ages - window, ages)
    ahead = expected_between(fit, ages, ages + 1.0)
    thresholds = trend_thresholds(ahead, cfg)
    out: list[StageScore | None] = [None] * len(prepared)
    for k, i in enumerate(exact):
        numbers = (float(nexts[k]), float(recent[k]), float(ahead[k]), int(thresholds[k]))
        out[i] = _exact(prepared[i], fit, probs[k], cfg=cfg, as_of=as_of, numbers=numbers)
    for i, unit in enumerate(prepared):
        if out[i] is None:
            out[i] = _unknown(unit, fit, cfg, as_of)
    return [s for s in out if s is not None]


def score_bayes(
    asset: AssetFacts,
    history: Sequence[FailureEvent],
    as_of: datetime,
    fit: ClassFit,
    cfg: StageConfig,
) -> StageScore:
    """The stage of one asset from its class's Bayesian fit."""
    return score_units([(asset, history)], as_of, fit, cfg)[0]
