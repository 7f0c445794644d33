"""Budgets and KPI targets of a site, as data with history.

A budget is set per site, building ('' for the whole site), period (a year `YYYY` or a month
`YYYY-MM`) and category (labour, parts, contractors). Every setting is a new row: the newest
row of a key is in force, the older ones are its history (who set what, when, why). A
month's budget of a category is its monthly setting, else a twelfth of the year's; a site's
budget is its site-wide setting, else the sum of its buildings'.

KPI targets are settings per site too, with the defaults property managers are held to
(DOMAIN.md): 完好率 ≥ 98 %, 急修/零修及时率 ≥ 92 %, 零修合格率 ≥ 98 %, 回访率 100 %, …
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import first_hidden
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite
from bldgwatch.maintenance.models import BuildingRow, SiteRow
from bldgwatch.maintenance.recordmodels import BudgetEntryRow, KpiTargetRow

CATEGORIES = ("labour", "parts", "contractors")
PERIOD = re.compile(r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$", re.ASCII)
FIRST_YEAR, LAST_YEAR = 2000, 2100
"""The years a budget may be set for (and read back)."""

DEFAULT_TARGETS: dict[str, float] = {
    "good_condition": 0.98,  # 设备完好率
    "availability": 0.98,  # time availability
    "emergency_timeliness": 0.92,  # 急修及时率
    "minor_timeliness": 0.92,  # 零修及时率
    "minor_pass_rate": 0.98,  # 零修合格率
    "follow_up_rate": 1.0,  # 回访率
    "satisfaction": 0.98,  # share of follow-ups satisfied
    "complaint_resolution_rate": 0.98,  # 有效投诉办结率
    "complaint_response_on_time": 1.0,
    "complaint_resolution_on_time": 0.95,
    "first_time_fix": 0.95,
    "pm_compliance": 0.95,
    "pm_item_compliance": 0.95,  # TSG items done of those due (19c-r L6)
    "cost_vs_budget": 1.0,  # at most the budget
}
AT_MOST = frozenset({"cost_vs_budget"})
"""Targets met by staying at or below them (the rest: at or above)."""


def _check_site(session: Session, site: str, building: str) -> None:
    if session.get(SiteRow, site) is None:
        raise UnknownSite(site)
    if building and session.get(BuildingRow, (site, building)) is None:
        raise InvalidRecord(
            "building", Message("error.record.no_building", {"site": site, "building": building})
        )


def set_budget(
    session: Session,
    *,
    site: str,
    period: str,
    category: str,
    amount: float,
    actor: str,
    at: datetime,
    building: str = "",
    note: str = "",
) -> BudgetEntryRow:
    """Set one budget (a new row; the one before stays as history). The caller commits."""
    if not PERIOD.match(period):
        raise InvalidRecord("period", Message("error.record.period", {"period": period}))
    if not FIRST_YEAR <= int(period[:4]) <= LAST_YEAR:
        raise InvalidRecord(
            "period", Message("error.record.year_range", {"first": FIRST_YEAR, "last": LAST_YEAR})
        )
    if category not in CATEGORIES:
        raise InvalidRecord(
            "category",
            Message("error.record.one_of", {"value": category, "known": ", ".join(CATEGORIES)}),
        )
    if not amount >= 0:
        raise InvalidRecord("amount", Message("error.record.not_negative"))
    if note and first_hidden(note, lines=True) is not None:  # bidi, zero-width (19c-s L6)
        raise InvalidRecord("note", Message("error.drill.text", {"text": note[:40]}))
    _check_site(session, site, building)
    row = BudgetEntryRow(
        site=site,
        building=building,
        period=period,
        category=category,
        amount=float(amount),
        note=note,
        at=at,
        actor=actor[:64],
    )
    session.add(row)
    session.flush()
    return row


def budget_entries(session: Session, site: str, year: int) -> list[BudgetEntryRow]:
    """Every setting of the site's budgets for the year and its months, newest first."""
    return list(
        session.scalars(
            select(BudgetEntryRow)
            .where(
                BudgetEntryRow.site == site,
                (BudgetEntryRow.period == f"{year:04d}")
                | BudgetEntryRow.period.like(f"{year:04d}-%"),
            )
            .order_by(BudgetEntryRow.at.desc(), BudgetEntryRow.id.desc())
        )
    )


def in_force(entries: Sequence[BudgetEntryRow]) -> list[BudgetEntryRow]:
    """The newest setting per (building, period, category) of entries given newest first."""
    seen: set[tuple[str, str, str]] = set()
    current = []
    for row in entries:
        key = (row.building, row.period, row.category)
        if key not in seen:
            seen.add(key)
            current.append(row)
    return current


def month_budget(
    entries: Sequence[BudgetEntryRow], month: str, building: str | None = None
) -> dict[str, float] | None:
    """The budget of a month (`YYYY-MM`) per category, from the settings in force; for the
    whole site (`building` None) or one building. None when nothing is set.

    The site's budget of a category is its site-wide setting, else the sum of its buildings'
    (per category: a central parts budget and labour budgets per building add up; review
    19c-s M8 — the site-wide settings used to hide every building's)."""
    current = in_force(entries)
    if building is not None:
        return _month_of(current, month, building)
    site_wide = _month_of(current, month, "") or {}
    parts = [_month_of(current, month, b) for b in sorted({r.building for r in current} - {""})]
    found = [p for p in parts if p is not None]
    out = {}
    for category in CATEGORIES:
        if category in site_wide:
            out[category] = site_wide[category]
        elif any(category in p for p in found):
            out[category] = sum(p.get(category, 0.0) for p in found)
    return out or None


def _month_of(
    current: Sequence[BudgetEntryRow], month: str, building: str
) -> dict[str, float] | None:
    mine = {(r.period, r.category): r.amount for r in current if r.building == building}
    out = {}
    for category in CATEGORIES:
        if (month, category) in mine:
            out[category] = mine[(month, category)]
        elif (month[:4], category) in mine:
            out[category] = mine[(month[:4], category)] / 12
    return out or None


def set_target(
    session: Session, *, site: str, kpi: str, target: float, actor: str, at: datetime
) -> KpiTargetRow:
    """Set a KPI target of a site (a new row; the one before stays as history)."""
    if kpi not in DEFAULT_TARGETS:
        raise InvalidRecord(
            "kpi",
            Message("error.record.one_of", {"value": kpi, "known": ", ".join(DEFAULT_TARGETS)}),
        )
    if not math.isfinite(target):
        raise InvalidRecord("target", Message("error.record.finite", {"kpi": kpi}))
    if kpi in AT_MOST and not target > 0:
        raise InvalidRecord("target", Message("error.record.positive"))
    if kpi not in AT_MOST and not 0 <= target <= 1:
        raise InvalidRecord("target", Message("error.record.rate_target"))
    _check_site(session, site, "")
    row = KpiTargetRow(site=site, kpi=kpi, target=float(target), at=at, actor=actor[:64])
    session.add(row)
    session.flush()
    return row


def target_history(session: Session, site: str) -> list[KpiTargetRow]:
    """Every target setting of the site, newest first."""
    return list(
        session.scalars(
            select(KpiTargetRow)
            .where(KpiTargetRow.site == site)
            .order_by(KpiTargetRow.at.desc(), KpiTargetRow.id.desc())
        )
    )


def targets(session: Session, site: str) -> dict[str, float]:
    """The site's KPI targets in force: its settings over the defaults."""
    found = dict(DEFAULT_TARGETS)
    for row in reversed(target_history(session, site)):
        found[row.kpi] = row.target
    return found


def meets(kpi: str, value: float | None, target: float) -> bool | None:
    """Whether a figure meets its target (None when there is no figure)."""
    if value is None:
        return None
    return value <= target if kpi in AT_MOST else value >= target
