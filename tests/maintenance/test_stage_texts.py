"""The score's texts: every message renders in en and zh-CN; the verdict's honest wording."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.stage_texts import CLASS_NOUNS, TEMPLATES, Message, render, render_all
from bldgwatch.maintenance.stagefacts import condition_facts
from bldgwatch.maintenance.stagemodel import FailureStage, finish, verdict

WEB_I18N = Path(__file__).resolve().parents[2] / "console" / "web" / "src" / "i18n"

SAMPLES: dict[str, dict[str, Any]] = {
    "stage.headline": {
        "stage": "mid",
        "uncertain": True,
        "boundary": ["mid", "late"],
        "probs": {"early": 0.02, "mid": 0.55, "late": 0.43},
    },
    "stage.age": {"years": 3.24, "basis": "overhaul"},
    "stage.age_at_least": {"years": 7.0, "basis": "first_record"},
    "stage.age_unknown": {"equipment": "P-01"},
    "stage.age_from_profile": {"equipment": "P-01"},
    "stage.age_estimate": {"years": 12.3},
    "stage.onset": {"cls": "pump", "component": "wear_out", "median": 11.0, "low": 8.0, "high": 15},
    "stage.bands_where": {
        "where": "past_onset",
        "cls": "elevator",
        "early_years": 1,
        "late_years": 15,
    },
    "stage.recent": {"n": 1, "window_days": 365, "expected": 0.4, "toward": "wear"},
    "stage.rate": {"cls": "fan", "total": 1.5, "components": {"random": 0.5, "wear": 1.0}},
    "stage.dominates": {"stage": "late", "p": 0.9},
    "stage.absent": {"cls": "pump", "component": "wear", "max_age": 8.9, "p": 0.93},
    "stage.misfit": {"cls": "pump", "misfit": 0.42, "weight": 0.8},
    "stage.condition": {"indicator": "vibration_trend", "level": 0.5},
    "stage.next_failure": {"years": 0.4},
    "stage.joined": {"parts": [Message("stage.age", {"years": 1.0, "basis": "install"})]},
    "advice.early": {},
    "advice.mid": {},
    "advice.late": {},
    "advice.late_unsure": {},
    "settle.early_mid": {"months": 6},
    "settle.mid_late": {"months": 12, "expected": 1.2, "threshold": 5},
    "settle.early_late": {},
    "settle.age": {},
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_key_has_a_sample() -> None:
    assert set(SAMPLES) == set(TEMPLATES)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_message_renders_in_both_languages(key: str) -> None:
    texts = render_all(Message(key, SAMPLES[key]))
    assert set(texts) == {"en", "zh-CN"}
    assert texts["en"] and not CJK.search(texts["en"].replace("—", ""))
    assert CJK.search(texts["zh-CN"]), texts["zh-CN"]


def test_the_uncertain_headline_names_the_boundary() -> None:
    message = Message("stage.headline", SAMPLES["stage.headline"])
    assert render(message) == "mid life, uncertain — near the mid/late boundary (mid 55%, late 43%)"
    assert render(message, "zh-CN") == "偶然失效期（不确定——处于偶然/耗损交界，偶然 55%，耗损 43%）"


def test_a_message_is_plain_json_and_an_unknown_language_is_refused() -> None:
    nested = Message("stage.joined", {"parts": [Message("advice.mid")]})
    assert orjson.loads(orjson.dumps(nested.as_dict())) == {
        "key": "stage.joined",
        "params": {"parts": [{"key": "advice.mid", "params": {}}]},
    }
    with pytest.raises(ValueError, match="fr"):
        render(nested, "fr")


@pytest.mark.parametrize(
    ("probs", "stage", "uncertain", "boundary"),
    [
        ((0.2, 0.5, 0.3), FailureStage.MID, True, ("mid", "late")),
        ((0.6, 0.35, 0.05), FailureStage.EARLY, True, ("early", "mid")),
        ((0.05, 0.1, 0.85), FailureStage.LATE, False, None),
        ((0.45, 0.1, 0.45), FailureStage.LATE, True, ("early", "late")),
    ],
)
def test_verdict_table(
    probs: tuple[float, float, float],
    stage: FailureStage,
    uncertain: bool,
    boundary: tuple[str, str] | None,
) -> None:
    v = verdict(probs, StageConfig())
    assert (v.stage, v.uncertain, v.boundary) == (stage, uncertain, boundary)


weights = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(weights, weights, weights, st.floats(min_value=0.5, max_value=0.99))
def test_overhaul_is_advised_only_when_late_is_likely_enough(
    a: float, b: float, c: float, bar: float
) -> None:
    total = a + b + c
    if total < 1e-6:
        return
    probs = (a / total, b / total, c / total)
    cfg = StageConfig(confidence=min(bar, 0.9), overhaul_confidence=bar)
    score = finish(probs, [Message("stage.age", {"years": 4.0, "basis": "install"})], {}, cfg)
    sure_late = score.stage is FailureStage.LATE and probs[2] >= bar
    assert ("plan overhaul or replacement" in score.reason) == sure_late
    assert ("计划大修或更换" in score.texts["zh-CN"]) == sure_late
    unsure = max(probs) < cfg.confidence
    assert ("uncertain — near the" in score.reason) == unsure
    assert ("to settle it" in score.reason) == unsure
    assert score.params["uncertain"] == unsure


def test_a_condition_indicator_is_named_in_chinese_in_a_chinese_reason() -> None:
    """From the review: the zh-CN reason printed the indicator's code ('vibration_trend 已达…')."""
    facts = condition_facts(("vibration_trend", 0.8))
    score = finish((0.1, 0.6, 0.3), facts, {}, StageConfig())
    assert score.message is not None
    zh = render(score.message, "zh-CN")
    assert "vibration_trend" not in zh and "振动趋势 已达限值的 80%" in zh, zh


def test_the_scorer_and_the_console_name_a_class_alike_in_chinese() -> None:
    """From the review: the scorer called shaft panels 电井配电箱, the console 电井配电柜."""
    labels = (WEB_I18N / "zh-CN.ts").read_text(encoding="utf-8")
    block = labels[labels.index("equipmentType:") :]
    console = dict(re.findall(r'(\w+): "([^"]+)"', block[: block.index("}")]))
    assert console, "no equipmentType labels found in the console's zh-CN catalogue"
    assert {k: CLASS_NOUNS["zh-CN"][k] for k in console} == console
