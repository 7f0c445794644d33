"""Fixtures of the console tests: a console app and its test client (the migrated databases,
`db` and `sqlite_db`, come from tests/conftest.py); for the browser tests, the demo's
console as its own process (on the demo site with its alerting) and Debian's Chromium."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bldgwatch.alerts.secrets import load_key
from bldgwatch.console.app import configure, create_app
from bldgwatch.console.auth import ROLES, SecurityContext
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.models import UserRow
from bldgwatch.console.routers import dashboard
from bldgwatch.console.security import ACCESS, hash_password, issue_token, new_session_id
from bldgwatch.console.sessions import open_session
from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.core.config import DatabaseSettings, InfluxSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.site import SiteSpec
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.demo import Component, start_demo_broker
from bldgwatch.demo_alerts import ensure_key, seed_alerting
from bldgwatch.demo_setup import (
    DemoPorts,
    alerts_key_path,
    allocate_modbus_ports,
    component_configs,
    ensure_fleet_key,
    write_configs,
)
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import AttachmentSettings
from bldgwatch.migrations import migrate
from bldgwatch.servers import Server, ServerError, free_port
from tests.console.procs import Console, start_console, stop_console
from tests.tools import unavailable

ClientFactory = Callable[..., TestClient]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
USERS: dict[str, tuple[list[str], list[str] | None]] = {
    "admin": (["admin"], None),
    "viewer": (["viewer"], ["demo"]),
    "engineer": (["engineer"], ["demo"]),
    "tech": (["technician"], ["demo"]),
    "tech2": (["technician"], ["demo"]),
    "supervisor": (["supervisor"], ["demo"]),
    "outsider": (sorted(set(ROLES) - {"admin", "contractor"}), ["north"]),
    "lift": (["contractor"], ["demo"]),
}
"""Test users by name: roles and sites (all share PASSWORD)."""


def seed_users(engine: Engine) -> None:
    """Insert the test users (with a precomputed hash: argon2 is slow on purpose)."""
    now = SystemClock().now()
    with contextlib.suppress(DBAPIError), Session(engine) as session, session.begin():
        for name, (roles, sites) in USERS.items():
            if session.get(UserRow, name) is None:
                session.add(
                    UserRow(
                        name=name,
                        password_hash=PASSWORD_HASH,
                        roles=roles,
                        sites=sites,
                        display_name=name,
                        disabled=False,
                        created_at=now,
                    )
                )


def auth_headers(client: TestClient, user: str) -> dict[str, str]:
    """An Authorization header with a fresh access token of a new session of `user` (as a
    login makes, without its deliberately slow password check)."""
    app = cast(FastAPI, client.app)
    security = cast(SecurityContext, app.state.security)
    clock = cast(Clock, app.state.clock)
    now = clock.now()
    try:
        with app.state.sessions.begin() as db:
            session_id = open_session(db, user, at=now, ttl=security.refresh_ttl).session_id
    except DBAPIError:  # no schema or no database: the request itself will meet that
        session_id = new_session_id()
    token = issue_token(
        security.secret, user, ACCESS, now=now, ttl=security.access_ttl, session=session_id
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def closed_influx() -> InfluxSettings:
    """InfluxDB settings pointing at a port nothing listens on."""
    return InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=2)


_SPARE_APPS: dict[str, list[FastAPI]] = {}
"""Console apps no test holds, by what their routes and middleware were built from."""
_BUILT: dict[FastAPI, tuple[str, int]] = {}
"""What each app `console_app` made was built from, and how many routes it had (a test may
add one: that app is dropped rather than given to another test)."""


def _shape(cfg: ConsoleConfig) -> str:
    """What an app's routes and middleware are built from besides the code (`create_app`):
    parts of `cfg`, and where the built web application is (a test may move it)."""
    return "|".join(
        (
            str(dashboard.DIST_DIR),
            cfg.http.model_dump_json(),
            str(cfg.attachments.max_bytes),
            str(cfg.service_desk.max_photo_bytes),
        )
    )


def console_app(
    cfg: ConsoleConfig, engine: Engine, store: TimeSeriesStore, clock: Clock | None
) -> FastAPI:
    """A console app as `create_app` makes it: a spare one built the same way, configured
    afresh (`console.app.configure`), else a new one. A new app compiles every route on its
    first request (0.1-0.3 s), which the console tests paid a thousand times. Give it back
    with `release_app` when the test is over."""
    shape = _shape(cfg)
    spares = _SPARE_APPS.get(shape, [])
    while spares:
        app = spares.pop()
        if len(app.router.routes) == _BUILT[app][1]:
            configure(app, cfg, engine=engine, store=store, clock=clock)
            return app
        del _BUILT[app]
    app = create_app(cfg, engine=engine, store=store, clock=clock)
    _BUILT[app] = (shape, len(app.router.routes))
    return app


def release_app(app: FastAPI) -> None:
    """Give back an app `console_app` made, for another test."""
    app.state._state.clear()  # nothing of the test's stays reachable through it
    _SPARE_APPS.setdefault(_BUILT[app][0], []).append(app)


def new_client(
    engine: Engine,
    store: TimeSeriesStore,
    *,
    attachments: Path,
    clock: Clock | None = None,
    user: str | None = "admin",
    cfg: ConsoleConfig | None = None,
    **client_kw: object,
) -> TestClient:
    """A test client of a console app on `engine` and `store` with the test users, signed in
    as `user` (None: anonymous), reading the server's English."""
    cfg = cfg or ConsoleConfig(dev=True, attachments=AttachmentSettings(folder=attachments))
    app = console_app(cfg, engine, store, clock)
    seed_users(engine)
    client = TestClient(app, **client_kw)  # type: ignore[arg-type]
    client.headers["Accept-Language"] = "en"  # these tests read the server's English
    if user is not None:
        client.headers.update(auth_headers(client, user))
    return client


@pytest.fixture
def make_client(closed_influx: InfluxSettings, tmp_path: Path) -> Iterator[ClientFactory]:
    """Build a test client for an engine (and optionally a store and clock), signed in as
    `user` (admin by default; None for anonymous). Attachments go to the test's own folder,
    never to the checkout's `var/`."""
    stores: list[TimeSeriesStore] = []
    clients: list[TestClient] = []

    def factory(
        engine: Engine,
        store: TimeSeriesStore | None = None,
        clock: Clock | None = None,
        user: str | None = "admin",
        cfg: ConsoleConfig | None = None,
        **client_kw: object,
    ) -> TestClient:
        if store is None:
            store = open_store(closed_influx)
            stores.append(store)
        client = new_client(
            engine,
            store,
            attachments=tmp_path / "attachments",
            clock=clock,
            user=user,
            cfg=cfg,
            **client_kw,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
        release_app(cast(FastAPI, client.app))
    for store in stores:
        store.close()


@dataclass(frozen=True, slots=True)
class RunningConsole:
    """The demo's console process of a test module: its URL, database and alerts key file."""

    url: str
    db_url: str
    key_file: Path
    mqtt_port: int = 0
    gateway_password: str = field(default="", repr=False)
    """The demo gateway's broker account (demo/gw-1): a test speaks as that gateway."""


@pytest.fixture(scope="module")
def running_console(
    tmp_path_factory: pytest.TempPathFactory, influxd: Server
) -> Iterator[RunningConsole]:
    """The demo's console (dev mode: the admin of DEV_LOGIN) as its own process, on a broker
    of its own and the test InfluxDB; the demo site is imported and its alerting seeded (as
    the demo does: contacts, the rota, the channels, the policies) so the alerting forms
    open on a site set up."""
    var = tmp_path_factory.mktemp("console")
    try:
        broker = start_demo_broker(var / "broker")
    except ServerError as err:
        unavailable(f"mosquitto unavailable: {err}")
    assert broker.auth is not None
    db_url = f"sqlite:///{var / 'bldgwatch.db'}"
    ports = DemoPorts(
        mqtt=broker.port,
        influx_url=influxd.extra["url"],
        http=free_port(),
        modbus=allocate_modbus_ports(),
    )
    configs = component_configs(
        ports=ports,
        var_dir=var,
        db_url=db_url,
        auth=broker.auth,
        influx_database=f"t_{uuid.uuid4().hex[:12]}",
    )
    paths = write_configs(configs, var / "demo")
    ensure_fleet_key(var)
    key_file = ensure_key(alerts_key_path(var))
    _seed(db_url, configs.site, key_file)
    cmd = [sys.executable, "-m", "bldgwatch.cli", "console", "--config", str(paths["console"])]
    proc = Component.spawn("console", cmd, var / "console.log").proc
    url = f"http://127.0.0.1:{ports.http}"
    try:
        _wait_healthy(url, proc, var / "console.log")
        yield RunningConsole(
            url=url,
            db_url=db_url,
            key_file=key_file,
            mqtt_port=broker.port,
            gateway_password=broker.auth.passwords["demo/gw-1"],
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        broker.discard()


def _seed(db_url: str, site: SiteSpec, key_file: Path) -> None:
    """Migrate; import the demo site; seed its alerting (its sink is a closed port: no
    alerts service runs beside this console)."""
    engine = make_engine(DatabaseSettings(url=db_url))
    try:
        migrate(engine)
        now = SystemClock().now()
        with Session(engine) as session, session.begin():
            import_site(session, site, at=now)
        key = load_key(key_file, {})
        assert key is not None
        seed_alerting(engine, key=key, sink_url=f"http://127.0.0.1:{free_port()}/", at=now)
    finally:
        engine.dispose()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"console exited: {log.read_text(errors='replace')[-2000:]}"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"console not healthy within 60 s: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def console(running_console: RunningConsole) -> str:
    """The URL of the module's running console."""
    return running_console.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through playwright."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        unavailable("chromium is not installed (/usr/bin/chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_of(browser: Any, console: str) -> Iterator[Any]:
    """A signed-in page in a fresh context: page_of(locale, login) → page."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(locale: str, login: dict[str, str]) -> Any:
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(console + "/alarms")
        expect = pytest.importorskip("playwright.sync_api").expect
        expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
        page.fill("input[name=username]", login["username"])
        page.fill("input[name=password]", login["password"])
        page.locator("#login button[type=submit]").click()
        expect(page.locator("#alarms-count")).to_be_visible(timeout=15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], errors


@pytest.fixture
def starter(tmp_path: Path, influx_settings: InfluxSettings) -> Iterator[Any]:
    """start(nofile, **http) -> a console process of its own (stopped at the end)."""
    started: list[Console] = []

    def start(nofile: str, **http: Any) -> Console:
        console = start_console(tmp_path, influx_settings, nofile=nofile, http=http)
        started.append(console)
        return console

    yield start
    for console in started:
        stop_console(console)
