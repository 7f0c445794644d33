"""Messages in the reader's language: a key and parameters, rendered in zh-CN or en.

Maintenance never stores a frozen sentence where the system writes the text (an order's title
from an alarm, a timeline note, a KPI name, the report, an e-mail): it stores a `Message` — a
key and plain parameters — and renders it when someone reads it, in their language. The
templates live in one table per concern (`texts_orders`, `texts_kpis`, `texts_report`,
`texts_mail`), each a mapping key → {language → template}; a template is a `str.format`
string over the parameters, or a function of them where the grammar needs more. A parameter
may itself be a message (a `Message`, or its stored form `{"key": …, "params": …}`), rendered
in the same language first. A project-wide catalogue (gettext/Babel) can take the tables over
key for key: the keys are its message ids, the English templates its source strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("zh-CN", "en")
"""The languages every text is rendered in; zh-CN first (the users read Chinese first)."""
DEFAULT_LANGUAGE = "zh-CN"

Template = str | Callable[[Mapping[str, Any]], str]
Table = Mapping[str, Mapping[str, Template]]


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


class Catalogue:
    """Tables of templates, rendered by key and language."""

    def __init__(self, *tables: Table) -> None:
        merged: dict[str, Mapping[str, Template]] = {}
        for table in tables:
            clash = set(merged) & set(table)
            if clash:
                raise ValueError(f"message keys defined twice: {sorted(clash)}")
            merged.update(table)
        self._templates = merged

    def keys(self) -> frozenset[str]:
        """Every key the catalogue knows."""
        return frozenset(self._templates)

    def text(self, key: str, lang: str, **params: Any) -> str:
        """The message `key` with `params` in `lang` (en when that language lacks it)."""
        return self.render(Message(key, params), lang)

    def render(self, message: Message | Mapping[str, Any], lang: str) -> str:
        """A message (or its stored form) in `lang`; an unknown key renders as itself."""
        msg = message if isinstance(message, Message) else Message.from_dict(message)
        templates = self._templates.get(msg.key)
        if templates is None:
            return str(msg.params.get("text", msg.key))
        template = templates.get(lang) or templates["en"]
        values = {
            k: self.render(v, lang) if is_message(v) else _format_value(v, lang)
            for k, v in msg.params.items()
        }
        if callable(template):
            return template(values)
        return template.format_map(values)

    def both(self, message: Message | Mapping[str, Any]) -> dict[str, str]:
        """The message in every language."""
        return {lang: self.render(message, lang) for lang in LANGUAGES}


def _format_value(value: Any, lang: str) -> Any:
    if isinstance(value, list):
        sep = "、" if lang == "zh-CN" else ", "
        return sep.join(str(v) for v in value)
    return value
