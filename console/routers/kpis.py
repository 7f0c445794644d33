"""Key figures: alarm KPIs (`rules.kpis`), maintenance KPIs and failure-stage scores
(`maintenance.kpistore`, `maintenance.stage`), PM plan state and the monthly report
(`maintenance.report`). Thin: each endpoint checks the site, calls one function, converts."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser, Supervisor, User
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import BadParameterError, NotFoundError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import MONTH, Page, Paging, When
from bldgwatch.console.problems import problem_docs
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import site_zone
from bldgwatch.maintenance import queries as maintenance_queries
from bldgwatch.maintenance.budgets import meets, targets
from bldgwatch.maintenance.i18n import render
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import (
    NoFigures,
    SiteClock,
    kpis_for,
    opened_per_day,
    site_clock,
)
from bldgwatch.maintenance.plans import next_due, schedule_message
from bldgwatch.maintenance.plantexts import plan_text
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.queries import EquipmentFilter
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.texts import text
from bldgwatch.rules import kpis as alarm_kpis_mod
from bldgwatch.rules import queries as alarm_queries
from bldgwatch.rules.kpis import daily_counts

router = APIRouter(prefix="/api", tags=["kpis"])

DEFAULT_DAYS = 30


class DayCount(BaseModel):
    """A count for one day of the site's calendar (for charts)."""

    day: str = Field(description="YYYY-MM-DD in the site's time zone.")
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
    timezone: str = Field("Asia/Shanghai", description="The zone whose days `per_day` counts.")


class KpiFigure(BaseModel):
    """One KPI of the month with its name, target and whether it is met."""

    kpi: str
    name: str = Field(description="In the reader's language.")
    definition: str = Field(description="How it is computed, in the reader's language.")
    value: float | int | None
    unit: Literal["share", "count", "hours", "amount"] = Field(
        description="How to read `value`: a share (0–1), a count, hours, or an amount (money, "
        "a score)."
    )
    target: float | None = None
    met: bool | None = Field(None, description="None without a figure or a target.")


class MonthRange(BaseModel):
    """The months a site has figures for (in its time zone): from the month it came under
    management to the current one. Charts span this, not more."""

    first: str
    last: str
    timezone: str


class MaintenanceKpis(BaseModel):
    """A site's (or building's) maintenance KPIs for one month, from `maintenance.kpistore`."""

    site: str
    building: str | None = None
    month: str
    timezone: str = Field(description="The site's time zone; days and months are its own.")
    start: datetime = Field(description="Start of the figures (the month, or the site's start).")
    end: datetime = Field(description="End of the figures (the month's end, or now).")
    figures: dict[str, Any] = Field(
        description="good_condition, availability, mtbf_h, mttr_h, timeliness, first_time_fix, "
        "backlog, cost…",
        examples=[{"good_condition": 0.99, "availability": 0.998, "mttr_h": 3.5, "backlog": 2}],
    )
    kpis: list[KpiFigure] = Field(default_factory=list, description="Named, with targets.")
    per_day: list[DayCount] = Field(description="Work orders opened per site-local day.")
    range: MonthRange


class KpiTrend(BaseModel):
    """A site's (or building's) KPIs month by month over the months it has figures for."""

    site: str
    building: str | None = None
    range: MonthRange
    months: list[dict[str, Any]] = Field(description="Each month's figures, oldest first.")


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
    schedule: str = Field(
        description="How often it falls due, in the reader's language and the site's zone, "
        "e.g. 每半月（每 15 天，Asia/Shanghai 0 点）."
    )
    zone: str = Field(description="The site's time zone, in which calendar plans fall due.")
    next_due: datetime | None = Field(
        description="A calendar plan's next due point (UTC; the site's local midnight)."
    )
    next_step_at: float | None = Field(
        description="A counter plan's next due value of its counter (e.g. 4000 run hours)."
    )
    includes: list[str] = Field(
        description="Titles of the lower-level plans whose items this plan's orders carry "
        "too (TSG T5002: the yearly visit includes the half-yearly, quarterly, half-monthly)."
    )
    tasks: list[str] = Field(
        description="The checklist put on each order: the plan's items, then those of the "
        "plans it includes."
    )
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


def _included(plans: dict[str, Any], plan_id: str) -> list[str]:
    """The plans a plan's visit includes, directly or through another, highest first."""
    found: list[str] = []
    todo = list(((plans[plan_id].rule or {}).get("includes") or []) if plan_id in plans else [])
    while todo:
        pid = todo.pop(0)
        if pid in found or pid not in plans:
            continue
        found.append(pid)
        todo.extend((plans[pid].rule or {}).get("includes") or [])
    return found


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def site_timezone(session: Session, site: str) -> str:
    """The site's time zone (UTC when it names none)."""
    row = maintenance_queries.site(session, site)
    return str(getattr(row, "timezone", None) or "UTC")


def visible_site(session: Session, user: User, site: str) -> None:
    """404 unless the site exists and the user may see it."""
    if not user.may_see(site) or maintenance_queries.site(session, site) is None:
        raise NotFoundError(Message("error.site.not_found", {"site": site}))


def _per_day(times: list[datetime], zone: str) -> list[DayCount]:
    return [DayCount(day=d, count=n) for d, n in daily_counts(times, site_zone(zone))]


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
        raise BadParameterError(Message("error.start_before_end"), param="start")
    figures = alarm_kpis_mod.view_kpis(
        engine, sites, start=lo, end=hi, now=now, view=site or "operator"
    )
    rows = alarm_queries.raised_between(session, sites, lo, hi)
    zone = maintenance_queries.zone_of(session, sites)
    return AlarmKpis(
        site=site or "operator",
        start=lo,
        end=hi,
        figures={k: v for k, v in asdict(figures).items() if k not in ("view", "start", "end")},
        per_day=_per_day([r[0] for r in rows], zone),
        by_severity=dict(Counter(r[1] for r in rows)),
        timezone=zone,
    )


Building = Annotated[str | None, Query(max_length=64, description="Only this building.")]
SHOWN = (
    "good_condition",
    "availability",
    "emergency_timeliness",
    "minor_timeliness",
    "minor_pass_rate",
    "first_time_fix",
    "follow_up_rate",
    "satisfaction",
    "satisfaction_score",
    "complaint_resolution_rate",
    "complaint_response_on_time",
    "complaint_resolution_on_time",
    "complaints",
    "pm_compliance",
    "pm_item_compliance",
    "rounds_late",
    "rounds_missed",
    "failures",
    "mtbf_h",
    "mttr_h",
    "downtime_h",
    "backlog",
    "cost",
    "budget",
    "cost_vs_budget",
)


COUNTS = frozenset({"complaints", "rounds_late", "rounds_missed", "failures", "backlog"})
AMOUNTS = frozenset({"satisfaction_score", "cost", "budget"})


def _unit(kpi: str) -> Literal["share", "count", "hours", "amount"]:
    """How a KPI's value reads (review 19c-r M13: round counts were shown as shares)."""
    if kpi in COUNTS:
        return "count"
    if kpi in AMOUNTS:
        return "amount"
    return "hours" if kpi.endswith("_h") else "share"


def _named_kpis(figures: dict[str, Any], goals: dict[str, float], lang: str) -> list[KpiFigure]:
    out = []
    for kpi in SHOWN:
        value, target = figures.get(kpi), goals.get(kpi)
        out.append(
            KpiFigure(
                kpi=kpi,
                name=text(f"kpi.{kpi}", lang),
                definition=text(f"kpi_def.{kpi}", lang),
                value=value,
                unit=_unit(kpi),
                target=target,
                met=meets(kpi, value, target) if target is not None else None,
            )
        )
    return out


def _range(clock: SiteClock, now: datetime) -> MonthRange:
    first, last = clock.months(now)
    return MonthRange(first=first.label, last=last.label, timezone=clock.tz)


def _site_clock(session: Session, user: User, site: str, building: str | None) -> SiteClock:
    visible_site(session, user, site)
    if building is not None and building not in {
        b.id for b in maintenance_queries.buildings_of(session, [site]).get(site, [])
    }:
        raise NotFoundError(
            Message("error.building.not_found", {"building": building, "site": site})
        )
    return site_clock(session, site)


@router.get(
    "/kpis/maintenance",
    response_model=MaintenanceKpis,
    responses=problem_docs(401, 404, 422, 503),
    summary="Maintenance KPIs of a site or building for a month",
)
def maintenance_kpis(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    building: Building = None,
    month: Annotated[
        str | None,
        Query(
            pattern=MONTH,
            description="YYYY-MM (1970-01 … 2199-12) in the site's time zone; default now.",
        ),
    ] = None,
) -> MaintenanceKpis:
    """设备完好率, time availability, MTBF, MTTR, 急修/零修及时率, 零修合格率, first-time fix,
    回访率 and satisfaction, PM compliance, backlog and cost against budget, each with its
    target; 404 for a month before the site came under management or to come (`range` of
    the answer, or of the error's detail, says which months have figures)."""
    site_time = _site_clock(session, user, site, building)
    now = clock.now()
    period = site_time.period(month) if month else Period.of(now, site_time.tz)
    try:
        figures = kpis_for(session, site, period, now, building=building)
    except NoFigures as err:
        raise NotFoundError(said(err)) from err
    values = figures.as_dict()
    start = max(period.start, site_time.since) if site_time.since else period.start
    days = opened_per_day(session, site, period, building)
    return MaintenanceKpis(
        site=site,
        building=building,
        month=period.label,
        timezone=site_time.tz,
        start=start,
        end=min(period.end, now),
        figures=values,
        kpis=_named_kpis(values, targets(session, site), lang),
        per_day=[DayCount(day=d.isoformat(), count=n) for d, n in days],
        range=_range(site_time, now),
    )


@router.get(
    "/kpis/maintenance/trend",
    response_model=KpiTrend,
    responses=problem_docs(401, 404, 422, 503),
    summary="Maintenance KPIs month by month",
)
def maintenance_trend(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    site: SiteParam,
    building: Building = None,
    months: Annotated[int, Query(ge=1, le=36, description="At most this many months.")] = 12,
) -> KpiTrend:
    """The last `months` months the site has figures for (never before it came under
    management), oldest first: the data of the KPI page's charts."""
    site_time = _site_clock(session, user, site, building)
    now = clock.now()
    first, last = site_time.months(now)
    periods = [last]
    while len(periods) < months and periods[0].start > first.start:
        periods.insert(0, periods[0].previous())
    rows = []
    for period in periods:
        try:
            rows.append(kpis_for(session, site, period, now, building=building).as_dict())
        except NoFigures:  # managed from later: from a day still to come, or a month to come
            continue
    return KpiTrend(site=site, building=building, range=_range(site_time, now), months=rows)


@router.get(
    "/kpis/scores",
    response_model=Page[StageOut],
    responses=problem_docs(401, 404, 422, 503),
    summary="Failure-stage scores of a site's equipment",
)
def stage_scores(
    *,
    session: DbSession,
    user: CurrentUser,
    clock: AppClock,
    paging: Paging,
    site: SiteParam,
    equipment: Annotated[
        str | None, Query(max_length=64, description="Only this equipment (its page).")
    ] = None,
) -> Page[StageOut]:
    """Early / mid / late life of each equipment now, with the probabilities and the reason."""
    visible_site(session, user, site)
    rows, total = maintenance_queries.list_equipment(
        session,
        EquipmentFilter(site=site, id=equipment),
        limit=paging.limit,
        offset=paging.offset,
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
    clock: AppClock,
    paging: Paging,
    site: SiteParam,
    lang: Lang,
    equipment: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[PlanStateOut]:
    """Each preventive plan the maintenance service runs, for every equipment of its type at
    the site, with its schedule in words (the reader's language, the site's zone), the next
    due date, the checklist its orders carry, and the last due time or counter step that opened
    an order (those orders are work orders of kind `preventive`)."""
    visible_site(session, user, site)
    zone = site_timezone(session, site)
    found, total = maintenance_queries.plans_on_equipment(
        session, site, equipment, limit=paging.limit, offset=paging.offset
    )
    plans = maintenance_queries.pm_plan_rows(session)
    now = clock.now()
    items = []
    for p in found:
        rule = p.plan.rule or {}
        included = [plans[i] for i in _included(plans, p.plan.id) if i in plans]
        tasks = list(p.plan.tasks)
        for lower in included:
            tasks.extend(t for t in lower.tasks if t not in tasks)
        counter = "every" in rule and p.plan.kind == "counter"
        items.append(
            PlanStateOut(
                plan_id=p.plan.id,
                title=plan_text(p.plan.title, lang),
                kind=p.plan.kind,
                schedule=render(
                    schedule_message(rule, zone, lang, equipment_type=p.plan.equipment_type),
                    lang,
                )
                if rule
                else p.plan.schedule,
                zone=zone,
                next_due=None
                if counter
                else _utc(next_due(rule, zone, now=now, last_due=p.last_due)),
                next_step_at=float(rule["every"]) * ((p.last_step or 0) + 1) if counter else None,
                includes=[plan_text(lower.title, lang) for lower in included],
                tasks=[plan_text(task, lang) for task in tasks],
                priority=p.plan.priority,
                enabled=p.plan.enabled,
                site=site,
                equipment=p.equipment,
                last_due=p.last_due,
                last_step=p.last_step,
            )
        )
    return Page[PlanStateOut](items=items, total=total, limit=paging.limit, offset=paging.offset)
