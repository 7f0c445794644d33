"""Failure-stage scoring on a second, independent fleet generator (issue 17, point 3).

`bench/scoring.py` measures the scorer on `maintenance.fleetgen`, whose classes are the
scorer's own model (power-law burn-in and wear-out). This bench draws fleets from
`bench/support/indepgen.py` instead, written by the review of the scorer and shaped
differently on purpose: exponential or linear burn-in (finite at age 0), Gompertz or linear
wear-out saturating at 40 × the random rate, failures by thinning, its own age structures
(one building's units commissioned the same day, two buildings) and renewal policies
(replacement at a failure with probability q; planned replacement, deferred for some units).
The truth of a unit is the same as the issue's: the component dominating its class's
intensity at its age. The model is therefore misspecified here; what is measured is whether
the scorer still beats the baselines and how honest its probabilities stay.

Scorers, on the same fleets in the same run: bayes (the product's scorer), plain MLE (the
5-parameter fit of `bench/scoring.py`) and the age bands. Harmful calls: an overhaul advised
(bayes) or any late call (baselines) on a unit whose true stage is early or mid.

Last line: acc_20=… mle_20=… bands_20=… … harmful=… ece=… ratio=… where ratio = the
smallest, over sizes, of bayes accuracy / the better baseline's (> 1: above both).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scoring import Tally, plain_mle, reliability
from bench.support import indepgen
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.lifecycle import read_history, score_fleet

SIZES = (20, 50, 100)
FLEETS = {20: 12, 50: 6, 100: 4}
QUICK = {20: 3, 50: 2, 100: 1}
SEED_BASE = 5_000_000  # the review's seeds
CFG = StageConfig()


class _AsOf:
    """What `plain_mle` reads of a fleet."""

    as_of = indepgen.AS_OF


def evaluate(fleet: indepgen.IndepFleet, tallies: dict[str, Tally]) -> None:
    """Score one fleet with every scorer and tally against its truth."""
    lives = read_history(io.StringIO(fleet.csv_text()))
    truth = fleet.truth()
    bayes = {life.asset_id: s for life, s in score_fleet(lives, indepgen.AS_OF, CFG)}
    bands = {life.asset_id: s for life, s in score_fleet(lives, indepgen.AS_OF, CFG, model="bands")}
    mle = plain_mle(lives, _AsOf())  # type: ignore[arg-type]
    for aid, score in bayes.items():
        advice = score.message.params["advice"].key if score.message else ""
        probs = (score.p_early, score.p_mid, score.p_late)
        tallies["bayes"].add(truth[aid], score.stage.value, probs, advice == "advice.late")
        b = bands[aid]
        b_probs = (b.p_early, b.p_mid, b.p_late)
        tallies["bands"].add(truth[aid], b.stage.value, b_probs, b.stage.value == "late")
        stage, m_probs = mle[aid]
        tallies["mle"].add(truth[aid], stage, m_probs, stage == "late")


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run the bench; the last line is the key=value figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about a minute)")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FLEETS
    started = time.perf_counter()
    figures: dict[str, float] = {}
    top: list[tuple[float, bool]] = []
    units = harmful = 0
    ratios = []
    for size in SIZES:
        tallies: dict[str, Tally] = defaultdict(Tally)
        for i in range(counts[size]):
            evaluate(indepgen.generate(SEED_BASE + size * 1000 + i, size), tallies)
        b, m, a = tallies["bayes"], tallies["mle"], tallies["bands"]
        out(
            f"{size}/class, {counts[size]} fleets, {b.units} units: bayes {b.accuracy:.3f} "
            f"mle {m.accuracy:.3f} bands {a.accuracy:.3f}; harmful bayes "
            f"{b.harmful / max(b.units, 1):.4f} mle {m.harmful / max(m.units, 1):.4f} "
            f"bands {a.harmful / max(a.units, 1):.4f}"
        )
        figures |= {f"acc_{size}": b.accuracy, f"mle_{size}": m.accuracy}
        figures[f"bands_{size}"] = a.accuracy
        ratios.append(b.accuracy / max(m.accuracy, a.accuracy))
        top += b.top
        units, harmful = units + b.units, harmful + b.harmful
    ece, lines = reliability(top)
    out("reliability of the top-stage probability (bayes, every size):")
    out("\n".join(lines))
    out(f"total {time.perf_counter() - started:.0f} s")
    figures |= {"harmful": harmful / max(units, 1), "ece": ece, "ratio": min(ratios)}
    out(" ".join(f"{k}={v:.4f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
