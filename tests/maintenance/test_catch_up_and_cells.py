"""The monthly report's catch-up after missed months, and CSV cells a spreadsheet would run."""

from __future__ import annotations

import pytest

from bldgwatch.maintenance.csvcells import spreadsheet_safe
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.monthly import MAX_CATCH_UP, missed_months


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("bearing 6205", "bearing 6205"),
        ("", ""),
        (-12.5, -12.5),
        (3, 3),
    ],
)
def test_formula_cells_read_as_text_and_numbers_stay_numbers(cell: object, safe: object) -> None:
    assert spreadsheet_safe(cell) == safe


def test_missed_months_run_oldest_first_since_the_last_run() -> None:
    due = Period(2026, 4)
    assert [p.label for p in missed_months(due, "2026-01")] == ["2026-02", "2026-03", "2026-04"]
    assert [p.label for p in missed_months(due, "2026-04")] == ["2026-04"]


def test_a_site_without_runs_sends_only_the_due_month() -> None:
    assert [p.label for p in missed_months(Period(2026, 4), None)] == ["2026-04"]


def test_catch_up_is_bounded_to_a_year() -> None:
    months = missed_months(Period(2026, 4), "2020-01")
    assert len(months) == MAX_CATCH_UP
    assert (months[0].label, months[-1].label) == ("2025-05", "2026-04")
