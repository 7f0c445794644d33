"""A night-time entrapment, end to end on real servers with a driven clock.

The rules service (real, on Mosquitto) sees an elevator's signals say "stopped, occupied,
doors closed" for 30 s and raises the entrapment; the alerts service (real) notifies the
night shift's primary through a DingTalk robot (a local sink checks the signature) within
10 s of the alarm, again every 2 minutes, the backup at minute 5 — and the backup's
acknowledge link, used through the console, stops it: no more reminders, the supervisor is
never woken, and the console shows who was notified, when, how, and who acknowledged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.alerts.admin import AlertsAdmin
from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import AlarmEvent, AlarmState
from bldgwatch.core.tsdb import open_store
from bldgwatch.rules.config import RulesConfig
from bldgwatch.rules.service import run as run_rules
from bldgwatch.servers import free_port
from tests.alerts.harness import ENV, Bus, Running, alerts_config, bus_on, site_file
from tests.alerts.seed import AT, BOX, SITE
from tests.alerts.sinks import HttpSink, Request, serve_http
from tests.console.conftest import auth_headers, seed_users
from tests.waiting import wait_for

pytestmark = pytest.mark.services

NIGHT = datetime(2026, 12, 5, 19, 0, 0, tzinfo=UTC)  # 03:00 on Sunday in Shanghai
ZONE = ZoneInfo("Asia/Shanghai")
SIGN_SECRET = "SEC-night-duty-robot"
PHONES = {"13800000011": "wang", "13800000012": "zhao", "13800000021": "zhang",
          "13800000022": "li", "13800000031": "chen"}  # fmt: skip


def _seed(engine: Engine, robot: str, sms: str) -> None:
    admin = AlertsAdmin(engine, BOX)
    for phone, who in PHONES.items():
        language = "en" if who == "li" else "zh-CN"
        admin.save_contact(
            SITE,
            {"id": who, "name": who.title(), "phone": phone, "language": language},
            actor="t",
            at=AT,
        )
    rota = {
        "id": "duty",
        "shifts": [{"name": "day", "start": "08:30"}, {"name": "night", "start": "20:30"}],
        "cycle": [{"primary": "wang", "backup": "zhao"}, {"primary": "zhang", "backup": "li"}],
        "anchor": "2026-12-01",
        "supervisor": "chen",
    }
    admin.save_rota(SITE, rota, actor="t", at=AT)
    admin.save_channel(
        SITE,
        "ding",
        kind="dingtalk",
        settings={"url": f"{robot}/robot/send"},
        secrets={"access_token": "dt-night", "sign_secret": SIGN_SECRET},
        enabled=True,
        actor="t",
        at=AT,
    )
    admin.save_channel(
        SITE,
        "sms",
        kind="sms",
        actor="t",
        at=AT,
        enabled=True,
        settings={
            "endpoint": f"{sms}/",
            "access_key_id": "LTAI",
            "sign_name": "物业",
            "templates": {"zh-CN": "SMS_1"},
        },
        secrets={"access_key_secret": "ak"},
    )
    policy = {
        "id": "entrapment",
        "match": {"rules": ["elevator.entrapment_*"]},
        "rota": "duty",
        "steps": [
            {"after_min": 0, "notify": ["primary"]},
            {"after_min": 5, "notify": ["backup"]},
            {"after_min": 10, "notify": ["supervisor"]},
        ],
        "repeat_every_min": 2,
        "channels": ["ding", "sms"],
    }
    admin.save_policy(SITE, policy, actor="t", at=AT)


class Night:
    """The servers, both services, the console and the robot's sink, on one clock."""

    def __init__(
        self,
        tmp: Path,
        mqtt: MqttSettings,
        database: DatabaseSettings,
        robot: HttpSink,
        sms: HttpSink,
    ) -> None:
        self.clock = ManualClock(NIGHT)
        self.robot = robot
        self.engine = make_engine(database)
        _seed(self.engine, robot.url, sms.url)
        self.cfg = alerts_config(tmp, mqtt, database)
        self.rules_instance = f"rules-{uuid.uuid4().hex[:6]}"
        rules_cfg = RulesConfig(
            instance=self.rules_instance,
            mqtt=mqtt,
            database=database,
            site_files=[site_file(tmp)],
            packs=["elevator"],
            status_interval_s=0.2,
        )
        self.rules_stop = threading.Event()
        self.rules = threading.Thread(
            target=run_rules,
            args=(rules_cfg, self.rules_stop),
            kwargs={"clock": self.clock},
            daemon=True,
        )
        self.store = open_store(InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=1))
        app = create_app(
            ConsoleConfig(dev=True),
            engine=self.engine,
            store=self.store,
            clock=self.clock,
            environ=ENV,
        )
        seed_users(self.engine)
        self.console = TestClient(app)

    def admin_headers(self) -> dict[str, str]:
        """An admin's access token of a fresh session, issued at the clock's now."""
        return auth_headers(self.console, "admin")

    def advance_to(self, bus: Bus, offset: timedelta, *, step_s: float = 10.0) -> None:
        """Move the clock to NIGHT + offset, the lift reporting every `step_s` on the way."""
        while self.clock.now() < NIGHT + offset:
            self.clock.advance(min(timedelta(seconds=step_s), NIGHT + offset - self.clock.now()))
            bus.lift_readings(self.clock.now(), trapped=True)
        bus.wait_ticks(self.cfg.instance)

    def messages(self) -> list[tuple[str, datetime, str, Request]]:
        """(recipient, clock time of sending, text, request) of each robot message."""
        out = []
        for req in self.robot.requests:
            body = req.json()
            at = datetime.fromtimestamp(int(req.query["timestamp"]) / 1000, tz=UTC)
            out.append((PHONES[body["at"]["atMobiles"][0]], at, body["text"]["content"], req))
        return out


@pytest.fixture
def night(
    tmp_path: Path, mqtt_settings: MqttSettings, sqlite_settings: DatabaseSettings
) -> Iterator[Night]:
    sinks = [serve_http(HttpSink()) for _ in range(2)]
    robot, sms = next(sinks[0]), next(sinks[1])
    setup = Night(tmp_path, mqtt_settings, sqlite_settings, robot, sms)
    yield setup
    setup.console.close()
    setup.store.close()
    setup.engine.dispose()
    for sink in sinks:
        sink.close()


def _signed(req: Request) -> bool:
    stamp = req.query["timestamp"]
    mac = hmac.new(SIGN_SECRET.encode(), f"{stamp}\n{SIGN_SECRET}".encode(), hashlib.sha256)
    return req.query["sign"] == base64.b64encode(mac.digest()).decode()


def test_a_night_time_entrapment_escalates_until_the_link_acknowledges_it(
    night: Night, mqtt_settings: MqttSettings
) -> None:
    with bus_on(mqtt_settings) as bus:
        night.rules.start()
        alerts = Running(night.cfg, night.clock)
        try:
            bus.wait_running(night.cfg.instance)
            # rules subscribed (its status comes after its subscriptions): a reading published
            # before would never reach its new session (a full run lost the alarm so)
            bus.wait_running(night.rules_instance)
            # The lift stops with people inside; 30 s later rules raise the entrapment.
            for second in range(32):
                bus.lift_readings(NIGHT + timedelta(seconds=second), trapped=True)
                night.clock.set(NIGHT + timedelta(seconds=second))
            activation: AlarmEvent = wait_for(
                lambda: next((e for e in bus.events if e.transition == "activate"), None),
                timeout=30,
                what="the entrapment alarm",
            )
            assert activation.fault_code == "ELEV_ENTRAPMENT_AT_FLOOR"
            raised = activation.at
            # The primary of the night shift is notified within 10 s of the alarm.
            for _ in range(10):
                if night.robot.requests:
                    break
                night.clock.advance(1)
                bus.lift_readings(night.clock.now(), trapped=True)
                bus.wait_ticks(night.cfg.instance, 1)
            who, sent_at, text, req = night.messages()[0]
            assert who == "zhang" and sent_at - raised <= timedelta(seconds=10)
            assert _signed(req)
            assert text.startswith("【P1 紧急报警】困人（平层关人）")
            assert "设备：Passenger lift 1 (E-01)" in text
            assert (
                f"报警时间：{raised.astimezone(ZONE):%Y-%m-%d %H:%M:%S} (Asia/Shanghai, UTC+08:00)"
                in text
            )
            assert "救援时限：还剩 30 分钟" in text
            # Repeated every 2 minutes: the rescue clock counts down.
            night.advance_to(bus, raised - NIGHT + timedelta(minutes=2))
            night.robot.wait(2)
            who, sent_at, text, _ = night.messages()[1]
            assert (who, sent_at) == ("zhang", raised + timedelta(minutes=2))
            assert "第 2 次提醒：尚无人确认" in text and "还剩 28 分钟" in text
            # Nothing for the backup before minute 5 …
            night.advance_to(bus, raised - NIGHT + timedelta(minutes=4, seconds=50))
            night.robot.wait(3)
            assert [m[0] for m in night.messages()] == ["zhang", "zhang", "zhang"]
            # … at minute 5, the backup (in English).
            night.advance_to(bus, raised - NIGHT + timedelta(minutes=5))
            night.robot.wait(4)
            who, sent_at, text, _ = night.messages()[3]
            assert (who, sent_at) == ("li", raised + timedelta(minutes=5))
            assert "Escalated to: backup" in text and "Rescue clock: 25 min left" in text
            # The backup acknowledges with the link in the message.
            link = re.search(r"https://console\.example/ack/(\S+)", text)
            assert link is not None
            used = night.console.post(f"/api/ack-links/{link.group(1)}")
            assert used.status_code == 200, used.text
            assert used.json()["acknowledged_by"] == "li (notice link)"
            wait_for(
                lambda: any(e.state is AlarmState.ACTIVE_ACK for e in bus.events),
                timeout=20,
                what="rules publishing the acknowledgement",
            )
            # Stopped: no reminder, no supervisor, through minute 14.
            night.advance_to(bus, raised - NIGHT + timedelta(minutes=14), step_s=30)
            assert [m[0] for m in night.messages()] == ["zhang", "zhang", "zhang", "li"]
        finally:
            alerts.halt()
            night.rules_stop.set()
            night.rules.join(30)
    timeline = night.console.get(
        f"/api/alarms/{activation.alarm_id}/notifications", headers=night.admin_headers()
    ).json()
    assert timeline["acknowledged_by"] == "li (notice link)"
    assert [
        (n["recipient"]["id"], n["level"], n["repeat"], n["status"], n["channel"])
        for n in timeline["notifications"]
    ] == [
        ("zhang", 0, 0, "sent", "ding"),
        ("zhang", 0, 1, "sent", "ding"),
        ("zhang", 0, 2, "sent", "ding"),
        ("li", 1, 0, "sent", "ding"),
    ]
    assert all(n["attempts"][-1]["status"] == "sent" for n in timeline["notifications"])
    assert timeline["escalations"][0]["stop_reason"] == "ack_link"
    assert timeline["link_uses"][0]["recipient"]["id"] == "li"
