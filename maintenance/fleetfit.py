"""Fitting every class of a fleet together: pooled priors, units of unknown age. Pure.

1. Each class is fitted under the literature prior, quickly (Laplace approximation only).
2. Units whose install date is unknown and that were never renewed have only a lower bound
   on their age (the years since their first record). Their age is estimated from the class
   fit, the class's age profile and the unit's own failures since its first record; each then
   joins its class's data as a left-truncated segment ending at that estimate.
3. Each class's prior is pooled from the other classes' first-pass estimates
   (`maintenance.lifeprior.pooled_priors`), and the class is fitted again in full.
4. The full fit is checked against the class's failure counts by age
   (`maintenance.lifecheck`); where it misses them, its stage probabilities lean on the age
   bands (`ClassFit.stage_probabilities`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from bldgwatch.maintenance.bands import base_probs
from bldgwatch.maintenance.bathtub import Segment
from bldgwatch.maintenance.config import ClassParams, StageConfig
from bldgwatch.maintenance.lifecheck import FitCheck, check_fit
from bldgwatch.maintenance.lifefit import fit_class
from bldgwatch.maintenance.lifemodel import (
    Floats,
    Shapes,
    life_data,
    relative_cumulative,
    relative_intensity,
)
from bldgwatch.maintenance.lifepost import ClassPosterior, PointParams
from bldgwatch.maintenance.lifeprior import ClassPrior, literature_prior, pooled_priors

logger = logging.getLogger(__name__)
AGE_GRID = 64
MIN_PROFILE = 5  # known ages needed before the class's age profile serves as the age prior


@dataclass(frozen=True, slots=True)
class UnitRecord:
    """One unit's history on the age axis.

    `segments` are the spans whose start age is known (after the install or a renewal);
    `open_since` is set for a unit with neither: the years from its first record to the
    as-of time, with `open_failures` the failures after the first record (years since it)."""

    segments: tuple[Segment, ...] = ()
    open_since: float | None = None
    open_failures: tuple[float, ...] = ()
    site: str = ""


def point_shapes(point: PointParams) -> Shapes:
    """The point estimate as a one-row `Shapes`."""

    def one(v: float | None) -> Floats | None:
        return None if v is None else np.array([v])

    return Shapes(one(point.beta1), one(point.cross1), one(point.beta3), one(point.cross3))


def age_prior(bound: float, unit_ages: Floats, late_years: float) -> tuple[Floats, Floats]:
    """Grid of possible current ages (≥ bound) and their prior weights: the class's age
    profile (a kernel estimate over the known ages) when it has one, else uniform."""
    top = max(1.5 * late_years, float(unit_ages.max(initial=0.0)) * 1.1, bound + 1.0)
    grid = np.linspace(bound, top, AGE_GRID)
    if unit_ages.size < MIN_PROFILE:
        return grid, np.full(grid.size, 1.0 / grid.size)
    width = max(1.0, 0.1 * top)
    density = np.exp(-0.5 * ((grid[:, None] - unit_ages[None, :]) / width) ** 2).sum(axis=1)
    density += 0.01 * density.max()  # ages beyond the profile stay possible
    return grid, density / density.sum()


def age_posterior(
    point: PointParams,
    bound: float,
    since_first: Sequence[float],
    unit_ages: Floats,
    late_years: float,
) -> tuple[Floats, Floats]:
    """Posterior over the current age of a unit known only since its first record: the age
    prior times the likelihood of its failures after the first record at each age."""
    grid, prior = age_prior(bound, unit_ages, late_years)
    shapes, lam0 = point_shapes(point), point.lam0
    offset = grid - bound  # age at the first record
    cum = relative_cumulative(shapes, grid)[0] - relative_cumulative(shapes, offset)[0]
    loglik = -lam0 * cum
    if since_first:
        at = (offset[:, None] + np.asarray(since_first)[None, :]).ravel()
        rates = lam0 * relative_intensity(shapes, np.maximum(at, 1e-3))[0]
        loglik += np.log(rates).reshape(grid.size, -1).sum(axis=1)
    logpost = np.log(prior) + loglik
    w = np.exp(logpost - logpost.max())
    return grid, w / w.sum()


def weighted_median(values: Floats, weights: Floats) -> float:
    """The median of a discrete distribution."""
    order = np.argsort(values)
    cdf = np.cumsum(weights[order])
    return float(values[order][min(int(np.searchsorted(cdf, 0.5)), values.size - 1)])


def _boundary(post: ClassPosterior, name: str) -> tuple[float, float, float] | None:
    """Median and 10–90 % range of a component's crossover age over the variants having it."""
    values, weights = [], []
    for f in post.fits:
        if name in f.variant.names and f.probability > 1e-6:
            col = 2 * f.variant.names.index(name) + 1
            values.append(np.exp(f.draws[:, col]))
            weights.append(f.probability * f.weights)
    if not values:
        return None
    v, w = np.concatenate(values), np.concatenate(weights)
    order = np.argsort(v)
    cdf = np.cumsum(w[order]) / w.sum()
    q = [float(v[order][min(int(np.searchsorted(cdf, x)), v.size - 1)]) for x in (0.5, 0.1, 0.9)]
    return q[0], q[1], q[2]


@dataclass(frozen=True, eq=False)
class ClassFit:
    """What scoring needs of a fitted class."""

    name: str
    posterior: ClassPosterior
    point: PointParams
    unit_ages: Floats
    late_years: float
    units: int
    imputed: int
    presence: dict[str, float] = field(default_factory=dict)
    boundaries: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    site: str = ""
    """The site this fit is for ("" = the class over every site)."""
    check: FitCheck = field(default_factory=FitCheck)
    """How well the fit describes the class's failures by age, and the bands' weight."""
    bands: ClassParams | None = None
    """The class's age bands, which the probabilities lean on when the check fails."""
    sites: dict[str, ClassFit] = field(default_factory=dict)
    """Per-site fits of the class, where it has several sites with enough units."""

    def for_site(self, site: str) -> ClassFit:
        """The site's own fit when there is one, else the class's."""
        return self.sites.get(site, self)

    def stage_probabilities(self, ages: Floats) -> Floats:
        """P(early), P(mid), P(late) at each age (n × 3): the posterior's, mixed with the age
        bands' by the check's weight (the model's own probabilities hold only where the
        model describes the data)."""
        probs = self.posterior.stage_probabilities(ages)
        weight = self.check.weight
        if weight <= 0.0 or self.bands is None:
            return probs
        bounds = self.bands
        bands = np.array([base_probs(float(a), bounds) for a in np.atleast_1d(ages)])
        return np.asarray((1.0 - weight) * probs + weight * bands, dtype=np.float64)

    @property
    def failures(self) -> int:
        """Failures the fit saw."""
        return self.posterior.failures

    @property
    def shapes(self) -> Shapes:
        """The point estimate's component parameters."""
        return point_shapes(self.point)


def _current_ages(units: Sequence[UnitRecord]) -> Floats:
    return np.array([u.segments[-1].end for u in units if u.segments and u.open_since is None])


def _impute(unit: UnitRecord, point: PointParams, ages: Floats, late_years: float) -> Segment:
    assert unit.open_since is not None
    grid, w = age_posterior(point, unit.open_since, unit.open_failures, ages, late_years)
    age = weighted_median(grid, w)
    start = age - unit.open_since
    return Segment(start, age, tuple(start + t for t in unit.open_failures))


def _check(post: ClassPosterior, point: PointParams, cfg: StageConfig) -> FitCheck:
    """The fit (its point estimate) against the class's failure counts by age."""
    return check_fit(
        post.data,
        point_shapes(point),
        point.lam0,
        start=cfg.misfit_start,
        full=cfg.misfit_full,
        p_value=cfg.misfit_p_value,
    )


def _final(
    cls: str,
    units: Sequence[UnitRecord],
    prior: ClassPrior,
    first: ClassPosterior,
    cfg: StageConfig,
    *,
    seed: int,
    site: str = "",
) -> ClassFit:
    """The full fit of a group (a class, or a class at one site) under its pooled prior, with
    its units of unknown age placed by the first pass."""
    bounds = cfg.boundaries(cls)
    late = bounds.late_years
    ages = _current_ages(units)
    guess = first.point()
    extra = [_impute(u, guess, ages, late) for u in units if u.open_since is not None]
    exact = [s for u in units for s in u.segments]
    post = fit_class(prior, life_data(exact + extra), seed=seed, hints=first)
    presence = post.presence()
    point = post.point()
    check = _check(post, point, cfg)
    logger.debug("class %s %s: components %s, check %s", cls, site, presence, check.as_dict())
    return ClassFit(
        name=cls,
        posterior=post,
        point=point,
        unit_ages=ages,
        late_years=late,
        units=len(units),
        imputed=len(extra),
        presence=presence,
        boundaries={n: b for n in ("burn_in", "wear_out") if (b := _boundary(post, n)) is not None},
        site=site,
        check=check,
        bands=bounds,
    )


def _site_fits(
    cls: str, units: Sequence[UnitRecord], prior: ClassPrior, cfg: StageConfig, seed: int
) -> dict[str, ClassFit]:
    """Each site of the class with enough units, under a prior pooled from the other sites
    (the class's prior as the literature): partial pooling of the sites."""
    by_site: dict[str, list[UnitRecord]] = {}
    for u in units:
        if u.site:
            by_site.setdefault(u.site, []).append(u)
    eligible = {s: us for s, us in by_site.items() if len(us) >= cfg.min_fit_units}
    if not cfg.priors.pool_sites or len(eligible) < 2:
        return {}
    first = {
        s: fit_class(prior, life_data([seg for u in us for seg in u.segments]), laplace_only=True)
        for s, us in eligible.items()
    }
    priors = pooled_priors(
        dict.fromkeys(eligible, prior),
        {s: f.estimates() for s, f in first.items()},
        cfg.priors,
        min_spread=cfg.priors.site_min_spread,
    )
    return {
        s: _final(cls, us, priors[s], first[s], cfg, seed=seed, site=s)
        for s, us in eligible.items()
    }


def fit_fleet(
    units_by_class: Mapping[str, Sequence[UnitRecord]], cfg: StageConfig, *, seed: int = 0
) -> dict[str, ClassFit]:
    """A `ClassFit` for every class with at least `cfg.min_fit_units` units (priors pooled
    across classes), with per-site fits where the class spans several sites."""
    base, exact = {}, {}
    for cls, units in units_by_class.items():
        bounds = cfg.boundaries(cls)
        base[cls] = literature_prior(
            cfg.priors,
            bounds.early_years,
            bounds.late_years,
            configured=cfg.params_for(cls) is not None,
        )
        exact[cls] = [s for u in units for s in u.segments]
    first = {cls: fit_class(base[cls], life_data(exact[cls]), laplace_only=True) for cls in base}
    pooled = pooled_priors(base, {c: f.estimates() for c, f in first.items()}, cfg.priors)
    fits: dict[str, ClassFit] = {}
    for cls, units in units_by_class.items():
        if len(units) < cfg.min_fit_units:
            continue
        fit = _final(cls, units, pooled[cls], first[cls], cfg, seed=seed)
        fits[cls] = replace(fit, sites=_site_fits(cls, units, pooled[cls], cfg, seed))
    return fits


__all__ = ["ClassFit", "UnitRecord", "age_posterior", "fit_fleet"]
