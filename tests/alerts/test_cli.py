"""`bldgwatch alerts` and `bldgwatch alerts-key` as an operator runs them: a missing or unsafe
key stops the service at start (exit 2, saying why), and a service killed while a provider
is being called sends nothing twice when it comes back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts.models import AttemptRow, MessageRow, NotificationRow
from bldgwatch.core.config import DatabaseSettings, MqttSettings
from bldgwatch.core.db import make_engine
from tests.alerts.harness import ENV, alarm_event, bus_on, site_file
from tests.alerts.seed import entrapment_policy, seed_site
from tests.alerts.sinks import HttpSink, serve_http
from tests.clirun import ROOT, bldgwatch
from tests.waiting import wait_for

pytestmark = pytest.mark.services


def test_alerts_key_makes_a_private_key_once(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "alerts.key"
    made = bldgwatch("alerts-key", str(key), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    again = bldgwatch("alerts-key", str(key), cwd=tmp_path)
    assert again.returncode == 2 and "never overwritten" in again.stderr


def _config(tmp: Path, mqtt: MqttSettings, db: DatabaseSettings, **over: object) -> Path:
    doc = {
        "instance": f"alerts-{uuid.uuid4().hex[:6]}",
        "mqtt": {"host": mqtt.host, "port": mqtt.port},
        "database": {"url": db.url},
        "site_files": [str(site_file(tmp))],
        "status_interval_s": 0.2,
        "tick_s": 0.1,
        "console_url": "https://console.example",
        "delivery": {"poll_s": 0.05, "http_timeout_s": 30},
        **over,
    }
    path = tmp / "alerts.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_the_service_stops_at_start_without_a_safe_key(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> None:
    config = _config(tmp_path, mqtt_settings, sqlite_settings)
    none = bldgwatch(
        "alerts", "--config", str(config), cwd=tmp_path, env={"BLDGWATCH_ALERTS_KEY": ""}
    )
    assert none.returncode == 2 and "no alerts key" in none.stderr
    key = tmp_path / "alerts.key"
    assert bldgwatch("alerts-key", str(key), cwd=tmp_path).returncode == 0
    key.chmod(0o644)
    config = _config(tmp_path, mqtt_settings, sqlite_settings, key_file=str(key))
    shared = bldgwatch(
        "alerts", "--config", str(config), cwd=tmp_path, env={"BLDGWATCH_ALERTS_KEY": ""}
    )
    assert shared.returncode == 2 and "readable by others" in shared.stderr


@pytest.fixture
def robot() -> Iterator[HttpSink]:
    yield from serve_http(HttpSink())


def _start(config: Path, tmp: Path) -> subprocess.Popen[bytes]:
    log = (tmp / "alerts.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bldgwatch.cli", "alerts", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_killed_mid_send_it_sends_nothing_twice(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings, robot: HttpSink
) -> None:
    """SIGKILL while the robot holds the first notice: after the restart that notice is
    `unknown` (an `interrupted` attempt) and is not sent again; the reminder is sent once."""
    engine = make_engine(sqlite_settings)
    seed_site(
        engine,
        robot_url=f"{robot.url}/robot/send",
        sms_url=f"{robot.url}/sms",
        policy=entrapment_policy(
            repeat_every_min=0.1, max_repeats=1, channels=["ding"]
        ),  # one reminder, at 6 s
    )
    config = _config(tmp_path, mqtt_settings, sqlite_settings)
    instance = yaml.safe_load(config.read_text())["instance"]
    robot.hold_next = True
    with bus_on(mqtt_settings) as bus:
        proc = _start(config, tmp_path)
        try:
            bus.wait_running(instance)
            bus.publish(alarm_event(str(uuid.uuid4()), datetime.now(UTC)))
            robot.wait(1)  # the first notice is in the robot's hands, unanswered
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            robot.released.set()
            with Session(engine) as session:
                assert session.scalars(select(MessageRow.status)).all() == ["sending"]
            proc = _start(config, tmp_path)
            robot.wait(2, timeout=30)
            wait_for(lambda: bus.counters(instance).get("ticks", 0) > 10, timeout=20, what="ticks")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
    texts = [r.json()["text"]["content"] for r in robot.requests]
    assert len(texts) == 2 and "第 2 次提醒" in texts[1]
    with Session(engine) as session:
        assert session.scalars(select(MessageRow.status).order_by(MessageRow.id)).all() == [
            "unknown",
            "sent",
        ]
        notes = session.execute(
            select(NotificationRow.occurrence, NotificationRow.status).order_by(NotificationRow.id)
        ).all()
        assert [tuple(n) for n in notes] == [("0.0", "unknown"), ("0.1", "sent")]
        attempts = session.scalars(select(AttemptRow.status).order_by(AttemptRow.id)).all()
        assert attempts == ["interrupted", "sent"]
    engine.dispose()
