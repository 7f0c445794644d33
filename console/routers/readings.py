"""Readings of one equipment from InfluxDB: raw or averaged per interval, and the latest values."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import AppClock, DbSession, Store
from bldgwatch.console.errors import BadParameterError
from bldgwatch.console.influxql import (
    MAX_ROWS,
    ReadingsQuery,
    field_keys_query,
    latest_query,
    parse_every,
    readings_query,
)
from bldgwatch.console.paging import When
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.equipment import find_equipment
from bldgwatch.console.schemas import LatestReadings, LatestValue, ReadingRow, Readings
from bldgwatch.core.clock import from_epoch_ms
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import DEFAULT_TIMEZONE, MeterSpec, primary_factor, site_zone
from bldgwatch.core.tsdb import TimeSeriesStore, TsdbError
from bldgwatch.maintenance import queries as maintenance_queries
from bldgwatch.maintenance.models import EquipmentRow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/readings", tags=["readings"])

DEFAULT_WINDOW = timedelta(hours=1)

SiteParam = Annotated[str, Query(max_length=64, description="Site id.")]
EquipmentParam = Annotated[str, Query(max_length=64, description="Equipment id.")]


def _query(store: TimeSeriesStore, influxql: str) -> list[dict[str, Any]]:
    """Run a query; a database that does not exist yet simply has no readings."""
    logger.debug("InfluxQL: %s", influxql)
    try:
        return store.query(influxql)
    except TsdbError as err:
        if not err.retryable and "database not found" in str(err):
            return []
        if not err.retryable:
            raise BadParameterError(Message("error.influx.rejected", {"detail": str(err)})) from err
        raise


def _primary(session: Session, row: EquipmentRow) -> Callable[[str, datetime], float]:
    """A point's factor at a time to the primary side of a CT/PT-connected meter (InfluxDB
    keeps what the meter gives; `core.site.primary_factor`, the ratio in force that day)."""
    meter = MeterSpec.model_validate(row.meter) if row.meter else None
    if meter is None:
        return lambda _point, _at: 1.0
    site = maintenance_queries.site(session, row.site)
    zone = site_zone(site.timezone if site is not None else DEFAULT_TIMEZONE)
    return lambda point, at: primary_factor(row.type, meter, point, at.astimezone(zone).date())


def _scaled(value: Any, factor: float) -> Any:
    if factor == 1.0 or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return value * factor


@router.get(
    "",
    response_model=Readings,
    responses=problem_docs(400, 401, 404, 422, 503),
    summary="Readings of one equipment",
)
def get_readings(
    *,
    session: DbSession,
    store: Store,
    clock: AppClock,
    user: CurrentUser,
    site: SiteParam,
    equipment: EquipmentParam,
    point: Annotated[
        list[str], Query(description="Point (field) name; repeat for several.", min_length=1)
    ],
    start: Annotated[
        When | None, Query(description="From (ISO 8601 with zone); default end − 1 h.")
    ] = None,
    end: Annotated[
        When | None, Query(description="Until (ISO 8601 with zone); default now.")
    ] = None,
    every: Annotated[
        str | None,
        Query(max_length=16, description="Average per interval, e.g. 1m; raw values if absent."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ROWS, description="At most this many rows (the newest).")
    ] = 1000,
) -> Readings:
    """Raw readings, or `mean` per `every` interval, of the equipment's points in a window."""
    row = find_equipment(session, user, site, equipment)
    end = end or clock.now()
    start = start or end - DEFAULT_WINDOW
    q = ReadingsQuery(
        measurement=row.type,
        site=site,
        equipment=equipment,
        points=tuple(point),
        start=start,
        end=end,
        every=parse_every(every) if every is not None else None,
        limit=limit,
    )
    rows = _query(store, readings_query(q))
    factor = _primary(session, row)
    out = [
        ReadingRow(time=at, **{p: _scaled(r.get(p), factor(p, at)) for p in q.points})
        for r in reversed(rows)
        for at in (from_epoch_ms(int(r["time"])),)
    ]
    return Readings(
        site=site,
        equipment=equipment,
        measurement=row.type,
        points=list(q.points),
        start=start,
        end=end,
        every=every,
        rows=out,
    )


@router.get(
    "/latest",
    response_model=LatestReadings,
    responses=problem_docs(401, 404, 422, 503),
    summary="Latest value of each point of one equipment",
)
def get_latest(
    *,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    site: SiteParam,
    equipment: EquipmentParam,
) -> LatestReadings:
    """The last stored value of every point of the equipment, with its time."""
    row = find_equipment(session, user, site, equipment)
    fields = [str(r["fieldKey"]) for r in _query(store, field_keys_query(row.type))]
    statement = latest_query(row.type, site, equipment, fields)
    values: dict[str, LatestValue] = {}
    factor = _primary(session, row)
    for r in _query(store, statement) if statement else []:
        at = from_epoch_ms(int(r["time"]))
        for name, value in r.items():
            if name in fields:
                values[name] = LatestValue(time=at, value=_scaled(value, factor(name, at)))
    return LatestReadings(
        site=site, equipment=equipment, measurement=row.type, values=dict(sorted(values.items()))
    )
