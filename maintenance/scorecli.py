"""`bldgwatch score`: stages of a fleet from a life-history CSV, one JSON object per asset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.lifecycle import parse_time, read_history, score_fleet, score_row


def score_file(path: Path, as_of: str | None = None) -> Iterator[bytes]:
    """JSON lines for every asset of the CSV at `path`, scored at `as_of` (default: now)."""
    when = parse_time(as_of) if as_of else datetime.now(UTC)
    with path.open(newline="", encoding="utf-8") as handle:
        lives = read_history(handle)
    for life, score in score_fleet(lives, when, StageConfig()):
        yield orjson.dumps(score_row(life, score))
