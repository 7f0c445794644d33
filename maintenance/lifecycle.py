"""Fleet life histories: age segments, per-class fits and fleet scoring. Pure.

A history is a list of events per asset (`maintenance.historycsv`): install, failures,
overhauls, replacements. Install, overhaul and replacement start a new age segment (age
renews); failures fall on the age axis of the segment they happen in; the last segment runs
to the as-of time (censored). An asset whose install is not recorded is still used: from its
first overhaul or replacement on its age is known; never renewed, its age is only bounded
below by its first record (`maintenance.fleetfit.UnitRecord`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from bldgwatch.maintenance.bathtub import BathtubFit, Segment, fit_bathtub
from bldgwatch.maintenance.bayesscore import score_units
from bldgwatch.maintenance.config import Model, StageConfig
from bldgwatch.maintenance.fleetfit import ClassFit, UnitRecord, fit_fleet
from bldgwatch.maintenance.historycsv import (
    AssetLife,
    LifeEvent,
    parse_time,
    read_history,
    read_history_file,
)
from bldgwatch.maintenance.scoring import score_stage
from bldgwatch.maintenance.stagemodel import DAYS_PER_YEAR, AssetFacts, FailureEvent, StageScore

SECONDS_PER_YEAR = 86400 * DAYS_PER_YEAR
__all__ = [
    "AssetLife",
    "LifeEvent",
    "Model",
    "parse_time",
    "read_history",
    "read_history_file",
    "score_fleet",
    "score_row",
    "segments_of",
]


def _years(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400 / DAYS_PER_YEAR


def _known_starts(life: AssetLife, as_of: datetime) -> list[datetime]:
    """Starts of the age segments whose start age (0) is known."""
    return [r for r in life.renewals if r <= as_of]


def segments_of(life: AssetLife, as_of: datetime) -> list[Segment]:
    """The asset's age segments up to `as_of` that start at a known age (its install or a
    renewal); failures before the first known start cannot be placed on the age axis."""
    starts = _known_starts(life, as_of)
    if not starts:
        return []
    failed = np.fromiter((f.timestamp() for f in life.failures), np.float64, len(life.failures))
    bounds = np.array([t.timestamp() for t in [*starts, as_of]])
    cuts = np.searchsorted(failed, bounds, side="left")
    return [
        Segment(
            0.0,
            float(bounds[k + 1] - bounds[k]) / SECONDS_PER_YEAR,
            tuple(((failed[cuts[k] : cuts[k + 1]] - bounds[k]) / SECONDS_PER_YEAR).tolist()),
        )
        for k in range(len(starts))
    ]


def unit_record(life: AssetLife, as_of: datetime) -> UnitRecord:
    """The asset on its class's age axis: known segments, or an open span since its first
    record when its age is known neither from an install nor from a renewal."""
    segments = tuple(segments_of(life, as_of))
    if segments:
        return UnitRecord(segments, site=life.site)
    seen = [f for f in life.failures if f <= as_of]
    if not seen:
        return UnitRecord(site=life.site)
    return UnitRecord(
        open_since=_years(seen[0], as_of),
        open_failures=tuple(_years(seen[0], f) for f in seen[1:]),
        site=life.site,
    )


def fit_classes(
    segments_by_class: Mapping[str, list[Segment]], cfg: StageConfig
) -> dict[str, BathtubFit]:
    """A plain MLE bathtub fit for each class with enough units and failures (model `mle`)."""
    fits: dict[str, BathtubFit] = {}
    for cls, segments in segments_by_class.items():
        failures = sum(len(s.failures) for s in segments)
        units = sum(1 for s in segments if s.start == 0.0)
        if failures >= cfg.min_fit_failures and units >= cfg.min_fit_units:
            fits[cls] = fit_bathtub(segments)
    return fits


def asset_facts(life: AssetLife, as_of: datetime) -> AssetFacts:
    """The scorer's view of a CSV asset: install and last renewal as dates."""
    starts = _known_starts(life, as_of)
    installed = starts[0].date() if life.installed and starts else None
    renewals = starts[1:] if life.installed else starts
    renewed = renewals[-1].date() if renewals else None
    return AssetFacts(life.asset_id, life.asset_class, installed=installed, last_overhaul=renewed)


def _history(life: AssetLife, as_of: datetime, since: datetime | None = None) -> list[FailureEvent]:
    """The failures up to `as_of` (from `since` on: older ones do not change the score)."""
    return [
        FailureEvent(at=f) for f in life.failures if f <= as_of and (since is None or f >= since)
    ]


def _relevant_since(life: AssetLife, as_of: datetime, cfg: StageConfig) -> datetime | None:
    """With its age known, a unit's score reads only its failures in the recent window."""
    if not _known_starts(life, as_of):
        return None  # its first record bounds its age: every failure counts
    return as_of - timedelta(days=cfg.recent_window_days)


def score_fleet(
    lives: Mapping[str, AssetLife],
    as_of: datetime,
    cfg: StageConfig | None = None,
    *,
    model: Model | None = None,
) -> list[tuple[AssetLife, StageScore]]:
    """Fit every class with enough history, then score every asset at `as_of` with `model`
    (default: the configured one)."""
    cfg = cfg or StageConfig()
    model = model or cfg.model
    if model != "bayes":
        return _score_classic(lives, as_of, cfg, model)
    by_class: dict[str, list[AssetLife]] = {}
    for life in lives.values():
        by_class.setdefault(life.asset_class, []).append(life)
    records = {cls: [unit_record(life, as_of) for life in group] for cls, group in by_class.items()}
    fits: dict[str, ClassFit] = fit_fleet(records, cfg)
    scores: dict[str, StageScore] = {}
    for cls, group in by_class.items():
        by_site: dict[str, list[AssetLife]] = {}
        for life in group:
            by_site.setdefault(life.site, []).append(life)
        for site, lives_here in by_site.items():
            units = [
                (asset_facts(life, as_of), _history(life, as_of, _relevant_since(life, as_of, cfg)))
                for life in lives_here
            ]
            fit = fits.get(cls)
            if fit is not None:
                found = score_units(units, as_of, fit.for_site(site), cfg)
            else:
                found = [score_stage(facts, history, as_of, cfg) for facts, history in units]
            scores.update((life.key, s) for life, s in zip(lives_here, found, strict=True))
    return [(life, scores[life.key]) for life in lives.values()]


def _score_classic(
    lives: Mapping[str, AssetLife], as_of: datetime, cfg: StageConfig, model: Model
) -> list[tuple[AssetLife, StageScore]]:
    by_class: dict[str, list[Segment]] = {}
    for life in lives.values():
        by_class.setdefault(life.asset_class, []).extend(segments_of(life, as_of))
    fits = fit_classes(by_class, cfg) if model == "mle" else {}
    return [
        (
            life,
            score_stage(
                asset_facts(life, as_of),
                _history(life, as_of),
                as_of,
                cfg,
                fits.get(life.asset_class),
            ),
        )
        for life in lives.values()
    ]


def score_row(life: AssetLife, score: StageScore, lang: str = "en") -> dict[str, Any]:
    """One line of `bldgwatch score` output; `reason` in `lang`, every language in
    `reason_text`, the message key and parameters in `reason_message`."""
    params = score.params
    texts = score.texts
    return {
        "asset_id": life.asset_id,
        "site": life.site or None,
        "asset_class": life.asset_class,
        "stage": score.stage.value,
        "p_early": round(score.p_early, 4),
        "p_mid": round(score.p_mid, 4),
        "p_late": round(score.p_late, 4),
        "confidence": params.get("confidence"),
        "uncertain": params.get("uncertain"),
        "model": params.get("model"),
        "age_years": params.get("age_years"),
        "age_basis": params.get("age_basis"),
        "age_at_least": params.get("age_at_least"),
        "age_estimate_years": params.get("age_estimate_years"),
        "intensity_per_year": params.get("intensity_per_year"),
        "expected_next_failure_years": params.get("expected_next_failure_years"),
        "params": params.get("fit"),
        "params_se": params.get("fit_se"),
        "components_present": params.get("components_present"),
        "stage_confidence": params.get("stage_confidence"),
        "reason": texts.get(lang, score.reason),
        "reason_text": texts,
        "reason_message": score.message.as_dict() if score.message else None,
    }
