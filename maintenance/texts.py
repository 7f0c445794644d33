"""Maintenance's texts from the project's message catalogue (`core.i18n`, keys `maintenance.*`).

`text(key, lang, **params)` renders one message; `english(message)` is what older columns and
logs keep (the order's `title`, a timeline row's `note`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bldgwatch.core import i18n
from bldgwatch.maintenance import i18n as messages
from bldgwatch.maintenance.i18n import Message


def text(key: str, lang: str, **params: Any) -> str:
    """One message in `lang`."""
    return messages.render(Message(key, params), lang)


def render(message: Message | Mapping[str, Any], lang: str) -> str:
    """A message (or its stored form) in `lang`."""
    return messages.render(message, lang)


def english(message: Message | Mapping[str, Any]) -> str:
    """A message in English."""
    return messages.render(message, "en")


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


def named(prefix: str, code: str | None) -> Message | str:
    """The message naming `code` in a list (`status`, `repair_class`, …); '–' for None, the
    code itself where the catalogue does not name it."""
    if code is None:
        return "–"
    key = f"{prefix}.{code}"
    return Message(key) if messages.known(key) else code


def fault(code: str) -> Message:
    """The fault code's name."""
    return Message("fault", {"code": code})
