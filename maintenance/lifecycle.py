"""Fleet life histories: the `score` CSV, age segments, per-class fits and fleet scoring. Pure.

A history is a list of events per asset: `installed`, `failure`, `overhaul`, `replaced`.
Install, overhaul and replacement start a new age segment (age renews); failures fall on the
age axis of the segment they happen in; the last segment runs to the as-of time (censored).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bldgwatch.maintenance.bathtub import BathtubFit, Segment, fit_bathtub
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.errors import HistoryError
from bldgwatch.maintenance.scoring import (
    DAYS_PER_YEAR,
    AssetFacts,
    FailureEvent,
    StageScore,
    score_stage,
)

COLUMNS = ("asset_id", "asset_class", "event", "at")


class LifeEvent(StrEnum):
    """Events of the history CSV."""

    INSTALLED = "installed"
    FAILURE = "failure"
    OVERHAUL = "overhaul"
    REPLACED = "replaced"


RENEWALS = frozenset({LifeEvent.INSTALLED, LifeEvent.OVERHAUL, LifeEvent.REPLACED})


@dataclass(slots=True)
class AssetLife:
    """One asset's history: when its age started over, and when it failed."""

    asset_id: str
    asset_class: str
    renewals: list[datetime] = field(default_factory=list)  # install first, when known
    failures: list[datetime] = field(default_factory=list)
    installed: bool = False


def parse_time(text: str) -> datetime:
    """ISO-8601; a time without zone is taken as UTC, as the CSV format says."""
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _event(row: Mapping[str, str | None], line: int) -> tuple[str, str, LifeEvent, datetime]:
    values = {k: (row.get(k) or "").strip() for k in COLUMNS}
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise HistoryError(f"line {line}: missing {', '.join(missing)}")
    try:
        event = LifeEvent(values["event"].lower())
    except ValueError as err:
        raise HistoryError(f"line {line}: unknown event {values['event']!r}") from err
    try:
        at = parse_time(values["at"])
    except ValueError as err:
        raise HistoryError(f"line {line}: bad time {values['at']!r}") from err
    return values["asset_id"], values["asset_class"], event, at


def read_history(lines: Iterable[str]) -> dict[str, AssetLife]:
    """Parse the history CSV (`asset_id,asset_class,event,at`); HistoryError names the line."""
    reader = csv.DictReader(lines)
    absent = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if absent:
        raise HistoryError(f"header lacks {', '.join(absent)}")
    lives: dict[str, AssetLife] = {}
    for row in reader:
        asset_id, asset_class, event, at = _event(row, reader.line_num)
        life = lives.setdefault(asset_id, AssetLife(asset_id, asset_class))
        if life.asset_class != asset_class:
            raise HistoryError(f"line {reader.line_num}: {asset_id} changes class")
        if event is LifeEvent.FAILURE:
            life.failures.append(at)
        else:
            life.renewals.append(at)
            life.installed = life.installed or event is LifeEvent.INSTALLED
    for life in lives.values():
        life.renewals.sort()
        life.failures.sort()
    return lives


def _years(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400 / DAYS_PER_YEAR


def segments_of(life: AssetLife, as_of: datetime) -> list[Segment]:
    """The asset's age segments up to `as_of`; none when it was never installed (age unknown)."""
    starts = [r for r in life.renewals if r <= as_of]
    if not life.installed or not starts:
        return []
    ends = [*starts[1:], as_of]
    return [
        Segment(
            0.0,
            _years(start, end),
            tuple(_years(start, f) for f in life.failures if start <= f < end),
        )
        for start, end in zip(starts, ends, strict=True)
    ]


def fit_classes(
    segments_by_class: Mapping[str, list[Segment]], cfg: StageConfig
) -> dict[str, BathtubFit]:
    """A bathtub fit for each class with enough units and failures."""
    fits: dict[str, BathtubFit] = {}
    for cls, segments in segments_by_class.items():
        failures = sum(len(s.failures) for s in segments)
        units = sum(1 for s in segments if s.start == 0.0)
        if failures >= cfg.min_fit_failures and units >= cfg.min_fit_units:
            fits[cls] = fit_bathtub(segments)
    return fits


def asset_facts(life: AssetLife, as_of: datetime) -> AssetFacts:
    """The scorer's view of a CSV asset: install and last renewal as dates."""
    starts = [r for r in life.renewals if r <= as_of]
    installed = starts[0].date() if life.installed and starts else None
    renewed = starts[-1].date() if life.installed and len(starts) > 1 else None
    return AssetFacts(life.asset_id, life.asset_class, installed=installed, last_overhaul=renewed)


def score_fleet(
    lives: Mapping[str, AssetLife], as_of: datetime, cfg: StageConfig | None = None
) -> list[tuple[AssetLife, StageScore]]:
    """Fit every class with enough history, then score every asset at `as_of`."""
    cfg = cfg or StageConfig()
    by_class: dict[str, list[Segment]] = {}
    for life in lives.values():
        by_class.setdefault(life.asset_class, []).extend(segments_of(life, as_of))
    fits = fit_classes(by_class, cfg)
    scored = []
    for life in lives.values():
        history = [FailureEvent(at=f) for f in life.failures if f <= as_of]
        facts = asset_facts(life, as_of)
        score = score_stage(facts, history, as_of, cfg, fits.get(life.asset_class))
        scored.append((life, score))
    return scored


def score_row(life: AssetLife, score: StageScore) -> dict[str, Any]:
    """One line of `bldgwatch score` output."""
    params = score.params
    return {
        "asset_id": life.asset_id,
        "asset_class": life.asset_class,
        "stage": score.stage.value,
        "p_early": round(score.p_early, 4),
        "p_mid": round(score.p_mid, 4),
        "p_late": round(score.p_late, 4),
        "model": params.get("model"),
        "age_years": params.get("age_years"),
        "intensity_per_year": params.get("intensity_per_year"),
        "expected_next_failure_years": params.get("expected_next_failure_years"),
        "params": params.get("fit"),
        "params_se": params.get("fit_se"),
        "stage_confidence": params.get("stage_confidence"),
        "reason": score.reason,
    }
