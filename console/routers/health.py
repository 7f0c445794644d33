"""`/healthz`: is the console able to answer, i.e. are the database (with its schema),
InfluxDB and (when it has one) its broker connection there; 503 names what is down.
`/metrics`: the live stream's counters for Prometheus."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from bldgwatch.alerts import queries as alert_queries
from bldgwatch.console.auth import public
from bldgwatch.console.deps import DbEngine, Store
from bldgwatch.console.live import LiveHub
from bldgwatch.console.schemas import Health
from bldgwatch.core.metrics import Family, exposition
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


def check_broker(request: Request) -> str | None:
    """None when the console has no broker or its connection is up, else why not."""
    if request.app.state.cfg.mqtt is None:
        return None
    bridge = request.app.state.bridge
    if bridge is None or not bridge.connected():
        return "not connected: the live stream and data ages are not current"
    return None


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is down."}},
    summary="Health of the console and its dependencies",
)
def healthz(request: Request, engine: DbEngine, store: Store) -> JSONResponse:
    """200 when the database (with its schema), InfluxDB and the broker connection (if the
    console has a broker) are there; 503 with what is down otherwise."""
    checks = (
        ("database", check_database(engine)),
        ("influxdb", check_influx(store)),
        ("broker", check_broker(request)),
    )
    problems = {name: why for name, why in checks if why is not None}
    health = Health(
        status="unavailable" if problems else "ok",
        database="database" not in problems,
        influxdb="influxdb" not in problems,
        broker="broker" not in problems,
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


def live_metrics(hub: LiveHub) -> list[Family]:
    """The live stream's counters: relayed events, dropped messages by reason, clients."""
    return [
        Family("live_relayed_total", "Broker messages relayed to the live stream.", hub.relayed),
        Family(
            "live_dropped_total",
            "Broker messages dropped (and dead-lettered) by the live stream, by reason.",
            dict(hub.dropped),
        ),
        Family("live_clients", "Connected live-stream clients.", hub.subscribers, "gauge"),
    ]


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text of the live stream's counters (public, like /healthz)."""
    hub: LiveHub = request.app.state.hub
    text = exposition("bldgwatch_console", lambda: live_metrics(hub))
    return Response(text, media_type=CONTENT_TYPE_LATEST)
