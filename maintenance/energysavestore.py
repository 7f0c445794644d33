"""The data behind `maintenance.energysave`: each building's daily consumption (the counters
through `maintenance.energy`), the daily mean temperature of its temperature sensors (InfluxDB,
the site's calendar), the baseline period chosen per building and kind and the yearly
reduction target per site and kind (settings with history: the newest row is in force), and
the site's tariffs and degree-day bases (its site file's `energy:` entry)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import from_epoch_ms, to_epoch_ms
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import EnergySpec, site_zone
from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.maintenance.energy import account, buckets, by_building
from bldgwatch.maintenance.energysave import (
    MIN_DAYS,
    Baseline,
    Bases,
    Day,
    NoBaseline,
    Progress,
    Savings,
    daily_means,
    fit,
    progress,
    savings,
)
from bldgwatch.maintenance.energystore import (
    KINDS,
    UNITS,
    meters_of,
    read_history,
    read_power,
    read_samples,
)
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite
from bldgwatch.maintenance.models import BuildingRow, SiteRow
from bldgwatch.maintenance.recordmodels import EnergyBaselineRow, EnergyTargetRow

TEMPERATURE = ("temp_sensor", "temperature_c")
"""Measurement and field of the temperature sensors' readings."""
LONGEST_BASELINE = 366
"""Days a baseline period may span at most."""
EARLIEST_DAY = date(2000, 1, 1)
LARGE_REDUCTION = 0.5
"""A reduction target from which the setter is asked to confirm it (`confirmed`)."""
LEAST_REDUCTION = 0.001
"""The smallest reduction target taken (0.1 %): 0 is no target (review 20f, L4: "0 %" was
shown as the year's target); a site without one sets none."""
MOST_REDUCTION = 0.9
"""The largest reduction target taken at all: above it, refused (a building that could use
a tenth of its baseline has no baseline worth the name)."""
"""No baseline starts before this day (the first year a target may be set for): older
periods are typos, and the dates the readers compute from them would overflow."""


def energy_spec(site: SiteRow) -> EnergySpec:
    """The site's tariffs and degree-day bases (defaults when its file gives none)."""
    return EnergySpec.model_validate(site.energy or {})


def _site(session: Session, site: str) -> SiteRow:
    row = session.get(SiteRow, site)
    if row is None:
        raise UnknownSite(site)
    return row


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidRecord(
            "kind", Message("error.record.one_of", {"value": kind, "known": ", ".join(KINDS)})
        )


def set_baseline(
    session: Session,
    *,
    site: str,
    building: str,
    kind: str,
    start: date,
    end: date,
    actor: str,
    at: datetime,
    today: date,
) -> EnergyBaselineRow:
    """Choose a building's baseline period [start, end) (a new row; the one before stays): a
    past period (its last day today at the latest, its first from `EARLIEST_DAY`) of at most
    `LONGEST_BASELINE` days and at least `MIN_DAYS` (the usable days a baseline needs)."""
    _site(session, site)
    _check_kind(kind)
    if session.get(BuildingRow, (site, building)) is None:
        raise InvalidRecord(
            "building", Message("error.record.no_building", {"site": site, "building": building})
        )
    if start < EARLIEST_DAY:
        raise InvalidRecord(
            "start", Message("error.energy.baseline_early", {"day": EARLIEST_DAY.isoformat()})
        )
    if end > today + timedelta(days=1):
        raise InvalidRecord(
            "end", Message("error.energy.baseline_future", {"today": today.isoformat()})
        )
    if not start < end:
        raise InvalidRecord("end", Message("error.start_before_end"))
    if (end - start).days > LONGEST_BASELINE:
        raise InvalidRecord(
            "end", Message("error.energy.baseline_long", {"days": LONGEST_BASELINE})
        )
    if (end - start).days < MIN_DAYS:  # said now, not later as "too few usable days" (20d L3)
        raise InvalidRecord(
            "end",
            Message("error.energy.baseline_short", {"days": MIN_DAYS, "have": (end - start).days}),
        )
    row = EnergyBaselineRow(
        site=site, building=building, kind=kind, start=start, end=end, at=at, actor=actor[:64]
    )
    session.add(row)
    session.flush()
    return row


def baselines(session: Session, site: str, kind: str) -> dict[str, EnergyBaselineRow]:
    """The baseline period in force per building."""
    rows = session.scalars(
        select(EnergyBaselineRow)
        .where(EnergyBaselineRow.site == site, EnergyBaselineRow.kind == kind)
        .order_by(EnergyBaselineRow.at, EnergyBaselineRow.id)
    )
    return {r.building: r for r in rows}


def set_target(
    session: Session,
    *,
    site: str,
    kind: str,
    year: int,
    reduction: float,
    actor: str,
    at: datetime,
    confirmed: bool = False,
) -> EnergyTargetRow:
    """Set a site's reduction target of a year (0.05 = 5 % less than the baseline): from
    `LEAST_REDUCTION` up to `MOST_REDUCTION`; one of `LARGE_REDUCTION` or more only when
    `confirmed` (a 90 % target is likelier a typo for 9 % than a plan; fourth review of issue
    20, L3)."""
    _site(session, site)
    _check_kind(kind)
    if not (LEAST_REDUCTION <= reduction <= MOST_REDUCTION):  # (NaN fails too)
        raise InvalidRecord(
            "reduction",
            Message(
                "error.energy.reduction",
                {"least": LEAST_REDUCTION * 100, "most": round(MOST_REDUCTION * 100)},
            ),
        )
    if reduction >= LARGE_REDUCTION and not confirmed:
        raise InvalidRecord(
            "reduction",
            Message(
                "error.energy.reduction_large",
                {"pct": round(reduction * 100, 1), "large": round(LARGE_REDUCTION * 100)},
            ),
        )
    row = EnergyTargetRow(
        site=site, kind=kind, year=year, reduction=float(reduction), at=at, actor=actor[:64]
    )
    session.add(row)
    session.flush()
    return row


def target_of(session: Session, site: str, kind: str, year: int) -> EnergyTargetRow | None:
    """The target in force for a year, if one was set."""
    return session.scalars(
        select(EnergyTargetRow)
        .where(
            EnergyTargetRow.site == site, EnergyTargetRow.kind == kind, EnergyTargetRow.year == year
        )
        .order_by(EnergyTargetRow.at.desc(), EnergyTargetRow.id.desc())
        .limit(1)
    ).first()


def target_history(session: Session, site: str) -> list[EnergyTargetRow]:
    """Every target setting of the site, newest first."""
    return list(
        session.scalars(
            select(EnergyTargetRow)
            .where(EnergyTargetRow.site == site)
            .order_by(EnergyTargetRow.at.desc(), EnergyTargetRow.id.desc())
        )
    )


def temperature_query(site: str, start: datetime, end: datetime) -> str:
    """Hourly mean temperature per building of the site's sensors in [start, end)."""
    esc = site.replace("\\", "\\\\").replace("'", "\\'")
    measurement, field = TEMPERATURE
    # The names are constants, the site an escaped literal, the times integers.
    return (
        f'SELECT mean("{field}") AS v FROM "{measurement}" WHERE "site" = \'{esc}\' '  # noqa: S608
        f"AND time >= {to_epoch_ms(start)}ms AND time < {to_epoch_ms(end)}ms "
        'GROUP BY time(1h), "building" fill(none)'
    )


def temperatures(
    store: TimeSeriesStore, site: str, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, dict[date, float]]:
    """Daily mean temperature per building (local days), and under "" the site's (the mean of
    its buildings' hourly means) for buildings without a sensor."""
    hourly: dict[str, list[tuple[date, float]]] = defaultdict(list)
    site_hours: dict[datetime, list[float]] = defaultdict(list)
    for row in store.query(temperature_query(site, start, end)):
        value, building = row.get("v"), row.get("building")
        if building is None or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        at = from_epoch_ms(int(row["time"]))
        hourly[str(building)].append((at.astimezone(zone).date(), float(value)))
        site_hours[at].append(float(value))
    out = {b: daily_means(h) for b, h in hourly.items()}
    out[""] = daily_means(
        [(at.astimezone(zone).date(), sum(v) / len(v)) for at, v in site_hours.items()]
    )
    return out


def daily_use(
    session: Session,
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    start: date,
    end: date,
    today: date | None = None,
) -> dict[str, list[Day]]:
    """Each building's use per local day in [start, end), with the day's mean temperature
    (days older than the raw retention, `store.raw_keep`, from the hourly counters too)."""
    row = _site(session, site)
    zone = site_zone(row.timezone)
    edges = buckets(start, end, "day", zone)
    meters = meters_of(session, site, kind)
    if not meters or not edges:
        return {}
    now = buckets(today, today + timedelta(days=1), "day", zone)[0].start if today else None
    samples = read_samples(
        store, site=site, kind=kind, start=edges[0].start, end=edges[-1].end, now=now
    )
    history = read_history(
        store, site=site, kind=kind, start=edges[0].start, now=now, ids=[m.id for m in meters]
    )
    power = read_power(store, site=site, kind=kind, start=edges[0].start, end=edges[-1].end)
    accounts = account(meters, samples, edges, unit=UNITS[kind], history=history, power=power)
    temps = temperatures(store, site, edges[0].start, edges[-1].end, zone)
    gaps = {(f.meter, f.start, f.end) for f in accounts.flags if f.kind == "gap"}
    # An outage whose increment is an estimate: a reset across a gap (the figure is the usual
    # rate, not a reading).
    guessed = [f for f in accounts.flags if f.kind == "reset" and (f.meter, f.start, f.end) in gaps]
    out: dict[str, list[Day]] = {}
    for series in by_building(meters, accounts):
        mine = temps.get(series.key) or temps.get("", {})
        read = [samples.get(m, []) for m in series.meters]
        own = [f for f in guessed if f.meter in series.meters]
        out[series.key] = [
            Day(
                date.fromisoformat(b.label),
                series.values[k],
                mine.get(date.fromisoformat(b.label)),
                series.stuck[k],
                not read or not all(s and s[0].at <= b.start and s[-1].at >= b.end for s in read),
                any(f.start < b.end and f.end > b.start for f in own),
            )
            for k, b in enumerate(edges)
        ]
    return out


@dataclass(frozen=True, slots=True)
class BuildingSaving:
    """One building's saving over a reporting window."""

    building: str
    name: str
    area_m2: float | None
    baseline: Baseline | None
    baseline_start: date | None
    baseline_end: date | None
    missing: str | None
    """Why there is no figure: "no_baseline" (none chosen), "too_few_days"."""
    savings: Savings | None
    used: float | None = None
    """The window's use, baseline or not (None: no day of it was read)."""


@dataclass(frozen=True, slots=True)
class SiteSaving:
    """A site's saving of one kind over [start, end) and its year's target."""

    site: str
    kind: str
    unit: str
    start: date
    end: date
    currency: str
    tariff: float | None
    bases: Bases
    buildings: list[BuildingSaving]
    used: float
    expected: float
    saved: float
    share: float | None
    money: float | None
    progress: Progress


def site_saving(
    session: Session,
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    start: date,
    end: date,
    today: date,
) -> SiteSaving:
    """Every building's saving over [start, end) against its chosen baseline, the site's
    totals, and the year-to-date progress (the year of the window's last day, until today)
    against the site's reduction target of that year."""
    row = _site(session, site)
    spec = energy_spec(row)
    bases = Bases(spec.heating_base_c, spec.cooling_base_c)
    tariff = spec.tariff_electricity if kind == "electricity" else spec.tariff_water
    chosen = baselines(session, site, kind)
    names = {
        b.id: b
        for b in session.scalars(
            select(BuildingRow).where(BuildingRow.site == site).order_by(BuildingRow.id)
        )
    }
    read: dict[tuple[date, date], dict[str, list[Day]]] = {}

    def days_of(lo: date, hi: date) -> dict[str, list[Day]]:
        """One read per window: buildings sharing a baseline period share it."""
        if (lo, hi) not in read:
            read[(lo, hi)] = daily_use(
                session, store, site=site, kind=kind, start=lo, end=hi, today=today
            )
        return read[(lo, hi)]

    report = days_of(start, end)
    fits: dict[str, Baseline | str] = {}
    for building, period in chosen.items():
        if building not in names:
            continue
        # A period stored before the bounds were checked is read only where days can be.
        lo, hi = max(period.start, EARLIEST_DAY), min(period.end, today + timedelta(days=1))
        history = days_of(lo, hi).get(building, []) if lo < hi else []
        try:
            fits[building] = fit(history, period.start, period.end, bases)
        except NoBaseline:
            fits[building] = "too_few_days"
    out = []
    for bid, b in names.items():
        found = fits.get(bid, "no_baseline")
        choice = chosen.get(bid)
        days = report.get(bid)
        # The baseline's own days (saving 0 by construction) and those before it are not
        # measured days of the window, as in the year so far (review 20f, M2).
        result = (
            savings(
                found, [d for d in days if d.day >= found.end], tariff=tariff, area_m2=b.area_m2
            )
            if isinstance(found, Baseline) and days is not None
            else None
        )
        out.append(
            BuildingSaving(
                bid,
                b.name,
                b.area_m2,
                found if isinstance(found, Baseline) else None,
                choice.start if choice else None,
                choice.end if choice else None,
                None if isinstance(found, Baseline) else found,
                result,
                _used(days),
            )
        )
    counted = [b.savings for b in out if b.savings is not None]
    used = sum(s.used for s in counted)
    expected = sum(s.expected for s in counted)
    year = (end - timedelta(days=1)).year
    ytd_end = min(end, today + timedelta(days=1), date(year + 1, 1, 1))
    target = target_of(session, site, kind, year)
    achieved = _year_share(
        session,
        store,
        site=site,
        kind=kind,
        start=date(year, 1, 1),
        end=ytd_end,
        fits=fits,
        tariff=tariff,
        today=today,
    )
    return SiteSaving(
        site,
        kind,
        UNITS[kind],
        start,
        end,
        spec.currency,
        tariff,
        bases,
        out,
        used,
        expected,
        expected - used,
        (expected - used) / expected if expected > 0 else None,
        (expected - used) * tariff if tariff is not None and counted else None,
        progress(year, target.reduction if target else None, achieved),
    )


def _used(days: list[Day] | None) -> float | None:
    read = [d.used for d in days or [] if not d.unread]  # every read day, counted or not
    return sum(read) if read else None


def _year_share(
    session: Session,
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    start: date,
    end: date,
    fits: dict[str, Baseline | str],
    tariff: float | None,
    today: date,
) -> float | None:
    if not start < end:
        return None
    days = daily_use(session, store, site=site, kind=kind, start=start, end=end, today=today)
    used = expected = 0.0
    for building, found in fits.items():
        if not isinstance(found, Baseline):
            continue
        # The baseline's own days (saving 0 by construction) and those before it do not count.
        after = [d for d in days.get(building, []) if d.day >= found.end]
        if after:
            s = savings(found, after, tariff=tariff)
            used += s.used
            expected += s.expected
    return (expected - used) / expected if expected > 0 else None
