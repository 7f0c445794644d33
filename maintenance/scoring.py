"""Failure-stage scoring: early (burn-in), mid (random) or late (wear-out) life of an asset.

Pure. This is the transparent first model: the age since install (or since the last major
overhaul, which renews age) against per-class early/late boundaries, with the count of recent
failures shifting the probabilities. Issue 7 replaces the internals of `score_stage` with a
power-law (bathtub) maximum-likelihood fit per class; `StageScore` keeps its shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from core.config import StrictModel

MODEL_NAME = "age-bands-v1"
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


class ClassParams(StrictModel):
    """Life-stage boundaries of one equipment class, in years of age."""

    early_years: float = Field(ge=0, description="Below this age: early life (burn-in).")
    late_years: float = Field(gt=0, description="Above this age: late life (wear-out onset).")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.late_years <= self.early_years:
            raise ValueError("late_years must be greater than early_years")
        return self


DEFAULT_CLASSES: dict[str, ClassParams] = {
    "elevator": ClassParams(early_years=1.0, late_years=15.0),
    "pump": ClassParams(early_years=0.5, late_years=10.0),
    "shaft_panel": ClassParams(early_years=1.0, late_years=20.0),
}
FALLBACK_CLASS = ClassParams(early_years=1.0, late_years=15.0)


class StageConfig(StrictModel):
    """Failure-stage settings; given classes are merged over the defaults."""

    classes: dict[str, ClassParams] = Field(
        default_factory=lambda: dict(DEFAULT_CLASSES),
        description="Per equipment class (type): early_years and late_years. Defaults: "
        "elevator 1/15, pump 0.5/10, shaft_panel 1/20.",
    )
    fallback: ClassParams = Field(
        FALLBACK_CLASS, description="Boundaries for classes not listed (default 1/15 years)."
    )
    recent_window_days: int = Field(
        365, gt=0, description="Failures within this many days before the score count as recent."
    )

    @field_validator("classes", mode="after")
    @classmethod
    def _merge(cls, value: dict[str, ClassParams]) -> dict[str, ClassParams]:
        return {**DEFAULT_CLASSES, **value}

    def params_for(self, equipment_class: str) -> ClassParams | None:
        """The boundaries of a class, or None when it has none of its own."""
        return self.classes.get(equipment_class)


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the scorer knows about one asset."""

    equipment: str
    equipment_class: str
    installed: date | None = None
    last_overhaul: date | None = None


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


def score_stage(
    asset: AssetFacts,
    history: Sequence[FailureEvent],
    as_of: datetime,
    class_params: StageConfig | None = None,
) -> StageScore:
    """Score the life stage of `asset` at `as_of` from its age and recent failures."""
    cfg = class_params or StageConfig()
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
        params.update(age_years=None, age_basis=None)
        reason = (
            f"mid life assumed: install date unknown for {asset.equipment}; "
            f"{_failures_text(n, cfg.recent_window_days)} — {ADVICE[FailureStage.MID]}"
        )
        return StageScore(FailureStage.MID, 0.25, 0.5, 0.25, reason, params)
    params.update(age_years=round(age.years, 2), age_basis=age.basis)
    probs = _shift(_base_probs(age.years, p), n, burn_in=age.years < p.early_years)
    stage = _stage_of(probs)
    reason = _reason(stage, age, p, noun, n=n, win=cfg.recent_window_days)
    return StageScore(stage, *probs, reason=reason, params=params)
