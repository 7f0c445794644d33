"""Failure-stage scoring: early (burn-in), mid (random) or late (wear-out) life of an asset.

Pure. Three models answer in the same `StageScore` shape:

* `bathtub-bayes-v2` (`maintenance.bayesscore`, the default): a class's Bayesian bathtub fit
  with the components chosen by the data and priors pooled across classes
  (`maintenance.fleetfit`); calibrated stage probabilities.
* `bathtub-mle-v1` (`maintenance.mlescore`): the plain maximum-likelihood fit of the
  5-parameter bathtub; intensity shares as probabilities.
* `age-bands-v1` (`maintenance.bands`): age against per-class boundaries; the fallback for a
  class with too few units for a fit.

Every score ends in the same honest verdict (`maintenance.stagemodel.finish`): the most
probable stage, "uncertain — near the … boundary" below the configured confidence with the
evidence that would settle it, and overhaul or replacement advised only when late life is the
most probable stage with at least `overhaul_confidence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bldgwatch.maintenance.bands import MODEL_NAME, score_by_age_bands
from bldgwatch.maintenance.bathtub import BathtubFit
from bldgwatch.maintenance.bayesscore import FIT_MODEL_NAME, score_bayes
from bldgwatch.maintenance.config import DEFAULT_CLASSES, FALLBACK_CLASS, ClassParams, StageConfig
from bldgwatch.maintenance.fleetfit import ClassFit
from bldgwatch.maintenance.mlescore import MLE_MODEL_NAME, score_fitted
from bldgwatch.maintenance.stagemodel import (
    DAYS_PER_YEAR,
    AssetFacts,
    FailureEvent,
    FailureStage,
    StageScore,
)

__all__ = [
    "DAYS_PER_YEAR",
    "DEFAULT_CLASSES",
    "FALLBACK_CLASS",
    "FIT_MODEL_NAME",
    "MLE_MODEL_NAME",
    "MODEL_NAME",
    "AssetFacts",
    "ClassParams",
    "FailureEvent",
    "FailureStage",
    "StageConfig",
    "StageScore",
    "score_by_age_bands",
    "score_stage",
]


def score_stage(
    asset: AssetFacts,
    history: Sequence[FailureEvent],
    as_of: datetime,
    class_params: StageConfig | None = None,
    fit: ClassFit | BathtubFit | None = None,
) -> StageScore:
    """Score the life stage of `asset` at `as_of`.

    With a `ClassFit` (the class's Bayesian fit) that model decides; with a `BathtubFit` (the
    plain MLE fit) of at least `min_fit_failures` failures the MLE model does; otherwise the
    age bands of `class_params` do.
    """
    cfg = class_params or StageConfig()
    if isinstance(fit, ClassFit):
        return score_bayes(asset, history, as_of, fit, cfg)
    if fit is not None and fit.failures >= cfg.min_fit_failures:
        return score_fitted(asset, history, as_of, fit, cfg)
    return score_by_age_bands(asset, history, as_of, cfg)
