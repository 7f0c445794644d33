"""Who is asking. Now a development user; issue 8 puts OAuth2 + JWT, roles and site scoping here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy import ColumnElement, SQLColumnExpression, true

ROLES = ("engineer", "technician", "supervisor")


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated user; `sites` None means every site."""

    name: str
    roles: frozenset[str]
    sites: frozenset[str] | None = None

    def site_filter(self, column: SQLColumnExpression[str]) -> ColumnElement[bool]:
        """A WHERE clause limiting `column` (a site column) to the user's sites."""
        if self.sites is None:
            return true()
        return column.in_(sorted(self.sites))

    def may_see(self, site: str) -> bool:
        """Whether the user may see anything of `site`."""
        return self.sites is None or site in self.sites


DEV_USER = User(name="dev", roles=frozenset(ROLES))


def current_user() -> User:
    """The user of this request (always the dev user until authentication arrives)."""
    return DEV_USER


CurrentUser = Annotated[User, Depends(current_user)]
