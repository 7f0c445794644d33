"""The InfluxQL builder (pure): validation, quoting, and the exact queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bldgwatch.console.errors import BadParameterError
from bldgwatch.console.influxql import (
    ReadingsQuery,
    check_identifier,
    check_window,
    latest_query,
    parse_every,
    quote_ident,
    quote_string,
    readings_query,
)

START = datetime(2026, 1, 1, tzinfo=UTC)  # 1767225600000 ms
END = START + timedelta(hours=1)  # 1767229200000 ms


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [("pump", '"pump"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ('x\\"', '"x\\\\\\""')],
)
def test_quote_ident(raw: str, quoted: str) -> None:
    assert quote_ident(raw) == quoted


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("P-01", "'P-01'"),
        ("it's", "'it\\'s'"),
        ("x' OR '1'='1", "'x\\' OR \\'1\\'=\\'1'"),
        ("a\\", "'a\\\\'"),
    ],
)
def test_quote_string(raw: str, quoted: str) -> None:
    assert quote_string(raw) == quoted


@pytest.mark.parametrize("good", ["bearing_temp_c", "L1", "A", "_x9"])
def test_identifiers_accepted(good: str) -> None:
    assert check_identifier("point", good) == good


@pytest.mark.parametrize(
    "bad", ['temp"', "temp'", "a b", "a;DROP", "", "température", "a-b", "a\nb", 'x") OR ("']
)
def test_identifiers_rejected_with_the_parameter_named(bad: str) -> None:
    with pytest.raises(BadParameterError) as info:
        check_identifier("point", bad)
    assert info.value.param == "point"
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("10s", timedelta(seconds=10)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("500ms", timedelta(seconds=0.5)),
    ],
)
def test_parse_every(text: str, delta: timedelta) -> None:
    assert parse_every(text).delta == delta
    assert parse_every(text).text == text


@pytest.mark.parametrize("bad", ["0s", "1", "m", "1y", "1m30s", "-1m", "1 m", "1m)", "01m"])
def test_parse_every_rejects(bad: str) -> None:
    with pytest.raises(BadParameterError) as info:
        parse_every(bad)
    assert info.value.param == "every"


@pytest.mark.parametrize(
    ("start", "end", "every", "param"),
    [
        (START.replace(tzinfo=None), END, None, "start"),
        (START, END.replace(tzinfo=None), None, "end"),
        (END, START, None, "start"),
        (START, START, None, "start"),
        (START, START + timedelta(days=400), None, "start"),
        (START, END, "100ms", "every"),  # 36 000 intervals
    ],
)
def test_check_window_rejects(
    start: datetime, end: datetime, every: str | None, param: str
) -> None:
    with pytest.raises(BadParameterError) as info:
        check_window(start, end, parse_every(every) if every else None)
    assert info.value.param == param


def _q(**kw: object) -> ReadingsQuery:
    values: dict[str, object] = {
        "measurement": "pump",
        "site": "demo",
        "equipment": "P-01",
        "points": ("bearing_temp_c",),
        "start": START,
        "end": END,
        "every": None,
        "limit": 100,
    }
    values.update(kw)
    return ReadingsQuery(**values)  # type: ignore[arg-type]


def test_raw_query() -> None:
    assert readings_query(_q(points=("bearing_temp_c", "running"))) == (
        'SELECT "bearing_temp_c", "running" FROM "pump" WHERE "site" = \'demo\' AND '
        "\"equipment\" = 'P-01' AND time >= 1767225600000ms AND time <= 1767229200000ms "
        "ORDER BY time DESC LIMIT 100"
    )


def test_mean_query() -> None:
    assert readings_query(_q(every=parse_every("1m"), limit=60)) == (
        'SELECT mean("bearing_temp_c") AS "bearing_temp_c" FROM "pump" WHERE '
        "\"site\" = 'demo' AND \"equipment\" = 'P-01' AND time >= 1767225600000ms AND "
        "time <= 1767229200000ms GROUP BY time(1m) ORDER BY time DESC LIMIT 60"
    )


def test_values_cannot_escape_their_literal() -> None:
    query = readings_query(_q(site="demo' OR time > 0 --", equipment="a\\'"))
    assert "\"site\" = 'demo\\' OR time > 0 --'" in query
    assert "\"equipment\" = 'a\\\\\\''" in query


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"points": ('x"',)}, "point"),
        ({"points": ()}, "point"),
        ({"points": ("time",)}, "point"),
        ({"points": tuple(f"p{i}" for i in range(21))}, "point"),
        ({"limit": 0}, "limit"),
    ],
)
def test_readings_query_rejects(kw: dict[str, object], param: str) -> None:
    with pytest.raises(BadParameterError) as info:
        readings_query(_q(**kw))
    assert info.value.param == param


def test_latest_query_one_statement_per_valid_point() -> None:
    assert latest_query("pump", "demo", "P-01", ["flow", 'bad"name']) == (
        'SELECT last("flow") AS "flow" FROM "pump" WHERE "site" = \'demo\' AND '
        "\"equipment\" = 'P-01'"
    )
    assert latest_query("pump", "demo", "P-01", ["a", "b"]).count("; SELECT") == 1
    # A round's live value: the last one in a window around the reading (review 19r M5).
    start = datetime(2026, 3, 2, tzinfo=UTC)
    window = (start, start + timedelta(minutes=20))
    assert latest_query("pump", "demo", "P-01", ["flow"], between=window).endswith(
        f"AND time >= {1772409600000}ms AND time <= {1772409600000 + 1_200_000}ms"
    )
