"""Complaint KPIs of one site and month. Pure: facts in, figures out.

The month's complaints are those received in it (the site's time zone), however late they
are settled; figures are as of `as_of` (the caller's moment, not the month's end), so a
complaint received on the last evening of the month counts in that month and is counted
resolved once it is.

* valid complaints (有效投诉): those whose outcome, recorded by `as_of`, is not `unfounded`
  (无效) or `withdrawn`; still-open ones are valid.
* 有效投诉办结率 (`complaint_resolution_rate`): valid complaints whose outcome `resolved` was
  recorded by `as_of` / valid complaints (`partially_resolved` is not 办结).
* response on time (`complaint_response_on_time`): every complaint of the month whose first
  response was due by `as_of` (or came already), answered (a response, or else the outcome)
  by its due time.
* resolution on time (`complaint_resolution_on_time`): valid complaints whose outcome was due
  by `as_of` (or came already), settled (any outcome) by its due time.

A rate is None when nothing was there to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bldgwatch.maintenance.kpis import Period

NOT_VALID = frozenset({"unfounded", "withdrawn"})


@dataclass(frozen=True, slots=True)
class ComplaintFacts:
    """What the KPIs need of one complaint."""

    received_at: datetime
    response_due: datetime
    resolution_due: datetime
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class ComplaintRates:
    """One month's complaint figures."""

    complaints: int
    valid_complaints: int
    complaint_resolution_rate: float | None
    complaint_response_on_time: float | None
    complaint_resolution_on_time: float | None


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _settled(c: ComplaintFacts, as_of: datetime) -> bool:
    return c.resolved_at is not None and c.resolved_at <= as_of


def _answered(c: ComplaintFacts) -> datetime | None:
    """The first response; an outcome recorded without one answers the complaint too."""
    return c.responded_at or c.resolved_at


def _in_time(done: datetime | None, due: datetime, as_of: datetime) -> bool:
    return done is not None and done <= as_of and done <= due


def complaint_rates(
    complaints: Sequence[ComplaintFacts], period: Period, as_of: datetime
) -> ComplaintRates:
    """The month's complaint figures as of `as_of`."""
    month = [c for c in complaints if period.contains(c.received_at) and c.received_at <= as_of]
    valid = [c for c in month if not (_settled(c, as_of) and c.outcome in NOT_VALID)]
    resolved = [c for c in valid if _settled(c, as_of) and c.outcome == "resolved"]
    answer = [
        c for c in month if c.response_due <= as_of or _in_time(_answered(c), c.response_due, as_of)
    ]
    settle = [
        c
        for c in valid
        if c.resolution_due <= as_of or _in_time(c.resolved_at, c.resolution_due, as_of)
    ]
    return ComplaintRates(
        complaints=len(month),
        valid_complaints=len(valid),
        complaint_resolution_rate=_rate(len(resolved), len(valid)),
        complaint_response_on_time=_rate(
            sum(_in_time(_answered(c), c.response_due, as_of) for c in answer), len(answer)
        ),
        complaint_resolution_on_time=_rate(
            sum(_in_time(c.resolved_at, c.resolution_due, as_of) for c in settle), len(settle)
        ),
    )
