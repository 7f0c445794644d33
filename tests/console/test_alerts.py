"""The alerting routes: supervisors edit a site's contacts, rotas, policies and channels
(validated, secrets write-only); anyone sees who was notified of an alarm; a notice's
acknowledge link works once, for its alarm only."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks, store
from bldgwatch.alerts.models import EscalationRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.models import AlarmEvent
from bldgwatch.rules.models import AlarmRow
from tests.alerts.seed import BOX, KEY, ROTA, entrapment_policy, seed_site
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, alarm, assets
from tests.console.support import assert_problem

NOW = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai


@pytest.fixture
def client(
    sqlite_db: Engine, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> TestClient:
    monkeypatch.setenv("BLDGWATCH_ALERTS_KEY", KEY.decode())
    add(sqlite_db, *assets())
    return make_client(sqlite_db, clock=ManualClock(NOW), user="supervisor")


def test_a_supervisor_sets_up_a_sites_alerting(client: TestClient) -> None:
    base = "/api/alerts/demo"
    for person in (
        {"id": "zhang", "name": "张三", "phone": "13800000001"},
        {"id": "li", "name": "李四"},
    ):
        resp = client.put(f"{base}/contacts/{person['id']}", json=person)
        assert resp.status_code == 200, resp.text
    rota = {**ROTA, "cycle": [{"primary": "zhang", "backup": "li"}], "supervisor": None}
    assert client.put(f"{base}/rotas/duty", json=rota).status_code == 200
    channel = {
        "kind": "dingtalk",
        "settings": {"url": "https://oapi.dingtalk.com/robot/send"},
        "secrets": {"access_token": "dt-very-secret", "sign_secret": "SEC-also-secret"},
    }
    resp = client.put(f"{base}/channels/ding", json=channel)
    assert resp.status_code == 200, resp.text
    assert resp.json()["secrets_set"] == ["access_token", "sign_secret"]
    policy = entrapment_policy(channels=["ding"], steps=[{"after_min": 0, "notify": ["primary"]}])
    assert client.put(f"{base}/policies/p1-lifts", json=policy).status_code == 200
    listed = client.get(f"{base}/channels").json()
    assert listed["total"] == 1 and "secret" not in str(listed["items"][0]["settings"])
    assert "dt-very-secret" not in client.get(f"{base}/channels").text
    assert client.get(f"{base}/policies").json()["items"][0]["steps"][0]["notify"] == ["primary"]
    who = client.get(f"{base}/rotas/duty/on-call").json()
    assert (who["shift"], who["primary"], who["backup"]) == (
        "night",
        {"id": "zhang", "name": "张三"},
        {"id": "li", "name": "李四"},
    )
    day = client.get(f"{base}/rotas/duty/on-call", params={"at": "2026-12-06T02:00:00Z"}).json()
    assert day["shift"] == "day" and day["starts_at"] == "2026-12-06T00:30:00Z"


def test_bad_documents_get_problems_naming_the_field(client: TestClient, sqlite_db: Engine) -> None:
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    base = "/api/alerts/demo"
    bad = client.put(f"{base}/policies/p1-lifts", json=entrapment_policy(rota="nope"))
    body = assert_problem(bad, 400, "unknown rota 'nope'")
    assert body["errors"][0]["name"] == "rota"
    # The path names the item: a body's id follows it.
    saved = client.put(f"{base}/policies/other", json=entrapment_policy())
    assert saved.status_code == 200 and saved.json()["id"] == "other"
    assert_problem(
        client.put(f"{base}/contacts/bad%20id", json={"id": "x", "name": "X"}), 422, "item_id"
    )
    assert_problem(client.put(f"{base}/policies/p1-lifts", json={"id": "p1-lifts"}), 422, "steps")
    assert_problem(client.delete(f"{base}/contacts/zhang"), 400, "rota duty")
    assert_problem(client.delete(f"{base}/rotas/ghost"), 404, "does not exist")
    assert_problem(
        client.put(f"{base}/channels/x", json={"kind": "pager"}), 400, "unknown kind 'pager'"
    )
    assert_problem(client.get("/api/alerts/nowhere/contacts"), 404, "site nowhere")


def test_without_the_key_secrets_are_refused_with_503(
    sqlite_db: Engine, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BLDGWATCH_ALERTS_KEY", raising=False)
    add(sqlite_db, *assets())
    client = make_client(sqlite_db, user="supervisor")
    channel = {"kind": "wecom", "settings": {}, "secrets": {"key": "k"}}
    assert_problem(client.put("/api/alerts/demo/channels/w", json=channel), 503, "alerts key")
    assert_problem(client.post("/api/ack-links/a.b.c"), 503, "alerts key")


def _entrapment(sqlite_db: Engine) -> str:
    """An active P1 entrapment in the rules store, escalating in alerts; a link for zhang."""
    alarm_id = str(uuid.uuid4())
    row = alarm(
        alarm_id,
        0,
        equipment="E-01",
        equipment_type="elevator",
        rule="elevator.entrapment_at_floor",
        fault_code="ELEV_ENTRAPMENT_AT_FLOOR",
        family="entrapment",
        priority=1,
        severity="critical",
        condition_active=True,
        raised_at=NOW,
        updated_at=NOW,
    )
    add(sqlite_db, row)
    event = AlarmEvent.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "alarm_id": alarm_id,
            "site": "demo",
            "building": "B1",
            "equipment": "E-01",
            "equipment_type": "elevator",
            "rule": "elevator.entrapment_at_floor",
            "fault_code": "ELEV_ENTRAPMENT_AT_FLOOR",
            "family": "entrapment",
            "severity": "critical",
            "priority": 1,
            "transition": "activate",
            "state": "active_unack",
            "previous_state": "normal",
            "at": NOW.isoformat(),
        }
    )
    with Session(sqlite_db) as session:
        assert store.activate(session, event, NOW, ZoneInfo("Asia/Shanghai")) == 1
        token = acklinks.issue(
            session,
            BOX.link_key,
            alarm_id=alarm_id,
            site="demo",
            contact_id="zhang",
            message_id=None,
            now=NOW,
            ttl=timedelta(hours=12),
        )
        session.commit()
    return f"{alarm_id} {token}"


def test_an_acknowledge_link_works_once(client: TestClient, sqlite_db: Engine) -> None:
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    alarm_id, token = _entrapment(sqlite_db).split()
    anonymous = TestClient(client.app)
    page = anonymous.get(f"/ack/{token}")
    assert page.status_code == 200 and "张三，您将确认以下报警" in page.text
    assert "困人（平层关人）" in page.text and "2026-12-06 03:00:00 (Asia/Shanghai" in page.text
    with Session(sqlite_db) as session:  # looking changed nothing
        assert session.get(AlarmRow, alarm_id).state == "active_unack"  # type: ignore[union-attr]
    used = anonymous.post(f"/api/ack-links/{token}")
    assert used.status_code == 200, used.text
    assert used.json() == {
        "alarm_id": alarm_id,
        "outcome": "acknowledged",
        "state": "active_ack",
        "acknowledged_by": "zhang (notice link)",
    }
    with Session(sqlite_db) as session:
        esc = session.get(EscalationRow, (alarm_id, "p1-lifts"))
        assert esc is not None and (esc.status, esc.stop_reason) == ("stopped", "ack_link")
    assert_problem(anonymous.post(f"/api/ack-links/{token}"), 409, "already used")
    again = anonymous.post(f"/ack/{token}")
    # the page speaks zhang's language (zh-CN) and gives the use in the site's zone
    assert again.status_code == 409 and 'lang="zh-CN"' in again.text
    assert "已于 2026-12-06" in again.text and "使用过" in again.text
    assert "(Asia/Shanghai, UTC+08:00)" in again.text
    timeline = client.get(f"/api/alarms/{alarm_id}/notifications").json()
    assert timeline["acknowledged_by"] == "zhang (notice link)"
    assert timeline["escalations"][0]["stop_reason"] == "ack_link"
    assert timeline["link_uses"][0]["recipient"] == {"id": "zhang", "name": "张三"}
    assert timeline["link_uses"][0]["outcome"] == "acknowledged"
    assert [n["recipient"]["id"] for n in timeline["notifications"]] == ["zhang"]


def test_forged_and_expired_links_are_refused(client: TestClient, sqlite_db: Engine) -> None:
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    _, token = _entrapment(sqlite_db).split()
    token_id, expiry, mac = token.split(".")
    forged = f"{token_id}.{expiry}.{'A' * len(mac)}"
    assert_problem(client.post(f"/api/ack-links/{forged}"), 404, "not genuine")
    longer = f"{token_id}.{'zzzzzz'}.{mac}"  # a later expiry under the old signature
    assert_problem(client.post(f"/api/ack-links/{longer}"), 404, "not genuine")
    assert_problem(client.post("/api/ack-links/garbage"), 404, "not an acknowledge link")
    clock = client.app.state.clock  # type: ignore[attr-defined]
    clock.advance(timedelta(hours=12, seconds=1))
    assert_problem(client.post(f"/api/ack-links/{token}"), 410, "expired")
    page = TestClient(client.app).get(f"/ack/{token}")
    assert page.status_code == 410


def test_a_link_of_no_known_recipient_is_refused_in_chinese_only(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Forged, malformed or unknown: the recipient (and so the language) is not known, the
    page is the documented zh-CN one, without an English detail inside (found by the browser
    walk: `无法使用此链接：this is not an acknowledge link`)."""
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    _, token = _entrapment(sqlite_db).split()
    token_id, expiry, mac = token.split(".")
    phone = TestClient(client.app)
    for bad in ("garbage", f"{token_id}.{expiry}.{'A' * len(mac)}", f"999999.{expiry}.{mac}"):
        page = phone.get(f"/ack/{bad}")
        assert page.status_code == 404 and 'lang="zh-CN"' in page.text
        said = re.search(r"<p>(.*?)</p>", page.text)
        assert said is not None and said.group(1).startswith("无法使用此链接：")
        assert not re.search(r"[A-Za-z]", said.group(1)), said.group(1)


def test_everyone_at_the_site_sees_who_was_notified(client: TestClient, sqlite_db: Engine) -> None:
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    alarm_id, _ = _entrapment(sqlite_db).split()
    viewer = client.get(
        f"/api/alarms/{alarm_id}/notifications", headers=auth_headers(client, "viewer")
    )
    assert viewer.status_code == 200
    body = viewer.json()
    assert body["state"] == "active_unack" and body["acknowledged_by"] is None
    (note,) = body["notifications"]
    assert (note["target"], note["status"], note["level"], note["repeat"]) == (
        "primary",
        "pending",
        0,
        0,
    )
    assert body["escalations"][0]["next_at"] == "2026-12-05T19:02:00Z"


def test_link_uses_and_alerting_edits_are_audited(client: TestClient, sqlite_db: Engine) -> None:
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    alarm_id, token = _entrapment(sqlite_db).split()
    anonymous = TestClient(client.app)
    token_id, expiry, mac = token.split(".")
    anonymous.post(f"/api/ack-links/{token_id}.{expiry}.{'B' * len(mac)}")
    assert anonymous.post(f"/api/ack-links/{token}").status_code == 200
    anonymous.post(f"/api/ack-links/{token}")
    client.put("/api/alerts/demo/contacts/wang", json={"id": "wang", "name": "W"})
    client.delete("/api/alerts/demo/rotas/duty")  # refused: a policy uses it
    admin = auth_headers(client, "admin")
    links = client.get("/api/audit?action=alarm.acknowledge_link", headers=admin).json()["items"]
    assert [(e["actor"], e["result"], e["status"]) for e in reversed(links)] == [
        ("(acknowledge link)", "not_found", 404),
        ("zhang (notice link)", "ok", 200),
        ("(acknowledge link)", "conflict", 409),
    ]
    used = links[1]
    assert used["target"] == f"alarm:{alarm_id}" and used["site"] == "demo"
    assert used["detail"]["outcome"] == "acknowledged" and used["detail"]["contact"] == "zhang"
    edits = client.get("/api/audit?action=alerts.", headers=admin).json()["items"]
    assert [(e["action"], e["actor"], e["target"], e["result"]) for e in reversed(edits)] == [
        ("alerts.save", "supervisor", "alerts:demo/contact/wang", "ok"),
        ("alerts.delete", "supervisor", "alerts:demo/rota/duty", "invalid"),
    ]


def test_channels_sealed_with_another_key_are_listed_not_a_500(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    make_client: ClientFactory,
    sqlite_db: Engine,
) -> None:
    """A channel sealed before the alerts key was replaced: the list answered 500 (SecretError
    escaped; seen in a full run). Now it is listed, its secrets shown as sealed, to be set again."""
    channel = {
        "kind": "dingtalk",
        "settings": {"url": "https://oapi.dingtalk.com/robot/send"},
        "secrets": {"access_token": "dt-very-secret"},
    }
    assert client.put("/api/alerts/demo/channels/ding", json=channel).status_code == 200
    monkeypatch.setenv("BLDGWATCH_ALERTS_KEY", Fernet.generate_key().decode())  # a new key
    rotated = make_client(sqlite_db, clock=ManualClock(NOW), user="supervisor")
    listed = rotated.get("/api/alerts/demo/channels")
    assert listed.status_code == 200, listed.text
    assert [c["secrets_set"] for c in listed.json()["items"]] == [["(sealed)"]]
