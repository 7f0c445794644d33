"""Building InfluxQL from request parameters (pure): strict identifiers, escaped literals,
bounded windows, so no parameter can change the shape of a query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bldgwatch.console.errors import BadParameterError
from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.i18n import Message

IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")
_DURATION = re.compile(r"^([1-9][0-9]{0,6})(ms|s|m|h|d|w)$")
_UNIT = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
MAX_POINTS = 20
MAX_BUCKETS = 10_000
MAX_ROWS = 10_000
MAX_WINDOW = timedelta(days=366)


def check_identifier(param: str, value: str) -> str:
    """`value` if it is a plain name (letters, digits, underscore); else a 400 naming `param`."""
    if not IDENTIFIER.fullmatch(value):
        raise BadParameterError(
            Message("error.influxql.name", {"param": param, "value": value}), param=param
        )
    return value


def quote_ident(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class Duration:
    """A GROUP BY interval, kept as InfluxQL text and as a timedelta."""

    text: str
    delta: timedelta


def parse_every(value: str) -> Duration:
    """`every` as an InfluxQL duration such as 10s, 5m, 1h (one unit); 400 otherwise."""
    match = _DURATION.fullmatch(value)
    if match is None:
        raise BadParameterError(
            Message("error.influxql.duration", {"value": value}),
            param="every",
        )
    return Duration(value, int(match.group(1)) * _UNIT[match.group(2)])


def check_window(start: datetime, end: datetime, every: Duration | None) -> None:
    """Reject naive times, empty or huge windows, and intervals giving too many buckets."""
    for name, when in (("start", start), ("end", end)):
        if when.tzinfo is None:
            raise BadParameterError(Message("error.influxql.zone", {"name": name}), param=name)
    if start >= end:
        raise BadParameterError(Message("error.start_before_end"), param="start")
    if end - start > MAX_WINDOW:
        raise BadParameterError(
            Message("error.influxql.window", {"days": MAX_WINDOW.days}), param="start"
        )
    if every is not None and (end - start) / every.delta > MAX_BUCKETS:
        raise BadParameterError(
            Message("error.influxql.buckets", {"every": every.text, "most": str(MAX_BUCKETS)}),
            param="every",
        )


@dataclass(frozen=True, slots=True)
class ReadingsQuery:
    """What `GET /api/readings` asks for, already validated."""

    measurement: str
    site: str
    equipment: str
    points: tuple[str, ...]
    start: datetime
    end: datetime
    every: Duration | None
    limit: int


def _series_filter(site: str, equipment: str) -> str:
    return (
        f"{quote_ident('site')} = {quote_string(site)} AND "
        f"{quote_ident('equipment')} = {quote_string(equipment)}"
    )


def readings_query(q: ReadingsQuery) -> str:
    """Raw readings, or `mean` per interval with `every`; the newest `limit` rows, newest first."""
    if not q.points or len(q.points) > MAX_POINTS:
        raise BadParameterError(
            Message("error.influxql.points", {"most": MAX_POINTS}), param="point"
        )
    for point in q.points:
        check_identifier("point", point)
        if point == "time":
            raise BadParameterError(Message("error.influxql.time_reserved"), param="point")
    if not 1 <= q.limit <= MAX_ROWS:
        raise BadParameterError(
            Message("error.influxql.limit", {"most": str(MAX_ROWS)}), param="limit"
        )
    check_window(q.start, q.end, q.every)
    if q.every is None:
        columns = ", ".join(quote_ident(p) for p in q.points)
    else:
        columns = ", ".join(f"mean({quote_ident(p)}) AS {quote_ident(p)}" for p in q.points)
    where = (
        f"{_series_filter(q.site, q.equipment)} AND time >= {to_epoch_ms(q.start)}ms "
        f"AND time <= {to_epoch_ms(q.end)}ms"
    )
    group = f" GROUP BY time({q.every.text})" if q.every is not None else ""
    # Every identifier is checked and quoted, every literal escaped or a number.
    return (
        f"SELECT {columns} FROM {quote_ident(q.measurement)} WHERE {where}{group} "  # noqa: S608
        f"ORDER BY time DESC LIMIT {q.limit}"
    )


def field_keys_query(measurement: str) -> str:
    """The fields (points) InfluxDB knows for a measurement."""
    return f"SHOW FIELD KEYS FROM {quote_ident(measurement)}"


def latest_query(
    measurement: str,
    site: str,
    equipment: str,
    points: list[str],
    between: tuple[datetime, datetime] | None = None,
) -> str:
    """One statement per point: its last value and that value's time, aliased to the point
    (with `between`: the last within that time window, both ends included)."""
    where = _series_filter(site, equipment)
    if between is not None:
        where += f" AND time >= {to_epoch_ms(between[0])}ms AND time <= {to_epoch_ms(between[1])}ms"
    statements = [
        f"SELECT last({quote_ident(p)}) AS {quote_ident(p)} "  # noqa: S608 - quoted identifiers
        f"FROM {quote_ident(measurement)} WHERE {where}"
        for p in points
        if IDENTIFIER.fullmatch(p)
    ]
    return "; ".join(statements)
