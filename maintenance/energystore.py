"""Meters of a site (from the asset register) and their counter samples (from InfluxDB), for
`maintenance.energy`.

The counters are read as InfluxDB stores them and reduced there only by `last()` per interval
(`resolution`: the last reading of each minute, or of each quarter hour for long windows), the
reading at or just before the window's start and the first at or after its end, so an interval
crossing either edge is shared out like any other. Everything about rollovers, resets, gaps and
stuck counters is decided in Python over those samples (docs/architecture.md, "Energy").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import from_epoch_ms, to_epoch_ms
from bldgwatch.core.site import (
    DEFAULT_TIMEZONE,
    METER_COUNTERS,
    METER_MAX_RATES,
    MeterSpec,
    primary_factor,
    site_zone,
)
from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.core.tsdb.base import Row, TsdbError
from bldgwatch.maintenance.energy import STUCK_HISTORY, STUCK_LOOKBACK, Meter, Sample, counts
from bldgwatch.maintenance.models import EquipmentRow, SiteRow

KINDS = {"electricity": "electricity_meter", "water": "water_meter"}
"""What the API calls a kind of metering, and the meter type (InfluxDB measurement) of it."""
UNITS = {"electricity": "kWh", "water": "m³"}
RATE_POINTS = {"electricity_meter": "power_kw", "water_meter": "flow_m3h"}
"""Per meter type: the point of its own power or flow reading (where its profile has one)."""
LOOK_BACK = timedelta(days=400)
"""How far before the window the reading that opens it is looked for."""
HOURLY = "counters_1h"
"""The hourly counters' retention policy (`maintenance.energydownsample.RETENTION`)."""

logger = logging.getLogger(__name__)


def meters_of(session: Session, site: str, kind: str, building: str | None = None) -> list[Meter]:
    """The site's meters of one kind (electricity, water), by id; only one building's with
    `building` (a sub-meter's parent is in its building: the register checks it)."""
    equipment_type = KINDS[kind]
    stmt = select(EquipmentRow).where(
        EquipmentRow.site == site, EquipmentRow.type == equipment_type
    )
    if building is not None:
        stmt = stmt.where(EquipmentRow.building == building)
    site_row = session.get(SiteRow, site)
    zone = site_zone(site_row.timezone if site_row is not None else DEFAULT_TIMEZONE)
    point = METER_COUNTERS[equipment_type][0]
    out = []
    for row in session.scalars(stmt.order_by(EquipmentRow.id)):
        spec = MeterSpec.model_validate(row.meter or {})
        # Each earlier ratio until the local midnight its transformers were changed.
        earlier = tuple(
            (
                datetime.combine(r.until, time(), zone).astimezone(UTC),
                primary_factor(equipment_type, spec, point, r.until - timedelta(days=1)),
            )
            for r in spec.ratio_before
        )
        wrap = spec.counter_max or METER_COUNTERS[equipment_type][1]
        top = spec.max_rate or METER_MAX_RATES[equipment_type]
        out.append(
            Meter(
                row.id,
                row.type,
                row.building,
                spec.feeds(),
                spec.parent,
                wrap,
                row.name,
                top,
                primary_factor(equipment_type, spec, point),
                earlier,
            )
        )
    return out


def resolution_for(start: datetime, end: datetime) -> str:
    """The interval of `last()` for a window: a minute up to 31 days, else a quarter hour."""
    return "1m" if end - start <= timedelta(days=31) else "15m"


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def counter_queries(
    site: str,
    kind: str,
    start: datetime,
    end: datetime,
    resolution: str,
    *,
    retention: str | None = None,
) -> str:
    """Three statements: the last counter reading per meter before `start`, the last of each
    `resolution` interval in [start, end), the first at or after `end`; from the retention
    policy `retention` (the hourly counters of `maintenance.energydownsample`) when given,
    else the database's default one (the readings as ingest wrote them)."""
    equipment_type = KINDS[kind]
    point = _ident(METER_COUNTERS[equipment_type][0])
    table = (
        _ident(equipment_type)
        if retention is None
        else f"{_ident(retention)}.{_ident(equipment_type)}"
    )
    source = f"FROM {table} WHERE {_ident('site')} = {_literal(site)}"
    lo, hi = to_epoch_ms(start), to_epoch_ms(end)
    back = to_epoch_ms(start - LOOK_BACK)
    by = _ident("equipment")
    # Every identifier is quoted, the site an escaped literal, the times integers.
    return "; ".join(
        [
            f"SELECT last({point}) AS v {source} AND time >= {back}ms AND time < {lo}ms "
            f"GROUP BY {by}",
            f"SELECT last({point}) AS v {source} AND time >= {lo}ms AND time < {hi}ms "
            f"GROUP BY time({resolution}), {by} fill(none)",
            f"SELECT first({point}) AS v {source} AND time >= {hi}ms GROUP BY {by}",
        ]
    )


def read_samples(
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    start: datetime,
    end: datetime,
    resolution: str | None = None,
    retention: str | None = None,
    now: datetime | None = None,
) -> dict[str, list[Sample]]:
    """Counter samples per meter id around [start, end), oldest first. With `now`, a window
    starting more than the raw retention (`store.raw_keep`, the configured
    `influx.raw_retention`) before it is read from the hourly counters as well: the hourly
    samples before a meter's first raw one come first (none, if InfluxDB has no hourly
    counters: logged)."""
    raw = _read(
        store,
        site=site,
        kind=kind,
        start=start,
        end=end,
        resolution=resolution,
        retention=retention,
    )
    keep = store.raw_keep
    if now is None or retention is not None or keep is None or start >= now - keep:
        return raw
    try:
        hourly = _read(
            store, site=site, kind=kind, start=start, end=end, resolution="1h", retention=HOURLY
        )
    except TsdbError:
        logger.warning("no hourly counters for %s %s: raw readings only", site, kind)
        return raw
    out = {}
    for meter in {*raw, *hourly}:
        mine = raw.get(meter, [])
        first = mine[0].at if mine else None
        early = [s for s in hourly.get(meter, []) if first is None or s.at < first]
        out[meter] = [Sample(s.at, s.value, hourly=True) for s in early] + mine
    return out


def read_history(
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    start: datetime,
    now: datetime | None = None,
    ids: Iterable[str] = (),
) -> dict[str, list[Sample]]:
    """The counter samples of the `STUCK_HISTORY` before `start`, a quarter hour apart: what
    teaches `maintenance.energy.account` the hours each meter normally moves, whatever the
    window shown (a one-day window has no other day to judge by). A meter whose counter did
    not change at all in that time, or that has no sample in it (`ids`: the meters asked
    for; a gateway dead for two weeks), is read further back, hourly, as far as
    `STUCK_LOOKBACK`: its usual hours are those before it froze (fourth review of issue 20,
    H2). One that did not move in all that either is read from its last rise, wherever that
    is in what is kept (`last_rises`): the `STUCK_HISTORY` before it, hourly (fifth review,
    M2: a jam older than the look-back was idle, and its zero a 100 % saving)."""
    found = read_samples(
        store,
        site=site,
        kind=kind,
        start=start - STUCK_HISTORY,
        end=start,
        resolution="15m",
        now=now,
    )
    for meter in ids:
        found.setdefault(meter, [])
    frozen = [m for m, got in found.items() if not got or got[0].value == got[-1].value]
    if not frozen:
        return found
    earlier = read_samples(
        store,
        site=site,
        kind=kind,
        start=start - STUCK_LOOKBACK,
        end=start - STUCK_HISTORY,
        resolution="1h",
        now=now,
    )
    for meter in frozen:
        first = found[meter][0].at if found[meter] else start
        before = [s for s in earlier.get(meter, []) if s.at < first]
        found[meter] = [Sample(s.at, s.value, hourly=True) for s in before] + found[meter]
    still = {m: found[m][-1].value for m in frozen if found[m] and not counts(found[m])}
    if not still:
        return found
    rises = last_rises(store, site=site, kind=kind, current=still, before=start)
    never = sorted(m for m in still if m not in rises)
    for meter, first_at in _first_readings(store, site, kind, never).items():
        # Never moved in what is kept: its first reading tells how long it has stood still.
        if first_at < found[meter][0].at:
            found[meter].insert(0, Sample(first_at, still[meter], hourly=True))
    for meter, rose in rises.items():
        got = read_samples(
            store,
            site=site,
            kind=kind,
            start=rose - STUCK_HISTORY,
            end=rose + timedelta(hours=1),
            resolution="1h",
            now=now,
        ).get(meter, [])
        first = found[meter][0].at
        found[meter] = [Sample(s.at, s.value, hourly=True) for s in got if s.at < first] + found[
            meter
        ]
    return found


def last_rises(
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    current: dict[str, float],
    before: datetime,
) -> dict[str, datetime]:
    """Per meter, the time of its last counter reading before `before` that differs from
    `current` (where the counter last moved), in one query over all that is kept (`_kept`:
    the hourly counters when raw readings expire). A meter with none (its counter never moved
    in what is kept) is not in the answer."""
    if not current:
        return {}
    point = _ident(METER_COUNTERS[KINDS[kind]][0])
    by = _ident("equipment")
    which = " OR ".join(
        f"({by} = {_literal(meter)} AND {point} != {_number(value)})"
        for meter, value in sorted(current.items())
    )
    # Every identifier is quoted, the site and meters escaped literals, the rest numbers.
    rows = _kept(
        store,
        kind,
        lambda table: (
            f"SELECT last({point}) AS v FROM {table} WHERE {_ident('site')} = {_literal(site)} "  # noqa: S608
            f"AND time < {to_epoch_ms(before)}ms AND ({which}) GROUP BY {by}"
        ),
    )
    return {
        str(r["equipment"]): from_epoch_ms(int(r["time"]))
        for r in rows
        if str(r.get("equipment")) in current
    }


def _first_readings(
    store: TimeSeriesStore, site: str, kind: str, meters: list[str]
) -> dict[str, datetime]:
    """Each meter's first reading kept (`_kept`)."""
    if not meters:
        return {}
    point = _ident(METER_COUNTERS[KINDS[kind]][0])
    by = _ident("equipment")
    which = " OR ".join(f"{by} = {_literal(m)}" for m in meters)
    rows = _kept(
        store,
        kind,
        lambda table: (
            f"SELECT first({point}) AS v FROM {table} WHERE {_ident('site')} = {_literal(site)} "  # noqa: S608
            f"AND ({which}) GROUP BY {by}"
        ),
    )
    return {
        str(r["equipment"]): from_epoch_ms(int(r["time"]))
        for r in rows
        if r.get("equipment") is not None
    }


def _kept(store: TimeSeriesStore, kind: str, query: Callable[[str], str]) -> list[Row]:
    """`query` over all that is kept of a meter type's counters: the hourly counters when raw
    readings expire (`store.raw_keep`), the raw readings when they do not or InfluxDB has no
    hourly counters (logged)."""
    equipment_type = KINDS[kind]
    if store.raw_keep is not None:
        try:
            return store.query(query(f"{_ident(HOURLY)}.{_ident(equipment_type)}"))
        except TsdbError:
            logger.warning("no hourly counters of %s: raw readings only", equipment_type)
    try:
        return store.query(query(_ident(equipment_type)))
    except TsdbError:
        logger.warning("no counters of %s to look back in", equipment_type)
        return []


def _number(value: float) -> str:
    """A float as an InfluxQL number literal (no exponent)."""
    text = repr(float(value))
    return text if "e" not in text and "n" not in text else f"{value:.12f}"


def read_power(
    store: TimeSeriesStore, *, site: str, kind: str, start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Each meter's highest power (kW) or flow (m³/h) reading per hour of [start, end), where
    its profile gives one (`RATE_POINTS`): what tells a still counter's idle hours from a jam
    (raw readings: none past their retention)."""
    equipment_type = KINDS[kind]
    point = _ident(RATE_POINTS[equipment_type])
    by = _ident("equipment")
    query = (
        f"SELECT max({point}) AS v FROM {_ident(equipment_type)} "  # noqa: S608
        f"WHERE {_ident('site')} = {_literal(site)} AND time >= {to_epoch_ms(start)}ms "
        f"AND time < {to_epoch_ms(end)}ms GROUP BY time(1h), {by} fill(none)"
    )
    try:
        rows = store.query(query)
    except TsdbError:
        logger.warning("no power or flow readings for %s %s", site, kind)
        return {}
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in rows:
        value, meter = row.get("v"), row.get("equipment")
        if meter is None or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        out[str(meter)].append((from_epoch_ms(int(row["time"])), float(value)))
    return dict(out)


def _read(
    store: TimeSeriesStore,
    *,
    site: str,
    kind: str,
    start: datetime,
    end: datetime,
    resolution: str | None,
    retention: str | None,
) -> dict[str, list[Sample]]:
    query = counter_queries(
        site, kind, start, end, resolution or resolution_for(start, end), retention=retention
    )
    found: dict[str, list[Sample]] = defaultdict(list)
    for row in store.query(query):
        value, meter = row.get("v"), row.get("equipment")
        if meter is None or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        found[str(meter)].append(Sample(from_epoch_ms(int(row["time"])), float(value)))
    for samples in found.values():
        samples.sort(key=lambda s: s.at)
    return dict(found)
