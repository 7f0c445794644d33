"""Pagination: `limit`/`offset` parameters, the page envelope, and counting a query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.orm import Session

ItemT = TypeVar("ItemT")
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
