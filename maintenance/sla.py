"""SLA clocks: response and resolution due times by priority, with per-fault-code overrides.

Pure: the clocks start at the alarm's activation time (or the request's time), never at the
wall clock, so replays and accelerated scenarios give the same due times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from bldgwatch.maintenance.config import FaultCodeClock, SlaPolicy


@dataclass(frozen=True, slots=True)
class SlaDue:
    """The due times of one work order and how they were derived."""

    started_at: datetime
    response: timedelta
    resolution: timedelta
    response_due: datetime
    resolution_due: datetime
    basis: str

    def as_detail(self) -> dict[str, Any]:
        """JSON-friendly description, for the work order's record."""
        return {
            "sla_started_at": self.started_at.isoformat(),
            "response_min": self.response.total_seconds() / 60,
            "resolution_h": self.resolution.total_seconds() / 3600,
            "sla_basis": self.basis,
        }


def _matches(pattern: str, code: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatchcase(code, pattern)
    return code == pattern or code.startswith(pattern + "_")


def fault_code_override(policy: SlaPolicy, fault_code: str | None) -> tuple[str, FaultCodeClock]:
    """The most specific override matching `fault_code` (longest pattern), or ('', empty)."""
    if not fault_code:
        return "", FaultCodeClock()
    hits = [(p, o) for p, o in policy.fault_codes.items() if _matches(p, fault_code)]
    if not hits:
        return "", FaultCodeClock()
    return max(hits, key=lambda hit: len(hit[0].rstrip("*")))


def compute_due(
    policy: SlaPolicy, *, priority: int, fault_code: str | None, started_at: datetime
) -> SlaDue:
    """Response and resolution due times for an order of `priority` started at `started_at`."""
    if started_at.tzinfo is None:
        raise ValueError("SLA clocks need a timezone-aware start time")
    if priority not in policy.priorities:
        raise ValueError(f"priority must be 1..4, got {priority}")
    base = policy.priorities[priority]
    pattern, override = fault_code_override(policy, fault_code)
    response = timedelta(minutes=override.response_min or base.response_min)
    resolution = timedelta(hours=override.resolution_h or base.resolution_h)
    basis = f"P{priority}"
    if pattern:
        basis += f", fault code {fault_code} ({pattern}"
        basis += f": {override.label})" if override.label else ")"
    return SlaDue(
        started_at=started_at,
        response=response,
        resolution=resolution,
        response_due=started_at + response,
        resolution_due=started_at + max(resolution, response),
        basis=basis,
    )
