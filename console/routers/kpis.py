"""Key figures: alarm KPIs (`rules.kpis`), maintenance KPIs and failure-stage scores
(`maintenance.kpistore`, `maintenance.stage`), PM plan state and the monthly report
(`maintenance.report`). Thin: each endpoint checks the site, calls one function, converts."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser, Supervisor, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import BadParameterError, NotFoundError
from bldgwatch.console.paging import MONTH, Page, Paging, When
from bldgwatch.console.problems import problem_docs
from bldgwatch.maintenance import queries as maintenance_queries
from bldgwatch.maintenance.errors import UnknownSite
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import kpis_for
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.queries import EquipmentFilter
from bldgwatch.maintenance.report import render_html, report_data
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.rules import kpis as alarm_kpis_mod
from bldgwatch.rules import queries as alarm_queries

router = APIRouter(prefix="/api", tags=["kpis"])

DEFAULT_DAYS = 30


class DayCount(BaseModel):
    """A count for one UTC day (for charts)."""

    day: str = Field(description="YYYY-MM-DD (UTC).")
    count: int


class AlarmKpis(BaseModel):
    """Alarm-system KPIs of a site over a window (EEMUA 191 / ISA-18.2), from `rules.kpis`."""

    site: str = Field(description="The site, or `operator` for the caller's operator view.")
    start: datetime
    end: datetime
    figures: dict[str, Any] = Field(
        description="activations, per_10min_mean, per_10min_peak, flood_s, flood_share, "
        "floods, top, chattering, standing.",
        examples=[{"activations": 12, "per_10min_mean": 0.4, "per_10min_peak": 3}],
    )
    per_day: list[DayCount] = Field(description="Alarms raised per day in the window.")
    by_severity: dict[str, int] = Field(description="Alarms raised in the window by severity.")


class MaintenanceKpis(BaseModel):
    """A site's maintenance KPIs for one month, from `maintenance.kpistore`."""

    site: str
    month: str
    figures: dict[str, Any] = Field(
        description="availability, mtbf_h, mttr_h, timeliness, first_time_fix, backlog, cost…",
        examples=[{"availability": 0.998, "mttr_h": 3.5, "backlog": 2}],
    )
    per_day: list[DayCount] = Field(description="Work orders opened per day of the month.")


class StageOut(BaseModel):
    """The failure stage of one equipment now."""

    site: str
    equipment: str
    type: str
    stage: str = Field(description="early, mid or late life.")
    p_early: float
    p_mid: float
    p_late: float
    reason: str = Field(description="Why that stage (English).")
    reason_text: dict[str, str] = Field(description="The reason in en and zh-CN.")


class PlanStateOut(BaseModel):
    """A preventive plan as it applies to one equipment, and where it stands."""

    plan_id: str
    title: str
    kind: str = Field(description="calendar or counter.")
    schedule: str = Field(description="How often it falls due, e.g. every 15 days.")
    tasks: list[str] = Field(description="The task list put on each order.")
    priority: int
    enabled: bool
    site: str
    equipment: str
    last_due: datetime | None = Field(description="Last calendar due time that opened an order.")
    last_step: int | None = Field(description="Last counter step that opened an order.")


SiteParam = Annotated[str, Query(max_length=64, description="Site id.")]
Window = Annotated[
    When | None, Query(description="ISO 8601 with zone, from 1970 up to (not including) 2200.")
]
OptionalSite = Annotated[
    str | None,
    Query(max_length=64, description="Site id; omitted: every site the caller watches."),
]


def visible_site(session: Session, user: User, site: str) -> None:
    """404 unless the site exists and the user may see it."""
    if not user.may_see(site) or maintenance_queries.site(session, site) is None:
        raise NotFoundError(f"site {site} does not exist")


def _per_day(times: list[datetime]) -> list[DayCount]:
    counts = Counter(t.date().isoformat() for t in times)
    return [DayCount(day=d, count=n) for d, n in sorted(counts.items())]


def _period(month: str | None, now: datetime) -> Period:
    if month is None:
        return Period(now.year, now.month)
    return Period(int(month[:4]), int(month[5:7]))


@router.get(
    "/kpis/alarms",
    response_model=AlarmKpis,
    responses=problem_docs(401, 404, 422, 503),
    summary="Alarm KPIs of a site, or of the caller's operator view",
)
def alarm_kpis(
    *,
    session: DbSession,
    engine: DbEngine,
    user: CurrentUser,
    clock: AppClock,
    site: OptionalSite = None,
    start: Window = None,
    end: Window = None,
) -> AlarmKpis:
    """Alarm rate per 10 minutes, flood time, top contributors, chattering and standing
    alarms over [start, end) (default: the last 30 days). Without `site`: the operator view,
    every alarm of the sites the caller watches (EEMUA 191's figures are per operator)."""
    if site is not None:
        visible_site(session, user, site)
        sites = [site]
    else:
        sites = maintenance_queries.site_ids(session, user.sites)
    now = clock.now()
    hi = end or now
    lo = start or hi - timedelta(days=DEFAULT_DAYS)
    if lo >= hi:
        raise BadParameterError("start must be before end", param="start")
    figures = alarm_kpis_mod.view_kpis(
        engine, sites, start=lo, end=hi, now=now, view=site or "operator"
    )
    rows = alarm_queries.raised_between(session, sites, lo, hi)
    return AlarmKpis(
        site=site or "operator",
        start=lo,
        end=hi,
        figures={k: v for k, v in asdict(figures).items() if k not in ("view", "start", "end")},
        per_day=_per_day([r[0] for r in rows]),
        by_severity=dict(Counter(r[1] for r in rows)),
    )


@router.get(
    "/kpis/maintenance",
    response_model=MaintenanceKpis,
    responses=problem_docs(401, 404, 422, 503),
    summary="Maintenance KPIs of a site for a month",
)
def maintenance_kpis(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    site: SiteParam,
    month: Annotated[
        str | None, Query(pattern=MONTH, description="YYYY-MM (1970-01 … 2199-12); default now.")
    ] = None,
) -> MaintenanceKpis:
    """Availability, MTBF, MTTR, response/repair timeliness, first-time fix, PM compliance,
    backlog and cost against budget."""
    visible_site(session, user, site)
    now = clock.now()
    period = _period(month, now)
    try:
        figures = kpis_for(session, site, period, now)
    except UnknownSite as err:
        raise NotFoundError(str(err)) from err
    created = maintenance_queries.opened_between(session, site, period.start, period.end)
    return MaintenanceKpis(
        site=site, month=period.label, figures=figures.as_dict(), per_day=_per_day(created)
    )


@router.get(
    "/kpis/scores",
    response_model=Page[StageOut],
    responses=problem_docs(401, 404, 422, 503),
    summary="Failure-stage scores of a site's equipment",
)
def stage_scores(
    *, session: DbSession, user: CurrentUser, clock: AppClock, paging: Paging, site: SiteParam
) -> Page[StageOut]:
    """Early / mid / late life of each equipment now, with the probabilities and the reason."""
    visible_site(session, user, site)
    rows, total = maintenance_queries.list_equipment(
        session, EquipmentFilter(site=site), limit=paging.limit, offset=paging.offset
    )
    fits, config, now = FitCache(), load_policy(session).stage, clock.now()
    items = []
    for eq in rows:
        score = assess_stage(
            session,
            site=site,
            equipment=eq.id,
            equipment_type=eq.type,
            as_of=now,
            config=config,
            fits=fits,
        )
        items.append(
            StageOut(
                site=site,
                equipment=eq.id,
                type=eq.type,
                stage=score.stage.value,
                p_early=round(score.p_early, 4),
                p_mid=round(score.p_mid, 4),
                p_late=round(score.p_late, 4),
                reason=score.reason,
                reason_text=score.texts,
            )
        )
    return Page[StageOut](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get(
    "/pm-plans",
    response_model=Page[PlanStateOut],
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Preventive-maintenance plans per equipment, and where they stand",
)
def pm_plans(
    *,
    session: DbSession,
    user: Supervisor,
    paging: Paging,
    site: SiteParam,
    equipment: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[PlanStateOut]:
    """Each preventive plan the maintenance service runs, for every equipment of its type at
    the site, with the last due time or counter step that opened an order (those orders are
    work orders of kind `preventive`)."""
    visible_site(session, user, site)
    found, total = maintenance_queries.plans_on_equipment(
        session, site, equipment, limit=paging.limit, offset=paging.offset
    )
    items = [
        PlanStateOut(
            plan_id=p.plan.id,
            title=p.plan.title,
            kind=p.plan.kind,
            schedule=p.plan.schedule,
            tasks=p.plan.tasks,
            priority=p.plan.priority,
            enabled=p.plan.enabled,
            site=site,
            equipment=p.equipment,
            last_due=p.last_due,
            last_step=p.last_step,
        )
        for p in found
    ]
    return Page[PlanStateOut](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get(
    "/reports/{site}/{month}",
    response_class=HTMLResponse,
    responses={**problem_docs(401, 403, 404, 422, 503), 200: {"content": {"text/html": {}}}},
    summary="Monthly maintenance report (HTML)",
)
def monthly_report(
    *,
    session: DbSession,
    user: Supervisor,
    clock: AppClock,
    site: Annotated[str, Path(max_length=64, description="Site id.")],
    month: Annotated[str, Path(pattern=MONTH, description="YYYY-MM (1970-01 … 2199-12).")],
) -> HTMLResponse:
    """The site's report for the month: KPIs, six-month trend, failure Pareto, stage mix."""
    visible_site(session, user, site)
    try:
        data = report_data(session, site, _period(month, clock.now()), as_of=clock.now())
    except UnknownSite as err:
        raise NotFoundError(str(err)) from err
    return HTMLResponse(render_html(data))
