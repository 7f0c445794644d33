"""Relational store plumbing: SQLAlchemy engine, declarative base, UTC columns.

The schema's migrations belong to the composition root (`bldgwatch.migrations`), the one
place that knows every package's tables."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    Select,
    SQLColumnExpression,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.files import ensure_private

logger = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table (alarms, assets, work orders, …)."""

    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


@event.listens_for(Session, "do_orm_execute")
def _locked_read(state: ORMExecuteState) -> None:
    """A read `FOR UPDATE` returns the rows as they are now and holds them to the commit.

    The rows are loaded again even where the session had them already (a read before the
    lock would otherwise leave stale attributes on the objects it returns). SQLite has no row
    locks and drops `FOR UPDATE`; its driver opens a transaction only at the first write, so
    two desks could both read, both pass their check and both write (review 19c-s H1–H3).
    There the locked read takes the database's write lock first (`BEGIN IMMEDIATE`, waiting
    up to the busy timeout): one writer at a time, which is what SQLite allows anyway."""
    if not state.is_select or getattr(state.statement, "_for_update_arg", None) is None:
        return
    state.update_execution_options(populate_existing=True)
    connection = state.session.connection(bind_arguments=state.bind_arguments)
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        raw.cursor().execute("BEGIN IMMEDIATE")


def make_engine(settings: DatabaseSettings) -> Engine:
    """An engine for the configured URL; SQLite files get WAL and a busy timeout, and are
    created readable by their owner only (0600; SQLite gives its WAL files the same mode).

    Raises ConfigError when the URL cannot be parsed or names no installed driver.
    """
    url = settings.url
    try:
        make_url(url)
    except ArgumentError as err:
        raise ConfigError(f"database.url: cannot parse {url!r} as a database URL") from err
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            ensure_private(Path(path))
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Any]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def fetch_page(
    session: Session,
    stmt: Select[Any],
    order_by: Sequence[SQLColumnExpression[Any]],
    *,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    """One page of `stmt` in `order_by` order, and how many rows match `stmt` over all pages."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.order_by(*order_by).limit(limit).offset(offset)).all()
    return list(rows), int(total or 0)


Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a newest-first listing ordered by (time, id) goes on: after the row at `at`
    with `id`. Rows added meanwhile (newer, above) neither shift nor repeat the later pages."""

    at: datetime
    id: int


def newest_first(
    stmt: Select[*Ts],
    at: SQLColumnExpression[datetime],
    id_: SQLColumnExpression[int],
    *,
    after: Keyset | None,
    limit: int,
) -> Select[*Ts]:
    """`stmt` newest first by (`at`, `id_`), the `limit` rows after the keyset `after`."""
    if after is not None:
        stmt = stmt.where(or_(at < after.at, and_(at == after.at, id_ < after.id)))
    return stmt.order_by(at.desc(), id_.desc()).limit(limit)


def where_given(
    stmt: Select[Any], *filters: tuple[SQLColumnExpression[Any], object]
) -> Select[Any]:
    """`stmt` narrowed to `column == value` for each filter whose value is not None."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt
