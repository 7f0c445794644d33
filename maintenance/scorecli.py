"""`bldgwatch score` and `bldgwatch fleetgen`: stages of a fleet from a life-history CSV, one
JSON object per asset; random fleets with their truth, to judge the scorer."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bldgwatch.maintenance.config import Model, StageConfig
from bldgwatch.maintenance.errors import HistoryError
from bldgwatch.maintenance.fleetgen import generate_fleet
from bldgwatch.maintenance.historycsv import BadRow, check_history
from bldgwatch.maintenance.lifecycle import parse_time, read_history_file, score_fleet, score_row
from bldgwatch.maintenance.stage_texts import LANGUAGES


def as_of_time(text: str | None) -> datetime:
    """The `--as-of` option: ISO-8601 (UTC when no zone), default now."""
    if not text:
        return datetime.now(UTC)
    try:
        return parse_time(text)
    except ValueError as err:
        raise HistoryError(
            f"--as-of: bad time {text!r} (ISO-8601, e.g. 2026-01-01T00:00:00Z)"
        ) from err


def score_file(
    path: Path,
    as_of: str | None = None,
    *,
    model: Model = "bayes",
    lang: str = "en",
    skip_bad_rows: bool = False,
    skipped: list[BadRow] | None = None,
    notes: list[BadRow] | None = None,
) -> Iterator[bytes]:
    """JSON lines for every asset of the CSV at `path`, scored at `as_of` (default: now);
    rows skipped with `skip_bad_rows` are appended to `skipped`, rows read but counted once or
    left out of the score (duplicates, failures before the install, events after `as_of`) to
    `notes`."""
    if lang not in LANGUAGES:
        raise HistoryError(f"--lang: {lang!r} is not one of {', '.join(LANGUAGES)}")
    when = as_of_time(as_of)
    lives = read_history_file(path, skip_bad_rows=skip_bad_rows)
    if skipped is not None:
        skipped.extend(lives.bad_rows)
    if notes is not None:
        notes.extend(sorted(lives.notes + check_history(lives, when), key=lambda n: n.line))
    for life, score in score_fleet(lives, when, StageConfig(), model=model):
        yield orjson.dumps(score_row(life, score, lang))


def write_fleet(
    history: Path,
    truth: Path | None,
    *,
    seed: int,
    units_per_class: int,
    classes: int,
    missing_install: float,
    as_of: str | None,
    sites: int = 1,
) -> int:
    """Generate a random fleet (`maintenance.fleetgen`), write its history CSV and, when
    asked, its truth as JSON; returns the number of assets written."""
    when = as_of_time(as_of) if as_of else None
    fleet = generate_fleet(
        seed=seed,
        units_per_class=units_per_class,
        classes=classes,
        as_of=when,
        missing_install=missing_install,
        sites=sites,
    )
    with history.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(fleet.columns)
        writer.writerows(fleet.history_rows())
    if truth is not None:
        truth.write_bytes(orjson.dumps(fleet.truth(), option=orjson.OPT_INDENT_2))
    return len(fleet.assets)
