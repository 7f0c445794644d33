"""The reader's language: `Accept-Language`, then the user's preference, then the default
language of the user's sites (the site register), then zh-CN.

The web console sends its UI language as `Accept-Language`, so what it shows from the server
(alarm texts, work-order titles, problem details) is in the language of the page. Machines
that send none get their user's preference or their sites' language.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Collection
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.console.auth import User
from bldgwatch.console.models import PreferenceRow
from bldgwatch.core import i18n
from bldgwatch.maintenance import queries

logger = logging.getLogger(__name__)

SITES_TTL_S = 60.0
"""How long the sites' languages are remembered (they change with a site-file import)."""


class SiteLanguages:
    """Each site's default language, read from the register at most every `SITES_TTL_S`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._read_at = -SITES_TTL_S
        self._by_site: dict[str, str] = {}

    def _current(self) -> dict[str, str]:
        with self._lock:
            if time.monotonic() - self._read_at >= SITES_TTL_S:
                with self._sessions() as session:
                    self._by_site = queries.site_languages(session)
                self._read_at = time.monotonic()
            return self._by_site

    def default_for(self, sites: Collection[str] | None) -> str | None:
        """The language the user's sites share (the most common one), None if unknown."""
        languages = self._current()
        found = [lang for site, lang in sorted(languages.items()) if sites is None or site in sites]
        if not found:
            return None
        return max(dict.fromkeys(found), key=found.count)


def preference(sessions: sessionmaker[Session], user: str) -> str | None:
    """The language a user chose in the console, if any."""
    with sessions() as session:
        row = session.get(PreferenceRow, user)
        return None if row is None else row.language


def locale_of(request: Request) -> str:
    """The reader's language for this request (after authentication, if any)."""
    found = i18n.negotiate(request.headers.get("accept-language"))
    if found is not None:
        return found
    user = cast(User | None, getattr(request.state, "user", None))
    if user is None:
        return i18n.DEFAULT_LOCALE
    state = request.app.state
    try:
        chosen = preference(cast(sessionmaker[Session], state.sessions), user.name)
        site = cast(SiteLanguages, state.site_languages).default_for(user.sites)
    except SQLAlchemyError as err:  # a problem document must still be answered
        logger.debug("language of %s not read: %s", user.name, err)
        return i18n.DEFAULT_LOCALE
    return i18n.pick_locale(chosen, site)


class Reader:
    """The reader of a response: their language, worked out when first asked (routes ask
    after their access rule ran, so the user is known)."""

    def __init__(self, request: Request) -> None:
        self._request = request

    @functools.cached_property
    def locale(self) -> str:
        """zh-CN or en."""
        return locale_of(self._request)

    def text(self, key: str, params: object = None, *, default: str | None = None) -> str:
        """A catalogue text in the reader's language."""
        values = params if isinstance(params, dict) else {}
        return i18n.render(key, values, self.locale, default=default)


ReaderOf = Annotated[Reader, Depends(Reader)]
