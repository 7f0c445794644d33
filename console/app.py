"""The console's FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from console.config import ConsoleConfig
from console.problems import install_problem_handlers
from console.routers import alarms, dashboard, equipment, health, readings, work_orders
from core.clock import Clock, SystemClock
from core.db import session_factory
from core.tsdb import TimeSeriesStore

DESCRIPTION = """\
REST API of bldgwatch for engineering staff, technicians and supervisors: alarms (ISA-18.2),
work orders, the asset register and equipment readings from InfluxDB, plus the web dashboard
at `/`.

Every error is an RFC 9457 problem-details document (`application/problem+json`) whose
`detail` names what was wrong. Listings take `limit` (1–500) and `offset` and answer
`{"items": [...], "total": n, "limit": .., "offset": ..}`. Times are ISO 8601 UTC.
"""

TAGS = [
    {"name": "alarms", "description": "Alarm occurrences and their transitions."},
    {"name": "work orders", "description": "Reactive, preventive and requested work."},
    {"name": "assets", "description": "Sites, buildings and equipment."},
    {"name": "readings", "description": "Time series of equipment points (InfluxDB)."},
    {"name": "health", "description": "Liveness of the console and its dependencies."},
]


def create_app(
    cfg: ConsoleConfig, *, engine: Engine, store: TimeSeriesStore, clock: Clock | None = None
) -> FastAPI:
    """A console app reading `engine` and `store`; the caller owns (and closes) both.

    Args:
        cfg: The console's configuration.
        engine: SQLAlchemy engine of the relational store (already migrated by the writers).
        store: InfluxDB adapter for readings.
        clock: What "now" is for default reading windows; the system clock if None.
    """
    app = FastAPI(
        title="bldgwatch console",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
    )
    app.state.cfg = cfg
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.store = store
    app.state.clock = clock or SystemClock()
    app.state.health_problems = {}
    install_problem_handlers(app)
    for module in (health, alarms, work_orders, equipment, readings, dashboard):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=dashboard.STATIC_DIR), name="static")
    return app
