"""Review 19c-d M5: an entrapment reported by phone (no alarm) is recorded by the duty desk and
timed like an alarm's; M13: a drill recorded by mistake is corrected or voided, audited, and
the report says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.emergencymodels import DrillCorrectionRow
from bldgwatch.maintenance.emergencyreport import emergency_section, render_emergency
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, at
from tests.console.support import assert_problem


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    return make_client(sqlite_db, clock=ManualClock(at(40)), user="supervisor")


def _plan(client: TestClient) -> tuple[int, int]:
    template = client.get("/api/emergency/template").json()
    made = client.post(
        "/api/emergency/plans", json={"site": "demo", "kind": "entrapment", "plan": template}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"]), len(template["steps"])


def test_an_entrapment_reported_by_phone_is_timed_like_an_alarms(
    client: TestClient, sqlite_db: Engine
) -> None:
    _plan(client)
    engineer = auth_headers(client, "engineer")
    call = {
        "site": "demo",
        "equipment": "E-01",
        "reported_at": at(30).isoformat(),
        "note": "12 楼业主来电：两人被困",
    }
    for who in ("tech", "viewer"):  # as for the alarm-raised path: the duty desk only
        assert_problem(
            client.post("/api/entrapments", json=call, headers=auth_headers(client, who)), 403
        )
    zh = engineer | {"Accept-Language": "zh-CN"}
    pump = client.post("/api/entrapments", json=call | {"equipment": "P-01"}, headers=zh)
    assert_problem(pump, 422, "不是电梯")
    future = call | {"reported_at": at(60).isoformat()}
    assert_problem(client.post("/api/entrapments", json=future, headers=zh), 422, "来电时间")
    old = call | {"reported_at": (at(40) - timedelta(days=8)).isoformat()}
    assert_problem(client.post("/api/entrapments", json=old, headers=engineer), 422, "7 days")
    ghost = call | {"equipment": "E-99"}
    assert_problem(client.post("/api/entrapments", json=ghost, headers=engineer), 404)

    made = client.post("/api/entrapments", json=call, headers=engineer)
    assert made.status_code == 201, made.text
    found = made.json()
    assert found["reported_by"] == "engineer" and found["rescue"] == 1
    assert found["moments"][0]["at"].startswith(at(30).isoformat()[:19])
    assert found["rescue_target_min"] == 30.0  # the plan's on-site target, from the call
    assert found["arrival_late"] is False
    order_id = found["order_id"]
    with Session(sqlite_db) as session:
        order = session.get(WorkOrderRow, order_id)
        assert order is not None and order.priority == 1 and order.kind == "reactive"
        assert order.fault_code == "ELEV_ENTRAPMENT_REPORTED"
        assert order.incident_key == "demo/E-01/entrapment"  # a later alarm of the car joins it
        assert order.response_due == at(60)
    # a second call while the rescue is under way is the same rescue (as an alarm's would be)
    again = client.post(
        "/api/entrapments", json=call | {"reported_at": at(35).isoformat()}, headers=engineer
    )
    assert again.status_code == 201 and again.json()["order_id"] == order_id
    assert again.json()["rescue"] == 1
    listed = client.get("/api/entrapments", params={"site": "demo"}).json()
    assert [(e["order_id"], e["reported_by"]) for e in listed] == [(order_id, "engineer")]
    # a mistyped day does not move the rescue under way back by days (review 19d-d H2)
    typo = call | {"reported_at": (at(30) - timedelta(days=6)).isoformat()}
    assert_problem(client.post("/api/entrapments", json=typo, headers=zh), 422, "来电时间早于")
    assert (
        client.get("/api/entrapments", params={"site": "demo"})
        .json()[0]["moments"][0]["at"]
        .startswith(at(30).isoformat()[:19])
    )
    with Session(sqlite_db) as session:  # nobody on site yet: under way, not "on time" (L14)
        section = emergency_section(session, "demo", Period(2026, 3, "Asia/Shanghai"), at(40))
        assert "30 min: under way" in render_emergency(section, "Asia/Shanghai", "en")
    case = client.get(f"/api/work-orders/{order_id}/entrapment").json()
    assert case["entrapment"] is True and case["plan"] is not None
    # released by the technician: the release is timed from the call
    with Session(sqlite_db) as session:
        session.add(
            WorkOrderEventRow(
                work_order_id=order_id, at=at(33), from_status="open", to_status="assigned",
                actor="supervisor",
            )
        )  # fmt: skip
        session.get(WorkOrderRow, order_id).status = "assigned"  # type: ignore[union-attr]
        session.commit()
    released = client.post(
        f"/api/work-orders/{order_id}/released",
        json={"released_at": at(38).isoformat()},
        headers=auth_headers(client, "tech"),
    )
    assert released.status_code == 200, released.text
    assert [m["minutes"] for m in released.json()["moments"]] == [0.0, 3.0, 8.0, 8.0]
    # a call of that rescue written up after the release is noted on it, not a second rescue
    # (review 19d-d H1); before the release and in no rescue: refused; after it: a new one
    late = client.post(
        "/api/entrapments", json=call | {"reported_at": at(34).isoformat()}, headers=engineer
    )
    assert late.status_code == 201 and late.json()["rescue"] == 1, late.text
    before = call | {"reported_at": at(15).isoformat()}
    assert_problem(client.post("/api/entrapments", json=before, headers=engineer), 422, "released")
    assert len(client.get("/api/entrapments", params={"site": "demo"}).json()) == 1
    second = client.post(
        "/api/entrapments", json=call | {"reported_at": at(39).isoformat()}, headers=engineer
    )
    assert second.status_code == 201 and second.json()["rescue"] == 2, second.text
    # the report lists it with the others, saying it was reported by phone
    with Session(sqlite_db) as session:
        section = emergency_section(
            session, "demo", Period(at(0).year, at(0).month, "Asia/Shanghai"), at(40)
        )
        html = render_emergency(section, "Asia/Shanghai", "en")
    assert "reported by phone, recorded by engineer" in html


def test_a_drill_recorded_by_mistake_is_corrected_or_voided(
    client: TestClient, sqlite_db: Engine
) -> None:
    plan_id, count = _plan(client)
    drills = []
    for minutes in (30, 31):
        made = client.post(
            "/api/drills",
            json={
                "plan_id": plan_id,
                "scheduled_at": (at(minutes) - timedelta(minutes=5)).isoformat(),
            },
        )
        assert made.status_code == 201, made.text
        drills.append(made.json()["id"])
    times = [at(30).isoformat(), at(33).isoformat()] + [None] * (count - 2)
    record = {"participants": ["王工", "张三"], "step_times": times, "findings": "对讲声音小"}
    wrong, right = drills
    assert client.post(f"/api/drills/{wrong}/record", json=record).status_code == 200
    fix = record | {
        "participants": ["王工", "李师傅"],
        "step_times": [None, at(34).isoformat()] + [None] * (count - 2),
        "findings": "对讲声音小，五方通话正常",
        "reason": "参加人员登记错了",
        "corrections": 0,
    }
    assert_problem(client.post(f"/api/drills/{right}/correct", json=fix), 409, "only a recorded")
    tech = auth_headers(client, "tech")
    assert_problem(client.post(f"/api/drills/{wrong}/correct", json=fix, headers=tech), 403)
    same = record | {"step_times": [None] * count, "reason": "x", "corrections": 0}
    assert_problem(client.post(f"/api/drills/{wrong}/correct", json=same), 422, "changes nothing")
    assert_problem(
        client.post(f"/api/drills/{wrong}/correct", json=fix | {"reason": " "}), 422, "reason"
    )
    done = client.post(f"/api/drills/{wrong}/correct", json=fix)
    assert done.status_code == 200, done.text
    drill = done.json()
    assert drill["participants"] == ["王工", "李师傅"] and drill["steps"][1]["minutes"] == 4.0
    [correction] = drill["corrections"]
    assert correction["actor"] == "supervisor" and correction["reason"] == "参加人员登记错了"
    assert correction["changes"]["participants"] == {
        "from": ["王工", "张三"],
        "to": ["王工", "李师傅"],
    }
    assert set(correction["changes"]) == {"participants", "findings", "step_times"}
    stale = client.post(f"/api/drills/{wrong}/correct", json=fix | {"findings": "again"})
    assert_problem(stale, 409, "reload")  # read before the first correction
    listed = {d["id"]: d for d in client.get("/api/drills").json()}
    assert len(listed[wrong]["corrections"]) == 1
    query = {"action": "drill.correct", "result": "ok"}
    admin = auth_headers(client, "admin")
    audit = client.get("/api/audit", params=query, headers=admin).json()["items"]
    assert [(a["actor"], a["target"]) for a in audit] == [("supervisor", f"drill:{wrong}")]

    with Session(sqlite_db) as session:
        section = emergency_section(
            session, "demo", Period(at(0).year, at(0).month, "Asia/Shanghai"), at(40)
        )
        html = render_emergency(section, "Asia/Shanghai", "en")
    assert "corrected 1×, last by supervisor" in html and "五方通话正常" in html

    # the wrong drill after all: voided, counted as held nowhere
    plan = client.get(f"/api/emergency/plans/{plan_id}").json()
    assert plan["last_drill"] is not None
    voided = client.post(
        f"/api/drills/{wrong}/void", json={"reason": "记错了演练", "corrections": 1}
    )
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    assert [c["kind"] for c in voided.json()["corrections"]] == ["corrected", "voided"]
    plan = client.get(f"/api/emergency/plans/{plan_id}").json()
    assert plan["last_drill"] is None and plan["drill_overdue"] is True
    zh = {"Accept-Language": "zh-CN"}
    twice = client.post(
        f"/api/drills/{wrong}/void", json={"reason": "x", "corrections": 2}, headers=zh
    )
    assert_problem(twice, 409, "已作废")
    with Session(sqlite_db) as session:
        kinds = session.scalars(select(DrillCorrectionRow.kind).order_by(DrillCorrectionRow.id))
        assert list(kinds) == ["corrected", "voided"]
        section = emergency_section(
            session, "demo", Period(at(0).year, at(0).month, "Asia/Shanghai"), at(40)
        )
        html = render_emergency(section, "Asia/Shanghai", "zh-CN")
    assert "误记，已由 supervisor" in html


def test_a_milestone_in_a_refusal_is_named_in_the_readers_language(client: TestClient) -> None:
    """Review 19c-d L5: "第 4 步：里程碑 notified 已由前面的步骤使用" showed the code."""
    plan = client.get("/api/emergency/template").json()
    twice = plan | {"steps": plan["steps"] + [plan["steps"][1] | {"target_min": 60}]}
    body = {"site": "demo", "kind": "entrapment", "plan": twice}
    milestone = plan["steps"][1]["milestone"]
    names = {"notified": ("“接报”", "“Notified”"), "alarm": ("“报警”", "“Alarm”")}[milestone]
    for lang, name in zip(("zh-CN", "en"), names, strict=True):
        resp = client.post("/api/emergency/plans", json=body, headers={"Accept-Language": lang})
        assert_problem(resp, 422, name)
        assert f" {milestone} " not in resp.json()["detail"]
