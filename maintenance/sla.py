"""SLA clocks: response and resolution due times by priority, with per-fault-code overrides.

Pure: the clocks start at the alarm's activation time (or the request's time), never at the
wall clock, so replays and accelerated scenarios give the same due times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field, field_validator

from bldgwatch.core.config import StrictModel

PRIORITIES = (1, 2, 3, 4)


class PriorityClock(StrictModel):
    """Response and resolution allowances of one priority."""

    response_min: float = Field(gt=0, description="Minutes from the alarm to on-site response.")
    resolution_h: float = Field(gt=0, description="Hours from the alarm to resolution.")


class FaultCodeClock(StrictModel):
    """Override for fault codes whose clocks differ from their priority's (e.g. entrapment)."""

    response_min: float | None = Field(None, gt=0, description="Response allowance, minutes.")
    resolution_h: float | None = Field(None, gt=0, description="Resolution allowance, hours.")
    label: str = Field("", description="What the response means here, e.g. 'rescue arrival'.")


DEFAULT_PRIORITIES: dict[int, PriorityClock] = {
    1: PriorityClock(response_min=30, resolution_h=4),
    2: PriorityClock(response_min=120, resolution_h=24),
    3: PriorityClock(response_min=480, resolution_h=72),
    4: PriorityClock(response_min=1440, resolution_h=168),
}

DEFAULT_FAULT_CODES: dict[str, FaultCodeClock] = {
    # Entrapment rescue arrival: 30 min in cities (DOMAIN.md); the clock starts at the alarm.
    "ELEV_ENTRAPMENT": FaultCodeClock(response_min=30, label="rescue arrival"),
}


class SlaPolicy(StrictModel):
    """SLA configuration; given entries are merged over the defaults."""

    priorities: dict[int, PriorityClock] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES),
        description="Per priority (1..4): response_min and resolution_h. Missing ones default "
        "to P1 30 min/4 h, P2 2 h/24 h, P3 8 h/72 h, P4 24 h/7 d.",
    )
    fault_codes: dict[str, FaultCodeClock] = Field(
        default_factory=lambda: dict(DEFAULT_FAULT_CODES),
        description="Overrides by fault code: an exact code, a prefix of '_'-separated codes "
        "(ELEV_ENTRAPMENT matches ELEV_ENTRAPMENT_FLOOR) or a glob (ELEV_*_TRIP*). "
        "Merged over the default entrapment rule (response 30 min, 'rescue arrival').",
    )

    @field_validator("priorities", mode="after")
    @classmethod
    def _merge_priorities(cls, value: dict[int, PriorityClock]) -> dict[int, PriorityClock]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"priorities must be 1..4, got {unknown}")
        return {**DEFAULT_PRIORITIES, **value}

    @field_validator("fault_codes", mode="after")
    @classmethod
    def _merge_codes(cls, value: dict[str, FaultCodeClock]) -> dict[str, FaultCodeClock]:
        return {**DEFAULT_FAULT_CODES, **value}


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
