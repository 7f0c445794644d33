"""Pagination: `limit`/`offset` parameters, the page envelope, and counting a query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, cast

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.orm import Session

ItemT = TypeVar("ItemT")
ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class PageParams:
    """Which slice of a listing to return."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1–{MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Items to skip from the start.")] = 0,
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
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.order_by(*order_by).limit(paging.limit).offset(paging.offset)).all()
    return rows, int(total or 0)


def where_given(
    stmt: Select[Any], *filters: tuple[SQLColumnExpression[Any], object]
) -> Select[Any]:
    """`stmt` narrowed to `column == value` for each filter whose value is not None."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def page_of(
    session: Session,
    stmt: Select[Any],
    order_by: Sequence[SQLColumnExpression[Any]],
    paging: PageParams,
    item: type[ModelT],
) -> Page[ModelT]:
    """One page of `stmt`'s rows in order, each read into `item` (from attributes)."""
    rows, total = fetch_page(session, stmt, order_by, paging)
    page_type = cast("type[Page[ModelT]]", Page[item])  # type: ignore[valid-type]
    return page_type(
        items=[item.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
