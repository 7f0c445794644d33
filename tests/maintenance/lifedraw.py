"""Drawing failure histories from a known bathtub, for the tests that check the fits and the
scorer against a truth (a test's tool: nothing in the product simulates failures)."""

from __future__ import annotations

import numpy as np
from scipy import optimize

from bldgwatch.maintenance.bathtub import BathtubParams


def sample_failures(
    params: BathtubParams, start: float, end: float, rng: np.random.Generator
) -> list[float]:
    """Failure ages of one segment drawn from the NHPP by inverting Λ (for simulation)."""
    ages: list[float] = []
    level = params.cumulative(start)
    top = params.cumulative(end)
    prev = start
    while True:
        level += float(rng.exponential(1.0))
        if level >= top:
            return ages
        prev = float(optimize.brentq(lambda t, goal=level: params.cumulative(t) - goal, prev, end))
        ages.append(prev)
