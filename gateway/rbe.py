"""Report by exception (pure): pass a reading on only when it says something new.

A number is reported when it moved more than its deadband since the last report, a bool
(or any non-float) when it changed, any point when its quality changed, and every point at
least every `max_interval_ms` (so a quiet value still shows it is alive). A point without a
deadband is reported at every poll.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bldgwatch.core.models import Quality, Reading, Value


@dataclass(frozen=True, slots=True)
class ReportRule:
    """How one point is reported: `deadband` None means every poll."""

    deadband: float | None
    max_interval_ms: int


EVERY_POLL = ReportRule(None, 0)


class ExceptionFilter:
    """Per-point last reported value; `keep` decides which readings go on."""

    def __init__(self, rules: Mapping[str, ReportRule], default: ReportRule = EVERY_POLL) -> None:
        self._rules = dict(rules)
        self._default = default
        self._last: dict[tuple[str, str], tuple[Value, Quality, int]] = {}
        self.suppressed = 0

    @property
    def active(self) -> bool:
        """False when every point is reported at every poll (the filter is a no-op)."""
        return self._default.deadband is not None or any(
            r.deadband is not None for r in self._rules.values()
        )

    def reset(self) -> None:
        """Forget what was reported (after an outage everything is reported afresh)."""
        self._last.clear()

    def keep(self, readings: Iterable[Reading]) -> list[Reading]:
        """The readings worth reporting; remembers them as the last reported."""
        out: list[Reading] = []
        for r in readings:
            if self._due(r):
                self._last[(r.equipment, r.point)] = (r.value, r.quality, r.ts_ms)
                out.append(r)
            else:
                self.suppressed += 1
        return out

    def _due(self, r: Reading) -> bool:
        rule = self._rules.get(r.point, self._default)
        if rule.deadband is None:
            return True
        last = self._last.get((r.equipment, r.point))
        if last is None:
            return True
        value, quality, ts_ms = last
        if quality != r.quality or r.ts_ms - ts_ms >= rule.max_interval_ms:
            return True
        return moved(value, r.value, rule.deadband)


def moved(before: Value, after: Value, deadband: float) -> bool:
    """True when `after` differs from `before` by more than the deadband (bools: changed)."""
    if isinstance(before, bool) or isinstance(after, bool):
        return before != after
    if deadband == 0:
        return before != after
    return abs(after - before) > deadband
