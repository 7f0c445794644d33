"""A second, independent fleet generator for `bench/scoring_indep.py` (written by the review of
issue 17 to check that the scorer is not good only on `maintenance.fleetgen`'s fleets).

Deliberately NOT the scorer's (or fleetgen's) parametrisation: no power laws anywhere.

* burn-in: either an exponentially decaying intensity λ₀·R·exp(−t/τ) or a linearly falling
  one λ₀·R·max(0, 1 − t/T₁) (finite at age 0, unlike a Weibull shape < 1);
* wear-out: either Gompertz λ₀·exp(γ (t − c₃)) or a linear ramp λ₀·s·max(0, t − a),
  saturating at `WEAR_CAP`·λ₀ (units keep running at a high failure rate);
* random: λ₀.

The truth of a unit is, as in the issue, the component that dominates its class's intensity
at the unit's age. Failures are drawn by thinning (Lewis–Shedler), not by inversion.

Renewal policies differ from fleetgen's: none; replacement at a failure with probability q;
replacement at a planned age with a share of units whose replacement was deferred forever.
Age structures add "same day" (a building's units all commissioned together) and
"two buildings". Optional robustness stresses (off by default): records that only start at a
CMMS go-live date (failures before it were never entered), imperfect overhauls (age reduced
by half, not renewed), and unit-to-unit frailty (gamma, mean 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

YEAR = timedelta(days=365.25)
STAGES = ("early", "mid", "late")
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
WEAR_CAP = 40.0
AGE_KINDS = ("spread", "young", "old", "same_day", "two_buildings")
# class names: three the scorer has settings for, the rest fall back to its 1/15-year guess
NAMES = (
    "elevator", "pump", "shaft_panel", "chiller", "ahu", "boiler", "fan", "transformer",
    "cooling_tower", "escalator",
)  # fmt: skip


@dataclass(frozen=True)
class Truth:
    """One class's true intensity (per year) as three components."""

    lam0: float
    burn: str | None = None  # "exp" | "lin" | None
    burn_r: float = 0.0  # burn-in / λ₀ at age 0
    burn_scale: float = 1.0  # τ (exp) or T₁ (lin), years
    wear: str | None = None  # "gompertz" | "ramp" | None
    wear_c3: float = math.inf  # crossover age of wear-out with λ₀ (gompertz) …
    wear_k: float = 0.0  # γ (gompertz) or s (ramp, per year)
    wear_a: float = 0.0  # ramp start age

    def components(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros((t.size, 3))
        out[:, 1] = self.lam0
        if self.burn == "exp":
            out[:, 0] = self.lam0 * self.burn_r * np.exp(-t / self.burn_scale)
        elif self.burn == "lin":
            out[:, 0] = self.lam0 * self.burn_r * np.maximum(0.0, 1 - t / self.burn_scale)
        if self.wear == "gompertz":
            out[:, 2] = self.lam0 * np.exp(np.minimum(self.wear_k * (t - self.wear_c3), 50))
        elif self.wear == "ramp":
            out[:, 2] = self.lam0 * self.wear_k * np.maximum(0.0, t - self.wear_a)
        out[:, 2] = np.minimum(out[:, 2], WEAR_CAP * self.lam0)
        return out

    def intensity(self, t: np.ndarray) -> np.ndarray:
        return self.components(t).sum(axis=1)

    def stage(self, age: float) -> str:
        return STAGES[int(np.argmax(self.components(np.array([age]))[0]))]

    def boundaries(self) -> tuple[float | None, float | None]:
        """Ages where burn-in falls to λ₀ and wear-out rises to it (None: never)."""
        c1 = None
        if self.burn == "exp" and self.burn_r > 1:
            c1 = self.burn_scale * math.log(self.burn_r)
        elif self.burn == "lin" and self.burn_r > 1:
            c1 = self.burn_scale * (1 - 1 / self.burn_r)
        c3 = None
        if self.wear == "gompertz":
            c3 = self.wear_c3
        elif self.wear == "ramp":
            c3 = self.wear_a + 1 / self.wear_k
        return c1, c3


def draw_truth(life: float, rng: np.random.Generator, *, burn: bool, wear: bool) -> Truth:
    lam0 = float(math.exp(rng.uniform(math.log(0.05), math.log(3.0))))
    kw: dict = {}
    if burn:
        c1 = float(math.exp(rng.uniform(math.log(0.05), math.log(0.2 * life))))
        r = float(math.exp(rng.uniform(math.log(3.0), math.log(50.0))))
        if rng.random() < 0.5:
            kw |= {"burn": "exp", "burn_r": r, "burn_scale": c1 / math.log(r)}
        else:
            kw |= {"burn": "lin", "burn_r": r, "burn_scale": c1 / (1 - 1 / r)}
    c3 = float(life * rng.uniform(0.3, 1.3)) if wear else float(life * rng.uniform(3.0, 5.0))
    doubling = float(math.exp(rng.uniform(math.log(0.5), math.log(6.0))))
    if rng.random() < 0.5:
        kw |= {"wear": "gompertz", "wear_c3": c3, "wear_k": math.log(2) / doubling}
    else:
        slope = 1.0 / doubling  # reaches λ₀ `doubling` years after it starts
        kw |= {"wear": "ramp", "wear_k": slope, "wear_a": c3 - doubling}
    return Truth(lam0, **kw)


def failures_on(truth: Truth, span: float, rng: np.random.Generator, frailty: float) -> np.ndarray:
    """Failure ages on (0, span] by thinning."""
    if span <= 0:
        return np.zeros(0)
    # burn-in falls and wear-out rises, so burn(0) + λ₀ + wear(span) bounds the intensity
    ends = truth.components(np.array([0.0, span]))
    bound = float(ends[0, 0] + truth.lam0 + ends[1, 2]) * frailty + 1e-9
    n = rng.poisson(bound * span)
    t = np.sort(rng.random(n) * span)
    keep = rng.random(n) * bound < frailty * truth.intensity(t)
    return t[keep]


@dataclass
class Unit:
    asset_id: str
    cls: str
    events: list[tuple[str, datetime]] = field(default_factory=list)
    age: float = 0.0  # true (virtual) age at as-of
    stage: str = "mid"


@dataclass
class ClassPlan:
    name: str
    life: float
    truth: Truth
    ages: str
    renewal: str
    q: float = 0.0
    every: float = math.inf
    deferred: float = 0.0


@dataclass
class IndepFleet:
    seed: int
    classes: dict[str, ClassPlan]
    units: list[Unit]

    def csv_text(self, *, drop_before: datetime | None = None) -> str:
        lines = ["asset_id,asset_class,event,at"]
        for u in self.units:
            for ev, at in u.events:
                if drop_before is not None and ev == "failure" and at < drop_before:
                    continue
                lines.append(f"{u.asset_id},{u.cls},{ev},{at.isoformat().replace('+00:00', 'Z')}")
        return "\n".join(lines) + "\n"

    def truth(self) -> dict[str, str]:
        return {u.asset_id: u.stage for u in self.units}


def _spans(kind: str, life: float, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "young":
        return rng.uniform(0.02, 0.3 * life, n)
    if kind == "old":
        return rng.uniform(0.8 * life, 2.0 * life, n)
    if kind == "same_day":
        return np.full(n, rng.uniform(0.1, 1.8 * life))
    if kind == "two_buildings":
        a, b = rng.uniform(0.1, 1.8 * life, 2)
        return np.where(rng.random(n) < 0.5, a, b)
    return rng.uniform(0.02, 1.6 * life, n)


def _live(
    unit: Unit,
    plan: ClassPlan,
    span: float,
    rng: np.random.Generator,
    *,
    imperfect: bool,
    frailty: float,
) -> None:
    start = AS_OF - span * YEAR
    unit.events.append(("installed", start))
    left, virtual = span, 0.0  # years to as-of, age at the segment start
    every = plan.every * float(rng.uniform(0.8, 1.2))
    deferred = rng.random() < plan.deferred
    while True:
        seg = left
        if plan.renewal == "age" and not deferred:
            seg = min(left, max(every - virtual, 0.05))
        ages = failures_on(plan.truth, virtual + seg, rng, frailty)
        ages = ages[ages > virtual] - virtual
        if plan.renewal == "on_failure" and ages.size:
            hit = np.nonzero(rng.random(ages.size) < plan.q)[0]
            if hit.size and ages[hit[0]] + 7 / 365.25 < left:
                seg = float(ages[hit[0]]) + 7 / 365.25
                ages = ages[ages <= seg]
        unit.events += [("failure", start + float(t) * YEAR) for t in ages]
        if seg >= left:
            unit.age = virtual + left
            unit.stage = plan.truth.stage(unit.age)
            return
        start += seg * YEAR
        left -= seg
        if imperfect and rng.random() < 0.5:
            virtual = 0.5 * (virtual + seg)  # an overhaul takes off half the age
            unit.events.append(("overhaul", start))
        else:
            virtual = 0.0
            unit.events.append(("replaced", start))


def generate(
    seed: int,
    units_per_class: int,
    *,
    classes: int = 4,
    ages: str | None = None,
    burn_share: float = 0.75,
    wear_share: float = 0.75,
    imperfect: bool = False,
    frailty_shape: float | None = None,
) -> IndepFleet:
    """A fleet of `classes` classes × `units_per_class` units with a known truth."""
    rng = np.random.default_rng(seed)
    names = rng.choice(len(NAMES), size=classes, replace=False)
    plans: dict[str, ClassPlan] = {}
    units: list[Unit] = []
    for idx in names:
        name = NAMES[int(idx)]
        life = float(rng.uniform(8.0, 35.0))
        truth = draw_truth(
            life, rng, burn=rng.random() < burn_share, wear=rng.random() < wear_share
        )
        kind = ages or str(rng.choice(AGE_KINDS, p=[0.35, 0.15, 0.15, 0.15, 0.2]))
        renewal = str(rng.choice(["none", "on_failure", "age"], p=[0.4, 0.3, 0.3]))
        plan = ClassPlan(
            name,
            life,
            truth,
            kind,
            renewal,
            q=float(rng.uniform(0.02, 0.2)),
            every=life * float(rng.uniform(0.8, 1.5)),
            deferred=float(rng.uniform(0.0, 0.5)),
        )
        plans[name] = plan
        for k, span in enumerate(_spans(kind, life, units_per_class, rng)):
            unit = Unit(f"{name}-{k:04d}", name)
            frail = 1.0
            if frailty_shape is not None:
                frail = float(rng.gamma(frailty_shape, 1 / frailty_shape))
            _live(unit, plan, float(span), rng, imperfect=imperfect, frailty=frail)
            units.append(unit)
    return IndepFleet(seed, plans, units)
