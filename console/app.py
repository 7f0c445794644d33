"""The console's FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, create_engine

from bldgwatch.console.auth import SecurityContext
from bldgwatch.console.bus import MqttBridge
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.live import LiveHub
from bldgwatch.console.problems import install_problem_handlers
from bldgwatch.console.ratelimit import LoginLimiter
from bldgwatch.console.routers import (
    alarm_actions,
    alarms,
    auth,
    budgets,
    dashboard,
    docs,
    equipment,
    equipment_history,
    health,
    kpis,
    live,
    order_records,
    readings,
    reports,
    users,
    work_order_actions,
    work_orders,
)
from bldgwatch.console.security import resolve_secret
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.db import session_factory
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.attachments import AttachmentStore

DESCRIPTION = """\
REST API of bldgwatch for engineering staff, technicians and supervisors: alarms (ISA-18.2),
work orders, the asset register and equipment readings from InfluxDB, a live WebSocket
(`/api/live`), plus the web console at `/`.

**Authentication**: log in at `POST /api/auth/token` (OAuth2 password flow) and send the
access token as `Authorization: Bearer <token>`; renew it with the refresh token at
`POST /api/auth/refresh`. Machines use API tokens (`bwt_…`, made by an admin). Roles: viewer
(read), engineer (alarms), technician (own work orders), supervisor (plans, assignment,
reports), admin (users, tokens; everything). Users only see their sites: another site's
object answers 404.

Every error is an RFC 9457 problem-details document (`application/problem+json`) whose
`detail` names what was wrong. Listings take `limit` (1–500) and `offset` and answer
`{"items": [...], "total": n, "limit": .., "offset": ..}`. Times are ISO 8601 UTC.
"""

TAGS = [
    {"name": "auth", "description": "Login, token refresh, who am I."},
    {"name": "alarms", "description": "Alarm occurrences, their transitions and operator actions."},
    {"name": "work orders", "description": "Reactive, preventive and requested work."},
    {"name": "kpis", "description": "Alarm and maintenance key figures, plans and reports."},
    {"name": "assets", "description": "Sites, buildings and equipment."},
    {"name": "readings", "description": "Time series of equipment points (InfluxDB)."},
    {"name": "users", "description": "User accounts and API tokens (admin)."},
    {"name": "health", "description": "Liveness of the console and its dependencies."},
]

ROUTERS = (
    health,
    auth,
    users,
    alarms,
    alarm_actions,
    work_orders,
    work_order_actions,
    order_records,
    kpis,
    budgets,
    reports,
    equipment_history,
    equipment,
    readings,
    live,
    docs,
)
"""The API's routers; the web application (`dashboard`) is installed after them."""


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    hub: LiveHub = app.state.hub
    hub.loop = asyncio.get_running_loop()
    cfg: ConsoleConfig = app.state.cfg
    bridge = None
    if cfg.mqtt is not None:
        bridge = MqttBridge(cfg.mqtt, hub)
        bridge.start()
    try:
        yield
    finally:
        if bridge is not None:
            bridge.stop()
        hub.loop = None


def create_app(
    cfg: ConsoleConfig,
    *,
    engine: Engine,
    store: TimeSeriesStore,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """A console app reading `engine` and `store`; the caller owns (and closes) both.

    Args:
        cfg: The console's configuration.
        engine: SQLAlchemy engine of the relational store (already migrated).
        store: InfluxDB adapter for readings.
        clock: What "now" is (tokens, rate limits, default windows); system clock if None.
        environ: Where BLDGWATCH_SECRET is read; `os.environ` if None.

    Raises InsecureSecretError outside dev mode without a strong secret.
    """
    clock = clock or SystemClock()
    secret = resolve_secret(os.environ if environ is None else environ, dev=cfg.dev)
    app = FastAPI(
        title="bldgwatch console",
        version="0.2.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
        docs_url=None,  # served by routers.docs from installed packages, not from a CDN
        redoc_url=None,
    )
    app.state.cfg = cfg
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.store = store
    app.state.attachments = AttachmentStore(cfg.attachments)
    app.state.clock = clock
    app.state.health_problems = {}
    app.state.security = SecurityContext(
        secret=secret,
        access_ttl=timedelta(seconds=cfg.security.access_ttl_s),
        refresh_ttl=timedelta(seconds=cfg.security.refresh_ttl_s),
        limiter=LoginLimiter(
            clock,
            attempts=cfg.security.login_attempts,
            window=timedelta(seconds=cfg.security.login_window_s),
        ),
    )
    hub = LiveHub(buffer=cfg.live.buffer, client_queue=cfg.live.client_queue)
    app.state.hub = hub
    install_problem_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    dashboard.install(app)
    return app


def openapi_document() -> dict[str, Any]:
    """The console's OpenAPI document, built without a database, InfluxDB or broker.

    The web build generates its typed API client from it (`bldgwatch openapi`).
    """
    engine = create_engine("sqlite://")  # never connected: building the document reads no data
    store = open_store(InfluxSettings())
    try:
        app = create_app(ConsoleConfig(dev=True), engine=engine, store=store, environ={})
        return app.openapi()
    finally:
        store.close()
        engine.dispose()
