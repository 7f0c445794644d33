"""The life-history CSV of `bldgwatch score`: reading it as people actually write it. Pure.

Columns `asset_id,asset_class,event,at` (any order, any case, extra columns ignored), and an
optional `site` (an asset is then known by site and id; a class is fitted across sites and
per site, see `maintenance.fleetfit`). The file
is UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" writes one). Events may be
written as a user would: `install`/`installed`/`commissioned`, `failure`/`fault`/`breakdown`,
`overhaul`/`overhauled`, `replaced`/`replacement`, or in Chinese (安装, 故障, 大修, 更换). Times
are ISO-8601 or Excel's `2026/1/5 8:30`; a time without a zone is UTC.

Every bad row is reported with its line number and what is wrong (an unterminated quote
included); `read_history` refuses the file when any row is bad, unless told to skip them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from bldgwatch.maintenance.errors import HistoryError

COLUMNS = ("asset_id", "asset_class", "event", "at")
MAX_LISTED = 20  # bad rows named in an error; the rest are counted


class LifeEvent(StrEnum):
    """Events of the history CSV."""

    INSTALLED = "installed"
    FAILURE = "failure"
    OVERHAUL = "overhaul"
    REPLACED = "replaced"


ALIASES: dict[str, LifeEvent] = {
    **dict.fromkeys(
        ("installed", "install", "installation", "commissioned", "安装", "投用"),
        LifeEvent.INSTALLED,
    ),
    **dict.fromkeys(
        ("failure", "failed", "fault", "breakdown", "故障", "报修", "维修"), LifeEvent.FAILURE
    ),
    **dict.fromkeys(("overhaul", "overhauled", "major_repair", "大修"), LifeEvent.OVERHAUL),
    **dict.fromkeys(("replaced", "replace", "replacement", "更换"), LifeEvent.REPLACED),
}
RENEWALS = frozenset({LifeEvent.INSTALLED, LifeEvent.OVERHAUL, LifeEvent.REPLACED})
# Excel's display forms: 2026/1/5, 2026-1-5 (zh-CN short date), 2026年1月5日 (long date)
_SLASHED = re.compile(
    r"^(\d{4})(?:/|-|\s*年\s*)(\d{1,2})(?:/|-|\s*月\s*)(\d{1,2})\s*日?"
    r"(?:[ T]\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
EARLIEST_YEAR = 1900  # an earlier time is a typing error, not an install date


@dataclass(slots=True)
class AssetLife:
    """One asset's history: when its age started over, and when it failed."""

    asset_id: str
    asset_class: str
    renewals: list[datetime] = field(default_factory=list)  # install first, when known
    failures: list[datetime] = field(default_factory=list)
    installed: bool = False
    site: str = ""  # from the optional `site` column; "" when the file has none
    lines: dict[tuple[LifeEvent, datetime], int] = field(default_factory=dict)
    """Line of the file each event was read from (empty when not read from a file)."""

    @property
    def key(self) -> str:
        """Unique within a file: `site/asset_id` when the file names sites."""
        return f"{self.site}/{self.asset_id}" if self.site else self.asset_id


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be read: its line number and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_time(text: str) -> datetime:
    """ISO-8601 or `YYYY/M/D [H:MM[:SS]]`; a time without zone is taken as UTC."""
    text = text.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        slashed = _SLASHED.match(text)
        if not slashed:
            raise
        y, m, d, hh, mm, ss = (int(g) if g else 0 for g in slashed.groups())
        return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def event_of(text: str) -> LifeEvent | None:
    """The event a cell names, or None."""
    found = ALIASES.get(text)
    if found is None:
        found = ALIASES.get(re.sub(r"[\s\-]+", "_", text.strip().lower()))
    return found


def _header(cells: list[str]) -> tuple[tuple[int, int, int, int], int | None]:
    """Where each column is, and the optional `site` column (names trimmed, any case, a
    leading BOM dropped)."""
    names = [c.strip().lstrip("\ufeff").strip().lower() for c in cells]
    absent = [c for c in COLUMNS if c not in names]
    if absent:
        raise HistoryError(f"line 1: header lacks {', '.join(absent)} (has {', '.join(names)})")
    a, b, c, d = (names.index(c) for c in COLUMNS)
    return (a, b, c, d), names.index("site") if "site" in names else None


def _row(
    cells: list[str], where: tuple[int, int, int, int]
) -> tuple[str, str, LifeEvent, datetime] | str:
    """The row's fields, or why it cannot be read."""
    if len(cells) <= max(where):
        return f"expected at least {max(where) + 1} fields, got {len(cells)}"
    asset_id, asset_class = cells[where[0]].strip(), cells[where[1]].strip()
    event_text, at_text = cells[where[2]].strip(), cells[where[3]].strip()
    if not (asset_id and asset_class and event_text and at_text):
        values = zip(COLUMNS, (asset_id, asset_class, event_text, at_text), strict=True)
        return f"missing {', '.join(k for k, v in values if not v)}"
    event = event_of(event_text)
    if event is None:
        return f"unknown event {event_text!r} (known: installed, failure, overhaul, replaced)"
    try:
        at = parse_time(at_text)
    except ValueError:
        return f"bad time {at_text!r} (ISO-8601, e.g. 2026-01-05T08:30:00Z)"
    if at.year < EARLIEST_YEAR:
        return f"implausible time {at_text!r} (before {EARLIEST_YEAR})"
    return asset_id, asset_class, event, at


def _quote_reason(err: csv.Error) -> str:
    """The csv module's complaint in a user's words."""
    text = str(err)
    if "unexpected end of data" in text:
        return "unterminated quote: the quoted field runs to the end of the file"
    if "expected after" in text:
        return "text after a closing quote (a quoted cell must end at its quote; remove the quote)"
    return f"bad quoting ({text})"


def _records(lines: Iterable[str], bad: list[BadRow]) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each non-blank record. A quoting error is a bad row and
    reading goes on at the next line (after an unterminated quote: at the line after the
    one it opens)."""
    text = list(lines)
    start = 0  # index into `text` the current reader began at
    while start < len(text):
        reader = csv.reader(text[start:], strict=True)
        line = start + 1
        try:
            for cells in reader:
                if len(cells) > 1 or (cells and cells[0].strip()):
                    yield line, cells
                line = start + reader.line_num + 1
            return
        except csv.Error as err:
            bad.append(BadRow(line, _quote_reason(err)))
            start = line  # the line after the one the bad record opens


def read_history(lines: Iterable[str], *, skip_bad_rows: bool = False) -> HistoryLives:
    """Parse the history CSV. A bad row raises HistoryError naming every bad line (up to
    `MAX_LISTED`), unless `skip_bad_rows`: then they are left out and `bad_rows` of the
    result lists them. A row repeating an earlier one of the same asset is counted once and
    noted in `notes`."""
    bad: list[BadRow] = []
    records = _records(lines, bad)
    first = next(records, None)
    if first is None or (bad and bad[0].line <= first[0]):
        raise HistoryError(bad[0].__str__() if bad else "line 1: empty file, no header")
    where, site_at = _header(first[1])
    lives = HistoryLives()
    rows = 0
    for line, cells in records:
        rows += 1
        parsed = _row(cells, where)
        if isinstance(parsed, str):
            bad.append(BadRow(line, parsed))
            continue
        site = cells[site_at].strip() if site_at is not None and site_at < len(cells) else ""
        problem = lives.add(line, parsed, site)
        if problem is not None:
            bad.append(BadRow(line, problem))
    if rows == 0 and not bad:
        raise HistoryError("no rows after the header: nothing to score")
    if bad and not skip_bad_rows:
        raise HistoryError(_summary(bad))
    for life in lives.values():
        life.renewals.sort()
        life.failures.sort()
    lives.bad_rows = bad
    return lives


def check_history(lives: HistoryLives, as_of: datetime) -> list[BadRow]:
    """Rows read but left out of the score at `as_of`: failures before the asset's install
    (one line each) and events after `as_of` (counted, the first named)."""
    notes: list[BadRow] = []
    later: list[int] = []
    for life in lives.values():
        installs = [at for (event, at) in life.lines if event is LifeEvent.INSTALLED]
        installed = min(installs) if installs else None
        for (event, at), line in life.lines.items():
            if at > as_of:
                later.append(line)
            elif event is LifeEvent.FAILURE and installed is not None and at < installed:
                reason = f"{life.asset_id} fails before its install ({installed:%Y-%m-%d}); ignored"
                notes.append(BadRow(line, reason))
    if later:
        more = f" (and {len(later) - 1} more rows)" if len(later) > 1 else ""
        reason = f"after the as-of time {as_of:%Y-%m-%d %H:%M}Z{more}; not scored"
        notes.append(BadRow(min(later), reason))
    return sorted(notes, key=lambda n: n.line)


def _summary(bad: list[BadRow]) -> str:
    listed = "\n".join(str(b) for b in bad[:MAX_LISTED])
    more = f"\n… and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    head = "" if len(bad) == 1 else f"{len(bad)} bad rows:\n"
    return f"{head}{listed}{more}"


class HistoryLives(dict[str, AssetLife]):
    """The assets of a history file, the rows that were skipped and notes on rows counted
    once (duplicates)."""

    bad_rows: list[BadRow]
    notes: list[BadRow]

    def __init__(self) -> None:
        super().__init__()
        self.bad_rows = []
        self.notes = []

    def add(self, line: int, row: tuple[str, str, LifeEvent, datetime], site: str) -> str | None:
        """Add one row's event to its asset; why it cannot be added, or None."""
        asset_id, asset_class, event, at = row
        key = f"{site}/{asset_id}" if site else asset_id  # AssetLife.key
        life = self.get(key)
        if life is None:
            life = self[key] = AssetLife(asset_id, asset_class, site=site)
        if life.asset_class != asset_class:
            return f"{asset_id} changes class ({life.asset_class} → {asset_class})"
        first = life.lines.setdefault((event, at), line)
        if first != line:
            self.notes.append(BadRow(line, f"duplicate of line {first}; counted once"))
        elif event is LifeEvent.FAILURE:
            life.failures.append(at)
        else:
            life.renewals.append(at)
            life.installed = life.installed or event is LifeEvent.INSTALLED
        return None


def read_history_file(path: Path, *, skip_bad_rows: bool = False) -> HistoryLives:
    """Read a history CSV from disk: UTF-8 with or without BOM; bytes that are not UTF-8 are
    reported with their line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise HistoryError(
            f"line {line}: not UTF-8 (byte 0x{data[err.start]:02x}); save the file as "
            "'CSV UTF-8' and try again"
        ) from err
    lives = read_history(text.splitlines(keepends=True), skip_bad_rows=skip_bad_rows)
    assert isinstance(lives, HistoryLives)
    return lives
