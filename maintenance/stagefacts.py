"""The facts a stage reason is made of, as messages (`maintenance.stage_texts`). Pure.

Shared by the models so the same fact reads the same whichever model scored."""

from __future__ import annotations

from collections.abc import Mapping

from bldgwatch.maintenance.stage_texts import Message
from bldgwatch.maintenance.stagemodel import AssetFacts, FailureStage

TOWARD = {FailureStage.EARLY: "early", FailureStage.LATE: "wear"}


def age_fact(years: float, basis: str) -> Message:
    """'3.2 years since install'."""
    return Message("stage.age", {"years": round(years, 2), "basis": basis})


def rate_fact(equipment_class: str, components: Mapping[str, float]) -> Message:
    """The class's failure rate at the unit's age, by component."""
    total = round(sum(components.values()), 4)
    return Message(
        "stage.rate", {"cls": equipment_class, "total": total, "components": dict(components)}
    )


def recent_fact(
    n: int,
    window_days: int,
    *,
    expected: float | None = None,
    toward: FailureStage | None = None,
    early_wear: bool = False,
) -> Message:
    """Recent failures, what the class fit expects, and where a trend points."""
    params: dict[str, object] = {"n": n, "window_days": window_days}
    if expected is not None:
        params["expected"] = round(expected, 3)
    if toward is not None:
        params["toward"] = TOWARD[toward]
    if early_wear:
        params["early_wear"] = True
    return Message("stage.recent", params)


def worst_condition(asset: AssetFacts) -> tuple[str, float] | None:
    """The most degraded condition indicator (0 … 1), None when all are healthy."""
    worst = max(asset.condition.items(), key=lambda kv: kv[1], default=None)
    return (worst[0], min(max(worst[1], 0.0), 1.0)) if worst and worst[1] > 0 else None


def condition_facts(worst: tuple[str, float] | None) -> list[Message]:
    """'vibration_trend at 80 % of its limit', when there is one."""
    if worst is None:
        return []
    return [Message("stage.condition", {"indicator": worst[0], "level": round(worst[1], 3)})]


def next_failure_fact(years: float) -> Message:
    """'next failure expected in ~8 months'."""
    return Message("stage.next_failure", {"years": round(years, 4)})
