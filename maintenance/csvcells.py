"""Cells of the CSV files people open in a spreadsheet (Excel, WPS): text that a spreadsheet
would run as a formula is neutralised, as OWASP recommends for CSV injection — a cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so it reads as
text. Numbers stay numbers (a negative amount is not text a person typed)."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """`value` as a CSV cell: text starting like a formula prefixed with `'`, else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
