"""`bldgwatch demo`: the whole system on loopback, each component a child process.

The broker runs with an account per component and the ACL of `bldgwatch.broker_auth`
(created at first start in var/mosquitto, never anonymous). A supervisor watches every
component and both servers: one that dies is started again with backoff, and the log says so.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bldgwatch.alerts.secrets import load_key
from bldgwatch.broker_auth import BrokerAuth, ensure_broker_auth
from bldgwatch.core.clock import SystemClock
from bldgwatch.core.config import DatabaseSettings, InfluxSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.runner import install_stop_signals
from bldgwatch.core.tsdb import TsdbError, open_store
from bldgwatch.demo_alerts import NoticeSink, ensure_key, seed_alerting
from bldgwatch.demo_setup import (
    COMPONENTS,
    DEMO_GATEWAYS,
    DemoPorts,
    alerts_key_path,
    allocate_modbus_ports,
    component_configs,
    ensure_fleet_key,
)
from bldgwatch.demo_setup import write_configs as write_demo_configs
from bldgwatch.migrations import migrate
from bldgwatch.servers import (
    Server,
    ServerError,
    broker_home,
    restart,
    start_influxd,
    start_mosquitto,
)
from bldgwatch.simulators.config import ScheduledFault
from bldgwatch.supervise import Child, Supervisor

logger = logging.getLogger(__name__)


@dataclass
class Component:
    """One running component process."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    cmd: list[str] = field(default_factory=list)

    @classmethod
    def spawn(cls, name: str, cmd: list[str], log_path: Path) -> Component:
        """Start `cmd` with its output appended to `log_path`."""
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, proc, log_path, cmd)

    def exit_code(self) -> int | None:
        """None while it runs."""
        return self.proc.poll()

    def restart(self) -> None:
        """Start the same command again."""
        self.proc = Component.spawn(self.name, self.cmd, self.log_path).proc

    def tail(self, lines: int = 15) -> str:
        """The end of its log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ServerChild:
    """A server the demo started, as the supervisor sees it (same port, same data)."""

    server: Server

    @property
    def name(self) -> str:
        """The server's name (mosquitto, influxd)."""
        return self.server.name

    def exit_code(self) -> int | None:
        """None while it runs."""
        return self.server.proc.poll()

    def restart(self) -> None:
        """Start it again on its port with its data."""
        try:
            self.server = restart(self.server)
        except ServerError as err:
            raise RuntimeError(str(err)) from err


def start_demo_broker(folder: Path) -> Server:
    """Mosquitto with the demo's accounts and ACL (created at first start in its home)."""
    auth = ensure_broker_auth(broker_home(folder), DEMO_GATEWAYS)
    return start_mosquitto(folder, auth=auth)


@dataclass
class Stack:
    """The bldgwatch components of the demo building, started from their config files."""

    var_dir: Path
    ports: DemoPorts
    db_url: str
    influx_database: str = "bldgwatch"
    auth: BrokerAuth | None = None
    faults: list[ScheduledFault] | None = None
    speed: float = 1.0
    components: list[Component] = field(default_factory=list)
    sink: NoticeSink | None = None
    supervisor: Supervisor = field(default_factory=Supervisor)
    _watching: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    def start(self, *, timeout: float = 60) -> None:
        """Write configs, migrate the schema once, start every component, wait for the API."""
        if self.auth is None:
            raise RuntimeError("the demo's broker needs its accounts (broker_auth)")
        configs = component_configs(
            ports=self.ports,
            var_dir=self.var_dir,
            db_url=self.db_url,
            auth=self.auth,
            influx_database=self.influx_database,
            faults=self.faults,
            speed=self.speed,
        )
        paths = write_demo_configs(configs, self.var_dir / "demo")
        ensure_fleet_key(self.var_dir)
        key = load_key(ensure_key(alerts_key_path(self.var_dir)), {})
        assert key is not None
        self.sink = NoticeSink(self.var_dir / "demo" / "notices.jsonl")
        self.sink.start()
        engine = make_engine(DatabaseSettings(url=self.db_url))
        migrate(engine)
        seed_alerting(engine, key=key, sink_url=self.sink.url, at=SystemClock().now())
        engine.dispose()
        logs = self.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in COMPONENTS:
            cmd = [sys.executable, "-m", "bldgwatch.cli", name, "--config", str(paths[name])]
            self.components.append(Component.spawn(name, cmd, logs / f"{name}.log"))
        self._wait_healthy(timeout)

    def supervise(self, *servers: Child, period_s: float = 0.5) -> None:
        """Watch every component (and `servers`) on a thread; restart what dies."""
        for child in (*self.components, *servers):
            self.supervisor.watch(child)

        def loop() -> None:
            while not self._watching.wait(period_s):
                self.supervisor.check()

        self._watcher = threading.Thread(target=loop, name="demo-supervisor", daemon=True)
        self._watcher.start()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = self.dead()
            if dead:
                raise RuntimeError(self.describe_dead(dead))
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.console_url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)  # waiting for a child process to come up
        raise RuntimeError(f"console not healthy on {self.console_url} within {timeout:.0f} s")

    def dead(self) -> list[Component]:
        """Components that have exited."""
        return [c for c in self.components if c.proc.poll() is not None]

    @staticmethod
    def describe_dead(dead: list[Component]) -> str:
        """A message naming each dead component, its exit code and the end of its log."""
        return "\n".join(
            f"{c.name} exited with code {c.proc.returncode}; log {c.log_path}:\n{c.tail()}"
            for c in dead
        )

    def stop(self, timeout: float = 20) -> None:
        """Stop components in reverse order of start: SIGTERM, then SIGKILL if they hang."""
        self._watching.set()
        if self._watcher is not None:
            self._watcher.join(10)
        for comp in reversed(self.components):
            if comp.proc.poll() is None:
                comp.proc.send_signal(signal.SIGTERM)
        for comp in reversed(self.components):
            try:
                comp.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s; killing it", comp.name, timeout)
                comp.proc.kill()
                comp.proc.wait()
        if self.sink is not None:
            self.sink.stop()


@dataclass
class Summary:
    """What the demo achieved."""

    readings: int
    alarms: int
    work_orders: list[dict[str, Any]]
    notices: int = 0

    def render(self) -> str:
        lines = [
            "bldgwatch demo summary",
            f"  readings stored in InfluxDB : {self.readings}",
            f"  alarms raised               : {self.alarms}",
            f"  work orders opened          : {len(self.work_orders)}",
            f"  notices to the people on duty: {self.notices} (var/demo/notices.jsonl)",
        ]
        for wo in self.work_orders:
            lines.append(
                f"    #{wo['id']} {wo['equipment']} P{wo['priority']} {wo['status']}: "
                f"{wo['title']} (resolution due {wo['resolution_due']}; "
                f"stage {wo['stage']}: {wo['stage_reason']})"
            )
        return "\n".join(lines)


def count_readings(influx: InfluxSettings) -> int:
    """Number of field values stored (every reading is one field value)."""
    store = open_store(influx)
    try:
        rows = store.query("SELECT count(*) FROM /.*/")
    except TsdbError:
        return 0
    finally:
        store.close()
    return sum(
        int(v)
        for row in rows
        for k, v in row.items()
        if k.startswith("count_") and isinstance(v, int | float)
    )


DEV_LOGIN = {"username": "admin", "password": "bldgwatch-dev"}
"""The console's dev-mode admin (the demo runs the console with `dev: true`)."""


def console_login(http: httpx.Client) -> None:
    """Log `http` in to the console as the dev admin (sets its Authorization header)."""
    resp = http.post("/api/auth/token", data=DEV_LOGIN)
    resp.raise_for_status()
    http.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"


def summarize(console_url: str, influx: InfluxSettings) -> Summary:
    """Readings from InfluxDB; alarms and work orders from the console's API."""
    with httpx.Client(base_url=console_url, timeout=5) as http:
        console_login(http)
        alarms = http.get("/api/alarms", params={"limit": 500}).json()
        orders = http.get("/api/work-orders", params={"limit": 500}).json()
    return Summary(
        readings=count_readings(influx),
        alarms=int(alarms["total"]),
        work_orders=list(orders["items"]),
    )


def _banner(mosq: Server, influx: Server, stack: Stack) -> str:
    var = stack.var_dir
    return "\n".join(
        [
            "bldgwatch demo is running:",
            f"  console (API + dashboard)  {stack.console_url}/",
            f"  console login (dev mode)   {DEV_LOGIN['username']} / {DEV_LOGIN['password']}",
            f"  API documentation          {stack.console_url}/docs",
            f"  MQTT broker (Mosquitto)    127.0.0.1:{mosq.port}   data {mosq.data_dir}",
            "  broker accounts            one per component, ACL in "
            f"{mosq.data_dir / 'acl'}; passwords in {mosq.data_dir / 'credentials.yaml'}",
            "  fault injection            as the `operator` account on bw/v1/_sim/demo/control",
            "  supervision                a component or server that dies is restarted (log)",
            f"  InfluxDB 1.x               {influx.extra['url']}   database 'bldgwatch'",
            f"  relational store (SQLite)  {stack.db_url}",
            "  simulated Modbus devices   "
            + ", ".join(f"{eq}@127.0.0.1:{p}" for eq, p in stack.ports.modbus.items()),
            "  MQTT temperature sensor    TS-01 on sensors/demo/TS-01",
            f"  alarm notices (local sink) {var / 'demo' / 'notices.jsonl'}",
            f"  configs                    {var / 'demo'}",
            f"  logs                       {var / 'logs'}",
            f"  backup (while it runs)     bldgwatch backup --configs {var / 'demo'} "
            f"--broker-dir {mosq.data_dir} --influx-rpc {influx.extra['rpc']} "
            "--output backup.tar.gz",
            "Press Ctrl-C to stop.",
        ]
    )


def run_demo(*, var_dir: Path, duration: float | None, http_port: int) -> int:
    """Start servers and components, report progress, print a summary; exit code."""
    var_dir = var_dir.resolve()
    stop = threading.Event()
    install_stop_signals(stop)
    try:
        mosq = ServerChild(start_demo_broker(var_dir / "mosquitto"))
        influx = ServerChild(start_influxd(var_dir / "influxdb"))
    except ServerError as err:
        logger.error("%s", err)
        return 1
    influx_settings = InfluxSettings(url=influx.server.extra["url"], database="bldgwatch")
    ports = DemoPorts(
        mqtt=mosq.server.port,
        influx_url=influx.server.extra["url"],
        http=http_port,
        modbus=allocate_modbus_ports(),
    )
    stack = Stack(
        var_dir=var_dir,
        ports=ports,
        db_url=f"sqlite:///{var_dir / 'bldgwatch.db'}",
        auth=mosq.server.auth,
    )
    code = 0
    try:
        stack.start()
        stack.supervise(mosq, influx)
        print(_banner(mosq.server, influx.server, stack), flush=True)  # noqa: T201
        code = _watch(stack, influx_settings, stop, duration)
    except RuntimeError as err:
        logger.error("%s", err)
        code = 1
    finally:
        summary = None
        if code == 0:
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                summary = summarize(stack.console_url, influx_settings)
                summary.notices = stack.sink.count if stack.sink else 0
        stack.stop()
        influx.server.stop()
        mosq.server.stop()
    if summary is not None:
        print(summary.render(), flush=True)  # noqa: T201
        if duration is not None and summary.readings == 0:
            # A timed run is a self-check: a chain that stored nothing has failed.
            logger.error("no readings were stored: see the logs in %s", var_dir / "logs")
            code = 1
    return code


def _watch(
    stack: Stack, influx: InfluxSettings, stop: threading.Event, duration: float | None
) -> int:
    started = time.monotonic()
    next_report = started + 10
    while not stop.wait(0.5):
        now = time.monotonic()
        if now >= next_report:
            next_report = now + 10
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                s = summarize(stack.console_url, influx)
                logger.info(
                    "t+%.0fs readings=%d alarms=%d work_orders=%d restarts=%s",
                    now - started,
                    s.readings,
                    s.alarms,
                    len(s.work_orders),
                    {k: v for k, v in stack.supervisor.restarts.items() if v} or 0,
                )
        if duration is not None and now - started >= duration:
            return 0
    return 0
