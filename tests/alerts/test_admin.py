"""Editing a site's alerting through the owner's functions (the console's way in): validated
documents, references that must exist, write-only secrets, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.alerts import queries
from bldgwatch.alerts.admin import AlertsAdmin
from bldgwatch.alerts.errors import InvalidDocumentError, KeyMissingError, UnknownItemError
from bldgwatch.alerts.models import AlertChannelRow
from tests.alerts.seed import AT, BOX, SITE, entrapment_policy, seed_site

pytestmark = pytest.mark.services


def test_a_seeded_site_reads_back(db: Engine) -> None:
    seed_site(db, robot_url="http://127.0.0.1:9/robot/send", sms_url="http://127.0.0.1:9/")
    with Session(db) as session:
        assert [c.id for c in queries.contacts(session, SITE)] == ["chen", "li", "zhang"]
        assert [p.id for p in queries.policies(session, SITE)] == ["p1-lifts"]
        views = {v.id: v for v in queries.channels(session, SITE, BOX)}
        assert views["ding"].secrets_set == ["access_token", "sign_secret"]
        assert "dt-token-0001" not in str(views["ding"])
        stored = session.scalars(select(AlertChannelRow.secrets)).all()
        assert all("dt-token" not in s and "ak-secret" not in s for s in stored)
        night = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
        who = queries.who_is_on_call(session, SITE, "duty", night, "Asia/Shanghai")
        assert who is not None and (who.primary, who.backup, who.shift) == ("zhang", "li", "night")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rota": "nope"}, "rota", "unknown rota"),
        ({"channels": ["ding", "pager"]}, "channels", "unknown channels"),
        ({"steps": [{"after_min": 0, "notify": ["contact:ghost"]}]}, "steps", "unknown contacts"),
        ({"steps": []}, "steps", "at least 1"),
        ({"repeat_every_min": -1}, "repeat_every_min", "greater than 0"),
    ],
)
def test_a_policy_must_name_what_exists(
    sqlite_db: Engine, change: dict[str, object], field: str, message: str
) -> None:
    admin = seed_site(sqlite_db, robot_url="http://x/", sms_url="http://x/")
    with pytest.raises(InvalidDocumentError, match=message) as err:
        admin.save_policy(SITE, entrapment_policy(**change), actor="t", at=AT)
    assert err.value.field is not None and err.value.field.startswith(field)


def test_what_is_still_used_cannot_be_deleted(sqlite_db: Engine) -> None:
    admin = seed_site(sqlite_db, robot_url="http://x/", sms_url="http://x/")
    with pytest.raises(InvalidDocumentError, match="rota duty"):
        admin.delete_contact(SITE, "zhang")
    with pytest.raises(InvalidDocumentError, match="policy p1-lifts"):
        admin.delete_rota(SITE, "duty")
    with pytest.raises(InvalidDocumentError, match="policy p1-lifts"):
        admin.delete_channel(SITE, "ding")
    admin.delete_policy(SITE, "p1-lifts")
    admin.delete_channel(SITE, "ding")
    with pytest.raises(UnknownItemError):
        admin.delete_channel(SITE, "ding")


def test_secrets_are_write_only_and_merged(sqlite_db: Engine) -> None:
    admin = seed_site(sqlite_db, robot_url="http://x/", sms_url="http://x/")
    # Settings change, secrets not given: kept.
    view = admin.save_channel(
        SITE,
        "ding",
        kind="dingtalk",
        settings={"url": "http://y/"},
        secrets=None,
        enabled=True,
        actor="t",
        at=AT,
    )
    assert view.secrets_set == ["access_token", "sign_secret"]
    # A null removes one; a reference is kept as one.
    view = admin.save_channel(
        SITE,
        "ding",
        kind="dingtalk",
        settings={"url": "http://y/"},
        secrets={"sign_secret": None, "access_token": "env:BLDGWATCH_ALERTS_DING"},
        enabled=False,
        actor="t",
        at=AT,
    )
    assert view.secrets_set == ["access_token"] and view.enabled is False
    with Session(sqlite_db) as session:
        row = session.get(AlertChannelRow, (SITE, "ding"))
        assert row is not None and BOX.open(row.secrets) == {
            "access_token": "env:BLDGWATCH_ALERTS_DING"
        }


@pytest.mark.parametrize(
    ("kind", "settings", "secrets", "message"),
    [
        ("pager", {}, {}, "unknown kind"),
        ("dingtalk", {"url": "http://x/"}, {}, "required"),
        ("dingtalk", {"url": "http://x/"}, {"access_token": "a", "bogus": "b"}, "unknown secrets"),
        ("dingtalk", {"url": "http://x/"}, {"access_token": "env:HOME"}, "BLDGWATCH_ALERTS_"),
        ("dingtalk", {"url": "http://x/", "colour": 1}, {"access_token": "a"}, "colour"),
        (
            "sms",
            {"access_key_id": "a", "sign_name": "s", "templates": {}},
            {"access_key_secret": "x"},
            "template",
        ),
        ("email", {"host": "h", "sender": "s@x", "port": 0}, {}, "port"),
        (
            "email",
            {"host": "h", "sender": "s@x", "security": "none", "username": "u"},
            {"password": "p"},
            "^username: .*password in clear",
        ),
    ],
)
def test_bad_channels_are_refused(
    sqlite_db: Engine, kind: str, settings: dict[str, object], secrets: dict[str, str], message: str
) -> None:
    admin = AlertsAdmin(sqlite_db, BOX)
    with pytest.raises(InvalidDocumentError, match=message):
        admin.save_channel(
            SITE,
            "c1",
            kind=kind,
            settings=settings,
            secrets=secrets,
            enabled=True,
            actor="t",
            at=AT,
        )


def test_without_the_key_secrets_cannot_be_stored(sqlite_db: Engine) -> None:
    admin = AlertsAdmin(sqlite_db, None)
    with pytest.raises(KeyMissingError):
        admin.save_channel(
            SITE,
            "c1",
            kind="dingtalk",
            settings={"url": "http://x/"},
            secrets={"access_token": "a"},
            enabled=True,
            actor="t",
            at=AT,
        )
    # A channel without secrets needs no key.
    view = admin.save_channel(
        SITE,
        "hook",
        kind="webhook",
        settings={"url": "http://x/"},
        secrets=None,
        enabled=True,
        actor="t",
        at=AT,
    )
    assert view.secrets_set == []


def test_a_rota_must_name_known_people(sqlite_db: Engine) -> None:
    admin = AlertsAdmin(sqlite_db, BOX)
    rota = {
        "id": "r",
        "shifts": [{"name": "all", "start": "00:00"}],
        "cycle": [{"primary": "x"}],
        "anchor": "2026-01-01",
    }
    with pytest.raises(InvalidDocumentError, match=r"unknown contacts \['x'\]"):
        admin.save_rota(SITE, rota, actor="t", at=AT)
