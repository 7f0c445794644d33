"""Alarm floods per operator view (site) and chattering alarms — EEMUA 191 / ISA-18.2 (pure).

A flood starts when more than `start_above` alarms (default 10) were raised in the last
`window` (default 10 min) and ends when fewer than `end_below` (default 5) remain in it.
The live detector (`FloodDetector`) and the KPI sweep (`flood_periods`) share the rule.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class FloodSettings:
    """EEMUA 191 defaults (configurable)."""

    window: timedelta = timedelta(minutes=10)
    start_above: int = 10
    end_below: int = 5


@dataclass(frozen=True, slots=True)
class FloodChange:
    """A flood of one view started (`started`) or ended, with the count in the window."""

    view: str
    started: bool
    at: datetime
    count: int


class FloodDetector:
    """Counts alarm activations per view in a sliding window of source time."""

    def __init__(self, settings: FloodSettings | None = None) -> None:
        self.settings = settings or FloodSettings()
        self._recent: dict[str, deque[datetime]] = {}
        self.flooding: dict[str, datetime] = {}  # view → flood start
        self.peak: dict[str, int] = {}

    def _advance(self, view: str, now: datetime) -> FloodChange | None:
        """Slide the window to `now`; the end of a flood that happened meanwhile."""
        recent = self._recent.setdefault(view, deque())
        ended: FloodChange | None = None
        while recent and recent[0] + self.settings.window <= now:
            left_at = recent.popleft() + self.settings.window
            if view in self.flooding and len(recent) < self.settings.end_below:
                del self.flooding[view]
                ended = FloodChange(view, False, left_at, len(recent))
        return ended

    def record(self, view: str, at: datetime) -> list[FloodChange]:
        """Note an activation; the flood changes it brings (an end before, a start)."""
        changes = [c for c in (self._advance(view, at),) if c is not None]
        recent = self._recent[view]
        recent.append(at)
        if view in self.flooding:
            self.peak[view] = max(self.peak[view], len(recent))
        elif len(recent) > self.settings.start_above:
            self.flooding[view] = at
            self.peak[view] = len(recent)
            changes.append(FloodChange(view, True, at, len(recent)))
        return changes

    def tick(self, now: datetime) -> list[FloodChange]:
        """Floods that ended by `now` (the window slid past their activations)."""
        ended = [self._advance(view, now) for view in list(self.flooding)]
        return [c for c in ended if c is not None]


def flood_periods(
    times: Iterable[datetime], until: datetime, settings: FloodSettings | None = None
) -> list[tuple[datetime, datetime]]:
    """Flood periods of one view from its activation times (a flood still on ends at `until`)."""
    cfg = settings or FloodSettings()
    window: deque[datetime] = deque()
    periods: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    for at in sorted(times):
        start, window = _expire(window, at, start, periods, cfg)
        window.append(at)
        if start is None and len(window) > cfg.start_above:
            start = at
    start, window = _expire(window, until, start, periods, cfg)
    if start is not None:
        periods.append((start, until))
    return periods


def _expire(
    window: deque[datetime],
    now: datetime,
    start: datetime | None,
    periods: list[tuple[datetime, datetime]],
    cfg: FloodSettings,
) -> tuple[datetime | None, deque[datetime]]:
    while window and window[0] + cfg.window <= now:
        left_at = window.popleft() + cfg.window
        if start is not None and len(window) < cfg.end_below:
            periods.append((start, left_at))
            start = None
    return start, window


class ChatterDetector:
    """Counts activations of each key within a sliding window of source time."""

    def __init__(self, *, window_s: float = 60.0, threshold: int = 3) -> None:
        self.window = timedelta(seconds=window_s)
        self.threshold = threshold
        self._recent: dict[tuple[str, str, str], deque[datetime]] = {}

    def record(self, key: tuple[str, str, str], at: datetime) -> bool:
        """Note an activation; True when the key is chattering (threshold reached)."""
        recent = self._recent.setdefault(key, deque())
        recent.append(at)
        while recent and at - recent[0] > self.window:
            recent.popleft()
        return len(recent) >= self.threshold
