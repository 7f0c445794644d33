"""The age-band model: age since install/overhaul against per-class early/late boundaries. Pure.

The transparent fallback for a class with too little history for a fit (and a baseline the
fitted model is measured against): below `early_years` early life, above `late_years` late
life, in between mid life leaning towards the nearer edge; recent failures move weight off mid
(onto early in burn-in, onto late otherwise), a deteriorating condition indicator onto late.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bldgwatch.maintenance.config import ClassParams, StageConfig
from bldgwatch.maintenance.stage_texts import Message
from bldgwatch.maintenance.stagefacts import condition_facts, recent_fact, worst_condition
from bldgwatch.maintenance.stagemodel import (
    Age,
    AssetFacts,
    FailureEvent,
    FailureStage,
    StageScore,
    age_of,
    finish,
    recent_failures,
    stage_of,
)

MODEL_NAME = "age-bands-v1"
CONDITION_BAND_SHIFT = 0.6  # a fully degraded indicator moves this much to late
SHIFT_PER_FAILURE = 0.15
MAX_SHIFT = 0.45
BAND_EDGE_WEIGHT = 0.15
MIN_MID = 0.05  # never fully certain: random failures happen at any age
UNKNOWN = (0.25, 0.5, 0.25)
PAST_EARLY = (0.0, 0.6, 0.4)  # age unknown but past burn-in: mid or late


def base_probs(years: float, p: ClassParams) -> tuple[float, float, float]:
    """Stage probabilities from age alone."""
    if years < p.early_years:
        return 0.75, 0.25, 0.0
    if years > p.late_years:
        return 0.0, 0.25, 0.75
    x = (years - p.early_years) / (p.late_years - p.early_years)
    early, late = BAND_EDGE_WEIGHT * (1 - x), BAND_EDGE_WEIGHT * x
    return early, 1 - early - late, late


def _bound_probs(bound: float, p: ClassParams) -> tuple[float, float, float]:
    """Stage probabilities when the age is only known to be at least `bound`."""
    if bound > p.late_years:
        return base_probs(bound, p)
    return PAST_EARLY if bound >= p.early_years else UNKNOWN


def _shift(
    probs: tuple[float, float, float], failures: int, *, burn_in: bool
) -> tuple[float, float, float]:
    """Recent failures move weight off mid: onto early in burn-in, onto late otherwise."""
    early, mid, late = probs
    moved = min(SHIFT_PER_FAILURE * failures, MAX_SHIFT, max(mid - MIN_MID, 0.0))
    if burn_in:
        return early + moved, mid - moved, late
    return early, mid - moved, late + moved


def _where(years: float, p: ClassParams) -> str:
    if years < p.early_years:
        return "burn_in"
    return "past_onset" if years > p.late_years else "mid_band"


def _age_facts(age: Age, p: ClassParams, cls: str) -> Message:
    where = Message(
        "stage.bands_where",
        {
            "where": _where(age.years, p),
            "cls": cls,
            "early_years": p.early_years,
            "late_years": p.late_years,
        },
    )
    if age.exact:
        first = Message("stage.age", {"years": round(age.years, 2), "basis": age.basis})
    else:
        first = Message("stage.age_at_least", {"years": round(age.years, 2), "basis": age.basis})
        if age.years < p.early_years:
            return first
    return Message("stage.joined", {"parts": [first, where]})


def _params(asset: AssetFacts, cfg: StageConfig, n: int, as_of: datetime) -> dict[str, Any]:
    own = cfg.params_for(asset.equipment_class)
    p = own or cfg.fallback
    return {
        "model": MODEL_NAME,
        "class": asset.equipment_class,
        "class_params": "class" if own else "fallback",
        "early_years": p.early_years,
        "late_years": p.late_years,
        "recent_failures": n,
        "window_days": cfg.recent_window_days,
        "as_of": as_of.isoformat(),
    }


def score_by_age_bands(
    asset: AssetFacts, history: Sequence[FailureEvent], as_of: datetime, cfg: StageConfig
) -> StageScore:
    """Stage from the age since install/overhaul against the class's boundaries."""
    p = cfg.boundaries(asset.equipment_class)
    n = recent_failures(history, as_of, cfg.recent_window_days)
    params = _params(asset, cfg, n, as_of)
    age = age_of(asset, history, as_of)
    if age is None:
        params.update(age_years=None, age_basis=None)
        facts = [
            Message("stage.age_unknown", {"equipment": asset.equipment}),
            recent_fact(n, cfg.recent_window_days),
        ]
        return finish(UNKNOWN, facts, params, cfg, settle_with={"age_unknown": True})
    if age.exact:
        params.update(age_years=round(age.years, 2), age_basis=age.basis)
        probs = _shift(base_probs(age.years, p), n, burn_in=age.years < p.early_years)
    else:
        params.update(age_years=None, age_basis=age.basis, age_at_least=round(age.years, 2))
        probs = _bound_probs(age.years, p)
    worst = worst_condition(asset)
    if worst is not None:  # a deteriorating indicator: weight onto wear-out
        early, mid, late = probs
        moved = min(max(mid - MIN_MID, 0.0), CONDITION_BAND_SHIFT * worst[1])
        probs = (early, mid - moved, late + moved)
        params["condition"] = dict(asset.condition)
    stage = stage_of(probs)
    early_wear = age.exact and stage is FailureStage.LATE and age.years <= p.late_years and n > 0
    facts = [
        _age_facts(age, p, asset.equipment_class),
        recent_fact(n, cfg.recent_window_days, early_wear=early_wear),
        *condition_facts(worst),
    ]
    bound_late = base_probs(age.years, p)[2]  # the overhaul rule's evidence without a date
    return finish(
        probs,
        facts,
        params,
        cfg,
        settle_with={"age_unknown": not age.exact},
        late_at_least=bound_late,
    )
