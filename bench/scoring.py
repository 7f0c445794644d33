"""Failure-stage scoring on random fleets nobody chose (issue 17, point 3), and its speed.

1. Truth: many random fleets from `maintenance.fleetgen` (4 classes each, bathtub parameters
   from wide ranges, random age structures and renewal policies, censored at the as-of
   time) at 20, 50, 100, 300 and 600 units per class, on held-out seeds (1,000,000 + …; the
   model was developed on seeds below 1,000). Each fleet goes through the CSV path
   (`read_history`) and is scored by
   * bayes: the product's scorer (`bldgwatch score`, the Bayesian bathtub model);
   * mle: the plain maximum-likelihood fit of the same 5-parameter bathtub per class (any
     class with >= 5 failures), stage = the component dominating its point estimate at the
     unit's age; the age bands where there is no fit or no exact age;
   * bands: the age bands alone.
   Reported per size: accuracy, harmful calls (an overhaul or replacement advised — late life
   with at least `overhaul_confidence` for bayes, any late call for the baselines — on a
   unit whose true stage is early or mid) and, for bayes, calibration: the reliability of
   its top-stage probability in 10 bins (expected calibration error, ECE) and the Brier
   score of the three probabilities. Then per kind of class (age structure, no burn-in, no
   wear-out within the ages seen), and a run with 20 % of install dates left out.
2. Speed: 10,000 assets in 10 classes (1,000 units each, CSV on disk) read and scored by
   `bldgwatch score`'s path; target < 10 s.

Last line: acc_20=… … acc_600=… mle_20=… … bands_20=… … harmful=… ece=… score_10k_s=…
ratio=… where ratio = the smallest, over sizes, of bayes accuracy / the better baseline's
(> 1: above both baselines at every size).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bldgwatch.maintenance.bathtub import _maximise
from bldgwatch.maintenance.config import Model, StageConfig
from bldgwatch.maintenance.fleetgen import Fleet, generate_fleet
from bldgwatch.maintenance.lifecycle import asset_facts, read_history, score_fleet, segments_of
from bldgwatch.maintenance.lifefit import _ascend
from bldgwatch.maintenance.lifemodel import (
    Shapes,
    Variant,
    dominant_stage,
    exposure_of,
    life_data,
    relative_intensity,
    shapes_of,
)
from bldgwatch.maintenance.lifeprior import ClassPrior, ComponentPrior, Normal
from bldgwatch.maintenance.scorecli import write_fleet
from bldgwatch.maintenance.scoring import score_by_age_bands

STAGES = ("early", "mid", "late")
SIZES = (20, 50, 100, 300, 600)
FULL = {20: 120, 50: 70, 100: 40, 300: 24, 600: 20}
QUICK = {20: 6, 50: 4, 100: 3, 300: 1, 600: 1}
SEED_BASE = 1_000_000
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)  # fleetgen's default end of history
CFG = StageConfig()


@dataclass
class Tally:
    """Outcomes of one scorer over many units."""

    right: int = 0
    units: int = 0
    harmful: int = 0
    late_on_early_mid: int = 0
    top: list[tuple[float, bool]] = field(default_factory=list)
    brier: list[float] = field(default_factory=list)
    per_stage: list[tuple[tuple[float, float, float], int]] = field(default_factory=list)

    def add(
        self, truth: str, stage: str, probs: tuple[float, float, float], firm_late: bool
    ) -> None:
        """One unit."""
        self.units += 1
        self.right += truth == stage
        wrong_side = truth in ("early", "mid")
        self.harmful += wrong_side and firm_late
        self.late_on_early_mid += wrong_side and stage == "late"
        self.top.append((probs[STAGES.index(stage)], truth == stage))
        self.per_stage.append((probs, STAGES.index(truth)))
        onehot = np.array([truth == s for s in STAGES], dtype=float)
        self.brier.append(float(((np.array(probs) - onehot) ** 2).sum()))

    @property
    def accuracy(self) -> float:
        """Share of units scored right."""
        return self.right / max(self.units, 1)


def reliability(top: list[tuple[float, bool]], bins: int = 10) -> tuple[float, list[str]]:
    """ECE of the top-stage probability, and one line per bin."""
    conf = np.array([c for c, _ in top])
    hit = np.array([h for _, h in top], dtype=float)
    edges = np.linspace(1 / 3, 1.0, bins + 1)
    lines, ece = [], 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if not inside.any():
            continue
        gap = abs(conf[inside].mean() - hit[inside].mean())
        ece += inside.sum() / conf.size * gap
        bar = "#" * round(40 * hit[inside].mean())
        lines.append(
            f"  [{lo:.2f},{hi:.2f}) n={inside.sum():6d} predicted={conf[inside].mean():.3f} "
            f"observed={hit[inside].mean():.3f} {bar}"
        )
    return float(ece), lines


def stage_ece(per_stage: list[tuple[tuple[float, float, float], int]]) -> list[float]:
    """Per stage, the ECE of P(stage) against how often the truth is that stage (10 bins)."""
    probs = np.array([p for p, _ in per_stage])
    truth = np.array([t for _, t in per_stage])
    out = []
    for k in range(3):
        p, hit = probs[:, k], (truth == k).astype(float)
        bins = np.minimum((p * 10).astype(int), 9)
        out.append(
            float(
                sum(
                    (bins == b).sum() / p.size * abs(p[bins == b].mean() - hit[bins == b].mean())
                    for b in range(10)
                    if (bins == b).any()
                )
            )
        )
    return out


def reliability_svg(top: list[tuple[float, bool]], path: Path, bins: int = 10) -> None:
    """A reliability diagram: observed accuracy against the stated top-stage probability."""
    conf = np.array([c for c, _ in top])
    hit = np.array([h for _, h in top], dtype=float)
    size, pad = 360, 40
    x = lambda v: pad + (v - 1 / 3) / (2 / 3) * (size - 2 * pad)  # noqa: E731
    y = lambda v: size - pad - (v - 1 / 3) / (2 / 3) * (size - 2 * pad)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" '
        'fill="none" stroke="#999"/>',
        f'<line x1="{x(1 / 3)}" y1="{y(1 / 3)}" x2="{x(1)}" y2="{y(1)}" stroke="#bbb" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle">stated probability of the '
        "reported stage</text>",
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" '
        'text-anchor="middle">observed accuracy</text>',
    ]
    for tick in (1 / 3, 0.5, 2 / 3, 5 / 6, 1.0):
        parts.append(
            f'<text x="{x(tick)}" y="{size - pad + 14}" text-anchor="middle">{tick:.2f}</text>'
        )
        parts.append(f'<text x="{pad - 4}" y="{y(tick) + 4}" text-anchor="end">{tick:.2f}</text>')
    for lo, hi in itertools.pairwise(np.linspace(1 / 3, 1.0, bins + 1)):
        inside = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if inside.any():
            r = 2 + 6 * np.sqrt(inside.mean())
            parts.append(
                f'<circle cx="{x(conf[inside].mean()):.1f}" cy="{y(hit[inside].mean()):.1f}" '
                f'r="{r:.1f}" fill="#2a6fb0"><title>n={inside.sum()}</title></circle>'
            )
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def _csv(fleet: Fleet) -> str:
    rows = fleet.history_rows()
    return "asset_id,asset_class,event,at\n" + "".join(",".join(r) + "\n" for r in rows)


FLAT = ClassPrior(
    burn_in=ComponentPrior(Normal(0.0, 1e6), Normal(0.0, 1e6), 0.5),
    wear_out=ComponentPrior(Normal(0.0, 1e6), Normal(0.0, 1e6), 0.5),
    rate_shape=1e-9,
    rate_scale=1e-9,
)  # no prior: λ₀ is profiled out (λ₀ = N / G), the shapes' log posterior is the likelihood
FULL_MODEL = Variant(True, True)


def mle_fit(segments: list) -> tuple[Shapes, float] | None:
    """The 5-parameter MLE (β₁, c₁, λ₀, β₃, c₃: the same model as bathtub.py's β₁, η₁, λ₀,
    β₃, η₃, reparametrised): the best of 16 starts; None below 5 failures."""
    data = life_data(segments)
    if data.failures < 5:
        return None
    oldest = max(data.max_age, 0.1)
    best, best_value = None, -np.inf
    for b1, c1, b3, c3 in itertools.product((0.4, 0.7), (0.1, 1.0), (2.0, 4.0), (0.5, 1.2)):
        x0 = np.array([np.log(b1 / (1 - b1)), np.log(c1), np.log(b3 - 1), np.log(c3 * oldest)])
        x, value = _ascend(x0, FULL_MODEL, FLAT, data)
        if value > best_value:
            best, best_value = x, value
    assert best is not None
    shapes = shapes_of(best, True, True)
    lam0 = data.failures / float(exposure_of(shapes, data)[0])
    return shapes, lam0


def mle_loglik(shapes: Shapes, lam0: float, segments: list) -> float:
    """The full log-likelihood (λ₀ included) of an MLE fit, to compare with bathtub.py's."""
    data = life_data(segments)
    log_h = np.log(relative_intensity(shapes, data.ages))[0] @ data.counts
    return float(data.failures * np.log(lam0) + log_h - lam0 * exposure_of(shapes, data)[0])


def plain_mle(lives: dict, fleet: Fleet) -> dict[str, tuple[str, tuple[float, float, float]]]:
    """Baseline: the 5-parameter MLE point fit per class, dominating component at the age."""
    by_class: dict[str, list] = defaultdict(list)
    for life in lives.values():
        by_class[life.asset_class].extend(segments_of(life, fleet.as_of))
    fits = {cls: fit for cls, segs in by_class.items() if (fit := mle_fit(segs)) is not None}
    out = {}
    for life in lives.values():
        facts = asset_facts(life, fleet.as_of)
        fit = fits.get(life.asset_class)
        bands = score_by_age_bands(facts, [], fleet.as_of, CFG)
        age = bands.params.get("age_years")
        if fit is None or age is None:
            out[life.asset_id] = (bands.stage.value, (bands.p_early, bands.p_mid, bands.p_late))
            continue
        stage = STAGES[int(dominant_stage(fit[0], np.array([max(age, 1e-6)]))[0, 0])]
        out[life.asset_id] = (
            stage,
            (float(stage == "early"), float(stage == "mid"), float(stage == "late")),
        )
    return out


def mle_check(fleets: int) -> float:
    """The largest amount by which bathtub.py's own MLE (8 L-BFGS-B starts) beats this
    baseline's maximised log-likelihood on the classes of a few fleets (≤ 0: never)."""
    worst = -np.inf
    for i in range(fleets):
        fleet = generate_fleet(seed=SEED_BASE + 9_000_000 + i, units_per_class=50)
        lives = read_history(io.StringIO(_csv(fleet)))
        by_class: dict[str, list] = defaultdict(list)
        for life in lives.values():
            by_class[life.asset_class].extend(segments_of(life, fleet.as_of))
        for segs in by_class.values():
            ours = mle_fit(segs)
            if ours is None:
                continue
            ages = np.array([max(t, 1e-6) for s in segs for t in s.failures])
            res = _maximise(
                ages, np.array([s.start for s in segs]), np.array([s.end for s in segs])
            )
            worst = max(worst, -float(res.fun) - mle_loglik(ours[0], ours[1], segs))
    return float(worst)


def kinds(fleet: Fleet, cls: str) -> list[str]:
    """The labels a class counts under in the breakdown."""
    c = fleet.classes[cls]
    out = [f"ages={c.ages}", f"renewal={c.renewal.policy}"]
    if c.truth.beta1 is None:
        out.append("no burn-in")
    if c.truth.cross3 is not None and c.truth.cross3 > 1.8 * c.life_years:
        out.append("no wear-out in ages seen")
    return out


def evaluate(
    fleet: Fleet, tallies: dict[str, Tally], breakdown: dict[str, dict[str, Tally]] | None
) -> None:
    """Score one fleet with the three scorers and count the outcomes."""
    lives = read_history(io.StringIO(_csv(fleet)))
    truth = fleet.truth()["assets"]
    bayes = {life.asset_id: s for life, s in score_fleet(lives, fleet.as_of, CFG)}
    bands = {life.asset_id: s for life, s in score_fleet(lives, fleet.as_of, CFG, model="bands")}
    mle = plain_mle(lives, fleet)
    for asset_id, life in lives.items():
        t = truth[asset_id]["stage"]
        b = bayes[asset_id]
        probs = (b.p_early, b.p_mid, b.p_late)
        firm = b.stage.value == "late" and b.p_late >= CFG.overhaul_confidence
        tallies["bayes"].add(t, b.stage.value, probs, firm)
        a = bands[asset_id]
        tallies["bands"].add(
            t, a.stage.value, (a.p_early, a.p_mid, a.p_late), a.stage.value == "late"
        )
        m_stage, m_probs = mle[asset_id]
        tallies["mle"].add(t, m_stage, m_probs, m_stage == "late")
        if breakdown is not None:
            for kind in kinds(fleet, life.asset_class):
                for name, stage in (
                    ("bayes", b.stage.value),
                    ("mle", m_stage),
                    ("bands", a.stage.value),
                ):
                    breakdown[kind][name].add(t, stage, probs, False)


def speed(units: int, classes: int) -> dict[str, float]:
    """`bldgwatch score` (its own process, output to /dev/null) on a generated fleet's CSV:
    wall and CPU seconds for the Bayesian model, and for the age bands alone (reference:
    reading the file and writing the scores, with no fit)."""
    out: dict[str, float] = {}
    cli = Path(sys.executable).with_name("bldgwatch")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.csv"
        n = write_fleet(
            path,
            None,
            seed=SEED_BASE - 1,
            units_per_class=units,
            classes=classes,
            missing_install=0.0,
            as_of=None,
        )
        for model in ("bayes", "bands"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            args = [str(cli), "score", "--history", str(path), "--as-of", AS_OF.isoformat()]
            done = subprocess.run(
                [*args, "--model", model], stdout=subprocess.PIPE, check=True, text=True
            )
            out[f"{model}_wall"] = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out[f"{model}_cpu"] = (after.ru_utime - before.ru_utime) + (
                after.ru_stime - before.ru_stime
            )
            assert done.stdout.count("\n") == n
    out["assets"] = n
    return out


def _print_size(size: int, fleets: int, t: dict[str, Tally]) -> None:
    b = t["bayes"]
    print(
        f"{size:4d}/class ({fleets} fleets, {b.units} units): accuracy bayes {b.accuracy:.3f} "
        f"mle {t['mle'].accuracy:.3f} bands {t['bands'].accuracy:.3f} | harmful bayes "
        f"{b.harmful / b.units:.4f} (late on early/mid at any confidence "
        f"{b.late_on_early_mid / b.units:.4f}) "
        f"mle {t['mle'].harmful / b.units:.4f} bands {t['bands'].harmful / b.units:.4f} | "
        f"ECE {reliability(b.top)[0]:.3f} Brier {np.mean(b.brier):.3f}",
        flush=True,
    )


def _right(text: str, fleet: Fleet, model: Model = "bayes") -> list[bool]:
    truth = fleet.truth()["assets"]
    lives = read_history(io.StringIO(text))
    return [
        s.stage.value == truth[life.asset_id]["stage"]
        for life, s in score_fleet(lives, fleet.as_of, CFG, model=model)
    ]


def multi_site(fleets: int, spread: float) -> dict[str, float]:
    """5 sites × 20 units per class × 4 classes, the class's truth varied per site by
    `spread` × fleetgen.SITE_SPREAD: accuracy with the sites partially pooled (the CSV names
    them), completely pooled (it does not), each site scored alone, and the age bands."""
    right: dict[str, list[bool]] = defaultdict(list)
    for i in range(fleets):
        fleet = generate_fleet(
            seed=SEED_BASE + 8_000_000 + i, units_per_class=20, sites=5, site_spread=spread
        )
        rows = fleet.history_rows()
        head = "asset_id,asset_class,event,at\n"
        right["partial"] += _right(fleet.csv_text(), fleet)
        right["complete"] += _right(head + "".join(",".join(r[1:]) + "\n" for r in rows), fleet)
        right["bands"] += _right(fleet.csv_text(), fleet, "bands")
        for site in sorted({r[0] for r in rows}):
            alone = "".join(",".join(r[1:]) + "\n" for r in rows if r[0] == site)
            right["alone"] += _right(head + alone, fleet)
    return {k: sum(v) / len(v) for k, v in right.items()}


def run(counts: dict[int, int], missing_fleets: int, svg: Path | None) -> dict[str, float]:
    """The truth part; returns the figures of the last line."""
    figures: dict[str, float] = {}
    overall = Tally()
    breakdown: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    ratios = []
    for size in SIZES:
        tallies: dict[str, Tally] = defaultdict(Tally)
        for i in range(counts[size]):
            fleet = generate_fleet(seed=SEED_BASE + size * 10_000 + i, units_per_class=size)
            evaluate(fleet, tallies, breakdown)
        _print_size(size, counts[size], tallies)
        figures[f"acc_{size}"] = tallies["bayes"].accuracy
        figures[f"mle_{size}"] = tallies["mle"].accuracy
        figures[f"bands_{size}"] = tallies["bands"].accuracy
        ratios.append(
            tallies["bayes"].accuracy / max(tallies["mle"].accuracy, tallies["bands"].accuracy)
        )
        for name in ("top", "brier", "per_stage"):
            getattr(overall, name).extend(getattr(tallies["bayes"], name))
        overall.units += tallies["bayes"].units
        overall.harmful += tallies["bayes"].harmful
        overall.late_on_early_mid += tallies["bayes"].late_on_early_mid
    ece, lines = reliability(overall.top)
    print("reliability of the top-stage probability (bayes, every size):")
    print("\n".join(lines))
    early, mid, late = stage_ece(overall.per_stage)
    print(f"ECE of each stage's probability: early {early:.3f} mid {mid:.3f} late {late:.3f}")
    if svg is not None:
        reliability_svg(overall.top, svg)
        print(f"reliability diagram written to {svg}")
    print("accuracy by kind of class (every size): bayes / mle / bands")
    for kind in sorted(breakdown):
        t = breakdown[kind]
        print(
            f"  {kind:28s} n={t['bayes'].units:6d} {t['bayes'].accuracy:.3f} / "
            f"{t['mle'].accuracy:.3f} / {t['bands'].accuracy:.3f}"
        )
    missing: dict[str, Tally] = defaultdict(Tally)
    for i in range(missing_fleets):
        fleet = generate_fleet(
            seed=SEED_BASE + 7_000_000 + i, units_per_class=100, missing_install=0.2
        )
        evaluate(fleet, missing, None)
    print(
        f"20 % install dates missing, 100/class ({missing_fleets} fleets): accuracy bayes "
        f"{missing['bayes'].accuracy:.3f} mle {missing['mle'].accuracy:.3f} "
        f"bands {missing['bands'].accuracy:.3f}"
    )
    for spread in (0.0, 1.0):
        sites = multi_site(missing_fleets // 2, spread)
        print(
            f"5 sites x 20 units per class, site spread {spread:g} ({missing_fleets // 2} fleets): "
            f"accuracy sites partially pooled {sites['partial']:.3f}, completely pooled "
            f"{sites['complete']:.3f}, each site alone {sites['alone']:.3f}, "
            f"bands {sites['bands']:.3f}"
        )
    figures.update(
        sites_partial=sites["partial"],
        sites_complete=sites["complete"],
        sites_alone=sites["alone"],
        harmful=overall.harmful / overall.units,
        late_on_early_mid=overall.late_on_early_mid / overall.units,
        ece=ece,
        brier=float(np.mean(overall.brier)),
        missing_acc=missing["bayes"].accuracy,
        ratio=min(ratios),
    )
    return figures


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under two minutes)")
    parser.add_argument("--svg", type=Path, help="write the reliability diagram (SVG) here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = run(QUICK if args.quick else FULL, 2 if args.quick else 20, args.svg)
    if not args.quick:
        gap = mle_check(2)
        print(f"MLE baseline check: bathtub.py's own fit beats it by at most {gap:.3f} log-lik")
    sp = speed(1000, 10)
    print(
        f"speed: bldgwatch score on {sp['assets']:.0f} assets in 10 classes: "
        f"{sp['bayes_wall']:.2f} s wall, {sp['bayes_cpu']:.2f} s CPU (age bands alone: "
        f"{sp['bands_wall']:.2f} s wall, {sp['bands_cpu']:.2f} s CPU); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    figures.update(
        score_10k_s=sp["bayes_wall"],
        score_10k_cpu_s=sp["bayes_cpu"],
        bands_10k_s=sp["bands_wall"],
    )
    print(f"total {time.perf_counter() - started:.0f} s")
    keys = [f"{p}_{s}" for p in ("acc", "mle", "bands") for s in SIZES]
    keys += [
        "harmful",
        "late_on_early_mid",
        "ece",
        "brier",
        "missing_acc",
        "sites_partial",
        "sites_complete",
        "sites_alone",
        "score_10k_s",
        "score_10k_cpu_s",
        "bands_10k_s",
        "ratio",
    ]
    out(
        " ".join(
            f"{k}={figures[k]:.4f}"
            if k in ("harmful", "late_on_early_mid")
            else f"{k}={figures[k]:.3f}"
            for k in keys
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
