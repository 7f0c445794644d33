"""`console.service`: config schema, and run() serving real HTTP until `stop` is set."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.errors import ConsoleStartError, InsecureSecretError
from bldgwatch.console.security import DEV_SECRET, SECRET_ENV
from bldgwatch.console.service import RedactTokens, run
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, load_config, parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.servers import free_port
from tests.console.test_auth import STRONG_SECRET
from tests.waiting import wait_for

SAMPLE = Path(__file__).resolve().parents[2] / "console" / "sample.yaml"


def test_sample_config_validates() -> None:
    cfg = load_config(SAMPLE, ConsoleConfig)
    assert (cfg.http.host, cfg.http.port, cfg.dev) == ("127.0.0.1", 8080, True)
    assert cfg.database.url == "sqlite:///var/bldgwatch.db"
    assert (cfg.influx.api, cfg.influx.database) == ("v1", "bldgwatch")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"http": {"port": "eighty"}}, "http.port"),
        ({"http": {"port": 0}}, "http.port"),
        ({"influx": {"api": "v9"}}, "influx.api"),
        ({"dev": "perhaps"}, "dev"),
        ({"htp": {}}, "htp"),
    ],
)
def test_bad_config_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        parse_config(data, ConsoleConfig)


def _start(
    cfg: ConsoleConfig, stop: threading.Event
) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run(cfg, stop)
        except ConsoleStartError as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="console-under-test")
    thread.start()
    return thread, errors


def test_run_serves_http_until_stopped(
    sqlite_db: Engine, sqlite_settings: DatabaseSettings, influx_settings: InfluxSettings
) -> None:
    port = free_port()
    cfg = ConsoleConfig(
        http={"port": port},
        database=sqlite_settings,
        influx=influx_settings,
        dev=True,
    )
    stop = threading.Event()
    thread, errors = _start(cfg, stop)
    try:

        def healthy() -> httpx.Response | None:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except httpx.TransportError:
                return None
            return resp if resp.status_code == 200 else None

        resp = wait_for(healthy, timeout=20, what="console /healthz answering 200")
        assert resp.json()["database"] is True
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/work-orders", timeout=2).status_code == 401
        login = httpx.post(
            f"{base}/api/auth/token",
            data={"username": "admin", "password": "bldgwatch-dev"},
            timeout=5,
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listing = httpx.get(f"{base}/api/work-orders", headers=headers, timeout=2)
        assert listing.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert errors == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


@pytest.mark.parametrize("secret", [None, "short", DEV_SECRET])
def test_refuses_to_start_without_a_strong_secret_outside_dev(
    sqlite_settings: DatabaseSettings,
    influx_settings: InfluxSettings,
    monkeypatch: pytest.MonkeyPatch,
    secret: str | None,
) -> None:
    if secret is None:
        monkeypatch.delenv(SECRET_ENV, raising=False)
    else:
        monkeypatch.setenv(SECRET_ENV, secret)
    cfg = ConsoleConfig(http={"port": free_port()}, database=sqlite_settings, dev=False)
    with pytest.raises(InsecureSecretError, match=SECRET_ENV):
        run(cfg, threading.Event())
    assert issubclass(InsecureSecretError, ConfigError)  # the runner exits 2 on it


def test_run_reports_a_taken_port(
    sqlite_settings: DatabaseSettings,
    influx_settings: InfluxSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, STRONG_SECRET)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = ConsoleConfig(
            http={"port": port},
            database=sqlite_settings,
            influx=influx_settings,
        )
        stop = threading.Event()
        thread, errors = _start(cfg, stop)
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert len(errors) == 1 and str(port) in str(errors[0])


def test_tokens_in_urls_stay_out_of_the_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/live?access_token=eyJ.abc.def&last_event_id=3", "1.1", 101),
        None,
    )
    assert RedactTokens().filter(record)
    assert "eyJ" not in record.getMessage()
    assert "access_token=***&last_event_id=3" in record.getMessage()
