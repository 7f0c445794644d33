"""`/healthz`: is the console able to answer, i.e. are the database (with its schema) and
InfluxDB there."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from bldgwatch.alerts import queries as alert_queries
from bldgwatch.console.auth import public
from bldgwatch.console.deps import DbEngine, Store
from bldgwatch.console.schemas import Health
from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.maintenance import queries as maintenance_queries
from bldgwatch.rules import queries as alarm_queries

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"], dependencies=[Depends(public)])

REQUIRED_TABLES = alarm_queries.TABLES | maintenance_queries.TABLES | alert_queries.TABLES
"""The owners' tables the console reads (each owner names its own)."""


def check_database(engine: Engine) -> str | None:
    """None when the database answers and has the console's tables, else why not."""
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
    except SQLAlchemyError as err:
        return f"unreachable: {str(getattr(err, 'orig', err)).strip().splitlines()[0]}"
    missing = sorted(REQUIRED_TABLES - present)
    if missing:
        return f"schema missing, no table {', '.join(missing)}"
    return None


def check_influx(store: TimeSeriesStore) -> str | None:
    """None when InfluxDB answers its ping, else why not."""
    return None if store.ping() else "unreachable (no answer to /ping)"


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is down."}},
    summary="Health of the console and its dependencies",
)
def healthz(request: Request, engine: DbEngine, store: Store) -> JSONResponse:
    """200 when the database (with its schema) and InfluxDB are there, 503 otherwise."""
    problems = {
        name: why
        for name, why in (("database", check_database(engine)), ("influxdb", check_influx(store)))
        if why is not None
    }
    health = Health(
        status="unavailable" if problems else "ok",
        database="database" not in problems,
        influxdb="influxdb" not in problems,
        detail=problems,
    )
    # Log changes only: probes call this every few seconds.
    if problems != request.app.state.health_problems:
        if problems:
            logger.warning("unhealthy: %s", problems)
        else:
            logger.info("healthy again")
        request.app.state.health_problems = problems
    return JSONResponse(health.model_dump(), status_code=503 if problems else 200)
