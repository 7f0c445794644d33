"""How much of the scoring target an oracle prior reaches (issue 17, point 3): a ceiling.

`bench/scoring.py` scores `maintenance.fleetgen` fleets with the product's priors, centred on
the configured stage boundaries (or a wide fallback for classes nobody configured). This
bench scores the same held-out fleets (the same seeds as `bench/scoring.py`) twice:
* product: the product's scorer, as shipped;
* oracle: the same scorer and fit, but each class's prior is the generator's own distribution
  of its parameters (the moments of fleetgen's uniform draws for that class's service life,
  on the model's scale; burn-in present with fleetgen's 0.8, wear-out with 0.95) and no
  pooling. Nobody scoring a real fleet knows this: it is the best the model can do when its
  prior is the truth's, so its accuracy is an estimate of what the data allow.
The difference between the two is what better prior knowledge could still buy; what the
oracle misses, no prior could fix (classes whose stage boundary the data leave open: a
slow burn-in of shape near 1 traded against the random rate, wear-out hidden by renewals).

Accuracy is reported with its standard error over the classes: the units of a class share
one fit, so a whole class's boundary put in the wrong place moves hundreds of units at once,
and the classes are the independent draws (20 fleets × 4 classes at 600 per class).

Last line: product_100=… product_100_se=… oracle_100=… … product_600=… oracle_600=… ratio=…
where ratio = product / oracle accuracy at 600 per class.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring import CFG, SEED_BASE, _csv

from bldgwatch.maintenance import fleetfit
from bldgwatch.maintenance.fleetgen import (
    CLASS_TABLE,
    MAX_SPAN_LIVES,
    NO_BURN_IN,
    NO_WEAR_SEEN,
    generate_fleet,
)
from bldgwatch.maintenance.historycsv import read_history
from bldgwatch.maintenance.lifecycle import score_fleet
from bldgwatch.maintenance.lifeprior import ClassPrior, ComponentPrior, Normal

FULL = {100: 40, 600: 20}
QUICK = {100: 3, 600: 2}
LIFE = {c.name: c.life_years for c in CLASS_TABLE}
DRAWS = 200_000


def _moments(values: np.ndarray) -> Normal:
    return Normal(float(np.mean(values)), float(np.std(values)))


def oracle_prior(cls: str, rng: np.random.Generator) -> ClassPrior:
    """fleetgen's own distribution of a class's parameters, as the model's normal priors."""
    life = LIFE[cls]
    beta1 = rng.uniform(0.3, 0.9, DRAWS)
    cross1 = np.exp(rng.uniform(math.log(0.08), math.log(0.15 * life), DRAWS))
    beta3 = rng.uniform(1.5, 6.0, DRAWS)
    beyond = rng.random(DRAWS) < NO_WEAR_SEEN
    cross3 = np.where(
        beyond,
        MAX_SPAN_LIVES * life * rng.uniform(1.2, 2.0, DRAWS),
        life * rng.uniform(0.3, 1.3, DRAWS),
    )
    return ClassPrior(
        burn_in=ComponentPrior(
            _moments(np.log(beta1 / (1 - beta1))), _moments(np.log(cross1)), 1 - NO_BURN_IN
        ),
        wear_out=ComponentPrior(_moments(np.log(beta3 - 1)), _moments(np.log(cross3)), 0.95),
        rate_shape=CFG.priors.rate_shape,
        rate_scale=CFG.priors.rate_scale_years,
    )


@contextmanager
def oracle_priors() -> Iterator[None]:
    """Within: fit_fleet gives each class fleetgen's prior (by class name), unpooled."""
    rng = np.random.default_rng(0)
    priors = {cls: oracle_prior(cls, rng) for cls in LIFE}
    current: list[str] = []
    boundaries = type(CFG).boundaries

    def noting(self: object, cls: str) -> object:
        current[:] = [cls]
        return boundaries(self, cls)  # type: ignore[arg-type]

    def prior(*_args: object, **_kwargs: object) -> ClassPrior:
        return dataclasses.replace(priors[current[0]])

    with (
        mock.patch.object(type(CFG), "boundaries", noting),
        mock.patch.object(fleetfit, "literature_prior", prior),
        mock.patch.object(fleetfit, "pooled_priors", lambda base, *_a, **_k: dict(base)),
    ):
        yield


def accuracy(size: int, fleets: int) -> tuple[float, float]:
    """Share of units whose stage the scorer gets right on the bench's held-out fleets, and
    its standard error over the classes (a class's units share one fit, so the classes, not
    the units, are the independent draws)."""
    per_class: list[float] = []
    for i in range(fleets):
        fleet = generate_fleet(seed=SEED_BASE + size * 10_000 + i, units_per_class=size)
        truth = fleet.truth()["assets"]
        lives = read_history(io.StringIO(_csv(fleet)))
        tally: dict[str, list[int]] = {}
        for life, score in score_fleet(lives, fleet.as_of, CFG):
            counts = tally.setdefault(life.asset_class, [0, 0])
            counts[0] += truth[life.asset_id]["stage"] == score.stage.value
            counts[1] += 1
        per_class += [right / units for right, units in tally.values()]
    values = np.array(per_class)  # every class has `size` units: the mean is the unit share
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the bench; the last line is the key=value figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument(
        "--fleets-600",
        type=int,
        default=None,
        help="fleets at 600 per class (default 20, the scoring bench's; the first 20 are its)",
    )
    args = parser.parse_args(argv)
    counts = dict(QUICK if args.quick else FULL)
    if args.fleets_600:
        counts[600] = args.fleets_600
    started = time.perf_counter()
    figures: dict[str, float] = {}
    for size, fleets in counts.items():
        product, product_se = accuracy(size, fleets)
        with oracle_priors():
            oracle, oracle_se = accuracy(size, fleets)
        figures |= {f"product_{size}": product, f"product_{size}_se": product_se}
        figures |= {f"oracle_{size}": oracle, f"oracle_{size}_se": oracle_se}
        out(
            f"{size}/class, {fleets} fleets ({4 * fleets} classes): product {product:.4f} "
            f"± {product_se:.4f} (standard error over classes), oracle prior {oracle:.4f} "
            f"± {oracle_se:.4f}"
        )
    figures["ratio"] = figures["product_600"] / figures["oracle_600"]
    figures["seconds"] = time.perf_counter() - started
    out(" ".join(f"{k}={v:.4f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
