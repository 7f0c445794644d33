"""The scorer on random fleets it was not built for (`maintenance.fleetgen`), sized for CI.

Six fleets of four random classes × 40 units (development seeds, not the benchmark's held-out
ones), read through the CSV path: accuracy well above the age bands, the stated confidence
close to the accuracy it achieves, almost no overhaul advised on units that are not in late
life, and units without an install date still scored from their best age bound.
`bench/scoring.py` runs the full version (many fleets, every size, the plain MLE too).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.fleetgen import generate_fleet
from bldgwatch.maintenance.lifecycle import read_history, score_fleet

SEEDS = range(300, 306)
CFG = StageConfig()


@dataclass
class Outcome:
    right: list[bool] = field(default_factory=list)
    bands_right: list[bool] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    harmful: int = 0
    unknown_right: list[bool] = field(default_factory=list)
    unknown_bases: set[str | None] = field(default_factory=set)

    @property
    def accuracy(self) -> float:
        return sum(self.right) / len(self.right)


def _run(missing_install: float) -> Outcome:
    out = Outcome()
    for seed in SEEDS:
        fleet = generate_fleet(seed=seed, units_per_class=40, missing_install=missing_install)
        rows = ["asset_id,asset_class,event,at", *(",".join(r) for r in fleet.history_rows())]
        lives = read_history(io.StringIO("\n".join(rows) + "\n"))
        truth = fleet.truth()["assets"]
        bands = {life.asset_id: s for life, s in score_fleet(lives, fleet.as_of, model="bands")}
        for life, score in score_fleet(lives, fleet.as_of, CFG):
            known = truth[life.asset_id]
            right = score.stage.value == known["stage"]
            out.right.append(right)
            out.bands_right.append(bands[life.asset_id].stage.value == known["stage"])
            out.confidence.append(score.confidence)
            firm_late = score.stage.value == "late" and score.p_late >= CFG.overhaul_confidence
            out.harmful += firm_late and known["stage"] != "late"
            if not known["install_known"]:
                out.unknown_right.append(right)
                out.unknown_bases.add(score.params.get("age_basis"))
    return out


@pytest.mark.timeout(60)
def test_random_fleets_accuracy_calibration_and_no_harmful_advice() -> None:
    out = _run(0.0)
    bands = sum(out.bands_right) / len(out.bands_right)
    stated = sum(out.confidence) / len(out.confidence)
    print(f"\naccuracy {out.accuracy:.3f} (bands {bands:.3f}), stated {stated:.3f}")  # noqa: T201
    assert out.accuracy >= 0.83
    assert out.accuracy >= bands + 0.08
    assert abs(stated - out.accuracy) <= 0.07
    assert out.harmful / len(out.right) <= 0.01


@pytest.mark.timeout(60)
def test_units_without_an_install_date_are_still_scored_from_their_age_bound() -> None:
    out = _run(0.3)
    assert len(out.unknown_right) > 100
    assert out.unknown_bases <= {"overhaul", "first_record"}  # never "mid assumed"
    assert sum(out.unknown_right) / len(out.unknown_right) >= 0.75
    assert out.accuracy >= 0.8


def test_a_class_spread_over_sites_gets_a_fit_per_site() -> None:
    fleet = generate_fleet(seed=310, units_per_class=15, classes=2, sites=3)
    lives = read_history(io.StringIO(fleet.csv_text()))
    assert {life.site for life in lives.values()} == {"site1", "site2", "site3"}
    scored = score_fleet(lives, fleet.as_of, CFG)
    assert {s.params["fit_site"] for _, s in scored} == {"site1", "site2", "site3"}
    for life, score in scored:
        assert score.params["fit_site"] == life.site
    # without site names the class is one population over the sites
    flat = "asset_id,asset_class,event,at\n" + "".join(
        ",".join(r[1:]) + "\n" for r in fleet.history_rows()
    )
    pooled = score_fleet(read_history(io.StringIO(flat)), fleet.as_of, CFG)
    assert {s.params["fit_site"] for _, s in pooled} == {None}
    assert {s.params["fit_units"] for _, s in pooled} == {45}
