"""Pumps of a site (from the asset register) and the hourly means of their readings (from
InfluxDB), for `maintenance.pumpeff`.

Running hours: the means of flow, discharge pressure and motor current over the lines whose
motor current is above zero (the pump running), per hour, and their count. Where an
electricity meter feeds the pump alone (`serves`), the hourly mean of its power and of the
pump's flow over all the time. Hours are UTC; `pumpeff` makes local days of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import from_epoch_ms, to_epoch_ms
from bldgwatch.core.pumps import CurvePoint
from bldgwatch.core.site import MeterSpec, primary_factor
from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.maintenance.models import EquipmentRow
from bldgwatch.maintenance.pumpeff import (
    BASELINE_DAYS,
    EarlyBaseline,
    HourEnergy,
    HourMeans,
    PumpEfficiency,
    early_baseline,
    efficiency,
)
from bldgwatch.maintenance.recordmodels import PumpBaselineRow

EARLY_SPAN = timedelta(days=BASELINE_DAYS * 4)
"""How far after the first reading since install or overhaul the early days are looked for."""


@dataclass(frozen=True, slots=True)
class Pump:
    """A pump of the register with what its figures need."""

    id: str
    building: str
    name: str
    rated: Mapping[str, float]
    params: Mapping[str, float]
    curve: list[CurvePoint]
    meter: str | None
    since: date | None  # last overhaul, else install
    meter_spec: MeterSpec | None = None  # its meter's entry (the transformers' ratios)

    def ratio(self, zone: ZoneInfo) -> Callable[[datetime], float]:
        """Its meter's power factor to the primary side at a time (the ratio then)."""
        spec = self.meter_spec
        return lambda at: primary_factor(
            "electricity_meter", spec, "power_kw", at.astimezone(zone).date()
        )


def pumps_of(session: Session, site: str) -> list[Pump]:
    """The site's pumps, by id, with the electricity meter that feeds each alone."""
    rows = session.scalars(
        select(EquipmentRow).where(EquipmentRow.site == site).order_by(EquipmentRow.id)
    ).all()
    fed = {r.serves: r.id for r in rows if r.serves is not None}
    specs = {
        r.id: MeterSpec.model_validate(r.meter)
        for r in rows
        if r.meter and r.type == "electricity_meter"
    }
    return [
        Pump(
            r.id,
            r.building,
            r.name,
            {k: float(v) for k, v in (r.rated or {}).items()},
            {k: float(v) for k, v in (r.params or {}).items()},
            [CurvePoint(p["flow_m3h"], p["head_m"], p.get("efficiency")) for p in r.curve or []],
            fed.get(r.id),
            r.last_overhaul or r.installed,
            specs.get(fed.get(r.id, "")),
        )
        for r in rows
        if r.type == "pump"
    ]


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _where(site: str, equipment: str, start: datetime, end: datetime) -> str:
    return (
        f"{_ident('site')} = {_literal(site)} AND {_ident('equipment')} = {_literal(equipment)} "
        f"AND time >= {to_epoch_ms(start)}ms AND time < {to_epoch_ms(end)}ms"
    )


def _num(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _hour(row: Mapping[str, Any]) -> datetime:
    value = row["time"]
    if isinstance(value, int | float):
        return from_epoch_ms(int(value))
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def running_hours(
    store: TimeSeriesStore, site: str, pump: str, start: datetime, end: datetime
) -> list[HourMeans]:
    """Hourly means over the pump's running lines in [start, end)."""
    # Every identifier is quoted, the site and pump escaped literals, the times integers.
    query = (
        f"SELECT mean({_ident('flow_m3h')}) AS q, mean({_ident('outlet_pressure_bar')}) AS p, "  # noqa: S608
        f"mean({_ident('motor_current_a')}) AS i, count({_ident('motor_current_a')}) AS n "
        f"FROM {_ident('pump')} WHERE {_where(site, pump, start, end)} "
        f"AND {_ident('motor_current_a')} > 0 GROUP BY time(1h) fill(none)"
    )
    out = []
    for row in store.query(query):
        q, p, i, n = (_num(row, k) for k in ("q", "p", "i", "n"))
        if q is None or p is None or i is None or not n:
            continue
        out.append(HourMeans(_hour(row), q, p, i, int(n)))
    return out


def metered_hours(
    store: TimeSeriesStore,
    site: str,
    pump: str,
    meter: str,
    *,
    start: datetime,
    end: datetime,
    ratio: Callable[[datetime], float] = lambda _: 1.0,
) -> list[HourEnergy]:
    """Hourly means of the meter's power (× its transformers' `ratio` at the hour) and the
    pump's flow over all the time."""
    power = (
        f"SELECT mean({_ident('power_kw')}) AS v FROM {_ident('electricity_meter')} "  # noqa: S608
        f"WHERE {_where(site, meter, start, end)} GROUP BY time(1h) fill(none)"
    )
    flow = (
        f"SELECT mean({_ident('flow_m3h')}) AS v FROM {_ident('pump')} "  # noqa: S608
        f"WHERE {_where(site, pump, start, end)} GROUP BY time(1h) fill(none)"
    )
    kw = {}
    for r in store.query(power):
        if (v := _num(r, "v")) is not None:
            at = _hour(r)
            kw[at] = v * ratio(at)
    m3h = {_hour(r): v for r in store.query(flow) if (v := _num(r, "v")) is not None}
    return [HourEnergy(at, kw[at], m3h[at]) for at in sorted(kw.keys() & m3h.keys())]


def pump_efficiency(
    store: TimeSeriesStore,
    site: str,
    pump: Pump,
    zone: ZoneInfo,
    *,
    start: datetime,
    end: datetime,
    kept: EarlyBaseline | None = None,
) -> PumpEfficiency:
    """A pump's figures over [start, end), with its early baseline: `kept` when it was made
    before, else made from the raw readings of its first days (while they are held)."""
    window = running_hours(store, site, pump.id, start, end)
    meter = (
        metered_hours(
            store, site, pump.id, pump.meter, start=start, end=end, ratio=pump.ratio(zone)
        )
        if pump.meter
        else []
    )
    early: list[HourMeans] = []
    early_meter: list[HourEnergy] = []
    if "specific_energy_kwh_m3" not in pump.rated and kept is None:
        early, early_meter = _early_hours(store, site, pump, zone, end)
    return efficiency(
        pump.id,
        window,
        early,
        zone,
        rated=pump.rated,
        params=pump.params,
        curve=pump.curve,
        meter=meter,
        early_meter=early_meter,
        kept=kept,
    )


def _early_hours(
    store: TimeSeriesStore, site: str, pump: Pump, zone: ZoneInfo, end: datetime
) -> tuple[list[HourMeans], list[HourEnergy]]:
    # The first days the system has data for the pump since its install or overhaul (what
    # the drift rule learns from too): a pump installed before bldgwatch came has none in
    # the days after its install, and would never get a baseline.
    installed = (
        datetime.combine(pump.since, datetime.min.time(), zone) if pump.since is not None else None
    )
    since = first_running(store, site, pump.id, end, after=installed)
    if since is None:
        return [], []
    early = running_hours(store, site, pump.id, since, since + EARLY_SPAN)
    early_meter = (
        metered_hours(
            store,
            site,
            pump.id,
            pump.meter,
            start=since,
            end=since + EARLY_SPAN,
            ratio=pump.ratio(zone),
        )
        if pump.meter
        else []
    )
    return early, early_meter


def kept_baselines(session: Session, site: str, pumps: list[Pump]) -> dict[str, EarlyBaseline]:
    """The baselines kept for the site's pumps since their current install or overhaul."""
    since = {p.id: p.since for p in pumps}
    rows = session.scalars(select(PumpBaselineRow).where(PumpBaselineRow.site == site))
    return {
        r.pump: EarlyBaseline(r.kwh_m3, r.first_day, r.last_day)
        for r in rows
        if r.pump in since and r.since == since[r.pump]
    }


def keep_baselines(
    session: Session, store: TimeSeriesStore, site: str, zone: ZoneInfo, now: datetime
) -> list[str]:
    """Make and keep the early baseline of each pump of the site that has none kept for its
    current install or overhaul (and no register figure), while its first days are still in
    the raw readings; the pumps it kept one for. The caller commits."""
    pumps = pumps_of(session, site)
    kept = kept_baselines(session, site, pumps)
    made = []
    for pump in pumps:
        if pump.id in kept or "specific_energy_kwh_m3" in pump.rated:
            continue
        early, early_meter = _early_hours(store, site, pump, zone, now)
        baseline = early_baseline(early, zone, pump.rated, pump.curve, early_meter)
        if baseline is None:
            continue
        session.merge(
            PumpBaselineRow(
                site=site,
                pump=pump.id,
                since=pump.since,
                kwh_m3=baseline.kwh_m3,
                first_day=baseline.first_day,
                last_day=baseline.last_day,
                made_at=now,
            )
        )
        made.append(pump.id)
    return made


def first_running(
    store: TimeSeriesStore,
    site: str,
    pump: str,
    before: datetime,
    *,
    after: datetime | None = None,
) -> datetime | None:
    """When the pump's first reading (at or after `after`) is: its data's start; None
    without any."""
    lo = before - timedelta(days=3650)
    query = (
        f"SELECT first({_ident('motor_current_a')}) AS v FROM {_ident('pump')} "  # noqa: S608
        f"WHERE {_where(site, pump, max(lo, after) if after else lo, before)}"
    )
    rows = store.query(query)
    return _hour(rows[0]) if rows else None
