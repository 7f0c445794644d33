"""Budgets and KPI targets of a site, as data with history (`maintenance.budgets`): supervisors
set them, everyone who sees the site reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import CurrentUser, Supervisor
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError, UnprocessableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.kpis import visible_site
from bldgwatch.maintenance.budgets import (
    DEFAULT_TARGETS,
    FIRST_YEAR,
    LAST_YEAR,
    budget_entries,
    in_force,
    set_budget,
    set_target,
    target_history,
    targets,
)
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite
from bldgwatch.maintenance.texts import text

router = APIRouter(prefix="/api", tags=["kpis"])

SiteId = Annotated[str, Path(max_length=64, description="Site id.")]


class BudgetIn(BaseModel):
    """One budget setting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"period": "2026", "category": "parts", "amount": 120000, "note": ""}]
        },
    )

    building: str = Field("", max_length=64, description="'' for the whole site.")
    period: str = Field(pattern=r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$", description="YYYY or YYYY-MM.")
    category: Literal["labour", "parts", "contractors"]
    amount: float = Field(ge=0, le=1e12)
    note: str = Field("", max_length=2000)


class BudgetOut(BaseModel):
    """One budget setting as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    building: str
    period: str
    category: str
    amount: float
    note: str
    at: datetime
    actor: str


class Budgets(BaseModel):
    """A site's budgets of a year: those in force, and every setting (newest first)."""

    site: str
    year: int
    in_force: list[BudgetOut]
    history: list[BudgetOut]


class TargetOut(BaseModel):
    """A KPI target in force."""

    kpi: str
    name: str = Field(description="The KPI's name in the reader's language.")
    target: float
    default: float
    at_most: bool = Field(description="Met at or below the target (cost against budget).")


class TargetSet(BaseModel):
    """One target setting as stored."""

    model_config = ConfigDict(from_attributes=True)

    kpi: str
    target: float
    at: datetime
    actor: str


class Targets(BaseModel):
    """A site's KPI targets in force and their history."""

    site: str
    targets: list[TargetOut]
    history: list[TargetSet]


class TargetsIn(BaseModel):
    """New targets by KPI (rates as fractions: 0.98 for 98 %)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"targets": {"good_condition": 0.97}}]}
    )

    targets: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=20, description="Finite numbers (no Infinity or NaN)."
    )


@router.get(
    "/budgets/{site}",
    response_model=Budgets,
    responses=problem_docs(401, 404, 422, 503),
    summary="A site's budgets of a year, with their history",
)
def get_budgets(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    site: SiteId,
    year: Annotated[
        int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="Default: this year.")
    ] = None,
) -> Budgets:
    """Per building ('' = whole site), period (year or month) and category."""
    visible_site(session, user, site)
    year = year or clock.now().year
    entries = budget_entries(session, site, year)
    return Budgets(
        site=site,
        year=year,
        in_force=[BudgetOut.model_validate(r) for r in in_force(entries)],
        history=[BudgetOut.model_validate(r) for r in entries],
    )


@router.post(
    "/budgets/{site}",
    response_model=BudgetOut,
    status_code=201,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Set a budget",
)
def post_budget(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.BUDGET_SET, "site:{site}"))],
    session: DbSession,
    user: Supervisor,
    clock: AppClock,
    site: SiteId,
    body: BudgetIn,
) -> BudgetOut:
    """A new setting; the one it replaces stays in the history."""
    visible_site(session, user, site)
    noted.site = site
    noted.detail = body.model_dump(mode="json")
    try:
        row = set_budget(
            session,
            site=site,
            building=body.building,
            period=body.period,
            category=body.category,
            amount=body.amount,
            note=body.note,
            actor=user.name,
            at=clock.now(),
        )
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    except UnknownSite as err:
        raise NotFoundError(said(err)) from err
    audit.commit(session, noted, user.name, clock.now())
    return BudgetOut.model_validate(row)


def _targets(session: DbSession, site: str, lang: str) -> Targets:
    current = targets(session, site)
    return Targets(
        site=site,
        targets=[
            TargetOut(
                kpi=k,
                name=text(f"kpi.{k}", lang),
                target=v,
                default=DEFAULT_TARGETS[k],
                at_most=k == "cost_vs_budget",
            )
            for k, v in current.items()
        ],
        history=[TargetSet.model_validate(r) for r in target_history(session, site)],
    )


@router.get(
    "/kpi-targets/{site}",
    response_model=Targets,
    responses=problem_docs(401, 404, 422, 503),
    summary="A site's KPI targets",
)
def get_targets(*, session: DbSession, user: CurrentUser, lang: Lang, site: SiteId) -> Targets:
    """The targets in force (the site's settings over the defaults) and their history."""
    visible_site(session, user, site)
    return _targets(session, site, lang)


@router.put(
    "/kpi-targets/{site}",
    response_model=Targets,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Set KPI targets of a site",
)
def put_targets(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.KPI_TARGETS_SET, "site:{site}"))],
    session: DbSession,
    user: Supervisor,
    clock: AppClock,
    lang: Lang,
    site: SiteId,
    body: TargetsIn,
) -> Targets:
    """Each given KPI gets a new target (all or none)."""
    visible_site(session, user, site)
    noted.site, noted.detail = site, dict(body.targets)
    now = clock.now()
    try:
        for kpi, value in body.targets.items():
            set_target(session, site=site, kpi=kpi, target=value, actor=user.name, at=now)
    except InvalidRecord as err:
        session.rollback()
        raise UnprocessableError(said(err), param=err.field) from err
    audit.commit(session, noted, user.name, now)
    return _targets(session, site, lang)
