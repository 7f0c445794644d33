"""Ground truth: one JSON line per fault episode, appended when the episode ends."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import orjson

from bldgwatch.simulators.equipment import Episode
from bldgwatch.simulators.wire import episode_record

logger = logging.getLogger(__name__)


class GroundTruthWriter:
    """Appends episodes to a JSONL file (or drops them when no path is set)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, episodes: Iterable[Episode]) -> int:
        """Append one line per episode; the number written."""
        lines = [orjson.dumps(episode_record(ep)) + b"\n" for ep in episodes]
        if self.path is None or not lines:
            return 0
        with self.path.open("ab") as out:
            out.writelines(lines)
        return len(lines)
