"""Condition indicators for stage scoring, from the readings in InfluxDB.

An indicator is scaled 0 (healthy) … 1 (at its limit). The pump vibration indicator follows
the daily mean vibration velocity (mm/s RMS) over the last weeks, extends its linear trend
`horizon_days` ahead and places that value between the ISO 10816-1 zone boundaries of the
pump's machine class: B/C (act soon) maps to 0, C/D (damaging) to 1. A rising trend thus
counts before the level itself gets there.

The pump energy-drift indicator (`energy_drift`) is the specific energy (kWh/m³) of its last
days over its early baseline (`maintenance.pumpeff`): 0 without drift, 1 at twice the drift
that raises `pump.energy_drift` (a worn impeller shows in energy before it fails).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from bldgwatch.core.clock import from_epoch_ms
from bldgwatch.core.tsdb.base import TimeSeriesStore, TsdbError
from bldgwatch.maintenance.pumpeff import drift_indicator, efficiency
from bldgwatch.maintenance.pumpstore import EARLY_SPAN, first_running, running_hours

logger = logging.getLogger(__name__)

# ISO 10816-1 zone boundaries B/C and C/D in mm/s RMS per machine class.
ZONES: dict[str, tuple[float, float]] = {
    "I": (1.8, 4.5),
    "II": (2.8, 7.1),
    "III": (4.5, 11.2),
    "IV": (7.1, 18.0),
}
DEFAULT_CLASS = "I"
WINDOW_DAYS = 30
HORIZON_DAYS = 90
MIN_DAYS = 5
UTC_ZONE = ZoneInfo("UTC")  # days of the drift indicator: a ratio, not shown to anyone

ConditionReader = Callable[[str, str, str, str | None, datetime], dict[str, float]]
"""(site, equipment, equipment type, machine class, as of) → indicators."""


def vibration_indicator(
    daily: Sequence[tuple[datetime, float]],
    machine_class: str | None,
    *,
    horizon_days: int = HORIZON_DAYS,
) -> float | None:
    """0 … 1 from daily mean vibration; None with fewer than MIN_DAYS days. Pure."""
    if len(daily) < MIN_DAYS:
        return None
    t0 = daily[0][0]
    days = np.array([(at - t0).total_seconds() / 86400 for at, _ in daily])
    values = np.array([v for _, v in daily])
    slope, intercept = np.polyfit(days, values, 1)
    now = float(days[-1])
    level = float(intercept + slope * now)
    projected = max(level, float(intercept + slope * (now + horizon_days)))
    low, high = ZONES.get(machine_class or DEFAULT_CLASS, ZONES[DEFAULT_CLASS])
    return float(min(max((projected - low) / (high - low), 0.0), 1.0))


def _time(value: object) -> datetime:
    """A query row's time: epoch milliseconds (v1 store) or an RFC 3339 string."""
    if isinstance(value, int | float):
        return from_epoch_ms(int(value))
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influx_condition(store: TimeSeriesStore) -> ConditionReader:
    """Indicators read from InfluxDB (pumps: `vibration_trend`); none when nothing is there."""

    def read(
        site: str, equipment: str, equipment_type: str, machine_class: str | None, as_of: datetime
    ) -> dict[str, float]:
        if equipment_type != "pump":
            return {}
        since = as_of - timedelta(days=WINDOW_DAYS)
        where = (
            f'"site" = {_literal(site)} AND "equipment" = {_literal(equipment)} '
            f"AND time > {_literal(since.isoformat())} AND time <= {_literal(as_of.isoformat())}"
        )
        query = f'SELECT mean("vibration_mm_s") AS v FROM "pump" WHERE {where} GROUP BY time(1d) fill(none)'  # noqa: S608, E501 - quoted
        try:
            rows = store.query(query)
        except TsdbError as err:
            logger.warning("condition of %s/%s not read: %s", site, equipment, err)
            return {}
        daily = [(_time(r["time"]), float(r["v"])) for r in rows if r.get("v") is not None]
        value = vibration_indicator(daily, machine_class)
        found = {} if value is None else {"vibration_trend": round(value, 3)}
        drift = _energy_drift(store, site, equipment, as_of)
        if drift is not None:
            found["energy_drift"] = round(drift, 3)
        return found

    return read


def _energy_drift(store: TimeSeriesStore, site: str, pump: str, as_of: datetime) -> float | None:
    """0 … 1 from the pump's specific-energy drift over its first days of data."""
    try:
        since = first_running(store, site, pump, as_of)
        if since is None:
            return None
        early = running_hours(store, site, pump, since, since + EARLY_SPAN)
        recent = running_hours(store, site, pump, as_of - timedelta(days=WINDOW_DAYS), as_of)
    except TsdbError as err:
        logger.warning("energy drift of %s/%s not read: %s", site, pump, err)
        return None
    figures = efficiency(pump, recent, early, UTC_ZONE, rated={}, params={})
    return drift_indicator(figures.drift)
