"""Pump efficiency (issue 20, point 3), pure: per pump, daily operating points and specific
energy from hourly means of its readings, the early baseline, the drift, the rated curve.

Input: hourly means over the pump's running time (flow, discharge pressure, motor current,
and the count of samples) — `maintenance.pumpstore` reads them — and, where an electricity
meter feeds the pump alone (`serves` in the register), the hourly means of the meter's power
and of the pump's flow over all the time (running or not). A local day (site time zone) is
the sample-weighted mean of its hours. Per day: the operating point (`core.pumps`), specific
energy from the motor current (running power / running flow), and from the meter where there
is one (mean power / mean flow: energy / volume). The early baseline is the median specific
energy of the pump's first `BASELINE_DAYS` days with water pumped since its install or last
overhaul (or the register's `rated.specific_energy_kwh_m3`); the drift is the median of the
last `RECENT_DAYS` days over it, less one. The rules raise the same drift as
`pump.energy_drift` (a planned order); here it is shown and given to stage scoring.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bldgwatch.core.pumps import CurvePoint, OperatingPoint, electrical_kw, head_m, operating_point

BASELINE_DAYS = 7
RECENT_DAYS = 5
DRIFT_LIMIT = 0.10
"""The drift share that raises `pump.energy_drift` unless the pump's params say otherwise."""
MIN_SAMPLES = 10
"""A day with fewer running samples than this gives no figure."""


@dataclass(frozen=True, slots=True)
class HourMeans:
    """Means of one hour of a pump's running samples."""

    at: datetime  # the hour's start (UTC)
    flow_m3h: float
    discharge_bar: float
    current_a: float
    samples: int


@dataclass(frozen=True, slots=True)
class HourEnergy:
    """One hour of a meter's mean power and the pump's mean flow over all the time."""

    at: datetime
    power_kw: float
    flow_m3h: float


@dataclass(frozen=True, slots=True)
class PumpDay:
    """One local day of a pump."""

    day: date
    point: OperatingPoint
    running_samples: int
    meter_kwh_m3: float | None = None  # from its meter, where one feeds it alone

    @property
    def specific_kwh_m3(self) -> float | None:
        """The day's specific energy: the meter's where there is one, else the current's."""
        return self.meter_kwh_m3 if self.meter_kwh_m3 is not None else self.point.specific_kwh_m3


@dataclass(frozen=True, slots=True)
class PumpEfficiency:
    """A pump's efficiency figures over a window."""

    pump: str
    days: list[PumpDay]
    point: OperatingPoint | None  # over the whole window
    baseline_kwh_m3: float | None
    baseline_from: str  # "register", "early_days" or "none"
    recent_kwh_m3: float | None
    drift: float | None  # recent / baseline - 1
    drift_limit: float
    curve: list[CurvePoint] = field(default_factory=list)
    power_source: str = "current"  # "meter" where one feeds the pump alone

    @property
    def drifting(self) -> bool:
        """Whether the drift is over its limit."""
        return self.drift is not None and self.drift > self.drift_limit


def _weighted_day(
    hours: Sequence[HourMeans], rated: Mapping[str, float], curve: Sequence[CurvePoint]
) -> tuple[OperatingPoint, int] | None:
    n = sum(h.samples for h in hours)
    if n == 0:
        return None
    flow = sum(h.flow_m3h * h.samples for h in hours) / n
    pressure = sum(h.discharge_bar * h.samples for h in hours) / n
    current = sum(h.current_a * h.samples for h in hours) / n
    head = head_m(pressure, rated.get("suction_bar", 0.0))
    return operating_point(flow, head, electrical_kw(current, rated), curve), n


def _by_day(items: Iterable[HourMeans], zone: ZoneInfo) -> dict[date, list[HourMeans]]:
    days: dict[date, list[HourMeans]] = {}
    for h in items:
        days.setdefault(h.at.astimezone(zone).date(), []).append(h)
    return days


def _meter_days(items: Iterable[HourEnergy], zone: ZoneInfo) -> dict[date, float]:
    energy: dict[date, list[float]] = {}
    for h in items:
        kwh_m3 = energy.setdefault(h.at.astimezone(zone).date(), [0.0, 0.0])
        kwh_m3[0] += h.power_kw
        kwh_m3[1] += h.flow_m3h
    return {d: kwh / m3 for d, (kwh, m3) in energy.items() if m3 > 0}


def pump_days(
    hours: Iterable[HourMeans],
    zone: ZoneInfo,
    rated: Mapping[str, float],
    curve: Sequence[CurvePoint] = (),
    meter: Iterable[HourEnergy] = (),
) -> list[PumpDay]:
    """Local days with at least MIN_SAMPLES running samples, oldest first."""
    metered = _meter_days(meter, zone)
    out = []
    for day, items in sorted(_by_day(hours, zone).items()):
        found = _weighted_day(items, rated, curve)
        if found is None or found[1] < MIN_SAMPLES or found[0].flow_m3h <= 0:
            continue
        out.append(PumpDay(day, found[0], found[1], metered.get(day)))
    return out


@dataclass(frozen=True, slots=True)
class EarlyBaseline:
    """The median specific energy of a pump's first days, and which days they were."""

    kwh_m3: float
    first_day: date
    last_day: date


def early_baseline(
    early: Sequence[HourMeans],
    zone: ZoneInfo,
    rated: Mapping[str, float],
    curve: Sequence[CurvePoint] = (),
    early_meter: Sequence[HourEnergy] = (),
) -> EarlyBaseline | None:
    """The baseline of the first `BASELINE_DAYS` days with water pumped; None with fewer."""
    first = [
        d
        for d in pump_days(early, zone, rated, curve, early_meter)[:BASELINE_DAYS]
        if d.specific_kwh_m3 is not None
    ]
    if len(first) < BASELINE_DAYS:
        return None
    known = [d.specific_kwh_m3 for d in first if d.specific_kwh_m3 is not None]
    return EarlyBaseline(statistics.median(known), first[0].day, first[-1].day)


def efficiency(
    pump: str,
    window: Sequence[HourMeans],
    early: Sequence[HourMeans],
    zone: ZoneInfo,
    *,
    rated: Mapping[str, float],
    params: Mapping[str, float],
    curve: Sequence[CurvePoint] = (),
    meter: Sequence[HourEnergy] = (),
    early_meter: Sequence[HourEnergy] = (),
    kept: EarlyBaseline | None = None,
) -> PumpEfficiency:
    """The figures of one pump: `window` the hours shown, `early` its first hours since
    install or overhaul (for the baseline) unless the baseline made from them is `kept`."""
    days = pump_days(window, zone, rated, curve, meter)
    whole = _weighted_day(window, rated, curve)
    register = rated.get("specific_energy_kwh_m3")
    baseline: float | None
    if register is not None:
        baseline, source = float(register), "register"
    else:
        made = kept or early_baseline(early, zone, rated, curve, early_meter)
        baseline = None if made is None else made.kwh_m3
        source = "early_days" if baseline is not None else "none"
    recent_values = [d.specific_kwh_m3 for d in days[-RECENT_DAYS:]]
    recent_known = [x for x in recent_values if x is not None]
    recent = statistics.median(recent_known) if recent_known else None
    drift = recent / baseline - 1.0 if recent is not None and baseline else None
    return PumpEfficiency(
        pump,
        days,
        whole[0] if whole is not None else None,
        baseline,
        source,
        recent,
        drift,
        float(params.get("energy_drift_share", DRIFT_LIMIT)),
        list(curve),
        "meter" if meter else "current",
    )


def drift_indicator(drift: float | None, limit: float = DRIFT_LIMIT) -> float | None:
    """0 (no drift) … 1 (twice the alarm's limit) for stage scoring; None without a figure."""
    if drift is None:
        return None
    return float(min(max(drift / (2.0 * limit), 0.0), 1.0))
