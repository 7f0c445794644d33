"""The catalogue of maintenance's texts: every table of `texts_*` in one `Catalogue`.

`text(key, lang, **params)` renders one message; `english(message)` is what older columns and
logs keep (the order's `title`, a timeline row's `note`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bldgwatch.core import i18n
from bldgwatch.maintenance.i18n import Catalogue, Message
from bldgwatch.maintenance.texts_kpis import KPIS
from bldgwatch.maintenance.texts_mail import MAIL
from bldgwatch.maintenance.texts_orders import ORDERS
from bldgwatch.maintenance.texts_report import REPORT

CATALOGUE = Catalogue(ORDERS, KPIS, REPORT, MAIL)


def text(key: str, lang: str, **params: Any) -> str:
    """One message in `lang`."""
    return CATALOGUE.text(key, lang, **params)


def render(message: Message | Mapping[str, Any], lang: str) -> str:
    """A message (or its stored form) in `lang`."""
    return CATALOGUE.render(message, lang)


def english(message: Message | Mapping[str, Any]) -> str:
    """A message in English."""
    return CATALOGUE.render(message, "en")


class _Titled(Protocol):
    title: str
    title_key: str | None
    title_params: dict[str, Any] | None


def order_title(order: _Titled, lang: str) -> str:
    """An order's title in `lang`: its catalogue key and parameters (`core.i18n`) when the
    system wrote it, else the title as written."""
    if order.title_key is None:
        return order.title
    return i18n.render(order.title_key, order.title_params or {}, lang, default=order.title)


def order_text(texts: Mapping[str, Any] | None, part: str, fallback: str, lang: str) -> str:
    """An order's system-written text (`description`) in `lang`; `fallback` (the
    stored column) for orders whose text a person wrote or that predate messages."""
    stored = (texts or {}).get(part)
    return render(stored, lang) if isinstance(stored, Mapping) else fallback


def event_text(message: Mapping[str, Any] | None, note: str, lang: str) -> str:
    """A timeline row's text in `lang`: the system's message, or the person's note."""
    return render(message, lang) if message else note
