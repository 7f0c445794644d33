"""A site's alerting as the tests set it up, through the owner's own admin functions: three
people on a night rota, robot and SMS channels pointing at local sinks, and a P1 policy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import Engine

from bldgwatch.alerts.admin import AlertsAdmin
from bldgwatch.alerts.secrets import SecretBox

KEY = Fernet.generate_key()
BOX = SecretBox(KEY)
AT = datetime(2026, 12, 1, tzinfo=UTC)
SITE = "demo"

PEOPLE = [
    {"id": "zhang", "name": "张三", "phone": "13800000001", "email": "zhang@example.com"},
    {"id": "li", "name": "李四", "phone": "13800000002", "language": "en"},
    {"id": "chen", "name": "陈主管", "phone": "13800000003", "email": "chen@example.com"},
]
ROTA = {
    "id": "duty",
    "name": "Engineering duty",
    "shifts": [{"name": "day", "start": "08:30"}, {"name": "night", "start": "20:30"}],
    "cycle": [{"primary": "zhang", "backup": "li"}],
    "anchor": "2026-12-01",
    "supervisor": "chen",
}


def entrapment_policy(**over: Any) -> dict[str, Any]:
    """P1 elevator alarms: primary at once, every 2 min again, backup at 5, supervisor at 10."""
    doc: dict[str, Any] = {
        "id": "p1-lifts",
        "name": "P1 lifts",
        "match": {"priorities": [1], "equipment_types": ["elevator"]},
        "rota": "duty",
        "steps": [
            {"after_min": 0, "notify": ["primary"]},
            {"after_min": 5, "notify": ["backup"]},
            {"after_min": 10, "notify": ["supervisor"]},
        ],
        "repeat_every_min": 2,
        "channels": ["ding", "sms"],
    }
    return {**doc, **over}


def seed_site(
    engine: Engine,
    *,
    robot_url: str,
    sms_url: str,
    policy: dict[str, Any] | None = None,
    channel_limits: dict[str, Any] | None = None,
) -> AlertsAdmin:
    """Contacts, the rota, a DingTalk robot and an SMS channel, and the policy."""
    admin = AlertsAdmin(engine, BOX)
    for person in PEOPLE:
        admin.save_contact(SITE, person, actor="test", at=AT)
    admin.save_rota(SITE, ROTA, actor="test", at=AT)
    admin.save_channel(
        SITE,
        "ding",
        kind="dingtalk",
        settings={"url": robot_url, **(channel_limits or {})},
        secrets={"access_token": "dt-token-0001", "sign_secret": "SEC-demo-secret"},
        enabled=True,
        actor="test",
        at=AT,
    )
    admin.save_channel(
        SITE,
        "sms",
        kind="sms",
        settings={
            "endpoint": sms_url,
            "access_key_id": "LTAI-test",
            "sign_name": "示例物业",
            "templates": {"zh-CN": "SMS_1", "en": "SMS_2"},
        },
        secrets={"access_key_secret": "ak-secret-0001"},
        enabled=True,
        actor="test",
        at=AT,
    )
    admin.save_policy(SITE, policy or entrapment_policy(), actor="test", at=AT)
    return admin
