"""Failure-stage scorer: a table of ages, classes and failure counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bldgwatch.maintenance.bathtub import BathtubFit, BathtubParams
from bldgwatch.maintenance.config import ClassParams, StageConfig
from bldgwatch.maintenance.scoring import AssetFacts, FailureEvent, FailureStage, score_stage

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def _years_ago(years: float) -> date:
    return (AS_OF - timedelta(days=years * 365.25)).date()


def _failures(n: int, *, days_ago: int = 30) -> list[FailureEvent]:
    return [FailureEvent(at=AS_OF - timedelta(days=days_ago + i)) for i in range(n)]


@pytest.mark.parametrize(
    ("cls", "age_years", "failures", "stage"),
    [
        ("pump", 0.2, 0, FailureStage.EARLY),
        ("pump", 0.2, 3, FailureStage.EARLY),
        ("pump", 5.0, 0, FailureStage.MID),
        ("pump", 5.0, 2, FailureStage.MID),
        ("pump", 5.0, 3, FailureStage.LATE),  # frequent failures in mid life: wear-out
        ("pump", 14.2, 0, FailureStage.LATE),
        ("pump", 14.2, 3, FailureStage.LATE),
        ("elevator", 0.5, 0, FailureStage.EARLY),
        ("elevator", 14.0, 0, FailureStage.MID),
        ("elevator", 16.0, 0, FailureStage.LATE),
        ("shaft_panel", 0.9, 0, FailureStage.EARLY),
        ("shaft_panel", 19.0, 0, FailureStage.MID),
        ("shaft_panel", 21.0, 0, FailureStage.LATE),
        ("temp_sensor", 16.0, 0, FailureStage.LATE),  # fallback boundaries 1/15
    ],
)
def test_stage_table(cls: str, age_years: float, failures: int, stage: FailureStage) -> None:
    asset = AssetFacts("X-01", cls, installed=_years_ago(age_years))
    score = score_stage(asset, _failures(failures), AS_OF, StageConfig())
    assert score.stage is stage
    assert score.p_early + score.p_mid + score.p_late == pytest.approx(1.0)
    probs = {
        FailureStage.EARLY: score.p_early,
        FailureStage.MID: score.p_mid,
        FailureStage.LATE: score.p_late,
    }
    assert max(probs, key=lambda s: probs[s]) is stage
    assert score.reason.startswith(f"{stage.value} life")


def test_reason_reads_like_the_example() -> None:
    asset = AssetFacts("P-01", "pump", installed=_years_ago(14.2))
    score = score_stage(asset, _failures(3), AS_OF)
    assert score.reason.startswith(
        "late life: 14.2 years since install, past the 10-year wear-out onset for pumps; "
        "3 failures in the last year"
    )
    assert score.params["early_years"] == 0.5
    assert score.params["late_years"] == 10.0
    assert score.params["recent_failures"] == 3
    assert score.params["age_basis"] == "install"


def test_failures_raise_late_probability() -> None:
    asset = AssetFacts("P-01", "pump", installed=_years_ago(6))
    none = score_stage(asset, [], AS_OF)
    two = score_stage(asset, _failures(2), AS_OF)
    assert two.p_late > none.p_late
    assert two.p_mid < none.p_mid


def test_only_recent_failures_count() -> None:
    asset = AssetFacts("P-01", "pump", installed=_years_ago(6))
    old = _failures(5, days_ago=400)
    future = [FailureEvent(at=AS_OF + timedelta(days=1))]
    score = score_stage(asset, [*old, *future], AS_OF)
    assert score.params["recent_failures"] == 0
    assert score.stage is FailureStage.MID


def test_overhaul_renews_age() -> None:
    asset = AssetFacts("P-01", "pump", installed=_years_ago(14), last_overhaul=_years_ago(0.3))
    score = score_stage(asset, [], AS_OF)
    assert score.stage is FailureStage.EARLY
    assert "since overhaul" in score.reason
    assert score.params["age_basis"] == "overhaul"


def test_unknown_install_date_is_mid_and_says_so() -> None:
    score = score_stage(AssetFacts("SP-01", "shaft_panel"), _failures(4), AS_OF)
    assert score.stage is FailureStage.MID
    assert "install date unknown" in score.reason
    assert score.params["age_years"] is None


def test_class_boundaries_configurable() -> None:
    cfg = StageConfig.model_validate({"classes": {"pump": {"early_years": 1, "late_years": 4}}})
    asset = AssetFacts("P-01", "pump", installed=_years_ago(5))
    assert score_stage(asset, [], AS_OF, cfg).stage is FailureStage.LATE
    assert cfg.classes["elevator"].late_years == 15  # defaults kept


def test_boundaries_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="late_years"):
        ClassParams(early_years=5, late_years=2)


def test_detail_is_json_friendly() -> None:
    score = score_stage(AssetFacts("E-01", "elevator", installed=date(2010, 1, 1)), [], AS_OF)
    detail = score.as_detail()
    assert detail["stage"] == "late"
    assert set(detail) == {"stage", "p_early", "p_mid", "p_late", "params"}


FIT = BathtubFit(
    params=BathtubParams(beta1=0.4, eta1=1.75, lam0=0.6, beta3=3.0, eta3=9.0),
    log_likelihood=0.0,
    failures=500,
    segments=100,
    exposure_years=1000.0,
    converged=True,
)


@pytest.mark.parametrize(
    ("age_years", "recent", "condition", "stage"),
    [
        (0.05, 0, {}, FailureStage.EARLY),
        (3.0, 0, {}, FailureStage.MID),
        (3.0, 1, {}, FailureStage.MID),  # one failure is no trend
        (5.0, 6, {}, FailureStage.LATE),  # six in a year where ~0.8 are expected: wear-out
        (2.0, 6, {}, FailureStage.EARLY),  # … or, where the intensity still falls, burn-in
        (7.0, 0, {}, FailureStage.MID),
        (7.0, 0, {"vibration_trend": 0.9}, FailureStage.LATE),  # condition says worn
        (14.0, 0, {}, FailureStage.LATE),
    ],
)
def test_fitted_stage_table(
    age_years: float, recent: int, condition: dict[str, float], stage: FailureStage
) -> None:
    asset = AssetFacts("P-9", "pump", installed=_years_ago(age_years), condition=condition)
    history = [FailureEvent(at=AS_OF - timedelta(days=20 + 7 * i)) for i in range(recent)]
    score = score_stage(asset, history, AS_OF, StageConfig(), FIT)
    assert score.stage is stage
    assert score.p_early + score.p_mid + score.p_late == pytest.approx(1.0)
    assert score.params["model"] == "bathtub-mle-v1"
    assert score.params["intensity_per_year"] == pytest.approx(
        FIT.params.intensity(score.params["age_years"]), rel=0.05
    )
    assert score.params["expected_next_failure_years"] > 0
    assert (
        score.reason.startswith(f"{stage.value} life") and "next failure expected" in score.reason
    )


def test_too_little_history_falls_back_to_age_bands() -> None:
    small = BathtubFit(FIT.params, 0.0, failures=10, segments=5, exposure_years=20, converged=True)
    score = score_stage(AssetFacts("P-9", "pump", installed=_years_ago(3)), [], AS_OF, None, small)
    assert score.params["model"] == "age-bands-v1"


def test_mean_time_to_next_failure_of_a_constant_rate() -> None:
    flat = BathtubParams(beta1=0.5, eta1=1e9, lam0=2.0, beta3=2.0, eta3=1e9)
    assert flat.mean_time_to_next(5.0) == pytest.approx(0.5, rel=1e-3)
