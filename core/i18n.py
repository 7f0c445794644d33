"""The server's message catalogue: texts by key with named parameters, in zh-CN and en.

Everything user-facing the server produces (alarm messages, work-order titles, problem
details, notices, reports) is a `Message` — a key and its parameters — stored as such and
rendered in the reader's language when it is shown: `render(key, params, locale)`.

The catalogues are gettext `.po` files kept in the repository as source
(`core/locale/<locale>/LC_MESSAGES/bldgwatch.po`, the key is the `msgid`) and read with Babel
at first use; nothing is compiled. A template uses `str.format` fields: `{value:.1f}` formats
a number with the locale's separators (Babel), a parameter that is itself a message
(`{"key": ..., "params": {...}}`) is rendered in the same language, a list parameter is a list
in the locale's way (`{roles:or}`: "a, b, or c" / "a、b或c"; `{roles}`: "a, b, and c" /
"a、b和c") with its items rendered like parameters, and a missing or NaN value shows as a
dash. Times show on a 24-hour clock in a given zone, with the zone.

Needs the `server` extra (Babel); the gateway never imports it.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from babel.dates import format_datetime as babel_datetime
from babel.lists import format_list
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "Message",
    "catalogue",
    "format_number",
    "format_quantity",
    "format_template",
    "format_time",
    "negotiate",
    "normalize_locale",
    "render",
]

logger = logging.getLogger(__name__)

LOCALES = ("zh-CN", "en")
"""The languages of the catalogue, as BCP 47 tags (what browsers send and the UI uses)."""
DEFAULT_LOCALE = "zh-CN"
"""The language when nothing else decides (users are Chinese teams first)."""
FALLBACK_LOCALE = "en"
"""Where a key missing in one language is looked up next."""
DOMAIN = "bldgwatch"
MISSING = "—"
TIME_PATTERN = "yyyy-MM-dd HH:mm ZZZZ"
"""24-hour clock, zone shown as its offset: `2026-12-06 14:05 GMT+08:00`."""

_BABEL = {"zh-CN": "zh_CN", "en": "en"}
_FIXED = re.compile(r"^[,]?\.(\d+)f$")
_LIST_STYLES: dict[str, Literal["standard", "or"]] = {"": "standard", "and": "standard", "or": "or"}
"""Format specs of a list parameter and the CLDR list style each means."""
_LANG_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q=([0-9.]+))?\s*$"
)


@dataclass(frozen=True, slots=True)
class Message:
    """A catalogue key and its named parameters (values: numbers, text, or Messages)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, locale: str, *, default: str | None = None) -> str:
        """The text in `locale`."""
        return render(self.key, self.params, locale, default=default)

    def to_json(self, default: str | None = None) -> dict[str, Any]:
        """`{"key", "params"}` with nested messages as mappings (what tables store); with a
        `default`, the text shown where the catalogue lacks the key (a nested parameter)."""
        found: dict[str, Any] = {"key": self.key, "params": _plain(self.params)}
        if default is not None:
            found["default"] = default
        return found


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain_value(v) for k, v in params.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    return value


@functools.lru_cache(maxsize=256)
def normalize_locale(tag: str | None) -> str | None:
    """The catalogue locale a language tag means (`zh`, `zh-Hans-CN`, `en-GB` …), or None."""
    if not tag:
        return None
    parts = tag.replace("_", "-").lower().split("-")
    if parts[0] == "zh":
        return "zh-CN"
    if parts[0] == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best catalogue locale of an `Accept-Language` header (by q-value), or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")[:32]):
        match = _LANG_RANGE.match(item)
        if match is None:
            continue
        try:
            q = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        locale = normalize_locale(match.group(1))
        if locale is not None and q > 0:
            ranked.append((-q, index, locale))
    return min(ranked)[2] if ranked else None


def pick_locale(*candidates: str | None) -> str:
    """The first candidate naming a catalogue locale, else the default."""
    for candidate in candidates:
        locale = normalize_locale(candidate)
        if locale is not None:
            return locale
    return DEFAULT_LOCALE


def catalogue_path(locale: str) -> Path:
    """Where the `.po` file of a locale lives (in the installed package)."""
    root = resources.files("bldgwatch.core") / "locale"
    return Path(str(root / _BABEL[locale] / "LC_MESSAGES" / f"{DOMAIN}.po"))


@functools.cache
def catalogue(locale: str) -> Mapping[str, str]:
    """Key → template of one locale, read from its `.po` file once."""
    path = catalogue_path(locale)
    with path.open("rb") as handle:
        po = read_po(handle, locale=_BABEL[locale], domain=DOMAIN)
    found = {str(m.id): str(m.string) for m in po if m.id and isinstance(m.id, str) and m.string}
    logger.debug("catalogue %s: %d messages from %s", locale, len(found), path)
    return found


def template(key: str, locale: str) -> str | None:
    """The template of `key` in `locale`, else in English, else None."""
    found = catalogue(locale).get(key)
    if found is None and locale != FALLBACK_LOCALE:
        found = catalogue(FALLBACK_LOCALE).get(key)
    return found


class _Formatter(string.Formatter):
    """`str.format` with locale-aware numbers, nested messages and a dash for the missing."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(str(key))

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        if isinstance(value, Message | Mapping | list | tuple | bool):
            return self._text(value, format_spec)
        if isinstance(value, int | float):
            match = _FIXED.match(format_spec)
            if match is not None or not format_spec:
                digits = int(match.group(1)) if match else None
                return format_number(value, self.locale, digits)
        return str(super().format_field(value, format_spec))

    def _text(self, value: Message | Mapping[str, Any] | Sequence[Any] | bool, spec: str) -> str:
        """A parameter that is itself text of the catalogue: a message, yes/no, a list."""
        if isinstance(value, Message):
            return value.render(self.locale)
        if isinstance(value, Mapping):
            if "key" not in value:
                return str(super().format_field(value, spec))
            default = value.get("default")
            params = value.get("params") or {}
            return render(str(value["key"]), params, self.locale, default=default)
        if isinstance(value, bool):
            return render("value.true" if value else "value.false", {}, self.locale)
        return self._list(value, spec)

    def _list(self, values: Sequence[Any], format_spec: str) -> str:
        style = _LIST_STYLES.get(format_spec)
        if style is None:
            raise ValueError(f"list format {format_spec!r} is not one of {sorted(_LIST_STYLES)}")
        items = [self.format_field(v, "") for v in values]
        if not items:
            return MISSING
        return str(format_list(items, style=style, locale=_BABEL[self.locale]))


def render(
    key: str, params: Mapping[str, Any] | None, locale: str, *, default: str | None = None
) -> str:
    """The text of `key` with `params` in `locale` (English when the key has no text in it).

    Args:
        key: Catalogue key, e.g. `rule.pump.bearing_temp_high`.
        params: Named parameters of its template.
        locale: `zh-CN` or `en` (other tags are normalised; unknown ones mean the default).
        default: Template used when no catalogue has the key (e.g. a custom rule's message);
            without it the key itself is shown.
    """
    loc = normalize_locale(locale) or DEFAULT_LOCALE
    text = template(key, loc)
    if text is None:
        if default is None:
            logger.debug("no message %r in the catalogue", key)
            return key
        text = default
    return format_template(text, params, loc)


def format_template(text: str, params: Mapping[str, Any] | None, locale: str) -> str:
    """A template (catalogue text or a custom rule's message) filled in `locale`; a template
    that does not format is shown as written (and logged)."""
    loc = normalize_locale(locale) or DEFAULT_LOCALE
    values = params or {}
    try:
        fields = _fields(text)
        formatter = _formatter(loc)
        if fields is None:
            return str(formatter.vformat(text, (), dict(values)))
        return "".join(
            literal if name is None else literal + formatter.format_field(values.get(name), spec)
            for literal, name, spec in fields
        )
    except (ValueError, TypeError, IndexError, KeyError) as err:
        logger.warning("template %r (%s) does not format: %s", text, loc, err)
        return text


@functools.lru_cache(maxsize=256)
def _formatter(locale: str) -> _Formatter:
    return _Formatter(locale)


@functools.lru_cache(maxsize=8192)
def _fields(text: str) -> tuple[tuple[str, str | None, str], ...] | None:
    """A template parsed once: (literal, field name or None, format spec) in order; None when
    a field is more than a plain name (an index, a conversion, a nested spec), which the full
    `str.format` machinery then handles."""
    fields: list[tuple[str, str | None, str]] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            fields.append((literal, None, ""))
            continue
        if conversion or not name.isidentifier() or "{" in (spec or ""):
            return None
        fields.append((literal, name, spec or ""))
    return tuple(fields)


def format_number(value: float, locale: str, precision: int | None = None) -> str:
    """A number with the locale's separators; `precision` decimals (None: as needed, ≤ 3)."""
    if math.isnan(value) or math.isinf(value):
        return MISSING
    loc = _BABEL[normalize_locale(locale) or DEFAULT_LOCALE]
    if precision is None:
        if float(value).is_integer():
            return format_decimal(value, format="#,##0", locale=loc)
        return format_decimal(value, format="#,##0.###", locale=loc)
    pattern = "#,##0" + ("." + "0" * precision if precision > 0 else "")
    return format_decimal(round(value, precision), format=pattern, locale=loc)


def format_quantity(
    value: float | bool | None, unit: str, precision: int | None, locale: str
) -> str:
    """A value with its unit (`87.3 °C`), yes/no for booleans, a dash for none."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return render("value.true" if value else "value.false", {}, locale)
    text = format_number(float(value), locale, precision)
    return f"{text} {unit}" if unit and text != MISSING else text


def format_time(at: datetime, zone: tzinfo, locale: str) -> str:
    """A moment on a 24-hour clock in `zone`, with the zone: `2026-12-06 14:05 GMT+08:00`."""
    loc = _BABEL[normalize_locale(locale) or DEFAULT_LOCALE]
    return str(babel_datetime(at, TIME_PATTERN, tzinfo=zone, locale=loc))
