"""Pagination: `limit`/`offset` parameters, the page envelope, and paging the console's own
tables (other packages' tables are paged by their query functions); and keyset paging of
listings that grow while they are read (a store's ledger): `after` a position the page
before gave as `next`, so rows added meanwhile neither shift nor repeat the later pages."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar, cast

from fastapi import Depends, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field
from sqlalchemy import Select, SQLColumnExpression
from sqlalchemy.orm import Session

from bldgwatch.console.errors import BadParameterError
from bldgwatch.core import db
from bldgwatch.core.db import Keyset
from bldgwatch.core.i18n import Message

ItemT = TypeVar("ItemT")
ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000
"""Deepest page start accepted: beyond it a listing is searched with filters, not paged."""
MAX_ID = 2_147_483_647
"""Largest numeric id (work orders, tokens): the databases' 32-bit integer columns."""
YEARS = r"(19[7-9][0-9]|2[01][0-9][0-9])"
"""The supported years, 1970–2199: no equipment data is older, and the time-series store
cannot hold much later times."""
EARLIEST = datetime(1969, 12, 31, tzinfo=UTC)
LATEST = datetime(2200, 1, 2, tzinfo=UTC)
"""The same range in UTC, a day wider for zone offsets (2199-12-31T23:00-09:00 is 2200 UTC)."""
MONTH = rf"^{YEARS}-(0[1-9]|1[0-2])$"
"""YYYY-MM from 1970-01 to 2199-12."""
DAY = rf"^{YEARS}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
"""YYYY-MM-DD from 1970-01-01 to 2199-12-31."""
PATTERN_WORDS = {DAY: "validation.pattern_day"}
"""Shared patterns a refusal says in words (catalogue key), not as the regex (review 20c L6)."""
OUT_OF_RANGE = "must be a time in the years 1970 to 2199"
NOT_ISO = "must be an ISO 8601 time with a zone, e.g. 2026-01-31T08:00:00+08:00"
NOT_WHOLE = "must be a whole number written in digits, e.g. 42"
_ISO_START = re.compile(rf"{YEARS}-")
_DIGITS = re.compile(r"[0-9]+")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text (or a datetime made in code): pydantic alone also takes Unix
    seconds, negative ones included, which the document does not offer."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise ValueError(NOT_ISO)
    return value


def _digits(value: object) -> object:
    """Only digits (or an int made in code): pydantic alone also takes "1.0" and "1e0"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise ValueError(NOT_WHOLE)
    return value


def _supported(when: datetime) -> datetime:
    if not EARLIEST <= when < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return when


When = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(_supported),
    Field(json_schema_extra={"pattern": f"^{YEARS}-"}),
]
"""An ISO 8601 time with a zone, in the supported years (the document says so as a pattern)."""

DIGITS_ONLY = BeforeValidator(_digits)
"""Last in a numeric id's `Annotated[int, Path(ge=1, le=MAX_ID), DIGITS_ONLY]`: digits only
(placed before `Path`, it would turn the range in the OpenAPI document into raw `ge`/`le`)."""


@dataclass(frozen=True, slots=True)
class PageParams:
    """Which slice of a listing to return."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1–{MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description=f"Items to skip, 0–{MAX_OFFSET}.")
    ] = 0,
) -> PageParams:
    """The `limit` and `offset` query parameters."""
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]

OnlySite = Annotated[str | None, Query(max_length=64, description="Only this site.")]
"""The `site` filter of a listing."""
OnlyEquipment = Annotated[str | None, Query(max_length=64, description="Only this equipment.")]
"""The `equipment` filter of a listing."""


class Page(BaseModel, Generic[ItemT]):
    """One page of a listing."""

    items: list[ItemT] = Field(description="The items of this page, in the listing's order.")
    total: int = Field(description="How many items match the filters, over all pages.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="How many matching items precede this page.")


def fetch_page(
    session: Session,
    stmt: Select[Any],
    order_by: Sequence[SQLColumnExpression[Any]],
    paging: PageParams,
) -> tuple[Sequence[Any], int]:
    """The page's ORM objects in order, and the total matching `stmt`."""
    return db.fetch_page(session, stmt, order_by, limit=paging.limit, offset=paging.offset)


def page_of(
    session: Session,
    stmt: Select[Any],
    order_by: Sequence[SQLColumnExpression[Any]],
    paging: PageParams,
    item: type[ModelT],
) -> Page[ModelT]:
    """One page of `stmt`'s rows in order, each read into `item` (from attributes)."""
    return to_page(*fetch_page(session, stmt, order_by, paging), paging, item)


def to_page(
    rows: Sequence[Any], total: int, paging: PageParams, item: type[ModelT]
) -> Page[ModelT]:
    """The page envelope of rows an owner's query function returned, each read into `item`."""
    page_type = cast("type[Page[ModelT]]", Page[item])  # type: ignore[valid-type]
    return page_type(
        items=[item.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


After = Annotated[
    str | None,
    Query(
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Go on after this position: the `next` of the page before (none: the "
        "first page).",
    ),
]
"""The `after` parameter of a keyset-paged listing."""


class CursorPage(BaseModel, Generic[ItemT]):
    """One page of a listing paged by position (newest first)."""

    items: list[ItemT] = Field(description="The items of this page, newest first.")
    next: str | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


def cursor_of(key: Keyset) -> str:
    """The opaque text of a position (what `next` says)."""
    raw = f"{key.at.astimezone(UTC).isoformat()}|{key.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def keyset_of(text: str | None, param: str = "after") -> Keyset | None:
    """The position `text` names (None for none); 400 naming `param` for text that is not
    a position a listing gave."""
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at_text, id_text = raw.split("|")
        at, id_ = datetime.fromisoformat(at_text), int(id_text)
        if at.tzinfo is None or not EARLIEST <= at < LATEST or not 1 <= id_ <= MAX_ID:
            raise ValueError(raw)
    except (ValueError, UnicodeDecodeError, binascii.Error) as err:
        message = Message("error.paging.cursor", {"param": param})
        raise BadParameterError(message, param=param) from err
    return Keyset(at, id_)


RowT = TypeVar("RowT")


def cut_page(
    rows: Sequence[RowT], limit: int, key: Callable[[RowT], Keyset]
) -> tuple[Sequence[RowT], str | None]:
    """The page of `rows` (read with `limit + 1`, newest first) and the `next` position:
    None when no row is beyond the page."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], cursor_of(key(rows[limit - 1]))
