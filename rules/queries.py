"""Reads of the alarm tables for other packages (the console's API).

The rules package owns `alarms`, `alarm_events` and `alarm_comments`, so the SQL on them
lives here; a reader passes its session, its filters and its page and gets rows back. Sites
given as `sites` are the reader's scope (None: every site).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import Session

from bldgwatch.core.db import fetch_page, where_given
from bldgwatch.rules.models import AlarmCommentRow, AlarmEventRow, AlarmRow, LeakVerdictRow

TABLES = frozenset(m.__tablename__ for m in (AlarmRow, AlarmEventRow, AlarmCommentRow))
"""The tables these queries read (what a reader's health check needs)."""


def _in_scope(sites: Collection[str] | None) -> ColumnElement[bool]:
    return true() if sites is None else AlarmRow.site.in_(sorted(sites))


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    """Which alarms a listing shows; None means "any"."""

    sites: Collection[str] | None = None
    site: str | None = None
    equipment: str | None = None
    states: Collection[str] | None = None
    open: bool | None = None
    building: str | None = None
    equipment_type: str | None = None
    priorities: Collection[int] | None = None
    search: str | None = None
    """Part of the equipment id, fault code, rule id or (English) text, any case."""


SORTS: dict[str, tuple[Any, ...]] = {
    "priority": (AlarmRow.priority.asc(), AlarmRow.raised_at.desc()),
    "-priority": (AlarmRow.priority.desc(), AlarmRow.raised_at.desc()),
    "raised": (AlarmRow.raised_at.asc(),),
    "-raised": (AlarmRow.raised_at.desc(),),
    "equipment": (AlarmRow.site.asc(), AlarmRow.equipment.asc(), AlarmRow.priority.asc()),
    "-equipment": (AlarmRow.site.desc(), AlarmRow.equipment.desc(), AlarmRow.priority.asc()),
    "state": (AlarmRow.state.asc(), AlarmRow.priority.asc()),
    "-state": (AlarmRow.state.desc(), AlarmRow.priority.asc()),
}
"""Orders a listing may ask for (a leading `-` reverses); open alarms always come first."""


def _filtered(wanted: AlarmFilter) -> Select[Any]:
    stmt = where_given(
        select(AlarmRow).where(_in_scope(wanted.sites)),
        (AlarmRow.site, wanted.site),
        (AlarmRow.equipment, wanted.equipment),
        (AlarmRow.building, wanted.building),
        (AlarmRow.equipment_type, wanted.equipment_type),
    )
    if wanted.states:
        stmt = stmt.where(AlarmRow.state.in_(list(wanted.states)))
    if wanted.priorities:
        stmt = stmt.where(AlarmRow.priority.in_(list(wanted.priorities)))
    if wanted.open is not None:
        stmt = stmt.where(AlarmRow.is_open.is_(wanted.open))
    if wanted.search:
        like = f"%{wanted.search.lower()}%"
        columns = (AlarmRow.equipment, AlarmRow.fault_code, AlarmRow.rule, AlarmRow.message)
        stmt = stmt.where(or_(*(func.lower(c).like(like) for c in columns)))
    return stmt


def standing_verdicts(
    session: Session, sites: Collection[str] | None, since: datetime, *, site: str | None = None
) -> list[tuple[AlarmRow, LeakVerdictRow]]:
    """The alarms with a verdict given since `since` that still stands on their latest raising
    (not withdrawn), open or closed: "not a leak" (or "expected use") first, then newest first
    (fifth review of issue 20, H1: the verdicts a supervisor reviews)."""
    stmt = (
        select(AlarmRow, LeakVerdictRow)
        .join(LeakVerdictRow, LeakVerdictRow.alarm_id == AlarmRow.id)
        .where(
            _in_scope(sites),
            LeakVerdictRow.raised_at == AlarmRow.raised_at,
            LeakVerdictRow.withdrawn_at.is_(None),
            LeakVerdictRow.given_at >= since,
        )
        .order_by(
            LeakVerdictRow.leak.asc(), LeakVerdictRow.given_at.desc(), LeakVerdictRow.id.desc()
        )
    )
    if site is not None:
        stmt = stmt.where(AlarmRow.site == site)
    return [(a, v) for a, v in session.execute(stmt.limit(500))]


def alarm(session: Session, alarm_id: str) -> AlarmRow | None:
    """One alarm."""
    return session.get(AlarmRow, alarm_id)


def list_alarms(
    session: Session,
    wanted: AlarmFilter,
    *,
    limit: int,
    offset: int,
    sort: str = "priority",
) -> tuple[list[AlarmRow], int]:
    """A page of alarms: open ones first, then in `sort` order (a key of `SORTS`; default
    by priority, newest first); and the total."""
    order = (AlarmRow.is_open.desc(), *SORTS[sort], AlarmRow.id)
    return fetch_page(session, _filtered(wanted), order, limit=limit, offset=offset)


def counts(session: Session, wanted: AlarmFilter) -> list[tuple[int, str, int]]:
    """(priority, state, how many) of the alarms a filter matches."""
    inner = _filtered(wanted).subquery()
    stmt = select(inner.c.priority, inner.c.state, func.count()).group_by(
        inner.c.priority, inner.c.state
    )
    return [(int(p), str(st), int(n)) for p, st, n in session.execute(stmt)]


def transitions(session: Session, alarm_id: str) -> list[AlarmEventRow]:
    """Every stored transition of an alarm, oldest first."""
    return list(
        session.scalars(
            select(AlarmEventRow)
            .where(AlarmEventRow.alarm_id == alarm_id)
            .order_by(AlarmEventRow.at, AlarmEventRow.id)
        )
    )


def comments(session: Session, alarm_id: str) -> list[AlarmCommentRow]:
    """Every comment on an alarm, oldest first."""
    return list(
        session.scalars(
            select(AlarmCommentRow)
            .where(AlarmCommentRow.alarm_id == alarm_id)
            .order_by(AlarmCommentRow.at, AlarmCommentRow.id)
        )
    )


def raised_between(
    session: Session, sites: Collection[str], start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    """(raised_at, severity) of every alarm of `sites` raised in [start, end)."""
    rows = session.execute(
        select(AlarmRow.raised_at, AlarmRow.severity).where(
            AlarmRow.site.in_(list(sites)), AlarmRow.raised_at >= start, AlarmRow.raised_at < end
        )
    ).all()
    return [(at, severity) for at, severity in rows]
