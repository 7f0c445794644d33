"""Texts of the failure-stage score in English and Chinese: message keys, parameters, rendering.

The scorer says what it means as a `Message` (a key and plain parameters), never as a frozen
sentence; this module renders a message in `en` or `zh-CN`. A reason is one message whose
parameters hold its parts (themselves messages). Every word and sentence comes from the
project's message catalogue (`core.i18n`, keys `score.*`); this module only puts them
together (which optional parts a message has, plural forms, separators) and formats the
numbers, the same way for every language, so nothing else in the scorer writes user-facing
text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bldgwatch.core import i18n

LANGUAGES = ("en", "zh-CN")


@dataclass(frozen=True, slots=True)
class Message:
    """A message key and its parameters (numbers, codes, or nested messages)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form: {"key": …, "params": {…}} with nested messages in the same form."""
        return {"key": self.key, "params": {k: _plain(v) for k, v in self.params.items()}}


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return value.as_dict()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


CLASSES = (
    "elevator",
    "gateway",
    "pump",
    "shaft_panel",
    "temp_sensor",
    "electricity_meter",
    "water_meter",
)
"""Equipment classes with a noun of their own (`score.class.<cls>`; others show the code)."""


def _t(key: str, lang: str, **params: Any) -> str:
    """A catalogue text of the score (`score.<key>`) in `lang`."""
    if not params:
        return _fixed_text(f"score.{key}", lang, None)
    return i18n.render(f"score.{key}", params, lang)


def _word(group: str, code: str, lang: str) -> str:
    """A word of a group (`score.<group>.<code>`), the code itself where the catalogue has none."""
    return _fixed_text(f"score.{group}.{code}", lang, code)


@functools.lru_cache(maxsize=1024)
def _fixed_text(key: str, lang: str, default: str | None) -> str:
    """A text without parameters (words, separators, fixed sentences): the same every time."""
    return i18n.render(key, {}, lang, default=default)


class _Nouns(Mapping[str, Mapping[str, str]]):
    """What each language calls an equipment class, read from the catalogue."""

    def __getitem__(self, lang: str) -> Mapping[str, str]:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        return {cls: _word("class", cls, lang) for cls in CLASSES}

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


CLASS_NOUNS = _Nouns()
"""Language → class → noun (as the console names the type)."""


def _noun(p: Mapping[str, Any], lang: str) -> str:
    return _word("class", str(p["cls"]), lang)


def _sep(lang: str, semicolon: bool = False) -> str:
    return _t("semicolon" if semicolon else "comma", lang)


def _window(days: int, lang: str) -> str:
    return _t("window.year", lang) if days == 365 else _t("window.days", lang, days=str(days))


def _duration(years: float, lang: str) -> str:
    if years < 1 / 12:
        return _t("duration.days", lang, n=f"{years * 365.25:.0f}")
    if years < 2:
        return _t("duration.months", lang, n=f"{years * 12:.0f}")
    return _t("duration.years", lang, n=f"{years:.1f}")


def _headline(p: Mapping[str, Any], lang: str) -> str:
    text = _word("stage", p["stage"], lang)
    if p.get("uncertain"):
        a, b = p["boundary"]
        probs = _sep(lang).join(f"{_word('short', s, lang)} {p['probs'][s]:.0%}" for s in (a, b))
        short_a, short_b = _word("short", a, lang), _word("short", b, lang)
        text += _t("uncertain", lang, a=short_a, b=short_b, probs=probs)
    return str(text)


def _bands_where(p: Mapping[str, Any], lang: str) -> str:
    where = p["where"] if p["where"] in ("burn_in", "past_onset") else "mid"
    early, late = f"{p['early_years']:g}", f"{p['late_years']:g}"
    return _t(f"bands.{where}", lang, noun=_noun(p, lang), early=early, late=late)


def _recent(p: Mapping[str, Any], lang: str) -> str:
    n = int(p["n"])
    count = _t("failures.one" if n == 1 else "failures.other", lang, n=str(n))
    text = _t("recent", lang, count=count, window=_window(p["window_days"], lang))
    if p.get("expected") is not None:
        text += _t("recent.expected", lang, expected=f"{p['expected']:.1f}")
    if p.get("toward"):
        text += _t("recent.toward", lang, component=_word("component", p["toward"], lang))
    if p.get("early_wear"):
        text += _t("recent.early_wear", lang)
    return text


def _rate(p: Mapping[str, Any], lang: str) -> str:
    items = p["components"].items()
    parts = _sep(lang).join(f"{_word('component', k, lang)} {v:.2f}" for k, v in items)
    return _t("rate", lang, noun=_noun(p, lang), total=f"{p['total']:.2f}", parts=parts)


def _absent(p: Mapping[str, Any], lang: str) -> str:
    sure, noun = f"{p['p']:.0%}", _noun(p, lang)
    if p["component"] == "wear":
        return _t("absent.wear", lang, noun=noun, max_age=f"{p['max_age']:.1f}", p=sure)
    return _t("absent.early", lang, noun=noun, p=sure)


def _misfit(p: Mapping[str, Any], lang: str) -> str:
    misfit, weight = f"{p['misfit']:.0%}", f"{p['weight']:.0%}"
    return _t("misfit", lang, noun=_noun(p, lang), misfit=misfit, weight=weight)


def _onset(p: Mapping[str, Any], lang: str) -> str:
    key = "onset.wear_out" if p["component"] == "wear_out" else "onset.burn_in"
    low, high, median = (_duration(p[k], lang) for k in ("low", "high", "median"))
    return _t(key, lang, noun=_noun(p, lang), median=median, low=low, high=high)


def _years(key: str) -> Callable[[Mapping[str, Any], str], str]:
    def rendered(p: Mapping[str, Any], lang: str) -> str:
        basis = _word("basis", str(p.get("basis")), lang)
        return _t(key, lang, years=f"{p['years']:.1f}", basis=basis)

    return rendered


def _equipment(key: str) -> Callable[[Mapping[str, Any], str], str]:
    return lambda p, lang: _t(key, lang, equipment=str(p["equipment"]))


def _fixed(key: str) -> Callable[[Mapping[str, Any], str], str]:
    return lambda p, lang: _t(key, lang)


def _settle_mid_late(p: Mapping[str, Any], lang: str) -> str:
    text = _t("settle.mid_late", lang, months=str(p["months"]))
    if p.get("expected") is not None and p.get("threshold") is not None:
        expected, threshold = f"{p['expected']:.1f}", str(p["threshold"])
        text += _t("settle.mid_late_expected", lang, expected=expected, threshold=threshold)
    return text


def _joined(p: Mapping[str, Any], lang: str) -> str:
    return _sep(lang, p.get("sep") == "semicolon").join(render(m, lang) for m in p["parts"])


Composer = Callable[[Mapping[str, Any], str], str]
COMPOSERS: dict[str, Composer] = {
    "stage.headline": _headline,
    "stage.age": _years("age"),
    "stage.age_at_least": _years("age_at_least"),
    "stage.age_unknown": _equipment("age_unknown"),
    "stage.age_from_profile": _equipment("age_from_profile"),
    "stage.age_estimate": _years("age_estimate"),
    "stage.onset": _onset,
    "stage.bands_where": _bands_where,
    "stage.recent": _recent,
    "stage.rate": _rate,
    "stage.dominates": lambda p, lang: _t(
        "dominates", lang, lead=_word("lead", p["stage"], lang), p=f"{p['p']:.0%}"
    ),
    "stage.joined": _joined,
    "stage.absent": _absent,
    "stage.misfit": _misfit,
    "stage.condition": lambda p, lang: _t(
        "condition",
        lang,
        indicator=_word("indicator", str(p["indicator"]), lang),
        level=f"{p['level']:.0%}",
    ),
    "stage.next_failure": lambda p, lang: _t(
        "next_failure", lang, duration=_duration(p["years"], lang)
    ),
    "advice.early": _fixed("advice.early"),
    "advice.mid": _fixed("advice.mid"),
    "advice.late": _fixed("advice.late"),
    "advice.late_unsure": _fixed("advice.late_unsure"),
    "settle.early_mid": lambda p, lang: _t("settle.early_mid", lang, months=str(p["months"])),
    "settle.mid_late": _settle_mid_late,
    "settle.early_late": _fixed("settle.early_late"),
    "settle.age": _fixed("settle.age"),
}
"""How each message is put together from the catalogue's texts (the same for every language)."""

Renderer = Callable[[Mapping[str, Any]], str]


def _in(composer: Composer, lang: str) -> Renderer:
    return lambda p: composer(p, lang)


TEMPLATES: dict[str, dict[str, Renderer]] = {
    key: {lang: _in(composer, lang) for lang in LANGUAGES} for key, composer in COMPOSERS.items()
}
"""Message key → language → its renderer."""


def render(message: Message, lang: str = "en") -> str:
    """The message in `lang` (`en` or `zh-CN`); a reason joins its parts."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    if message.key == "stage.reason":
        return _reason(message.params, lang)
    return TEMPLATES[message.key][lang](message.params)


def render_all(message: Message) -> dict[str, str]:
    """The message in every language."""
    return {lang: render(message, lang) for lang in LANGUAGES}


def _reason(p: Mapping[str, Any], lang: str) -> str:
    """headline: fact; fact … — advice; settle."""
    sep, colon, dash = _sep(lang, True), _t("colon", lang), _t("dash", lang)
    facts = [render(m, lang) for m in p["facts"]]
    text = render(p["headline"], lang) + colon + sep.join(facts)
    tail = render(p["advice"], lang)
    if p.get("settle") is not None:
        tail += sep + render(p["settle"], lang)
    return text + dash + tail
