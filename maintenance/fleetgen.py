"""Random fleets with a known truth, for judging the stage scorer on fleets nobody chose. Pure.

Each class gets bathtub parameters drawn at random from wide ranges (the ranges and their
sources are in `docs/scoring.md`, "The evaluation fleets"): a constant random-failure rate,
a burn-in with shape 0.3–0.9 (absent in a fifth of the classes) and a wear-out with shape
1.5–6 whose crossover age lies anywhere from 0.3 to 1.3 service lives (in a fifth of the
classes beyond every age the fleet reaches). The fleet's age structure (spread over decades,
young only, old only, or commissioned in cohorts) and its renewal policy (none, at a fixed age,
after a run of failures, at random) are drawn too; histories are censored at the as-of time.

The failure times are drawn here, independently of `maintenance.bathtub` and
`simulators.life` (which invert the cumulative intensity numerically): each component is its
own Poisson process and the failures of a segment are their superposition. Given the count
N ~ Poisson(Λ(T)) on (0, T], the times of a power-law process are i.i.d. with distribution
function (t/T)^β, so they are drawn in closed form as T·U^(1/β).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

YEAR = timedelta(days=365.25)
STAGES = ("early", "mid", "late")
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ClassSpec:
    """An equipment class the generator knows: its median service life and failure rates."""

    name: str
    life_years: float
    rate_low: float
    rate_high: float


# Service lives: ASHRAE median service lives where ASHRAE lists the equipment; the rest are
# stated assumptions. Random-failure rates (reactive orders per unit-year): wide judgement
# ranges, see docs/scoring.md. Deliberately not the scorer's class settings.
CLASS_TABLE: tuple[ClassSpec, ...] = (
    ClassSpec("elevator", 25.0, 0.5, 6.0),
    ClassSpec("escalator", 25.0, 0.5, 6.0),
    ClassSpec("pump", 20.0, 0.1, 2.0),
    ClassSpec("pump_inline", 10.0, 0.1, 2.0),
    ClassSpec("shaft_panel", 30.0, 0.02, 0.5),
    ClassSpec("transformer", 30.0, 0.01, 0.3),
    ClassSpec("fan", 25.0, 0.05, 1.0),
    ClassSpec("fan_coil", 20.0, 0.05, 1.0),
    ClassSpec("chiller", 23.0, 0.3, 4.0),
    ClassSpec("cooling_tower", 20.0, 0.1, 2.0),
    ClassSpec("boiler", 24.0, 0.2, 3.0),
    ClassSpec("motor", 18.0, 0.05, 1.0),
)
AGE_STRUCTURES = {"spread": 0.35, "young": 0.15, "old": 0.15, "cohorts": 0.35}
RENEWAL_POLICIES = {"none": 0.3, "age": 0.3, "condition": 0.2, "random": 0.2}
NO_BURN_IN = 0.2  # share of classes without burn-in
NO_WEAR_SEEN = 0.2  # share of classes whose wear-out starts beyond every age in the fleet
MAX_SPAN_LIVES = 1.8  # the oldest possible first install, in service lives before the as-of


@dataclass(frozen=True, slots=True)
class TrueBathtub:
    """A class's true intensity: λ(t) = λ₀ (1 + (t/c₁)^(β₁−1) + (t/c₃)^(β₃−1)), each power
    term present or not; c₁, c₃ are the ages where burn-in and wear-out equal the random rate."""

    lam0: float
    beta1: float | None = None
    cross1: float | None = None
    beta3: float | None = None
    cross3: float | None = None

    def components(self, ages: Floats) -> Floats:
        """Burn-in, random and wear-out intensity (per year) at each age: shape (n, 3)."""
        t = np.maximum(np.asarray(ages, dtype=np.float64), 1e-9)
        out = np.zeros((t.size, 3))
        out[:, 1] = self.lam0
        if self.beta1 is not None and self.cross1 is not None:
            out[:, 0] = self.lam0 * (t / self.cross1) ** (self.beta1 - 1)
        if self.beta3 is not None and self.cross3 is not None:
            out[:, 2] = self.lam0 * (t / self.cross3) ** (self.beta3 - 1)
        return out

    def stages(self, ages: Floats) -> list[str]:
        """The dominating component at each age (ties go to the earlier stage)."""
        return [STAGES[i] for i in np.argmax(self.components(ages), axis=1)]

    def as_dict(self) -> dict[str, float | None]:
        """Parameters for the truth file."""
        return {
            "lam0": self.lam0,
            "beta1": self.beta1,
            "cross1": self.cross1,
            "beta3": self.beta3,
            "cross3": self.cross3,
        }


def _power_times(
    lam0: float, beta: float, cross: float, span: float, rng: np.random.Generator
) -> Floats:
    """Event ages on (0, span] of the power-law process λ₀(t/c)^(β−1)."""
    total = lam0 * cross / beta * (span / cross) ** beta
    n = rng.poisson(total)
    return np.asarray(span * rng.random(n) ** (1.0 / beta), dtype=np.float64)


def segment_failures(truth: TrueBathtub, span: float, rng: np.random.Generator) -> Floats:
    """Failure ages of one age segment of length `span` years, sorted."""
    parts = [rng.random(rng.poisson(truth.lam0 * span)) * span]
    if truth.beta1 is not None and truth.cross1 is not None:
        parts.append(_power_times(truth.lam0, truth.beta1, truth.cross1, span, rng))
    if truth.beta3 is not None and truth.cross3 is not None:
        parts.append(_power_times(truth.lam0, truth.beta3, truth.cross3, span, rng))
    return np.sort(np.concatenate(parts))


@dataclass(frozen=True, slots=True)
class Renewal:
    """A class's renewal policy: when a unit is overhauled or replaced (age starts over)."""

    policy: str  # none | age | condition | random
    every_years: float = math.inf  # age: renew at this age (±10 % per unit)
    failures: int = 0  # condition: renew after this many failures within a year …
    min_age: float = 1.0  # … once the unit is at least this old
    rate_per_year: float = 0.0  # random: renewals as a Poisson process
    replace_share: float = 0.5  # share of renewals that are replacements (else overhauls)


@dataclass(frozen=True, slots=True)
class FleetClass:
    """One class of a generated fleet (at one site): its truth and how the fleet was built."""

    name: str
    life_years: float
    truth: TrueBathtub
    ages: str
    renewal: Renewal
    site: str = ""

    @property
    def key(self) -> str:
        """`site/class`, or the class when the fleet has one site."""
        return f"{self.site}/{self.name}" if self.site else self.name


@dataclass(slots=True)
class GeneratedAsset:
    """One unit: its history rows and its true state at the as-of time."""

    asset_id: str
    asset_class: str
    events: list[tuple[str, datetime]] = field(default_factory=list)
    age_years: float = 0.0
    stage: str = "mid"
    install_known: bool = True
    site: str = ""


@dataclass(slots=True)
class Fleet:
    """A generated fleet: classes with their truth, and every unit."""

    as_of: datetime
    seed: int
    classes: dict[str, FleetClass]
    assets: list[GeneratedAsset]

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV header: a `site` column first when the fleet spans several sites."""
        base = ("asset_id", "asset_class", "event", "at")
        return ("site", *base) if any(a.site for a in self.assets) else base

    def history_rows(self) -> list[tuple[str, ...]]:
        """The `score` CSV rows (per `columns`), in time order per asset."""
        sited = self.columns[0] == "site"
        return [
            ((a.site,) if sited else ())
            + (a.asset_id, a.asset_class, event, at.isoformat().replace("+00:00", "Z"))
            for a in self.assets
            for event, at in a.events
        ]

    def csv_text(self) -> str:
        """The whole history CSV."""
        lines = [",".join(self.columns), *(",".join(r) for r in self.history_rows())]
        return "\n".join(lines) + "\n"

    def truth(self) -> dict[str, Any]:
        """Every class's parameters and every unit's true age and stage at the as-of time."""
        return {
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "classes": {
                c.key: {
                    "class": c.name,
                    "site": c.site or None,
                    "life_years": c.life_years,
                    "ages": c.ages,
                    "renewal": c.renewal.policy,
                    **c.truth.as_dict(),
                }
                for c in self.classes.values()
            },
            "assets": {
                a.asset_id: {
                    "asset_class": a.asset_class,
                    "site": a.site or None,
                    "age_years": round(a.age_years, 4),
                    "stage": a.stage,
                    "install_known": a.install_known,
                }
                for a in self.assets
            },
        }


def _choice(options: dict[str, float], rng: np.random.Generator) -> str:
    names = list(options)
    return str(rng.choice(names, p=np.array([options[n] for n in names])))


def draw_truth(spec: ClassSpec, rng: np.random.Generator) -> TrueBathtub:
    """Bathtub parameters of one class, drawn from the generator's wide ranges."""
    life = spec.life_years
    lam0 = float(math.exp(rng.uniform(math.log(spec.rate_low), math.log(spec.rate_high))))
    beta1 = cross1 = None
    if rng.random() >= NO_BURN_IN:
        beta1 = float(rng.uniform(0.3, 0.9))
        cross1 = float(math.exp(rng.uniform(math.log(0.08), math.log(0.15 * life))))
    beta3 = float(rng.uniform(1.5, 6.0))
    if rng.random() < NO_WEAR_SEEN:
        cross3 = float(MAX_SPAN_LIVES * life * rng.uniform(1.2, 2.0))
    else:
        cross3 = float(life * rng.uniform(0.3, 1.3))
    return TrueBathtub(lam0, beta1, cross1, beta3, cross3)


def draw_renewal(life: float, rng: np.random.Generator) -> Renewal:
    """A class's renewal policy."""
    policy = _choice(RENEWAL_POLICIES, rng)
    share = float(rng.uniform(0.0, 1.0))
    if policy == "age":
        return Renewal(policy, every_years=life * float(rng.uniform(0.6, 1.3)), replace_share=share)
    if policy == "condition":
        return Renewal(policy, failures=int(rng.integers(3, 6)), replace_share=share)
    if policy == "random":
        return Renewal(policy, rate_per_year=1.0 / (0.8 * life), replace_share=share)
    return Renewal(policy)


def draw_spans(structure: str, life: float, units: int, rng: np.random.Generator) -> Floats:
    """Years since each unit's first install, by the class's age structure."""
    if structure == "young":
        return rng.uniform(0.02, 0.35 * life, units)
    if structure == "old":
        return rng.uniform(0.7 * life, MAX_SPAN_LIVES * life, units)
    if structure == "cohorts":
        centres = rng.uniform(0.0, 1.5 * life, int(rng.integers(1, 4)))
        picked = centres[rng.integers(0, centres.size, units)]
        return np.maximum(picked + rng.uniform(-0.5, 0.5, units), 0.02)
    return rng.uniform(0.02, 1.5 * life, units)


def _condition_cut(ages: Floats, renewal: Renewal) -> float | None:
    """Age of the failure that triggers a condition renewal (k failures within a year)."""
    k = renewal.failures
    for i in range(k - 1, ages.size):
        if ages[i] >= renewal.min_age and ages[i] - ages[i - k + 1] <= 1.0:
            return float(ages[i])
    return None


def _segment_end(renewal: Renewal, horizon: float, rng: np.random.Generator) -> float:
    if renewal.policy == "age":
        return min(horizon, renewal.every_years * float(rng.uniform(0.9, 1.1)))
    if renewal.policy == "random":
        return min(horizon, float(rng.exponential(1.0 / renewal.rate_per_year)))
    return horizon


def live_unit(
    asset: GeneratedAsset, fc: FleetClass, span: float, as_of: datetime, rng: np.random.Generator
) -> None:
    """Draw one unit's history from its install `span` years before `as_of` to `as_of`."""
    start = as_of - span * YEAR
    asset.events.append(("installed", start))
    left = span
    while True:
        end = _segment_end(fc.renewal, left, rng)
        ages = segment_failures(fc.truth, end, rng)
        if fc.renewal.policy == "condition":
            cut = _condition_cut(ages, fc.renewal)
            if cut is not None and cut + 30 / 365.25 < left:
                end = cut + 30 / 365.25  # the renewal follows the last failure within a month
                ages = ages[ages <= end]  # failures while it waits for the renewal still count
        asset.events.extend(("failure", start + float(t) * YEAR) for t in ages)
        if end >= left:
            asset.age_years = left
            asset.stage = fc.truth.stages(np.array([left]))[0]
            return
        start += end * YEAR
        left -= end
        replaced = rng.random() < fc.renewal.replace_share
        asset.events.append(("replaced" if replaced else "overhaul", start))


# How much one site's version of a class differs from another's (standard deviations on the
# log or logit scale), times `site_spread`: contractors, usage and environment differ.
SITE_SPREAD = {"lam0": 0.3, "cross1": 0.3, "cross3": 0.2, "beta1": 0.2, "beta3": 0.15}


def site_truth(truth: TrueBathtub, rng: np.random.Generator, spread: float) -> TrueBathtub:
    """One site's version of a class's truth."""

    def jitter(name: str) -> float:
        return float(math.exp(spread * SITE_SPREAD[name] * rng.standard_normal()))

    beta1 = truth.beta1
    if beta1 is not None:
        logit = (
            math.log(beta1 / (1 - beta1)) + spread * SITE_SPREAD["beta1"] * rng.standard_normal()
        )
        beta1 = 1 / (1 + math.exp(-logit))
    beta3 = None if truth.beta3 is None else 1 + (truth.beta3 - 1) * jitter("beta3")
    return TrueBathtub(
        lam0=truth.lam0 * jitter("lam0"),
        beta1=beta1,
        cross1=None if truth.cross1 is None else truth.cross1 * jitter("cross1"),
        beta3=beta3,
        cross3=None if truth.cross3 is None else truth.cross3 * jitter("cross3"),
    )


def _groups(
    spec: ClassSpec, rng: np.random.Generator, sites: int, spread: float
) -> list[FleetClass]:
    """The class at each site: one draw of its truth, then each site's own version, age
    structure and renewal policy (one site: the class as drawn)."""
    truth = draw_truth(spec, rng)
    if sites == 1:
        ages, renewal = _choice(AGE_STRUCTURES, rng), draw_renewal(spec.life_years, rng)
        return [FleetClass(spec.name, spec.life_years, truth, ages, renewal)]
    return [
        FleetClass(
            spec.name,
            spec.life_years,
            site_truth(truth, rng, spread),
            _choice(AGE_STRUCTURES, rng),
            draw_renewal(spec.life_years, rng),
            f"site{k + 1}",
        )
        for k in range(sites)
    ]


def generate_fleet(
    *,
    seed: int,
    units_per_class: int,
    classes: int = 4,
    as_of: datetime | None = None,
    missing_install: float = 0.0,
    sites: int = 1,
    site_spread: float = 1.0,
) -> Fleet:
    """A random fleet: `classes` distinct classes of `units_per_class` units each (at each of
    `sites` sites, the class's truth varied per site by `site_spread` × `SITE_SPREAD`).

    `missing_install` is the share of units whose install row is left out of the history
    (their later renewals and failures stay); a unit left with no row at all drops out.
    """
    if not 1 <= classes <= len(CLASS_TABLE):
        raise ValueError(f"classes must be 1..{len(CLASS_TABLE)}, got {classes}")
    if units_per_class < 1 or sites < 1 or not 0.0 <= missing_install < 1.0:
        raise ValueError("units_per_class and sites must be >= 1, missing_install in [0, 1)")
    when = as_of or datetime(2026, 1, 1, tzinfo=UTC)
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(CLASS_TABLE), size=classes, replace=False)
    fleet = Fleet(when, seed, {}, [])
    for index in picked:
        for fc in _groups(CLASS_TABLE[int(index)], rng, sites, site_spread):
            fleet.classes[fc.key] = fc
            for n, span in enumerate(draw_spans(fc.ages, fc.life_years, units_per_class, rng)):
                name = f"{fc.site}-{fc.name}-{n:04d}" if fc.site else f"{fc.name}-{n:04d}"
                asset = GeneratedAsset(name, fc.name, site=fc.site)
                live_unit(asset, fc, float(span), when, rng)
                if rng.random() < missing_install:
                    asset.events = asset.events[1:]
                    asset.install_known = False
                if asset.events:
                    fleet.assets.append(asset)
    return fleet
