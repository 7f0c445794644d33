"""Texts of the failure-stage score in English and Chinese: message keys, parameters, rendering.

The scorer says what it means as a `Message` (a key and plain parameters), never as a frozen
sentence; this module renders a message in `en` or `zh-CN`. A reason is one message whose
parameters hold its parts (themselves messages), so a future project-wide catalogue
(gettext/Babel) can take over each key's template one for one. Until then the templates live
here, in one table per language, and nothing else in the scorer writes user-facing text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


STAGE_NAMES = {
    "en": {"early": "early life", "mid": "mid life", "late": "late life"},
    "zh-CN": {"early": "早期失效期", "mid": "偶然失效期", "late": "耗损失效期"},
}
SHORT_STAGE = {
    "en": {"early": "early", "mid": "mid", "late": "late"},
    "zh-CN": {"early": "早期", "mid": "偶然", "late": "耗损"},
}
CLASS_NOUNS = {
    "en": {
        "elevator": "elevators",
        "gateway": "gateways",
        "pump": "pumps",
        "shaft_panel": "shaft panels",
        "temp_sensor": "temperature sensors",
    },
    "zh-CN": {
        "elevator": "电梯",
        "gateway": "网关",
        "pump": "水泵",
        "shaft_panel": "电井配电柜",  # as the console names the type
        "temp_sensor": "温度传感器",
    },
}
INDICATORS = {"zh-CN": {"vibration_trend": "振动趋势"}}
"""Condition indicators by name; English shows the indicator's code, as it always has."""
BASES = {
    "en": {"install": "install", "overhaul": "overhaul", "first_record": "the first record"},
    "zh-CN": {"install": "安装", "overhaul": "大修/更换", "first_record": "首条记录"},
}
COMPONENTS = {
    "en": {"early": "early", "random": "random", "wear": "wear-out"},
    "zh-CN": {"early": "早期", "random": "偶然", "wear": "耗损"},
}


def _settle_mid_late_en(p: Mapping[str, Any]) -> str:
    text = "to settle it: a condition check (vibration, temperatures, wear) or the next "
    text += f"{p['months']} months' failures"
    if p.get("expected") is not None and p.get("threshold") is not None:
        text += f" ({p['expected']:.1f} expected; {p['threshold']} or more would point to wear-out)"
    return text


def _settle_mid_late_zh(p: Mapping[str, Any]) -> str:
    text = f"判定依据：状态检测（振动、温度、磨损），或未来 {p['months']} 个月的故障次数"
    if p.get("expected") is not None and p.get("threshold") is not None:
        text += f"（预期 {p['expected']:.1f} 次；达到 {p['threshold']} 次及以上即指向耗损）"
    return text


def _noun(p: Mapping[str, Any], lang: str) -> str:
    cls = str(p["cls"])
    return CLASS_NOUNS[lang].get(cls, cls)


def _count_en(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _window_en(days: int) -> str:
    return "the last year" if days == 365 else f"the last {days} days"


def _window_zh(days: int) -> str:
    return "近一年" if days == 365 else f"近 {days} 天"


def _duration(years: float, lang: str) -> str:
    if years < 1 / 12:
        days = years * 365.25
        return f"{days:.0f} days" if lang == "en" else f"{days:.0f} 天"
    if years < 2:
        return f"{years * 12:.0f} months" if lang == "en" else f"{years * 12:.0f} 个月"
    return f"{years:.1f} years" if lang == "en" else f"{years:.1f} 年"


def _headline_en(p: Mapping[str, Any]) -> str:
    text = STAGE_NAMES["en"][p["stage"]]
    if p.get("uncertain"):
        a, b = p["boundary"]
        probs = ", ".join(f"{s} {p['probs'][s]:.0%}" for s in (a, b))
        text += f", uncertain — near the {a}/{b} boundary ({probs})"
    return str(text)


def _headline_zh(p: Mapping[str, Any]) -> str:
    text = STAGE_NAMES["zh-CN"][p["stage"]]
    if p.get("uncertain"):
        a, b = p["boundary"]
        names = SHORT_STAGE["zh-CN"]
        probs = "，".join(f"{names[s]} {p['probs'][s]:.0%}" for s in (a, b))
        text += f"（不确定——处于{names[a]}/{names[b]}交界，{probs}）"
    return str(text)


def _bands_where_en(p: Mapping[str, Any]) -> str:
    noun, where = _noun(p, "en"), p["where"]
    if where == "burn_in":
        return f"inside the {p['early_years']:g}-year burn-in for {noun}"
    if where == "past_onset":
        return f"past the {p['late_years']:g}-year wear-out onset for {noun}"
    return f"within the mid-life band {p['early_years']:g}–{p['late_years']:g} years for {noun}"


def _bands_where_zh(p: Mapping[str, Any]) -> str:
    noun, where = _noun(p, "zh-CN"), p["where"]
    if where == "burn_in":
        return f"处于{noun}的 {p['early_years']:g} 年磨合期内"
    if where == "past_onset":
        return f"已过{noun}的 {p['late_years']:g} 年耗损起点"
    return f"处于{noun}的中期区间 {p['early_years']:g}–{p['late_years']:g} 年"


LEAD = {"early": "early", "mid": "random", "late": "wear"}


def _recent_en(p: Mapping[str, Any]) -> str:
    text = f"{_count_en(p['n'], 'failure')} in {_window_en(p['window_days'])}"
    if p.get("expected") is not None:
        text += f" ({p['expected']:.1f} expected)"
    if p.get("toward"):
        text += f" point to {COMPONENTS['en'][p['toward']]}"
    if p.get("early_wear"):
        text += " suggest early wear-out"
    return text


def _recent_zh(p: Mapping[str, Any]) -> str:
    text = f"{_window_zh(p['window_days'])}故障 {p['n']} 次"
    if p.get("expected") is not None:
        text += f"（预期 {p['expected']:.1f} 次）"
    if p.get("toward"):
        text += f"，指向{COMPONENTS['zh-CN'][p['toward']]}"
    if p.get("early_wear"):
        text += "，提示提前耗损"
    return text


def _rate_en(p: Mapping[str, Any]) -> str:
    parts = ", ".join(f"{COMPONENTS['en'][k]} {v:.2f}" for k, v in p["components"].items())
    return f"failure rate of {_noun(p, 'en')} at this age {p['total']:.2f}/yr ({parts})"


def _rate_zh(p: Mapping[str, Any]) -> str:
    parts = "，".join(f"{COMPONENTS['zh-CN'][k]} {v:.2f}" for k, v in p["components"].items())
    return f"{_noun(p, 'zh-CN')}在该年龄的故障率 {p['total']:.2f} 次/年（{parts}）"


def _absent_en(p: Mapping[str, Any]) -> str:
    if p["component"] == "wear":
        up_to = f"up to {p['max_age']:.1f} years"
        return f"no wear-out seen in {_noun(p, 'en')} {up_to} ({p['p']:.0%} sure)"
    return f"no burn-in seen in {_noun(p, 'en')} ({p['p']:.0%} sure)"


def _absent_zh(p: Mapping[str, Any]) -> str:
    if p["component"] == "wear":
        return f"{_noun(p, 'zh-CN')}在 {p['max_age']:.1f} 年内未见耗损（把握 {p['p']:.0%}）"
    return f"{_noun(p, 'zh-CN')}未见早期失效（把握 {p['p']:.0%}）"


def _years_en(years: float) -> str:
    return _duration(years, "en")


def _onset_en(p: Mapping[str, Any]) -> str:
    low, high = _years_en(p["low"]), _years_en(p["high"])
    span = f"({low} to {high}, 80 % range)"
    if p["component"] == "wear_out":
        return f"wear-out of {_noun(p, 'en')} sets in at about {_years_en(p['median'])} {span}"
    return f"burn-in of {_noun(p, 'en')} ends at about {_years_en(p['median'])} {span}"


def _onset_zh(p: Mapping[str, Any]) -> str:
    low, high = _duration(p["low"], "zh-CN"), _duration(p["high"], "zh-CN")
    median = _duration(p["median"], "zh-CN")
    if p["component"] == "wear_out":
        return f"{_noun(p, 'zh-CN')}约在 {median}进入耗损期（80% 区间 {low}至{high}）"
    return f"{_noun(p, 'zh-CN')}的早期失效期约在 {median}结束（80% 区间 {low}至{high}）"


def _misfit_en(p: Mapping[str, Any]) -> str:
    return (
        f"the bathtub model misses the failure counts of {_noun(p, 'en')} by age by about "
        f"{p['misfit']:.0%} beyond chance, so these probabilities lean {p['weight']:.0%} on "
        "the age bands"
    )


def _misfit_zh(p: Mapping[str, Any]) -> str:
    return (
        f"浴盆曲线模型与{_noun(p, 'zh-CN')}按年龄的故障数不符（超出随机波动约 "
        f"{p['misfit']:.0%}），以上概率有 {p['weight']:.0%} 取自年龄分段"
    )


Renderer = Callable[[Mapping[str, Any]], str]
TEMPLATES: dict[str, dict[str, Renderer]] = {
    "stage.headline": {"en": _headline_en, "zh-CN": _headline_zh},
    "stage.age": {
        "en": lambda p: f"{p['years']:.1f} years since {BASES['en'][p['basis']]}",
        "zh-CN": lambda p: f"自{BASES['zh-CN'][p['basis']]}起 {p['years']:.1f} 年",
    },
    "stage.age_at_least": {
        "en": lambda p: (
            f"install date unknown: at least {p['years']:.1f} years since {BASES['en'][p['basis']]}"
        ),
        "zh-CN": lambda p: (
            f"安装日期不详：自{BASES['zh-CN'][p['basis']]}起至少 {p['years']:.1f} 年"
        ),
    },
    "stage.age_unknown": {
        "en": lambda p: f"install date unknown for {p['equipment']}, mid life assumed",
        "zh-CN": lambda p: f"{p['equipment']} 安装日期不详，按偶然失效期处理",
    },
    "stage.age_from_profile": {
        "en": lambda p: (
            f"install date unknown for {p['equipment']}: stage from the ages of its class"
        ),
        "zh-CN": lambda p: f"{p['equipment']} 安装日期不详：按同类设备的年龄分布判定",
    },
    "stage.age_estimate": {
        "en": lambda p: f"likely about {p['years']:.1f} years from its failures and its class",
        "zh-CN": lambda p: f"据其故障记录和同类设备推断约 {p['years']:.1f} 年",
    },
    "stage.onset": {"en": _onset_en, "zh-CN": _onset_zh},
    "stage.bands_where": {"en": _bands_where_en, "zh-CN": _bands_where_zh},
    "stage.recent": {"en": _recent_en, "zh-CN": _recent_zh},
    "stage.rate": {"en": _rate_en, "zh-CN": _rate_zh},
    "stage.dominates": {
        "en": lambda p: (
            f"{COMPONENTS['en'][LEAD[p['stage']]]} dominates here in {p['p']:.0%} "
            "of the fits the data allow"
        ),
        "zh-CN": lambda p: (
            f"在数据允许的拟合中有 {p['p']:.0%} 判为{STAGE_NAMES['zh-CN'][p['stage']]}"
        ),
    },
    "stage.joined": {
        "en": lambda p: (", " if p.get("sep") != "semicolon" else "; ").join(
            render(m, "en") for m in p["parts"]
        ),
        "zh-CN": lambda p: ("，" if p.get("sep") != "semicolon" else "；").join(
            render(m, "zh-CN") for m in p["parts"]
        ),
    },
    "stage.absent": {"en": _absent_en, "zh-CN": _absent_zh},
    "stage.misfit": {"en": _misfit_en, "zh-CN": _misfit_zh},
    "stage.condition": {
        "en": lambda p: f"{p['indicator']} at {p['level']:.0%} of its limit",
        "zh-CN": lambda p: (
            f"{INDICATORS['zh-CN'].get(p['indicator'], p['indicator'])} 已达限值的 {p['level']:.0%}"
        ),
    },
    "stage.next_failure": {
        "en": lambda p: f"next failure expected in ~{_duration(p['years'], 'en')}",
        "zh-CN": lambda p: f"预计约 {_duration(p['years'], 'zh-CN')}后再次故障",
    },
    "advice.early": {
        "en": lambda p: "check installation, commissioning and warranty",
        "zh-CN": lambda p: "检查安装、调试和质保",
    },
    "advice.mid": {
        "en": lambda p: "keep to the PM plan and spares",
        "zh-CN": lambda p: "按保养计划执行，备好备件",
    },
    "advice.late": {
        "en": lambda p: "shorten PM intervals, plan overhaul or replacement",
        "zh-CN": lambda p: "缩短保养周期，计划大修或更换",
    },
    "advice.late_unsure": {
        "en": lambda p: (
            "shorten PM intervals and watch the failure trend (not yet the evidence "
            "for an overhaul)"
        ),
        "zh-CN": lambda p: "缩短保养周期并关注故障趋势（尚不足以安排大修）",
    },
    "settle.early_mid": {
        "en": lambda p: (
            "to settle it: whether failures keep falling over the next "
            f"{p['months']} months, and the commissioning record"
        ),
        "zh-CN": lambda p: f"判定依据：未来 {p['months']} 个月故障是否继续减少，以及调试记录",
    },
    "settle.mid_late": {"en": _settle_mid_late_en, "zh-CN": _settle_mid_late_zh},
    "settle.early_late": {
        "en": lambda p: "to settle it: the install or last overhaul date, and a condition check",
        "zh-CN": lambda p: "判定依据：安装或上次大修日期，以及状态检测",
    },
    "settle.age": {
        "en": lambda p: "the install or last overhaul date would settle the age",
        "zh-CN": lambda p: "补全安装或上次大修日期即可确定设备年龄",
    },
}


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
    sep, colon, dash = ("; ", ": ", " — ") if lang == "en" else ("；", "：", " —— ")
    facts = [render(m, lang) for m in p["facts"]]
    text = render(p["headline"], lang) + colon + sep.join(facts)
    tail = render(p["advice"], lang)
    if p.get("settle") is not None:
        tail += sep + render(p["settle"], lang)
    return text + dash + tail
