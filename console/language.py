"""The reader's language for texts the server renders (order titles, timeline notes, KPI
names, reports): `?lang=` when given, else the Accept-Language header; zh-CN by default.
Maintenance keeps those texts as message keys and parameters (`maintenance.i18n`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query

from bldgwatch.maintenance.i18n import language


def reader_language(
    lang: Annotated[
        str | None,
        Query(
            max_length=35,
            pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
            description="zh-CN or en; default: the Accept-Language header, else zh-CN.",
        ),
    ] = None,
    accept_language: Annotated[
        str | None,
        Header(max_length=500, description="Used when `lang` is not given."),
    ] = None,
) -> str:
    """zh-CN or en."""
    return language(lang or accept_language)


Lang = Annotated[str, Depends(reader_language)]
