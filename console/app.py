"""The console's FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine, create_engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bldgwatch.alerts.secrets import SecretBox, load_key
from bldgwatch.console.auth import SecurityContext
from bldgwatch.console.bus import MqttBridge
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.hashgate import HashGate
from bldgwatch.console.limits import RequestLimits, Upload, single_valued_query
from bldgwatch.console.live import LiveHub
from bldgwatch.console.liveness import Liveness
from bldgwatch.console.locale import SiteLanguages
from bldgwatch.console.problems import install_problem_handlers
from bldgwatch.console.publicguard import PublicGuard
from bldgwatch.console.ratelimit import LoginLimiter
from bldgwatch.console.revocation import RevocationSignal
from bldgwatch.console.routers import (
    ack_links,
    alarm_actions,
    alarms,
    alert_settings,
    alert_timeline,
    audit,
    auth,
    budgets,
    complaints,
    contractors,
    dashboard,
    desk_queue,
    docs,
    drills,
    emergency,
    energy,
    equipment,
    equipment_history,
    follow_ups,
    gateways,
    health,
    households,
    kpis,
    live,
    liveness,
    order_lists,
    order_records,
    points,
    preferences,
    public_requests,
    purchasing,
    readings,
    reports,
    request_desk,
    round_photos,
    round_runs,
    rounds,
    stock,
    users,
    work_order_actions,
    work_orders,
)
from bldgwatch.console.security import resolve_secret
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.db import session_factory
from bldgwatch.core.deadletter import DeadLetters
from bldgwatch.core.register import EquipmentRegister
from bldgwatch.core.site import load_site
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.stocksuggest import StageTally

DESCRIPTION = """\
REST API of bldgwatch for engineering staff, technicians and supervisors: alarms (ISA-18.2),
work orders, the asset register and equipment readings from InfluxDB, a live WebSocket
(`/api/live`), plus the web console at `/`.

**Authentication**: log in at `POST /api/auth/token` (OAuth2 password flow): the answer
opens a session and holds a short-lived access token (send it as
`Authorization: Bearer <token>`) and a single-use refresh token. `POST /api/auth/refresh`
trades the refresh token for a new pair (rotation); a spent refresh token presented again ends
the whole session. `POST /api/auth/logout` ends the session. A password change, a role change,
disabling the user or an admin's revocation end every session and API token of the user.
Machines use API tokens (`bwt_…`, made by an admin). Roles: viewer (read), engineer (alarms),
technician (own work orders), supervisor (plans, assignment, reports), admin (users, tokens,
sessions, the audit log; everything). Users only see their sites: another site's object
answers 404. The public repair-request routes (`/api/public/…`, the QR pages) need no login:
the request point's code or the requester's status token is the key.

**Limits**: request bodies up to `http.max_body_bytes` (413; a work order's attachment
upload up to `attachments.max_bytes` and its form), JSON nested at most
`http.max_json_depth` levels (400), no NUL character (U+0000) in the path, the query or
the body (400); failed logins slow down further tries (429 with
`Retry-After`), and password checks run a few at a time (503 with `Retry-After` when too many
wait). A public repair request needs a solved proof-of-work challenge (from
`GET /api/public/points/{code}`), leaves the honeypot `website` empty, and is limited per
client address and per request point (429 with `Retry-After`; `service_desk` settings).

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
    {
        "name": "alerts",
        "description": "Who is notified of alarms: contacts, on-call rotas, policies, channels.",
    },
    {"name": "users", "description": "User accounts, sessions and API tokens (admin)."},
    {"name": "audit", "description": "Who did what, when, from where (admin)."},
    {
        "name": "public requests",
        "description": "Repair requests (报修) from the QR pages without an account, and the "
        "desk's request points and moderation.",
    },
    {"name": "health", "description": "Liveness of the console and its dependencies."},
]

ROUTERS = (
    health,
    auth,
    users,
    audit,
    alarms,
    alarm_actions,
    work_orders,
    work_order_actions,
    order_lists,
    order_records,
    complaints,
    contractors,
    stock,
    purchasing,
    emergency,
    drills,
    rounds,
    round_photos,
    round_runs,
    households,
    kpis,
    energy,
    budgets,
    reports,
    equipment_history,
    equipment,
    points,
    readings,
    preferences,
    liveness,
    gateways,
    alert_settings,
    alert_timeline,
    ack_links,
    public_requests,
    desk_queue,
    follow_ups,
    request_desk,
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
    liveness: Liveness = app.state.liveness
    if cfg.mqtt is not None:
        bridge = MqttBridge(cfg.mqtt, hub, liveness)
        liveness.broker_up = bridge.connected
        hub.dead_letters = DeadLetters("console", bridge.publish)
        bridge.start()
    app.state.bridge = bridge
    try:
        yield
    finally:
        if bridge is not None:
            hub.dead_letters = None
            bridge.stop()
        liveness.broker_up = lambda: False
        app.state.bridge = None
        hub.loop = None
        app.state.security.hashing.close()  # its threads; a later start makes new ones


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
        environ: Where BLDGWATCH_SECRET and BLDGWATCH_ALERTS_KEY are read; `os.environ` if
            None.

    Raises InsecureSecretError outside dev mode without a strong secret, KeyMissingError for
    an alerts key file that is unreadable, not private or not a key.
    """
    app = FastAPI(
        title="bldgwatch console",
        version="0.2.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
        docs_url=None,  # served by routers.docs from installed packages, not from a CDN
        redoc_url=None,
        dependencies=[Depends(single_valued_query)],
    )
    configure(app, cfg, engine=engine, store=store, clock=clock, environ=environ)
    install_problem_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    dashboard.install(app)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=cfg.http.max_body_bytes,
        max_json_depth=cfg.http.max_json_depth,
        uploads=[
            Upload.of_file("POST", order_records.ATTACHMENT_UPLOAD, cfg.attachments.max_bytes),
            Upload.of_file("PUT", round_photos.PHOTO_UPLOAD, cfg.attachments.max_bytes),
            Upload.of_file("POST", public_requests.SUBMIT_UPLOAD, cfg.service_desk.max_photo_bytes),
        ],
    )
    if cfg.http.trusted_proxies:  # outermost: every layer sees the client's address
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=cfg.http.trusted_proxies)
    return app


def configure(
    app: FastAPI,
    cfg: ConsoleConfig,
    *,
    engine: Engine,
    store: TimeSeriesStore,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Set everything the app's requests read (`app.state`), dropping what was there.

    The routes and the middleware (built from `cfg.http` and the upload limits) are the
    app's own; all else a request meets is here, so configuring an app again gives what a
    new one would (the console tests use that to spare each test the compiling of every
    route on a new app's first request). Raises as `create_app` does.
    """
    app.state._state.clear()
    app.dependency_overrides.clear()
    clock = clock or SystemClock()
    environ = os.environ if environ is None else environ
    secret = resolve_secret(environ, dev=cfg.dev)
    alerts_key = load_key(cfg.alerts_key_file, environ)
    app.state.cfg = cfg
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.site_languages = SiteLanguages(app.state.sessions)
    app.state.stage_tally = StageTally()  # the stock suggestions' stages, kept between requests
    app.state.store = store
    app.state.attachments = AttachmentStore(cfg.attachments)
    app.state.clock = clock
    app.state.alerts_box = None if alerts_key is None else SecretBox(alerts_key)
    app.state.health_problems = {}
    app.state.security = _security_context(cfg, secret, clock)
    app.state.public_guard = PublicGuard(  # photos beside the orders' (accepted: attached)
        cfg.service_desk, secret=secret, clock=clock, folder=cfg.attachments.folder
    )
    register = (
        EquipmentRegister([load_site(path) for path in cfg.site_files]) if cfg.site_files else None
    )
    hub = LiveHub(
        buffer=cfg.live.buffer,
        client_queue=cfg.live.client_queue,
        limits=cfg.live.decode,
        register=register,
    )
    app.state.hub = hub
    app.state.bridge = None
    app.state.liveness = Liveness(
        clock,
        stale_after_s=cfg.live.stale_after_s,
        device_silent_after_s=cfg.live.device_silent_after_s,
        register=register,
        limits=cfg.live.decode,
    )


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


def _security_context(cfg: ConsoleConfig, secret: bytes, clock: Clock) -> SecurityContext:
    sec = cfg.security
    return SecurityContext(
        secret=secret,
        access_ttl=timedelta(seconds=sec.access_ttl_s),
        refresh_ttl=timedelta(seconds=sec.refresh_ttl_s),
        limiter=LoginLimiter(
            clock,
            attempts=sec.login_attempts,
            window=timedelta(seconds=sec.login_window_s),
            max_delay=timedelta(seconds=sec.login_max_delay_s),
            address_attempts=sec.address_attempts,
            account_attempts=sec.account_attempts,
        ),
        hashing=HashGate(concurrency=sec.hash_concurrency, queue=sec.hash_queue),
        revocations=RevocationSignal(),
    )
