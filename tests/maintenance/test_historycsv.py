"""The history CSV as people write it: BOM, event names, Excel dates, bad rows by line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bldgwatch.maintenance.errors import HistoryError
from bldgwatch.maintenance.historycsv import (
    LifeEvent,
    event_of,
    parse_time,
    read_history,
    read_history_file,
)

GOOD = (
    "asset_id,asset_class,event,at\n"
    "P-1,pump,install,2020-01-01T00:00:00Z\n"
    "P-1,pump,failure,2021-03-04T05:06:07Z\n"
    "E-1,elevator,installed,2019-05-01\n"
)


def test_a_bom_from_excel_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(GOOD.encode("utf-8-sig"))
    lives = read_history_file(path)
    assert sorted(lives) == ["E-1", "P-1"]
    assert lives["P-1"].installed and lives["E-1"].installed
    # the same text handed over as a string keeps its BOM character: still read
    assert sorted(read_history(("\ufeff" + GOOD).splitlines(keepends=True))) == ["E-1", "P-1"]


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("install", LifeEvent.INSTALLED),
        ("Installed", LifeEvent.INSTALLED),
        (" commissioned ", LifeEvent.INSTALLED),
        ("安装", LifeEvent.INSTALLED),
        ("Failure", LifeEvent.FAILURE),
        ("break-down", None),
        ("breakdown", LifeEvent.FAILURE),
        ("故障", LifeEvent.FAILURE),
        ("major repair", LifeEvent.OVERHAUL),
        ("大修", LifeEvent.OVERHAUL),
        ("replacement", LifeEvent.REPLACED),
        ("更换", LifeEvent.REPLACED),
        ("exploded", None),
    ],
)
def test_event_names_a_user_would_write(text: str, event: LifeEvent | None) -> None:
    assert event_of(text) is event


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2026-01-05T08:30:00Z", datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),
        ("2026-01-05T16:30:00+08:00", datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
        ("2026/1/5 8:30", datetime(2026, 1, 5, 8, 30, tzinfo=UTC)),
        ("2026/01/05", datetime(2026, 1, 5, tzinfo=UTC)),
    ],
)
def test_times_iso_or_as_excel_shows_them(text: str, when: datetime) -> None:
    assert parse_time(text) == when


def test_every_bad_row_is_named_by_its_line() -> None:
    text = (
        "Asset_ID , asset_class,event,at,note\n"  # any case, spaces, extra columns
        "P-1,pump,install,2020-01-01,ok\n"
        "\n"  # blank lines are skipped, not errors
        "P-1,pump,exploded,2021-01-01,\n"
        "P-2,pump,failure,yesterday,\n"
        "P-3,pump\n"
        "P-1,fan,failure,2021-01-01,\n"
        'P-4,pump,failure,2021-02-02,"a note\nover two lines"\n'
        "P-5,,failure,2021-01-01,\n"
    )
    with pytest.raises(HistoryError) as err:
        read_history(text.splitlines(keepends=True))
    message = str(err.value)
    assert message.splitlines() == [
        "5 bad rows:",
        "line 4: unknown event 'exploded' (known: installed, failure, overhaul, replaced)",
        "line 5: bad time 'yesterday' (ISO-8601, e.g. 2026-01-05T08:30:00Z)",
        "line 6: expected at least 4 fields, got 2",
        "line 7: P-1 changes class (pump → fan)",
        "line 10: missing asset_class",
    ]
    kept = read_history(text.splitlines(keepends=True), skip_bad_rows=True)
    assert sorted(kept) == ["P-1", "P-4"]
    assert [b.line for b in kept.bad_rows] == [4, 5, 6, 7, 10]


def test_an_unterminated_quote_is_reported_where_it_opens() -> None:
    text = (
        "asset_id,asset_class,event,at\n"
        "P-1,pump,install,2020-01-01\n"
        'P-1,"pump,failure,2021-01-01\n'  # the quote never closes
        "P-2,pump,install,2020-01-01\n"
    )
    with pytest.raises(HistoryError, match=r"^line 3: unterminated quote"):
        read_history(text.splitlines(keepends=True))


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("asset_id,asset_class,event,at\nP-1,水泵,故障,2021-01-01\n".encode("gbk"))
    with pytest.raises(HistoryError, match="line 2: not UTF-8"):
        read_history_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "line 1: empty file"), ("id,event\n", "line 1: header lacks asset_id, asset_class, at")],
)
def test_empty_or_headless_files(text: str, message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        read_history(text.splitlines(keepends=True))


def test_a_site_column_keeps_same_named_assets_apart() -> None:
    text = (
        "site,asset_id,asset_class,event,at\n"
        "campus,E-01,elevator,installed,2010-01-01\n"
        "harbour,E-01,elevator,installed,2020-01-01\n"
        "harbour,E-01,elevator,failure,2021-01-01\n"
    )
    lives = read_history(text.splitlines(keepends=True))
    assert sorted(lives) == ["campus/E-01", "harbour/E-01"]
    assert lives["harbour/E-01"].site == "harbour" and len(lives["harbour/E-01"].failures) == 1
    assert lives["campus/E-01"].asset_id == "E-01" and not lives["campus/E-01"].failures
