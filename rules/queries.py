"""Reads of the alarm tables for other packages (the console's API).

The rules package owns `alarms`, `alarm_events` and `alarm_comments`, so the SQL on them
lives here; a reader passes its session, its filters and its page and gets rows back. Sites
given as `sites` are the reader's scope (None: every site).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from bldgwatch.core.db import fetch_page, where_given
from bldgwatch.rules.models import AlarmCommentRow, AlarmEventRow, AlarmRow

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


def alarm(session: Session, alarm_id: str) -> AlarmRow | None:
    """One alarm."""
    return session.get(AlarmRow, alarm_id)


def list_alarms(
    session: Session, wanted: AlarmFilter, *, limit: int, offset: int
) -> tuple[list[AlarmRow], int]:
    """A page of alarms: open ones first, then by priority, newest first; and the total."""
    stmt = where_given(
        select(AlarmRow).where(_in_scope(wanted.sites)),
        (AlarmRow.site, wanted.site),
        (AlarmRow.equipment, wanted.equipment),
    )
    if wanted.states:
        stmt = stmt.where(AlarmRow.state.in_(list(wanted.states)))
    if wanted.open is not None:
        stmt = stmt.where(AlarmRow.is_open.is_(wanted.open))
    order = (
        AlarmRow.is_open.desc(),
        AlarmRow.priority.asc(),
        AlarmRow.raised_at.desc(),
        AlarmRow.id,
    )
    return fetch_page(session, stmt, order, limit=limit, offset=offset)


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
