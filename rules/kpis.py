"""Alarm-system KPIs per site / operator view (EEMUA 191, ISA-18.2): pure figures + store queries.

The pure part works on `Activation`s (one per alarm activation) and open alarms:
alarms per 10 minutes (mean and peak), time in flood, top-10 contributors, chattering alarms
and standing alarms (active longer than 24 h). `site_kpis` reads them from the alarm store
for one site (optionally one building) and period — what the console exposes.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Engine, select

from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmState
from bldgwatch.rules.flood import FloodSettings, flood_periods
from bldgwatch.rules.models import AlarmEventRow, AlarmRow

TEN_MINUTES = timedelta(minutes=10)
ACTIVE = frozenset({AlarmState.ACTIVE_UNACK.value, AlarmState.ACTIVE_ACK.value})


@dataclass(frozen=True, slots=True)
class Activation:
    """One alarm activation."""

    at: datetime
    equipment: str
    rule: str
    alarm_id: str = ""


@dataclass(frozen=True, slots=True)
class Contributor:
    """An (equipment, rule) and its share of the activations."""

    equipment: str
    rule: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class StandingAlarm:
    """An alarm active for longer than the standing limit."""

    alarm_id: str
    equipment: str
    rule: str
    raised_at: datetime
    age_h: float


@dataclass(frozen=True, slots=True)
class AlarmKpis:
    """The alarm KPIs of one view over one period."""

    view: str
    start: datetime
    end: datetime
    activations: int
    per_10min_mean: float
    per_10min_peak: int
    flood_s: float
    flood_share: float
    floods: int
    top: list[Contributor] = field(default_factory=list)
    chattering: list[Contributor] = field(default_factory=list)
    standing: list[StandingAlarm] = field(default_factory=list)


def per_10min(times: Sequence[datetime], start: datetime, end: datetime) -> tuple[float, int]:
    """Mean alarms per 10 minutes over the period, and the peak in any sliding 10 minutes."""
    span = max((end - start) / TEN_MINUTES, 1e-9)
    window: deque[datetime] = deque()
    peak = 0
    for at in sorted(times):
        window.append(at)
        while window[0] <= at - TEN_MINUTES:
            window.popleft()
        peak = max(peak, len(window))
    return len(times) / span, peak


def time_in_flood(
    times: Iterable[datetime], start: datetime, end: datetime, settings: FloodSettings | None = None
) -> tuple[float, float, int]:
    """Seconds in flood within the period, that share of it, and how many floods."""
    periods = flood_periods(times, end, settings)
    seconds = sum(
        max(0.0, (min(b, end) - max(a, start)).total_seconds()) for a, b in periods if b > start
    )
    total = max((end - start).total_seconds(), 1e-9)
    return seconds, seconds / total, len(periods)


def top_contributors(activations: Sequence[Activation], n: int = 10) -> list[Contributor]:
    """The (equipment, rule) pairs that raised the most alarms."""
    counts = Counter((a.equipment, a.rule) for a in activations)
    total = max(len(activations), 1)
    return [
        Contributor(eq, rule, count, count / total)
        for (eq, rule), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    ]


def chattering(
    activations: Sequence[Activation],
    *,
    window: timedelta = timedelta(minutes=1),
    threshold: int = 3,
) -> list[Contributor]:
    """(equipment, rule) pairs with `threshold` or more activations within `window`."""
    by_key: dict[tuple[str, str], list[datetime]] = {}
    for a in activations:
        by_key.setdefault((a.equipment, a.rule), []).append(a.at)
    out = []
    total = max(len(activations), 1)
    for (eq, rule), times in sorted(by_key.items()):
        times.sort()
        burst = any(
            times[i + threshold - 1] - times[i] <= window for i in range(len(times) - threshold + 1)
        )
        if burst:
            out.append(Contributor(eq, rule, len(times), len(times) / total))
    return sorted(out, key=lambda c: -c.count)


def standing(
    open_alarms: Iterable[tuple[str, str, str, datetime]],
    now: datetime,
    older_than: timedelta = timedelta(hours=24),
) -> list[StandingAlarm]:
    """Active alarms (alarm id, equipment, rule, raised at) older than `older_than`."""
    out = [
        StandingAlarm(aid, eq, rule, raised, (now - raised).total_seconds() / 3600)
        for aid, eq, rule, raised in open_alarms
        if now - raised > older_than
    ]
    return sorted(out, key=lambda s: s.raised_at)


def daily_counts(times: Iterable[datetime], zone: tzinfo) -> list[tuple[str, int]]:
    """How many of `times` fall on each day of the site's calendar (its zone), oldest first:
    an alarm at 23:30 UTC belongs to the next day in Shanghai."""
    counts = Counter(t.astimezone(zone).date().isoformat() for t in times)
    return sorted(counts.items())


def compute(
    view: str,
    activations: Sequence[Activation],
    open_alarms: Iterable[tuple[str, str, str, datetime]],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    flood: FloodSettings | None = None,
) -> AlarmKpis:
    """Every KPI of one view from its activations and currently active alarms."""
    times = [a.at for a in activations]
    mean, peak = per_10min(times, start, end)
    flood_s, flood_share, floods = time_in_flood(times, start, end, flood)
    return AlarmKpis(
        view=view,
        start=start,
        end=end,
        activations=len(activations),
        per_10min_mean=mean,
        per_10min_peak=peak,
        flood_s=flood_s,
        flood_share=flood_share,
        floods=floods,
        top=top_contributors(activations),
        chattering=chattering(activations),
        standing=standing(open_alarms, now),
    )


# -- store queries -------------------------------------------------------------------------
def _sites(site: str | Sequence[str]) -> list[str]:
    return [site] if isinstance(site, str) else list(site)


def load_activations(
    engine: Engine,
    site: str | Sequence[str],
    start: datetime,
    end: datetime,
    building: str | None = None,
) -> list[Activation]:
    """Activations of a site or several (optionally one building) in [start, end)."""
    query = (
        select(AlarmEventRow.at, AlarmRow.equipment, AlarmRow.rule, AlarmRow.id)
        .join(AlarmRow, AlarmRow.id == AlarmEventRow.alarm_id)
        .where(
            AlarmRow.site.in_(_sites(site)),
            AlarmEventRow.transition == "activate",
            AlarmEventRow.at >= start,
            AlarmEventRow.at < end,
        )
        .order_by(AlarmEventRow.at)
    )
    if building is not None:
        query = query.where(AlarmRow.building == building)
    with session_factory(engine)() as session:
        return [Activation(at, eq, rule, aid) for at, eq, rule, aid in session.execute(query)]


def load_active(
    engine: Engine, site: str | Sequence[str], building: str | None = None
) -> list[tuple[str, str, str, datetime]]:
    """(alarm id, equipment, rule, raised at) of the active alarms of a site or several."""
    query = select(AlarmRow.id, AlarmRow.equipment, AlarmRow.rule, AlarmRow.raised_at).where(
        AlarmRow.site.in_(_sites(site)),
        AlarmRow.is_open.is_(True),
        AlarmRow.state.in_(list(ACTIVE)),
    )
    if building is not None:
        query = query.where(AlarmRow.building == building)
    with session_factory(engine)() as session:
        return [(aid, eq, rule, raised) for aid, eq, rule, raised in session.execute(query)]


def site_kpis(
    engine: Engine,
    site: str,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    building: str | None = None,
) -> AlarmKpis:
    """The alarm KPIs of a site (or one of its buildings) over [start, end)."""
    view = site if building is None else f"{site}/{building}"
    activations = load_activations(engine, site, start, end, building)
    return compute(
        view, activations, load_active(engine, site, building), start=start, end=end, now=now
    )


def view_kpis(
    engine: Engine,
    sites: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    view: str = "operator",
) -> AlarmKpis:
    """The alarm KPIs of an operator's view: every alarm of the sites on one console.

    EEMUA 191's rates and flood thresholds are per operator, so this is the figure to hold
    against them when one operator watches several sites.
    """
    activations = load_activations(engine, sites, start, end)
    return compute(view, activations, load_active(engine, sites), start=start, end=end, now=now)
