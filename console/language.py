"""The reader's language for texts the server renders (order texts, timeline notes, KPI
names, reports): `?lang=` when given, else the reader's language as the console works it out
(`console.locale`: Accept-Language, the user's preference, their sites' language, zh-CN).
Maintenance keeps those texts as message keys and parameters (`maintenance.i18n`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from bldgwatch.console.locale import ReaderOf
from bldgwatch.maintenance.i18n import language


def reader_language(
    reader: ReaderOf,
    lang: Annotated[
        str | None,
        Query(
            max_length=35,
            pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
            description="zh-CN or en; default: Accept-Language, the user's preference, "
            "their sites' language, else zh-CN.",
        ),
    ] = None,
) -> str:
    """zh-CN or en."""
    return language(lang) if lang else reader.locale


Lang = Annotated[str, Depends(reader_language)]
