"""Stepping helpers for simulator tests: time is driven, never slept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bldgwatch.core.models import Value
from bldgwatch.simulators.equipment import SimulatedEquipment

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def run_for(
    eq: SimulatedEquipment, start: datetime, seconds: float, step_s: float
) -> Iterator[tuple[datetime, dict[str, Value]]]:
    """Step `eq` from `start` for `seconds`, yielding (time, values) after each step."""
    steps = round(seconds / step_s)
    for i in range(1, steps + 1):
        now = start + timedelta(seconds=i * step_s)
        eq.step(now)
        yield now, eq.values()


def last(eq: SimulatedEquipment, start: datetime, seconds: float, step_s: float) -> datetime:
    """Step through and return the final time."""
    end = start
    for end, _values in run_for(eq, start, seconds, step_s):  # noqa: B007 - the last one
        pass
    return end


def num(value: Value) -> float:
    """A reading as a float (for arithmetic in assertions)."""
    return float(value)
