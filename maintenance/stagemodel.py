"""The failure-stage score's vocabulary: stages, an asset's facts, settings, the score itself,
and the honest verdict every model ends with (which stage, how sure, what to advise). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.stage_texts import Message, render_all

DAYS_PER_YEAR = 365.25
STAGE_ORDER = ("early", "mid", "late")


class FailureStage(StrEnum):
    """Where on the bathtub curve the equipment stands."""

    EARLY = "early"
    MID = "mid"
    LATE = "late"


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the scorer knows about one asset."""

    equipment: str
    equipment_class: str
    installed: date | None = None
    last_overhaul: date | None = None
    condition: dict[str, float] = field(default_factory=dict)
    """Condition indicators scaled 0 (healthy) … 1 (at its alarm limit), e.g. a vibration
    trend; the worst one raises the wear-out share."""


@dataclass(frozen=True, slots=True)
class FailureEvent:
    """One past failure of the asset (a reactive work order, a repair)."""

    at: datetime
    family: str | None = None
    repair_class: str | None = None


@dataclass(frozen=True, slots=True)
class StageScore:
    """The scorer's answer: a stage, its probabilities, the reason and the inputs used.

    `reason` is the English text (kept for API consumers); `message` is the same reason as a
    message key with parameters, `texts` its rendering in every language."""

    stage: FailureStage
    p_early: float
    p_mid: float
    p_late: float
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    message: Message | None = None
    rendered: dict[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def texts(self) -> dict[str, str]:
        """The reason in every language (English only when there is no message)."""
        if self.rendered is not None:
            return dict(self.rendered)
        return render_all(self.message) if self.message else {"en": self.reason}

    @property
    def confidence(self) -> float:
        """Probability of the reported stage."""
        return {"early": self.p_early, "mid": self.p_mid, "late": self.p_late}[self.stage.value]

    def as_detail(self) -> dict[str, Any]:
        """JSON-friendly form stored with the work order (`stage_detail`); its params carry
        the reason as a message (`reason_message`) and in every language (`reason_text`)."""
        params = dict(self.params)
        if self.message is not None:
            params.update(reason_message=self.message.as_dict(), reason_text=self.texts)
        return {
            "stage": self.stage.value,
            "p_early": round(self.p_early, 4),
            "p_mid": round(self.p_mid, 4),
            "p_late": round(self.p_late, 4),
            "params": params,
        }


@dataclass(frozen=True, slots=True)
class Age:
    """An asset's age on its current age axis, or a lower bound on it."""

    years: float
    basis: str  # install | overhaul | first_record
    exact: bool = True


def age_of(asset: AssetFacts, history: Sequence[FailureEvent], as_of: datetime) -> Age | None:
    """Years since the later of install and last overhaul; without either, at least the
    years since the first record (the first failure); None when nothing is known."""
    starts = [
        (d, b)
        for d, b in ((asset.installed, "install"), (asset.last_overhaul, "overhaul"))
        if d is not None
    ]
    if starts:
        start, basis = max(starts, key=lambda s: s[0])
        return Age(max((as_of.date() - start).days, 0) / DAYS_PER_YEAR, basis)
    seen = [f.at for f in history if f.at <= as_of]
    if not seen:
        return None
    return Age(
        max((as_of - min(seen)).total_seconds(), 0) / 86400 / DAYS_PER_YEAR,
        "first_record",
        exact=False,
    )


def recent_failures(history: Sequence[FailureEvent], as_of: datetime, window_days: int) -> int:
    """Failures within the window before `as_of`."""
    since = as_of - timedelta(days=window_days)
    return sum(1 for f in history if since <= f.at <= as_of)


def stage_of(probs: Sequence[float]) -> FailureStage:
    """The most probable stage (ties: mid over its neighbours, late over early)."""
    early, mid, late = probs
    if late > mid and late >= early:
        return FailureStage.LATE
    if early > mid:
        return FailureStage.EARLY
    return FailureStage.MID


@dataclass(frozen=True, slots=True)
class Verdict:
    """The stage reported, how sure, and the boundary it is near when unsure."""

    stage: FailureStage
    confidence: float
    uncertain: bool
    boundary: tuple[str, str] | None


def verdict(probs: Sequence[float], cfg: StageConfig) -> Verdict:
    """Most probable stage; below `cfg.confidence` it is near the boundary with the runner-up."""
    stage = stage_of(probs)
    confidence = float(probs[STAGE_ORDER.index(stage.value)])
    if confidence >= cfg.confidence:
        return Verdict(stage, confidence, False, None)
    ranked = sorted(range(3), key=lambda i: -probs[i])
    pair = sorted(
        {STAGE_ORDER.index(stage.value), next(i for i in ranked if STAGE_ORDER[i] != stage.value)}
    )
    return Verdict(stage, confidence, True, (STAGE_ORDER[pair[0]], STAGE_ORDER[pair[1]]))


def headline(v: Verdict, probs: Sequence[float]) -> Message:
    """The stage, and when unsure the boundary and the two probabilities."""
    return Message(
        "stage.headline",
        {
            "stage": v.stage.value,
            "uncertain": v.uncertain,
            "boundary": list(v.boundary) if v.boundary else None,
            "probs": {s: round(float(p), 3) for s, p in zip(STAGE_ORDER, probs, strict=True)},
        },
    )


def advice(v: Verdict, p_late: float, cfg: StageConfig) -> Message:
    """What to do; overhaul or replacement only when late is most probable and `p_late` (the
    evidence for it, see `finish`) is sure enough."""
    if v.stage is FailureStage.LATE:
        sure = p_late >= cfg.overhaul_confidence
        return Message("advice.late" if sure else "advice.late_unsure")
    return Message(f"advice.{v.stage.value}")


def settle(
    v: Verdict,
    *,
    expected: float | None = None,
    threshold: int | None = None,
    age_unknown: bool = False,
) -> Message | None:
    """What evidence would settle an uncertain call, and the missing date when the age is only
    a lower bound; None when there is nothing to settle."""
    parts: list[Message] = []
    if v.uncertain and v.boundary == ("early", "mid"):
        parts.append(Message("settle.early_mid", {"months": 6}))
    elif v.uncertain and v.boundary == ("mid", "late"):
        params = {"months": 12, "expected": expected, "threshold": threshold}
        parts.append(Message("settle.mid_late", params))
    elif v.uncertain:
        parts.append(Message("settle.early_late"))
    if age_unknown:
        parts.append(Message("settle.age"))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return Message("stage.joined", {"parts": parts, "sep": "semicolon"})


def finish(
    probs: Sequence[float],
    facts: list[Message],
    params: dict[str, Any],
    cfg: StageConfig,
    *,
    settle_with: dict[str, Any] | None = None,
    late_at_least: float | None = None,
) -> StageScore:
    """The score: verdict, reason message (headline, facts, advice, what would settle it).

    When the unit's age is unknown or only bounded below (`settle_with["age_unknown"]`), its
    probabilities lean on its class's ages, not on the unit; an overhaul is then advised only
    when the unit is late even at its least possible age (`late_at_least`: P(late) there;
    None: no bound, never)."""
    v = verdict(probs, cfg)
    extra = settle_with or {}
    evidence = float(probs[2])
    if extra.get("age_unknown"):
        evidence = min(evidence, late_at_least or 0.0)
    message = Message(
        "stage.reason",
        {
            "headline": headline(v, probs),
            "facts": facts,
            "advice": advice(v, evidence, cfg),
            "settle": settle(v, **extra),
        },
    )
    params.update(confidence=round(v.confidence, 4), uncertain=v.uncertain)
    early, mid, late = (float(p) for p in probs)
    texts = render_all(message)
    return StageScore(
        v.stage, early, mid, late, texts["en"], params, message=message, rendered=texts
    )
