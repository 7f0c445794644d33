"""Failure-stage scoring against a simulated fleet whose bathtub is known.

The fleet is drawn here (a seeded NHPP sampler inverting Λ), written as the `score` CSV and
read back, so the test exercises the same path as `bldgwatch score`.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from maintenance.bathtub import BathtubParams, sample_failures
from maintenance.lifecycle import read_history, score_fleet
from maintenance.scoring import DAYS_PER_YEAR, FIT_MODEL_NAME, FailureStage

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
TRUTH = {
    "elevator": BathtubParams(beta1=0.35, eta1=4.3, lam0=0.3, beta3=3.5, eta3=14.0),
    "pump": BathtubParams(beta1=0.4, eta1=1.75, lam0=0.6, beta3=3.0, eta3=9.0),
}
UNITS = 500
MAX_AGE = 30.0
STAGES = (FailureStage.EARLY, FailureStage.MID, FailureStage.LATE)


def true_stage(params: BathtubParams, age: float) -> FailureStage:
    comps = params.components(age)
    return STAGES[int(np.argmax(comps))]


def _at(start: datetime, years: float) -> datetime:
    return start + timedelta(days=years * DAYS_PER_YEAR)


def simulate_fleet(seed: int) -> tuple[str, dict[str, tuple[str, float]]]:
    """CSV text of a fleet's history, and each unit's class and true current age."""
    rng = np.random.default_rng(seed)
    lines = ["asset_id,asset_class,event,at"]
    ages: dict[str, tuple[str, float]] = {}
    for cls, params in TRUTH.items():
        for unit in range(UNITS):
            asset = f"{cls[:1].upper()}-{unit:04d}"
            age = rng.uniform(0, 1) if rng.random() < 0.1 else rng.uniform(0, MAX_AGE)
            spans = [age]
            if rng.random() < 0.3:  # overhauled once: an earlier segment, age renewed
                spans.insert(0, rng.uniform(0.5 * MAX_AGE, MAX_AGE))
            start = _at(AS_OF, -sum(spans))
            for n, span in enumerate(spans):
                event = "installed" if n == 0 else "overhaul"
                lines.append(f"{asset},{cls},{event},{start.isoformat()}")
                for t in sample_failures(params, 0.0, span, rng):
                    lines.append(f"{asset},{cls},failure,{_at(start, t).isoformat()}")
                start = _at(start, span)
            ages[asset] = (cls, age)
    return "\n".join(lines) + "\n", ages


def confusion(pairs: list[tuple[FailureStage, FailureStage]]) -> str:
    counts = Counter(pairs)
    rows = ["truth\\scored  " + "  ".join(f"{s.value:>6}" for s in STAGES)]
    for truth in STAGES:
        cells = "  ".join(f"{counts[(truth, got)]:>6}" for got in STAGES)
        rows.append(f"{truth.value:>13}  {cells}")
    return "\n".join(rows)


@pytest.mark.timeout(120)
def test_stage_accuracy_and_shapes_on_a_simulated_fleet() -> None:
    text, ages = simulate_fleet(seed=20261127)
    lives = read_history(io.StringIO(text))
    scored = score_fleet(lives, AS_OF)
    pairs = []
    fits: dict[str, dict[str, float]] = {}
    for life, score in scored:
        cls, age = ages[life.asset_id]
        pairs.append((true_stage(TRUTH[cls], age), score.stage))
        assert score.params["model"] == FIT_MODEL_NAME
        fits[cls] = score.params["fit"]
        failures = score.params["fit_failures"]
    accuracy = sum(t == s for t, s in pairs) / len(pairs)
    print(f"\nstage accuracy {accuracy:.3f} over {len(pairs)} units")  # noqa: T201
    print(confusion(pairs))  # noqa: T201
    for cls, fit in fits.items():
        true = TRUTH[cls]
        print(  # noqa: T201 - the issue asks for the figures
            f"{cls}: beta1 {fit['beta1']:.3f} (true {true.beta1}), "
            f"beta3 {fit['beta3']:.3f} (true {true.beta3}), lam0 {fit['lam0']:.3f}, "
            f"eta1 {fit['eta1']:.2f}, eta3 {fit['eta3']:.2f}"
        )
        assert fit["beta1"] == pytest.approx(true.beta1, rel=0.25)
        assert fit["beta3"] == pytest.approx(true.beta3, rel=0.25)
    assert failures >= 100
    assert accuracy >= 0.90
    assert {s for _, s in pairs} == set(STAGES)  # every stage occurs and is found


LIFECYCLE = Path(__file__).resolve().parents[2] / "simulators" / "scenarios" / "lifecycle.yaml"


@pytest.mark.timeout(180)
def test_on_the_simulators_lifecycle_scenario() -> None:
    """The simulator's own scenario (300 units, 30 years). Its shaft panels (80 units, wear-out
    dominating only after ~17 years) do not identify their wear-out shape: the likelihood of
    the true parameters is within a few units of the maximum, so only the classes the data
    pins down are held to ±25 %, and accuracy to what the fits support (see the report)."""
    from simulators.life import LifeParams
    from simulators.offline import history_rows
    from simulators.scenario import lives, load_scenario

    scn = load_scenario(LIFECYCLE)
    until = scn.history_until or scn.start
    assert until is not None
    life = lives(scn, until)
    rows = history_rows(life.values(), until)
    text = "asset_id,asset_class,event,at\n" + "".join(",".join(r) + "\n" for r in rows)
    scored = score_fleet(read_history(io.StringIO(text)), until)
    pairs = [(FailureStage(life[a.asset_id].true_stage(until).value), s.stage) for a, s in scored]
    accuracy = sum(t == s for t, s in pairs) / len(pairs)
    print(f"\nlifecycle scenario: stage accuracy {accuracy:.3f} over {len(pairs)} units")  # noqa: T201
    print(confusion(pairs))  # noqa: T201
    truths: dict[str, LifeParams] = {one.asset_class: one.params for one in life.values()}
    fits = {a.asset_class: (s.params["fit"], s.params["fit_failures"]) for a, s in scored}
    for cls, (fit, failures) in sorted(fits.items()):
        true = truths[cls]
        print(  # noqa: T201
            f"{cls}: {failures} failures, beta1 {fit['beta1']:.3f} (true {true.early_beta}), "
            f"beta3 {fit['beta3']:.3f} (true {true.wear_beta})"
        )
    for cls in ("elevator", "pump"):
        fit, failures = fits[cls]
        assert failures >= 100
        assert fit["beta1"] == pytest.approx(truths[cls].early_beta, rel=0.25)
        assert fit["beta3"] == pytest.approx(truths[cls].wear_beta, rel=0.25)
    assert accuracy >= 0.80
