"""A work order's whole life through the API, per role: accept, book labour and parts from the
parts list, a photo, the completion record, resolve with a summary, 回访 that reopens it,
resolve again, verify, close, a supervisor's late booking; cancel with a reason; comments;
the texts in zh-CN and en; and what each role may do."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmEvent, AlarmState, MaintenanceAction, Severity
from bldgwatch.core.site import BuildingSpec, EquipmentSpec, SiteSpec
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.config import AttachmentSettings
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.partslist import save_part
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0
from tests.console.support import assert_problem

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SITE = SiteSpec(
    site="demo",
    name="Demo Plaza",
    timezone="Asia/Shanghai",
    buildings=[BuildingSpec(id="B1")],
    equipment=[EquipmentSpec(id="P-01", type="pump", building="B1", machine_class="II")],
)


def _alarm(fault: str, incident: str, minutes: float, **kw: object) -> AlarmEvent:
    fields: dict[str, object] = {
        "event_id": f"ev-{fault}-{minutes}",
        "alarm_id": f"al-{fault}",
        "site": "demo",
        "building": "B1",
        "equipment": "P-01",
        "equipment_type": "pump",
        "rule": f"pump.{fault.lower()}",
        "fault_code": fault,
        "family": "bearing",
        "incident": incident,
        "severity": Severity.MAJOR,
        "priority": 2,
        "transition": "activate",
        "state": AlarmState.ACTIVE_UNACK,
        "previous_state": AlarmState.NORMAL,
        "at": T0 + timedelta(minutes=minutes),
        "message": "hot",
        "maintenance": MaintenanceAction.REACTIVE,
    }
    fields.update(kw)
    return AlarmEvent.model_validate(fields)


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path) -> TestClient:
    sessions = session_factory(sqlite_db)
    with sessions() as s:
        import_site(s, SITE, at=T0 - timedelta(days=40))
        save_part(
            s, part_no="6205-2RS", name="bearing", unit="pc", unit_cost=45.5, actor="s", at=T0
        )
        save_part(s, part_no="GR-1", name="grease", unit="kg", unit_cost=20, actor="s", at=T0)
        s.commit()
    process_event(sessions, _alarm("PUMP_BEARING_TEMP", "rotor", 0))
    process_event(
        sessions,
        _alarm(
            "PUMP_CAVITATION",
            "rotor",
            5,
            family="hydraulic",
            priority=3,
            maintenance=MaintenanceAction.PLANNED,
        ),
    )
    client = make_client(sqlite_db, clock=ManualClock(T0 + timedelta(hours=1)), user=None)
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.attachments = AttachmentStore(AttachmentSettings(folder=tmp_path / "files"))
    return client


def _post(client: TestClient, user: str, path: str, body: object, status: int = 200) -> dict:  # type: ignore[type-arg]
    resp = client.post(
        f"/api/work-orders/1/{path}?lang=en", json=body, headers=auth_headers(client, user)
    )
    assert resp.status_code == status, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _get(client: TestClient, user: str, path: str = "", lang: str = "en") -> dict:  # type: ignore[type-arg]
    resp = client.get(f"/api/work-orders/1{path}?lang={lang}", headers=auth_headers(client, user))
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_one_incident_its_alarms_and_texts_in_both_languages(client: TestClient) -> None:
    en, zh = _get(client, "supervisor"), _get(client, "supervisor", lang="zh-CN")
    # the title is main's catalogue message (`title_key`); `title` keeps the English
    assert en["title"] == en["title_text"] == "PUMP_BEARING_TEMP: pump P-01 — hot"
    assert zh["title_text"] == "PUMP_BEARING_TEMP：水泵 P-01 — hot"
    alarms = en["record"]["alarms"]
    assert [(a["fault_code"], a["incident"], a["fault"]) for a in alarms] == [
        ("PUMP_BEARING_TEMP", "rotor", "bearing temperature high"),
        ("PUMP_CAVITATION", "rotor", "cavitation"),
    ]
    assert [a["fault"] for a in zh["record"]["alarms"]] == ["轴承温度高", "汽蚀"]
    assert en["alarm_count"] == 2
    texts = [e["text"] for e in zh["events"]]
    assert texts[0] == "生成故障维修工单，优先级 P2" and texts[1].startswith("报警 汽蚀：触发")
    listed = client.get(
        "/api/work-orders?lang=zh-CN", headers=auth_headers(client, "viewer")
    ).json()
    assert listed["items"][0]["title_text"] == "PUMP_BEARING_TEMP：水泵 P-01 — hot"


def test_actions_follow_role_and_status(client: TestClient) -> None:
    assert _get(client, "supervisor")["record"]["actions"] == [
        "assign",
        "cancel",
        "attach",
        "comment",
    ]
    assert _get(client, "tech")["record"]["actions"] == ["accept", "comment"]
    assert _get(client, "engineer")["record"]["actions"] == ["comment"]
    assert _get(client, "viewer")["record"]["actions"] == []
    _post(client, "supervisor", "assign", {"technician": "tech", "note": "bring a puller"})
    mine = _get(client, "tech")
    assert mine["record"]["assign_note"] == "bring a puller"
    assert mine["record"]["actions"] == ["start", "book", "complete", "attach", "comment"]
    assert _get(client, "tech2")["record"]["actions"] == ["comment"]
    assert_problem(
        client.post(
            "/api/work-orders/1/bookings",
            json={"labour": [{"hours": 1}]},
            headers=auth_headers(client, "tech2"),
        ),
        403,
        "may not book",
    )


def test_the_whole_life_through_the_api(client: TestClient) -> None:
    _post(client, "supervisor", "assign", {"technician": "tech", "note": "bring a puller"})
    _post(client, "tech", "transition", {"to": "in_progress"})
    booked = _post(
        client,
        "tech",
        "bookings",
        {
            "labour": [{"hours": 2, "rate": 80}],
            "parts": [{"part_no": "6205-2RS", "quantity": 2}, {"part_no": "GR-1", "quantity": 0.5}],
        },
    )
    assert booked["cost"] == pytest.approx(160 + 91 + 10)
    assert [(p["part_no"], p["unit"], p["unit_cost"]) for p in booked["parts"]] == [
        ("6205-2RS", "pc", 45.5),
        ("GR-1", "kg", 20.0),
    ]
    refused = client.post(
        "/api/work-orders/1/bookings",
        json={"labour": [{"technician": "tech2", "hours": 1}]},
        headers=auth_headers(client, "tech"),
    )
    assert_problem(refused, 403, "only their own labour")
    unknown = client.post(
        "/api/work-orders/1/bookings",
        json={"parts": [{"part_no": "NOPE", "quantity": 1}]},
        headers=auth_headers(client, "tech"),
    )
    assert_problem(unknown, 422, "NOPE")
    photo = client.post(
        "/api/work-orders/1/attachments",
        files={"file": ("before.png", PNG, "image/png")},
        data={"note": "before"},
        headers=auth_headers(client, "tech"),
    )
    assert photo.status_code == 200, photo.text
    [att] = photo.json()["record"]["attachments"]
    fake = client.post(
        "/api/work-orders/1/attachments",
        files={"file": ("x.png", b"<script>alert(1)</script>", "image/png")},
        headers=auth_headers(client, "tech"),
    )
    assert_problem(fake, 422, "not accepted")
    got = client.get(att["url"], headers=auth_headers(client, "viewer"))
    assert got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    outsider = auth_headers(client, "outsider")
    assert_problem(client.get(att["url"], headers=outsider), 404, "does not exist")
    assert_problem(
        client.post(
            "/api/work-orders/1/attachments", files={"file": ("a.png", PNG)}, headers=outsider
        ),
        404,
        "does not exist",
    )
    resolved = _post(
        client,
        "tech",
        "resolve",
        {
            "summary": "bearing replaced",
            "completion": {
                "repair_class": "medium",
                "cause_code": "wear",
                "root_cause": "bearing worn",
                "downtime_h": 3,
            },
        },
    )
    record = resolved["record"]
    assert (resolved["status"], record["summary"], record["repair_class_text"]) == (
        "resolved",
        "bearing replaced",
        "medium repair",
    )
    assert record["actions"] == ["book", "complete", "attach", "comment"]  # tech: no 回访
    reopened = _post(
        client,
        "supervisor",
        "follow-up",
        {"outcome": "not_satisfied", "satisfaction": 2, "note": "still noisy"},
    )
    assert (reopened["status"], reopened["assigned_to"], reopened["resolved_at"]) == (
        "assigned",
        "tech",
        None,
    )
    _post(client, "tech", "transition", {"to": "in_progress"})
    _post(client, "tech", "resolve", {"summary": "coupling aligned"})
    verified = _post(client, "supervisor", "follow-up", {"outcome": "satisfied", "satisfaction": 5})
    assert verified["status"] == "verified"
    assert [f["outcome"] for f in verified["record"]["follow_ups"]] == [
        "not_satisfied",
        "satisfied",
    ]
    assert _post(client, "supervisor", "transition", {"to": "closed"})["status"] == "closed"
    closed = _get(client, "supervisor")
    assert closed["record"]["actions"] == ["book_late", "attach", "comment"]
    invoice = {"charges": [{"contractor": "pump service", "amount": 300}]}
    assert_problem(
        client.post(
            "/api/work-orders/1/bookings", json=invoice, headers=auth_headers(client, "supervisor")
        ),
        409,
        "closed",
    )
    late = _post(client, "supervisor", "bookings", {**invoice, "late": True})
    assert late["record"]["charges"][0]["late"] is True
    assert late["record"]["cost_by_category"] == {
        "labour": 160.0,
        "parts": 101.0,
        "contractors": 300.0,
    }
    assert late["events"][-1]["text"].startswith("late booking on a closed order")
    commented = _post(client, "engineer", "comments", {"text": "owner thanked us"})
    assert commented["events"][-1]["note"] == "owner thanked us"
    audit = client.get("/api/audit?site=demo&limit=500", headers=auth_headers(client, "admin"))
    done = [(e["action"], e["actor"], e["result"]) for e in reversed(audit.json()["items"])]
    for step in [
        ("work_order.booking", "tech", "ok"),
        ("work_order.booking", "tech", "denied"),  # someone else's labour
        ("work_order.attach", "tech", "ok"),
        ("work_order.resolve", "tech", "ok"),
        ("work_order.follow_up", "supervisor", "ok"),
        ("work_order.booking", "supervisor", "conflict"),  # closed, not marked late
        ("work_order.comment", "engineer", "ok"),
    ]:
        assert step in done, step


def test_cancel_needs_a_reason(client: TestClient) -> None:
    bad = client.post(
        "/api/work-orders/1/cancel",
        json={"reason": " "},
        headers=auth_headers(client, "supervisor"),
    )
    assert_problem(bad, 422, "reason")
    cancelled = _post(client, "supervisor", "cancel", {"reason": "duplicate"})
    assert cancelled["status"] == "cancelled" and cancelled["events"][-1]["note"] == "duplicate"


def test_parts_list_causes_and_technicians(client: TestClient) -> None:
    sup = auth_headers(client, "supervisor")
    put = client.put(
        "/api/parts/SEAL-9",
        json={"name": "seal", "unit": "pc", "unit_cost": 12},
        headers=auth_headers(client, "admin"),
    )
    assert put.status_code == 200, put.text
    listed = client.get("/api/parts", headers=auth_headers(client, "tech")).json()
    assert [p["part_no"] for p in listed] == ["6205-2RS", "GR-1", "SEAL-9"]
    causes = client.get("/api/causes?lang=zh-CN", headers=sup).json()
    assert {"code": "wear", "name": "磨损老化"} in causes
    techs = client.get("/api/technicians?site=demo", headers=sup).json()
    assert [t["name"] for t in techs] == ["tech", "tech2"]
    assert_problem(client.get("/api/technicians?site=north", headers=sup), 404, "does not exist")


def test_a_phone_photo_larger_than_other_bodies_is_accepted(client: TestClient) -> None:
    """Request bodies are bounded by http.max_body_bytes (1 MiB), an attachment upload by
    attachments.max_bytes (10 MiB) and its form: a 3 MB photo goes in, 11 MB does not."""
    tech = auth_headers(client, "tech")
    _post(client, "supervisor", "assign", {"technician": "tech"})
    photo = PNG + b"\x00" * (3 * 1024 * 1024)
    sent = client.post(
        "/api/work-orders/1/attachments", files={"file": ("p.png", photo)}, headers=tech
    )
    assert sent.status_code == 200, sent.text
    [att] = sent.json()["record"]["attachments"]
    assert client.get(att["url"], headers=tech).content == photo
    huge = PNG + b"\x00" * (11 * 1024 * 1024)
    refused = client.post(
        "/api/work-orders/1/attachments", files={"file": ("h.png", huge)}, headers=tech
    )
    assert_problem(refused, 413, "upload is larger than")
    other = client.post(
        "/api/work-orders/1/comments", content=photo, headers={**tech, "content-type": "text/plain"}
    )
    assert_problem(other, 413, "larger than 1048576 bytes")
