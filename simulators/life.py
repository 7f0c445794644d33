"""Life models: a bathtub failure intensity per equipment class, failures drawn from it.

The intensity over age t (years since install or the last renewal) is the sum of three
power-law (Crow-AMSAA / Weibull-shaped) components:

    early   (beta_e < 1, falling):  (beta_e / eta_e) * (t / eta_e) ** (beta_e - 1)
    random  (constant):             rate
    wear    (beta_w > 1, rising):   (beta_w / eta_w) * (t / eta_w) ** (beta_w - 1)

Repairs are minimal (they restore function, not youth): failures of one equipment form a
non-homogeneous Poisson process along its age, drawn by inverting the cumulative intensity.
An overhaul or a replacement renews the age. The true life stage at an age is the component
that dominates the intensity there. Pure: no clocks, no I/O; randomness from a given rng.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from bldgwatch.core.config import StrictModel

YEAR = timedelta(days=365.25)


class Stage(StrEnum):
    """Life stage: the component dominating the failure intensity."""

    EARLY = "early"
    MID = "mid"
    LATE = "late"


class LifeParams(StrictModel):
    """Bathtub failure intensity of one equipment class (ages in years)."""

    early_beta: float = Field(0.5, gt=0, lt=1, description="Shape of burn-in failures (< 1).")
    early_eta_years: float = Field(
        8.0, gt=0, description="Scale of burn-in failures: (1/eta)^beta failures by 1 year."
    )
    random_per_year: float = Field(0.5, ge=0, description="Constant random failures per year.")
    wear_beta: float = Field(3.0, gt=1, description="Shape of wear-out failures (> 1).")
    wear_eta_years: float = Field(
        12.0, gt=0, description="Scale of wear-out: one wear failure expected by this age."
    )


def _power_rate(t: float, beta: float, eta: float) -> float:
    if t <= 0:
        return math.inf if beta < 1 else (1 / eta if beta == 1 else 0.0)
    return float(beta / eta * (t / eta) ** (beta - 1))


def components(params: LifeParams, age: float) -> dict[Stage, float]:
    """Intensity of each component (failures per year) at `age` years."""
    return {
        Stage.EARLY: _power_rate(age, params.early_beta, params.early_eta_years),
        Stage.MID: params.random_per_year,
        Stage.LATE: _power_rate(age, params.wear_beta, params.wear_eta_years),
    }


def intensity(params: LifeParams, age: float) -> float:
    """Total failure intensity (per year) at `age` years."""
    return sum(components(params, age).values())


def cumulative(params: LifeParams, age: float) -> float:
    """Expected failures from age 0 to `age` (the integral of the intensity)."""
    if age <= 0:
        return 0.0
    p = params
    early = (age / p.early_eta_years) ** p.early_beta
    wear = (age / p.wear_eta_years) ** p.wear_beta
    return float(early + p.random_per_year * age + wear)


def stage_at(params: LifeParams, age: float) -> Stage:
    """The component that dominates the intensity at `age` (ties go to the earlier stage)."""
    parts = components(params, age)
    return max(parts, key=lambda stage: parts[stage])


def next_failure_age(params: LifeParams, age: float, rng: random.Random) -> float:
    """Age of the next failure after `age`: invert the cumulative intensity at an Exp(1) step."""
    goal = cumulative(params, age) + rng.expovariate(1.0)
    low, high = age, max(age, 1e-6) * 2 + 1.0
    while cumulative(params, high) < goal:
        low, high = high, high * 2
    while high - low > 1e-7:  # bisection (Λ is continuous, increasing) to ~3 s of age
        mid = (low + high) / 2
        if cumulative(params, mid) < goal:
            low = mid
        else:
            high = mid
    return high


def failure_ages(params: LifeParams, start: float, end: float, rng: random.Random) -> list[float]:
    """Ages of the failures in (start, end] along one age axis (no renewal)."""
    ages: list[float] = []
    age = start
    while True:
        age = next_failure_age(params, age, rng)
        if age > end:
            return ages
        ages.append(age)


class Renewal(StrictModel):
    """When an equipment class is overhauled or replaced (both renew the age)."""

    after_years: float | None = Field(
        None, gt=0, description="Age at which it is renewed; null = never."
    )
    replace_share: float = Field(
        0.3, ge=0, le=1, description="Share of renewals that are replacements (else overhauls)."
    )


@dataclass(frozen=True)
class LifeEvent:
    """One line of an equipment's history."""

    event: str  # installed | failure | overhaul | replaced
    at: datetime
    stage: Stage | None = None  # true stage at a failure


@dataclass
class EquipmentLife:
    """One equipment's life: install date, renewals, failures; its age and stage at any time."""

    equipment: str
    asset_class: str
    params: LifeParams
    installed: datetime
    events: list[LifeEvent] = field(default_factory=list)

    def renewed_before(self, at: datetime) -> datetime:
        """Start of the age axis in force at `at`: install or the last renewal before it."""
        starts = [ev.at for ev in self.events if ev.event in ("overhaul", "replaced")]
        return max([self.installed, *(s for s in starts if s <= at)])

    def age_at(self, at: datetime) -> float:
        """Age in years at `at` (0 before install)."""
        return max(0.0, (at - self.renewed_before(at)) / YEAR)

    def true_stage(self, at: datetime) -> Stage:
        """The stage dominating this equipment's intensity at `at`."""
        return stage_at(self.params, self.age_at(at))

    def failures(self) -> list[LifeEvent]:
        """The failure events, oldest first."""
        return [ev for ev in self.events if ev.event == "failure"]


def live(
    equipment: str,
    asset_class: str,
    params: LifeParams,
    renewal: Renewal,
    *,
    installed: datetime,
    until: datetime,
    rng: random.Random,
) -> EquipmentLife:
    """Draw one equipment's history from install to `until`: failures along each age axis,
    renewals at `renewal.after_years` (overhaul or replacement, by `rng`)."""
    life = EquipmentLife(equipment, asset_class, params, installed)
    life.events.append(LifeEvent("installed", installed))
    axis_start = installed
    while axis_start < until:
        horizon = (until - axis_start) / YEAR
        renew_at = renewal.after_years
        span = horizon if renew_at is None else min(horizon, renew_at)
        for age in failure_ages(params, 0.0, span, rng):
            life.events.append(LifeEvent("failure", axis_start + age * YEAR, stage_at(params, age)))
        if renew_at is None or renew_at >= horizon:
            break
        axis_start += renew_at * YEAR
        kind = "replaced" if rng.random() < renewal.replace_share else "overhaul"
        life.events.append(LifeEvent(kind, axis_start))
    return life


def true_stage(equipment: EquipmentLife, at: datetime) -> Stage:
    """The true life stage of an equipment at `at`: the component dominating its intensity
    at its age then (age counted from install or the last overhaul / replacement)."""
    return equipment.true_stage(at)
