"""Energy accounting (issue 20): consumption per meter, building or system by hour, day or
month of the site's calendar, and the sub-metering balance, from the meters' counters
(`maintenance.energy`, read by `maintenance.energystore`). Site-scoped like the KPI routes;
each figure also as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import CurrentUser, Supervisor, User
from bldgwatch.console.deps import AppClock, DbSession, Store
from bldgwatch.console.errors import BadParameterError, NotFoundError, UnprocessableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import DAY
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.kpis import visible_site
from bldgwatch.core import i18n
from bldgwatch.core.i18n import Message
from bldgwatch.core.pumps import OperatingPoint
from bldgwatch.core.site import site_zone
from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.maintenance import queries as maintenance_queries
from bldgwatch.maintenance.csvcells import spreadsheet_safe
from bldgwatch.maintenance.energy import (
    Accounts,
    Balance,
    Bucket,
    Every,
    Flag,
    Meter,
    Series,
    account,
    balance,
    buckets,
    by_building,
    by_system,
    estimated,
)
from bldgwatch.maintenance.energysavestore import (
    SiteSaving,
    baselines,
    set_baseline,
    site_saving,
    target_history,
)
from bldgwatch.maintenance.energysavestore import set_target as set_energy_target
from bldgwatch.maintenance.energystore import (
    UNITS,
    meters_of,
    read_history,
    read_power,
    read_samples,
)
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.pumpeff import PumpEfficiency
from bldgwatch.maintenance.pumpstore import Pump, kept_baselines, pump_efficiency, pumps_of
from bldgwatch.rules.models import AlarmRow

router = APIRouter(prefix="/api/energy", tags=["kpis"])

Kind = Literal["electricity", "water"]
By = Literal["meter", "building", "system"]
MOST_DAYS: dict[str, int] = {"hour": 31, "day": 366, "month": 1830}
"""The longest window per bucket size (hours: a month; days: a year; months: five years)."""
DEFAULT_DAYS: dict[str, int] = {"hour": 1, "day": 30, "month": 365}

SiteParam = Annotated[str, Query(max_length=64, description="Site id.")]
KindParam = Annotated[Kind, Query(description="electricity (kWh) or water (m³).")]
EveryParam = Annotated[Every, Query(description="Buckets: hour, day or month (site time).")]
BuildingParam = Annotated[str | None, Query(max_length=64, description="Only this building.")]
DayParam = Annotated[
    str | None,
    Query(
        pattern=DAY,
        description="YYYY-MM-DD in the site's time zone (1970 … 2199): from its midnight "
        "(start) / until its midnight, excluded (end).",
    ),
]
StuckParam = Annotated[
    float,
    Query(ge=0.25, le=168, description="Hours a counter may stand still before it is flagged."),
]


class BucketOut(BaseModel):
    """One hour, day or month of the site's calendar (clipped to the window)."""

    label: str = Field(description="hour: local start with offset; day: YYYY-MM-DD; YYYY-MM.")
    start: datetime
    end: datetime


class SeriesOut(BaseModel):
    """Consumption per bucket of one meter, building or system."""

    key: str = Field(description="Meter id, building id or system.")
    name: str = Field(description="In the reader's language.")
    meters: list[str] = Field(description="The meters summed.")
    values: list[float | None] = Field(
        description="One per bucket, in the unit; null where no counter reading covers the "
        "bucket (no data: before a meter's first reading, after its last, in the future)."
    )
    stuck: list[bool] = Field(description="Per bucket: a summed counter stood still in it.")
    estimated: list[Literal["reset", "gap"] | None] = Field(
        description="Per bucket, why its figure is an estimate: reset (a counter restart in it, "
        "its interval estimated at the meter's mean rate), gap (a gap over its edge, the rise "
        "shared out evenly); null where measured."
    )
    total: float | None = Field(description="Over the buckets with data; null with none.")


class FlagOut(BaseModel):
    """Something about a meter's counter a reader should know."""

    meter: str
    kind: str = Field(
        description="rollover, reset (reset or replaced meter), spike (a bad reading skipped), "
        "gap, stuck, still (no movement in all that is kept: stuck or out of use; amount: "
        "its days)."
    )
    text: str = Field(description="What it means, in the reader's language.")
    start: datetime
    end: datetime
    amount: float | None = Field(
        None, description="rollover, reset: what was counted; spike: the reading skipped."
    )


class Consumption(BaseModel):
    """A site's consumption of one kind over a window."""

    site: str
    kind: Kind
    unit: str
    every: Every
    by: By
    building: str | None
    timezone: str
    start: datetime
    end: datetime
    buckets: list[BucketOut]
    series: list[SeriesOut]
    flags: list[FlagOut]


class BalanceRowOut(BaseModel):
    """A parent meter against its sub-meters in one bucket."""

    label: str
    parent: float | None = Field(
        description="null: no data (the parent or a direct sub-meter has no reading in it)."
    )
    submeters: float | None
    unaccounted: float | None
    share: float | None = Field(description="unaccounted / parent; null when parent is 0.")
    flagged: bool = Field(description="|share| above the threshold (never without data).")
    stuck: bool


class BalanceOut(BaseModel):
    """One parent meter and its direct sub-meters."""

    meter: str
    building: str
    submeters: list[str]
    rows: list[BalanceRowOut]
    flagged: int = Field(description="How many buckets are flagged.")


class Balances(BaseModel):
    """Sub-metering balance of a site: each parent meter against the sum of its sub-meters."""

    site: str
    kind: Kind
    unit: str
    every: Every
    building: str | None
    timezone: str
    threshold: float
    start: datetime
    end: datetime
    buckets: list[BucketOut]
    balances: list[BalanceOut]
    flags: list[FlagOut]


@dataclass(frozen=True, slots=True)
class _Window:
    zone: str
    edges: list[Bucket]
    meters: list[Meter]
    accounts: Accounts


def _day(param: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise BadParameterError(
            Message("error.energy.day", {"param": param, "value": value}), param=param
        ) from err


def _window(
    session: Session,
    store: TimeSeriesStore,
    user: User,
    now: datetime,
    q: _Query,
) -> _Window:
    visible_site(session, user, q.site)
    if q.building is not None and q.building not in {
        b.id for b in maintenance_queries.buildings_of(session, [q.site]).get(q.site, [])
    }:
        raise NotFoundError(
            Message("error.building.not_found", {"building": q.building, "site": q.site})
        )
    row = maintenance_queries.site(session, q.site)
    assert row is not None  # visible_site found it
    zone = site_zone(row.timezone)
    end = _day("end", q.end) or now.astimezone(zone).date() + timedelta(days=1)
    start = _day("start", q.start) or end - timedelta(days=DEFAULT_DAYS[q.every])
    if start >= end:
        raise BadParameterError(Message("error.start_before_end"), param="start")
    if (end - start).days > MOST_DAYS[q.every]:
        raise BadParameterError(
            Message("error.energy.window", {"every": q.every, "days": MOST_DAYS[q.every]}),
            param="start",
        )
    edges = buckets(start, end, q.every, zone)
    meters = meters_of(session, q.site, q.kind, q.building)
    ids = [m.id for m in meters]
    samples, history, power = (
        (
            read_samples(
                store, site=q.site, kind=q.kind, start=edges[0].start, end=edges[-1].end, now=now
            ),
            read_history(store, site=q.site, kind=q.kind, start=edges[0].start, now=now, ids=ids),
            read_power(store, site=q.site, kind=q.kind, start=edges[0].start, end=edges[-1].end),
        )
        if meters
        else ({}, {}, {})
    )
    accounts = account(
        meters,
        samples,
        edges,
        unit=UNITS[q.kind],
        stuck_after=timedelta(hours=q.stuck_h),
        history=history,
        power=power,
    )
    return _Window(row.timezone, edges, meters, accounts)


@dataclass(frozen=True, slots=True)
class _Query:
    site: str
    kind: Kind
    every: Every
    building: str | None
    start: str | None
    end: str | None
    stuck_h: float


def _buckets(edges: list[Bucket]) -> list[BucketOut]:
    return [BucketOut(label=b.label, start=b.start, end=b.end) for b in edges]


def _flags(flags: list[Flag], lang: str) -> list[FlagOut]:
    """The counters' notes, one explanation per interval: a gap whose interval is also a
    reset is the reset's (its estimate decided the figure, not the rise shared out over the
    gap; fourth review of issue 20, L5). The accounts keep both (a reset in a gap leaves
    its days out of the savings)."""
    resets = {(f.meter, f.start, f.end) for f in flags if f.kind == "reset"}
    return [
        FlagOut(
            meter=f.meter,
            kind=f.kind,
            text=i18n.render(f"energy.flag.{f.kind}", {"days": int(f.amount or 0)}, lang),
            start=f.start,
            end=f.end,
            amount=round(f.amount, 6) if f.amount is not None else None,
        )
        for f in flags
        if not (f.kind == "gap" and (f.meter, f.start, f.end) in resets)
    ]


def _series_name(series: Series, by: By, names: dict[str, str], lang: str) -> str:
    if by == "system":
        return text(f"energy.system.{series.key}", lang)
    return names.get(series.key) or series.key


def _consumption(w: _Window, q: _Query, by: By, names: dict[str, str], lang: str) -> Consumption:
    if by == "meter":
        found = [w.accounts.meters[m.id] for m in w.meters]
    elif by == "building":
        found = by_building(w.meters, w.accounts)
    else:
        found = by_system(w.meters, w.accounts)
    return Consumption(
        site=q.site,
        kind=q.kind,
        unit=w.accounts.unit,
        every=q.every,
        by=by,
        building=q.building,
        timezone=w.zone,
        start=w.edges[0].start,
        end=w.edges[-1].end,
        buckets=_buckets(w.edges),
        series=[
            SeriesOut(
                key=s.key,
                name=_series_name(s, by, names, lang),
                meters=s.meters,
                values=[round(v, 6) if r else None for v, r in zip(s.values, s.read, strict=True)],
                stuck=s.stuck,
                estimated=estimated(
                    w.accounts.flags, _depends_on(s.meters, w.meters, by), w.accounts.buckets
                ),
                total=round(sum(s.values), 6) if any(s.read) else None,
            )
            for s in found
        ],
        flags=_flags(w.accounts.flags, lang),
    )


def _depends_on(ids: list[str], meters: list[Meter], by: By) -> set[str]:
    """The meters a series' figure comes from: a system's are its meters less their direct
    sub-meters (`by_system`), so those count too."""
    if by != "system":
        return set(ids)
    return set(ids) | {m.id for m in meters if m.parent in ids}


def _names(session: Session, w: _Window, site: str, by: By) -> dict[str, str]:
    if by == "building":
        return {b.id: b.name for b in maintenance_queries.buildings_of(session, [site])[site]}
    if by == "meter":
        return {m.id: m.name for m in w.meters}
    return {}


def _balance_out(b: Balance) -> BalanceOut:
    rows = [
        BalanceRowOut(
            label=r.bucket.label,
            parent=round(r.parent, 6) if r.read else None,
            submeters=round(r.submeters, 6) if r.read else None,
            unaccounted=round(r.unaccounted, 6) if r.read else None,
            share=round(r.share, 6) if r.share is not None else None,
            flagged=r.flagged,
            stuck=r.stuck,
        )
        for r in b.rows
    ]
    return BalanceOut(
        meter=b.meter,
        building=b.building,
        submeters=b.submeters,
        rows=rows,
        flagged=sum(r.flagged for r in rows),
    )


def _balances(w: _Window, q: _Query, threshold: float, lang: str) -> Balances:
    return Balances(
        site=q.site,
        kind=q.kind,
        unit=w.accounts.unit,
        every=q.every,
        building=q.building,
        timezone=w.zone,
        threshold=threshold,
        start=w.edges[0].start,
        end=w.edges[-1].end,
        buckets=_buckets(w.edges),
        balances=[_balance_out(b) for b in balance(w.meters, w.accounts, threshold=threshold)],
        flags=_flags(w.accounts.flags, lang),
    )


ThresholdParam = Annotated[
    float,
    Query(
        ge=0.0,
        le=1.0,
        description="Unaccounted share (0.1 = 10 %) above which a bucket is flagged.",
    ),
]
ByParam = Annotated[By, Query(description="One series per meter, building or system.")]


@router.get(
    "/consumption",
    response_model=Consumption,
    responses=problem_docs(400, 401, 404, 422, 503),
    summary="Consumption per meter, building or system by hour, day or month",
)
def consumption(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    kind: KindParam = "electricity",
    every: EveryParam = "day",
    by: ByParam = "building",
    building: BuildingParam = None,
    start: DayParam = None,
    end: DayParam = None,
    stuck_h: StuckParam = 2.0,
) -> Consumption:
    """What the meters counted per bucket of the site's calendar (hours, days or months in
    its time zone) over [start, end) (default: today by hour, the last 30 days by day, the
    last 365 days by month). A building is its main meters; a system is its topmost meters.
    Rollovers, resets (a replaced meter), gaps and stuck counters are in `flags`."""
    q = _Query(site, kind, every, building, start, end, stuck_h)
    w = _window(session, store, user, clock.now(), q)
    return _consumption(w, q, by, _names(session, w, site, by), lang)


@router.get(
    "/consumption.csv",
    response_class=Response,
    responses={**problem_docs(400, 401, 404, 422, 503), 200: {"content": {"text/csv": {}}}},
    summary="Consumption as CSV",
)
def consumption_csv(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    kind: KindParam = "electricity",
    every: EveryParam = "day",
    by: ByParam = "building",
    building: BuildingParam = None,
    start: DayParam = None,
    end: DayParam = None,
    stuck_h: StuckParam = 2.0,
) -> Response:
    """One row per bucket and series (headers in the reader's language, UTF-8 with a
    byte-order mark for spreadsheet programs); each figure says whether it is measured or
    estimated, and why (as the JSON's `estimated`)."""
    q = _Query(site, kind, every, building, start, end, stuck_h)
    w = _window(session, store, user, clock.now(), q)
    body = _consumption(w, q, by, _names(session, w, site, by), lang)
    rows = [
        [
            b.label,
            spreadsheet_safe(s.key),
            spreadsheet_safe(s.name),
            "" if s.values[k] is None else f"{s.values[k]:.3f}",
            body.unit,
            _yes(s.stuck[k], lang),
            text(_figure(s.values[k], s.estimated[k]), lang),
            text(f"energy.flag.{s.estimated[k]}", lang) if s.estimated[k] else "",
        ]
        for s in body.series
        for k, b in enumerate(body.buckets)
    ]
    head = ["bucket", "key", "name", "consumption", "unit", "stuck", "figure", "why_estimated"]
    return _csv(head, rows, lang, f"{site}-{kind}-{every}-by-{by}.csv")


@router.get(
    "/balance",
    response_model=Balances,
    responses=problem_docs(400, 401, 404, 422, 503),
    summary="Sub-metering balance: main meters against the sum of their sub-meters",
)
def balance_of(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    kind: KindParam = "electricity",
    every: EveryParam = "hour",
    building: BuildingParam = None,
    start: DayParam = None,
    end: DayParam = None,
    threshold: ThresholdParam = 0.1,
    stuck_h: StuckParam = 2.0,
) -> Balances:
    """For every meter with sub-meters: per bucket, the parent's consumption, the sum of its
    direct sub-meters, the unaccounted rest and its share, flagged above `threshold` (either
    way: sub-meters counting more than their parent is a fault too)."""
    q = _Query(site, kind, every, building, start, end, stuck_h)
    w = _window(session, store, user, clock.now(), q)
    return _balances(w, q, threshold, lang)


@router.get(
    "/balance.csv",
    response_class=Response,
    responses={**problem_docs(400, 401, 404, 422, 503), 200: {"content": {"text/csv": {}}}},
    summary="Sub-metering balance as CSV",
)
def balance_csv(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    kind: KindParam = "electricity",
    every: EveryParam = "hour",
    building: BuildingParam = None,
    start: DayParam = None,
    end: DayParam = None,
    threshold: ThresholdParam = 0.1,
    stuck_h: StuckParam = 2.0,
) -> Response:
    """One row per parent meter and bucket."""
    q = _Query(site, kind, every, building, start, end, stuck_h)
    body = _balances(_window(session, store, user, clock.now(), q), q, threshold, lang)
    rows = [
        [
            r.label,
            spreadsheet_safe(b.meter),
            spreadsheet_safe(" ".join(b.submeters)),
            f"{r.parent:.3f}" if r.parent is not None else "",
            f"{r.submeters:.3f}" if r.submeters is not None else "",
            f"{r.unaccounted:.3f}" if r.unaccounted is not None else "",
            f"{r.share:.4f}" if r.share is not None else "",
            _yes(r.flagged, lang),
            body.unit,
        ]
        for b in body.balances
        for r in b.rows
    ]
    head = ["bucket", "meter", "submeters", "parent", "sum", "unaccounted", "share", "flagged"]
    return _csv([*head, "unit"], rows, lang, f"{site}-{kind}-{every}-balance.csv")


def text(key: str, lang: str) -> str:
    """A catalogue text (no parameters) in `lang`."""
    return i18n.render(key, {}, lang)


def _yes(value: bool, lang: str) -> str:
    return text("energy.csv.yes" if value else "energy.csv.no", lang)


def _figure(value: float | None, estimated: str | None) -> str:
    """The CSV's word for a figure: no data (an empty cell, review 20e L1), estimated, measured."""
    if value is None:
        return "energy.csv.no_data"
    return "energy.csv.estimated" if estimated else "energy.csv.measured"


def _csv(head: list[str], rows: list[list[object]], lang: str, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([text(f"energy.csv.{h}", lang) for h in head])
    writer.writerows(rows)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


# --- Saving you can show (issue 20, point 5): baselines, savings, KPIs and targets ----------
# (maintenance.energysave, maintenance.energysavestore; docs/architecture.md, "Energy saving")

SavingDayParam = Annotated[
    str,
    Query(
        pattern=DAY,
        description="YYYY-MM-DD in the site's time zone: from its midnight (start) / until its "
        "midnight, excluded (end).",
    ),
]
SiteIdPath = Annotated[str, Path(max_length=64, description="Site id.")]


class BaselineOut(BaseModel):
    """How a building's day is expected to use (the fit over its baseline period)."""

    method: Literal["degree_days", "average"] = Field(
        description="degree_days: regressed on heating/cooling degree-days; average: the "
        "baseline's mean per day (no temperature data)."
    )
    start: date
    end: date = Field(description="Day after the last baseline day.")
    days: int = Field(description="Baseline days used (stuck-counter days left out).")
    intercept: float = Field(description="Per day (average: the mean per day).")
    per_hdd: float
    per_cdd: float
    r2: float | None
    cv_rmse: float | None


class SavingDayOut(BaseModel):
    """One reporting day against the baseline."""

    day: date
    used: float
    expected: float
    saved: float
    mean_c: float | None = Field(description="The day's mean temperature, if measured.")
    stuck: bool


class LeftOutDayOut(BaseModel):
    """A read day left out of the saving."""

    day: date
    reason: Literal["stuck", "estimated"] = Field(
        description="stuck: the counter stood still (the figure is too low); estimated: inside "
        "a meter outage whose increment is only an estimate."
    )


class BuildingSavingOut(BaseModel):
    """One building's saving over the window."""

    building: str
    name: str
    area_m2: float | None
    baseline_start: date | None = Field(description="The chosen baseline period, if any.")
    baseline_end: date | None
    baseline: BaselineOut | None
    missing: str | None = Field(
        description="Why there is no figure: no_baseline (none chosen), too_few_days."
    )
    missing_text: str | None
    used: float | None
    expected: float | None
    saved: float | None
    share: float | None = Field(description="saved / expected (0.05 = 5 % less).")
    money: float | None = Field(description="saved × the site's tariff, in currency.")
    per_day: float | None = Field(description="Used per day.")
    per_m2: float | None = Field(description="Used per m² of floor area over the window.")
    days: list[SavingDayOut] = Field(description="The days counted.")
    left_out: list[LeftOutDayOut] = Field(
        description="Read days not counted in used/expected/saved nor in the target's progress."
    )


class ProgressOut(BaseModel):
    """The year so far against the site's reduction target (节能降耗指标)."""

    year: int
    target: float | None = Field(description="Reduction target (0.05 = 5 %); null: none set.")
    achieved: float | None = Field(description="Saving share of the year so far.")
    on_track: bool | None


class SavingsOut(BaseModel):
    """A site's saving of one kind over [start, end)."""

    site: str
    kind: Kind
    unit: str
    timezone: str
    start: date
    end: date
    currency: str
    tariff: float | None
    heating_base_c: float
    cooling_base_c: float
    used: float
    expected: float
    saved: float
    share: float | None
    money: float | None
    progress: ProgressOut
    buildings: list[BuildingSavingOut]


class BaselineIn(BaseModel):
    """A building's baseline period."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "building": "B1",
                    "kind": "electricity",
                    "start": "2025-01-01",
                    "end": "2026-01-01",
                }
            ]
        },
    )

    building: str = Field(max_length=64)
    kind: Kind
    start: date
    end: date = Field(description="Day after the last baseline day (at most 366 days later).")


class BaselineSet(BaseModel):
    """A baseline period as chosen."""

    model_config = ConfigDict(from_attributes=True)

    site: str
    building: str
    kind: str
    start: date
    end: date
    at: datetime
    actor: str


class TargetIn(BaseModel):
    """A site's yearly reduction target of one kind."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "electricity", "year": 2026, "reduction": 0.05}]},
    )

    kind: Kind
    year: int = Field(ge=2000, le=2100)
    reduction: float = Field(
        ge=0,
        le=0.9,
        allow_inf_nan=False,
        description="0.05 = use 5 % less than the baseline; from 0 to 0.9, from 0.5 on only "
        "with `confirm`.",
    )
    confirm: StrictBool = Field(
        False, description="True: a reduction of 50 % or more is meant (else 422 asking)."
    )


class TargetSetOut(BaseModel):
    """A target setting as stored."""

    model_config = ConfigDict(from_attributes=True)

    site: str
    kind: str
    year: int
    reduction: float
    at: datetime
    actor: str


class EnergyTargets(BaseModel):
    """A site's reduction targets (newest first) and baseline periods in force."""

    site: str
    targets: list[TargetSetOut]
    baselines: list[BaselineSet]


def _saving_window(
    session: Session, user: User, site: str, start: str, end: str
) -> tuple[date, date]:
    visible_site(session, user, site)
    lo, hi = _day("start", start), _day("end", end)
    assert lo is not None and hi is not None
    if lo >= hi:
        raise BadParameterError(Message("error.start_before_end"), param="start")
    if (hi - lo).days > MOST_DAYS["day"]:
        raise BadParameterError(
            Message("error.energy.window", {"every": "day", "days": MOST_DAYS["day"]}),
            param="start",
        )
    return lo, hi


def _today(session: Session, site: str, now: datetime) -> date:
    """Today in the site's calendar."""
    row = maintenance_queries.site(session, site)
    assert row is not None
    return now.astimezone(site_zone(row.timezone)).date()


def _round(value: float | None, digits: int = 6) -> float | None:
    return round(value, digits) if value is not None else None


def _savings_out(found: SiteSaving, zone: str, lang: str) -> SavingsOut:
    rows = []
    for b in found.buildings:
        s = b.savings
        base = b.baseline
        rows.append(
            BuildingSavingOut(
                building=b.building,
                name=b.name or b.building,
                area_m2=b.area_m2,
                baseline_start=b.baseline_start,
                baseline_end=b.baseline_end,
                baseline=BaselineOut(
                    method=base.method,
                    start=base.start,
                    end=base.end,
                    days=base.days,
                    intercept=round(base.intercept, 6),
                    per_hdd=round(base.per_hdd, 6),
                    per_cdd=round(base.per_cdd, 6),
                    r2=_round(base.r2, 4),
                    cv_rmse=_round(base.cv_rmse, 4),
                )
                if base
                else None,
                missing=b.missing,
                missing_text=text(f"energy.saving.{b.missing}", lang) if b.missing else None,
                used=_round(s.used) if s else None,
                expected=_round(s.expected) if s else None,
                saved=_round(s.saved) if s else None,
                share=_round(s.share) if s else None,
                money=_round(s.money, 2) if s else None,
                per_day=_round(s.per_day) if s else None,
                per_m2=_round(s.per_m2) if s else None,
                days=[
                    SavingDayOut(
                        day=d.day,
                        used=round(d.used, 6),
                        expected=round(d.expected, 6),
                        saved=round(d.saved, 6),
                        mean_c=_round(d.mean_c, 2),
                        stuck=d.stuck,
                    )
                    for d in s.days
                ]
                if s
                else [],
                left_out=[LeftOutDayOut(day=d, reason=r) for d, r in s.left_out] if s else [],
            )
        )
    p = found.progress
    return SavingsOut(
        site=found.site,
        kind=found.kind,
        unit=found.unit,
        timezone=zone,
        start=found.start,
        end=found.end,
        currency=found.currency,
        tariff=found.tariff,
        heating_base_c=found.bases.heating,
        cooling_base_c=found.bases.cooling,
        used=round(found.used, 6),
        expected=round(found.expected, 6),
        saved=round(found.saved, 6),
        share=_round(found.share),
        money=_round(found.money, 2),
        progress=ProgressOut(
            year=p.year, target=p.target, achieved=_round(p.achieved), on_track=p.on_track
        ),
        buildings=rows,
    )


def _site_saving(
    session: Session,
    store: TimeSeriesStore,
    user: User,
    now: datetime,
    *,
    site: str,
    kind: Kind,
    start: str,
    end: str,
) -> tuple[SiteSaving, str]:
    lo, hi = _saving_window(session, user, site, start, end)
    row = maintenance_queries.site(session, site)
    assert row is not None
    today = now.astimezone(site_zone(row.timezone)).date()
    found = site_saving(session, store, site=site, kind=kind, start=lo, end=hi, today=today)
    return found, row.timezone


@router.get(
    "/savings",
    response_model=SavingsOut,
    responses=problem_docs(400, 401, 404, 422, 503),
    summary="Saving per building against its baseline, KPIs and the year's target",
)
def savings_of(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    start: SavingDayParam,
    end: SavingDayParam,
    kind: KindParam = "electricity",
) -> SavingsOut:
    """Each building's use per day of [start, end) (site days, at most 366) against what its
    baseline expects (weather-normalised by degree-days where the site's temperature sensors
    give a daily mean, else the baseline's mean per day), the saving in the unit, as a share
    and in money at the site's tariff, use per day and per m²; and the year-to-date saving
    against the site's reduction target of the window's year."""
    found, zone = _site_saving(
        session, store, user, clock.now(), site=site, kind=kind, start=start, end=end
    )
    return _savings_out(found, zone, lang)


@router.get(
    "/savings.csv",
    response_class=Response,
    responses={**problem_docs(400, 401, 404, 422, 503), 200: {"content": {"text/csv": {}}}},
    summary="Saving per building and day as CSV",
)
def savings_csv(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    start: SavingDayParam,
    end: SavingDayParam,
    kind: KindParam = "electricity",
) -> Response:
    """One row per building and day with a baseline."""
    found, zone = _site_saving(
        session, store, user, clock.now(), site=site, kind=kind, start=start, end=end
    )
    body = _savings_out(found, zone, lang)
    rows = [
        [
            d.day.isoformat(),
            spreadsheet_safe(b.building),
            fixed(d.used, 3),
            fixed(d.expected, 3),
            fixed(d.saved, 3),
            fixed(d.mean_c, 2) if d.mean_c is not None else "",
            fixed(d.saved * body.tariff, 2) if body.tariff is not None else "",
            body.unit,
            _yes(d.stuck, lang),
        ]
        for b in body.buildings
        for d in b.days
    ]
    head = ["day", "building", "used", "expected", "saved", "mean_c", "money", "unit", "stuck"]
    return _csv(head, rows, lang, f"{site}-{kind}-savings-{start}-{end}.csv")


def fixed(value: float, places: int) -> str:
    """`value` with `places` decimals, never a negative zero ("-0.000" for a tiny negative
    rounding to nothing; review 20f, M2)."""
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _targets_out(session: Session, site: str) -> EnergyTargets:
    chosen = [
        BaselineSet.model_validate(r)
        for kind in ("electricity", "water")
        for r in baselines(session, site, kind).values()
    ]
    return EnergyTargets(
        site=site,
        targets=[TargetSetOut.model_validate(r) for r in target_history(session, site)],
        baselines=chosen,
    )


@router.get(
    "/targets/{site}",
    response_model=EnergyTargets,
    responses=problem_docs(401, 404, 422, 503),
    summary="A site's energy reduction targets and baseline periods",
)
def get_energy_targets(*, session: DbSession, user: CurrentUser, site: SiteIdPath) -> EnergyTargets:
    """Every target setting (newest first; the newest per kind and year is in force) and each
    building's baseline period in force."""
    visible_site(session, user, site)
    return _targets_out(session, site)


@router.put(
    "/targets/{site}",
    response_model=EnergyTargets,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Set a site's yearly energy reduction target",
)
def put_energy_target(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.ENERGY_TARGET_SET, "site:{site}"))],
    session: DbSession,
    user: Supervisor,
    clock: AppClock,
    site: SiteIdPath,
    body: TargetIn,
) -> EnergyTargets:
    """A new setting of the year's target (节能降耗指标); the one before stays in the history."""
    visible_site(session, user, site)
    noted.site, noted.detail = site, body.model_dump(mode="json")
    try:
        set_energy_target(
            session,
            site=site,
            kind=body.kind,
            year=body.year,
            reduction=body.reduction,
            actor=user.name,
            at=clock.now(),
            confirmed=body.confirm,
        )
    except InvalidRecord as err:
        session.rollback()
        raise UnprocessableError(said(err), param=err.field) from err
    audit.commit(session, noted, user.name, clock.now())
    return _targets_out(session, site)


@router.put(
    "/baselines/{site}",
    response_model=EnergyTargets,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Choose a building's baseline period",
)
def put_baseline(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.ENERGY_BASELINE_SET, "site:{site}"))],
    session: DbSession,
    user: Supervisor,
    clock: AppClock,
    site: SiteIdPath,
    body: BaselineIn,
) -> EnergyTargets:
    """The building's baseline for one kind becomes [start, end) (at most 366 days); the one
    before stays in the history."""
    visible_site(session, user, site)
    noted.site, noted.detail = site, body.model_dump(mode="json")
    try:
        set_baseline(
            session,
            site=site,
            building=body.building,
            kind=body.kind,
            start=body.start,
            end=body.end,
            actor=user.name,
            at=clock.now(),
            today=_today(session, site, clock.now()),
        )
    except InvalidRecord as err:
        session.rollback()
        raise UnprocessableError(said(err), param=err.field) from err
    audit.commit(session, noted, user.name, clock.now())
    return _targets_out(session, site)


# -- Pump efficiency (issue 20, point 3) ---------------------------------------------------
# Per pump: the operating point (flow, head from pressure, electrical power), specific energy
# (kWh/m³) per local day, the early baseline and the drift over it, the rated curve where the
# register gives one (maintenance.pumpeff, read by maintenance.pumpstore).

PUMP_DAYS_MOST = 366


class CurvePointOut(BaseModel):
    """A point of the pump's rated curve (its data sheet)."""

    flow_m3h: float
    head_m: float
    efficiency: float | None


class OperatingPointOut(BaseModel):
    """Where the pump ran: means over its running time."""

    flow_m3h: float
    head_m: float
    power_kw: float = Field(description="Electrical input while running.")
    specific_kwh_m3: float | None
    efficiency: float | None = Field(description="Wire-to-water, measured (0 … 1).")
    rated_head_m: float | None = Field(description="The curve's head at this flow.")
    rated_efficiency: float | None
    head_ratio: float | None = Field(description="Measured / rated head (< 1: below its curve).")


class PumpDayOut(BaseModel):
    """One local day of a pump."""

    day: date
    point: OperatingPointOut
    specific_kwh_m3: float | None = Field(description="From its meter where one feeds it.")
    running_samples: int


class PumpEfficiencyOut(BaseModel):
    """A pump's efficiency over the window."""

    pump: str
    name: str
    building: str
    power_source: str = Field(
        description="meter (a meter feeds it alone) or current: the power these figures use. "
        "The drift rule always judges the motor current's estimate (the note says so where "
        "the page uses a meter)."
    )
    point: OperatingPointOut | None
    days: list[PumpDayOut]
    curve: list[CurvePointOut]
    baseline_kwh_m3: float | None
    baseline_from: str = Field(description="register, early_days or none.")
    recent_kwh_m3: float | None
    drift: float | None = Field(description="recent / baseline - 1.")
    drift_limit: float
    drifting: bool
    drift_alarm: str | None = Field(
        None,
        description="The pump's open `pump.energy_drift` alarm (its planned order), if the "
        "rule raised one: the rule judges from its own baseline, so it may differ from "
        "`drifting`.",
    )
    note: str = Field(description="What the figures say, in the reader's language.")


class PumpEfficiencies(BaseModel):
    """The pumps of a site."""

    site: str
    timezone: str
    start: datetime
    end: datetime
    pumps: list[PumpEfficiencyOut]


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _point_out(p: OperatingPoint) -> OperatingPointOut:
    return OperatingPointOut(
        flow_m3h=round(p.flow_m3h, 3),
        head_m=round(p.head_m, 2),
        power_kw=round(p.power_kw, 3),
        specific_kwh_m3=_r(p.specific_kwh_m3),
        efficiency=_r(p.efficiency),
        rated_head_m=_r(p.rated_head_m, 2),
        rated_efficiency=_r(p.rated_efficiency),
        head_ratio=_r(p.head_ratio),
    )


DRIFT_RULE = "pump.energy_drift"


def _drift_alarms(session: Session, site: str) -> dict[str, str]:
    """The open alarm of the drift rule per pump of the site (pump → alarm id)."""
    rows = session.scalars(
        select(AlarmRow).where(
            AlarmRow.site == site, AlarmRow.rule == DRIFT_RULE, AlarmRow.is_open.is_(True)
        )
    )
    return {row.equipment: row.id for row in rows}


def _pump_note(e: PumpEfficiency, lang: str, alarm: str | None) -> str:
    """The figures' verdict; an order is said to be raised only when the rule raised one
    (third review of issue 20, M3: the page's drift and the rule's are judged apart)."""
    if e.baseline_kwh_m3 is None:
        key = "energy.pump.no_baseline"
    elif e.drift is None:
        key = "energy.pump.no_recent"
    elif e.drifting:
        key = "energy.pump.drifting" if alarm else "energy.pump.drifting_unraised"
    else:
        key = "energy.pump.steady_raised" if alarm else "energy.pump.steady"
    params = {"drift": (e.drift or 0.0) * 100, "limit": e.drift_limit * 100}
    note = i18n.render(key, params, lang)
    if e.power_source == "meter" and e.baseline_kwh_m3 is not None:
        # One figure, said plainly: the page reads the pump's own meter, the rule (which
        # raises the order) the motor current's estimate (third review of issue 20, M3).
        note += " " + i18n.render("energy.pump.rule_uses_current", {}, lang)
    return note


def _pump_out(
    pump: Pump, e: PumpEfficiency, lang: str, alarm: str | None = None
) -> PumpEfficiencyOut:
    return PumpEfficiencyOut(
        pump=pump.id,
        name=pump.name,
        building=pump.building,
        power_source=e.power_source,
        point=_point_out(e.point) if e.point is not None else None,
        days=[
            PumpDayOut(
                day=d.day,
                point=_point_out(d.point),
                specific_kwh_m3=_r(d.specific_kwh_m3),
                running_samples=d.running_samples,
            )
            for d in e.days
        ],
        curve=[
            CurvePointOut(flow_m3h=c.flow_m3h, head_m=c.head_m, efficiency=c.efficiency)
            for c in e.curve
        ],
        baseline_kwh_m3=_r(e.baseline_kwh_m3),
        baseline_from=e.baseline_from,
        recent_kwh_m3=_r(e.recent_kwh_m3),
        drift=_r(e.drift),
        drift_limit=e.drift_limit,
        drifting=e.drifting,
        drift_alarm=alarm,
        note=_pump_note(e, lang, alarm),
    )


PumpDaysParam = Annotated[
    int, Query(ge=1, le=PUMP_DAYS_MOST, description="Days up to today (site time) shown.")
]
PumpParam = Annotated[str | None, Query(max_length=64, description="Only this pump.")]


@router.get(
    "/pumps",
    response_model=PumpEfficiencies,
    responses=problem_docs(400, 401, 404, 422, 503),
    summary="Pump efficiency: operating point, specific energy, drift, rated curve",
)
def pump_efficiencies(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    clock: AppClock,
    lang: Lang,
    site: SiteParam,
    days: PumpDaysParam = 28,
    pump: PumpParam = None,
) -> PumpEfficiencies:
    """Per pump of the site over the last `days` local days: the operating point (flow, head
    from the discharge pressure, electrical input from its meter or motor current), specific
    energy per day, the early baseline (first days since install or overhaul, kept once made
    by the maintenance service, or the register's `rated.specific_energy_kwh_m3`), the drift
    of the last days over it and the rated curve. The `pump.energy_drift` rule judges drift
    from its own baseline and raises the planned order: its open alarm is `drift_alarm`, and
    the note says an order is raised only then."""
    visible_site(session, user, site)
    row = maintenance_queries.site(session, site)
    assert row is not None  # visible_site found it
    zone = site_zone(row.timezone)
    end_day = clock.now().astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(end_day - timedelta(days=days), datetime.min.time(), zone)
    end = datetime.combine(end_day, datetime.min.time(), zone)
    pumps = pumps_of(session, site)
    if pump is not None:
        pumps = [p for p in pumps if p.id == pump]
        if not pumps:
            raise NotFoundError(
                Message("error.equipment.not_found", {"equipment": pump, "site": site})
            )
    kept = kept_baselines(session, site, pumps)
    alarms = _drift_alarms(session, site)
    return PumpEfficiencies(
        site=site,
        timezone=row.timezone,
        start=start,
        end=end,
        pumps=[
            _pump_out(
                p,
                pump_efficiency(store, site, p, zone, start=start, end=end, kept=kept.get(p.id)),
                lang,
                alarms.get(p.id),
            )
            for p in pumps
        ],
    )
