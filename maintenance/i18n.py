"""Messages in the reader's language: a key and parameters, rendered in zh-CN or en.

Maintenance never stores a frozen sentence where the system writes the text (an order's title
from an alarm, a timeline note, a KPI name, the report, an e-mail): it stores a `Message` — a
key and plain parameters — and renders it when someone reads it, in their language. The
templates are the project's message catalogue (`core.i18n`, `core/locale/*/bldgwatch.po`),
under the key with the prefix `maintenance.`; a template is a `str.format` string over the
parameters, which keep their plain formatting (an order number stays `#1234`). A parameter
may itself be a message (a `Message`, or its stored form `{"key": …, "params": …}`), rendered
in the same language first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bldgwatch.core import i18n

LANGUAGES = ("zh-CN", "en")
"""The languages every text is rendered in; zh-CN first (the users read Chinese first)."""
DEFAULT_LANGUAGE = "zh-CN"


@dataclass(frozen=True, slots=True)
class Message:
    """A message key and its parameters (numbers, codes, text, or nested messages)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The stored form: {"key": …, "params": {…}}, nested messages the same way."""
        return {"key": self.key, "params": {k: _plain(v) for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """The message of a stored form."""
        return cls(str(data["key"]), dict(data.get("params") or {}))


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return value.as_dict()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def is_message(value: Any) -> bool:
    """A Message or its stored form."""
    return isinstance(value, Message) or (
        isinstance(value, Mapping) and isinstance(value.get("key"), str) and "params" in value
    )


def language(value: str | None) -> str:
    """The supported language closest to `value`: a tag (`zh`, `zh-Hans-CN`, `en-GB`) or an
    Accept-Language header (the first supported one by preference); zh-CN when none fits."""
    if not value:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(value.split(",")):
        tag, _, rest = part.strip().partition(";")
        weight = 1.0
        if rest.strip().startswith("q="):
            try:
                weight = float(rest.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


PREFIX = "maintenance."
"""Maintenance's keys in the catalogue (`core/locale`) carry this prefix; stored messages
keep the bare key (`status.open`), so rows written before the move render the same."""

_MONTHS = 12


def template(key: str, lang: str) -> str | None:
    """The catalogue template of a maintenance key in `lang` (English where it lacks one)."""
    return i18n.template(PREFIX + key, i18n.normalize_locale(lang) or "en")


def known(key: str) -> bool:
    """Whether the catalogue has a text for the maintenance key `key`."""
    return template(key, "en") is not None


def render(message: Message | Mapping[str, Any], lang: str) -> str:
    """A message (or its stored form) in `lang`; an unknown key renders as its `text`
    parameter, else as itself. Nested messages render in the same language; lists join with
    the language's separator; numbers follow the template's `str.format` spec."""
    msg = message if isinstance(message, Message) else Message.from_dict(message)
    key, params = _resolved(msg)
    found = template(key, lang)
    if found is None:
        return str(params.get("text", key if msg.key != "fault" else params.get("code")))
    values = {
        k: render(v, lang) if is_message(v) else _format_value(v, lang) for k, v in params.items()
    }
    return found.format_map(values)


def _resolved(msg: Message) -> tuple[str, Mapping[str, Any]]:
    """The catalogue key and parameters of a message: a fault names its code's own key; an
    alarm note's value becomes its suffix; a month is named by its number."""
    params = dict(msg.params)
    if msg.key == "fault":
        return f"fault.{params.get('code')}", params
    if msg.key == "note.alarm":
        value = params.get("value")
        params["value_suffix"] = "" if value is None else f" {float(value):g}"
    elif msg.key == "report.month" and 1 <= int(params.get("month", 0)) <= _MONTHS:
        params["month_name"] = Message(f"month.{int(params['month'])}")
    return msg.key, params


def _format_value(value: Any, lang: str) -> Any:
    if isinstance(value, list):
        sep = "、" if lang == "zh-CN" else ", "
        return sep.join(str(v) for v in value)
    return value
