"""The service desk's queue: requests logged by phone or at the counter, the queue by status
with age and SLA clocks, merging duplicates, and linking a request to an alarm incident's
open order (the same problem), on the real databases."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bldgwatch.console.models import AuditRow
from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmEvent, AlarmState, MaintenanceAction, Severity
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow
from bldgwatch.maintenance.requestmodels import PublicRequestRow
from tests.console.conftest import ClientFactory
from tests.console.support import assert_problem
from tests.console.test_public_requests import NOW, Desk, ok

PHONE_CALL = {
    "site": "demo",
    "channel": "phone",
    "category": "water",
    "location": "3栋 502",
    "description": "厨房漏水",
    "caller_name": "王女士",
    "phone": "１３８ ００１３ ８０００",  # a Chinese IME's full-width digits
}


@pytest.fixture
def desk(make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path) -> Desk:
    return Desk(make_client, sqlite_db, tmp_path / "files")


def logged(desk: Desk, **fields: Any) -> dict[str, Any]:
    return ok(desk.sup.post("/api/service-desk/requests", json={**PHONE_CALL, **fields}))


def queue(desk: Desk, status: str = "new") -> list[dict[str, Any]]:
    found = ok(desk.sup.get("/api/service-desk/requests", params={"status": status}))
    items: list[dict[str, Any]] = found["items"]
    return items


def test_a_phone_request_joins_the_queue_with_its_channel(desk: Desk) -> None:
    code = desk.point()
    ok(desk.send(code))  # from the QR page first
    desk.advance(10)
    taken = logged(desk)
    token = taken["status_token"]
    assert taken["status_path"] == f"/s/{token}" and len(token) >= 32
    request = taken["request"]
    assert (request["channel"], request["caller_name"], request["phone"]) == (
        "phone",
        "王女士",
        "138 0013 8000",
    )
    assert request["point_label"] == "" and request["location"] == "3栋 502"
    desk.advance(5)
    waiting = queue(desk)
    assert [(q["channel"], q["age_min"]) for q in waiting] == [("qr", 15), ("phone", 5)]
    assert desk.status(token)["state"] == "received"
    with Session(desk.engine) as session:
        row = session.scalars(select(AuditRow).where(AuditRow.action == "public_request.log")).one()
        assert (row.target, row.site, row.detail) == (
            f"public_request:{request['id']}",
            "demo",
            {"channel": "phone"},
        )


def test_a_walk_in_at_a_point_names_its_equipment_and_is_accepted_on_it(desk: Desk) -> None:
    pid = ok(desk.sup.get("/api/service-desk/points"))  # none yet
    assert pid == []
    desk.point(equipment="P-01", label="水泵房")
    point = ok(desk.sup.get("/api/service-desk/points"))[0]
    taken = logged(desk, channel="walk_in", location="", point_id=point["id"], phone=None)
    request = taken["request"]
    assert (request["location"], request["equipment"]) == ("水泵房", "P-01")
    decided = ok(
        desk.sup.post(
            f"/api/service-desk/requests/{request['id']}/accept", json={"urgency": "minor"}
        )
    )
    assert decided["status"] == "accepted"


@pytest.mark.parametrize(
    ("fields", "status", "field", "needle"),
    [
        ({"description": "   "}, 422, "description", "must not be blank"),
        ({"description": "\u200b\u200b"}, 422, "description", "must not be blank"),
        ({"description": "漏水\u202e"}, 422, "description", "U+202E"),
        ({"description": "x" * 2001}, 422, "description", ""),
        ({"caller_name": "王\x07"}, 422, "caller_name", "U+0007"),
        ({"caller_name": "王" * 101}, 422, "caller_name", ""),
        ({"location": "x" * 201}, 422, "location", ""),
        ({"phone": "1" * 33}, 422, "phone", ""),
        ({"caller_name": "   "}, 422, "caller_name", "must not be blank"),
        ({"location": "3栋\n502"}, 422, "location", "U+000A"),
        ({"location": ""}, 422, "location", "request point"),
        ({"phone": "call me"}, 422, "phone", ""),
        ({"channel": "qr"}, 422, "channel", ""),
        ({"category": "plumbing"}, 422, "category", ""),
        ({"point_id": 999}, 422, "point_id", "does not exist"),
        ({"equipment": "NOPE"}, 422, "equipment", "NOPE"),
        ({"site": "elsewhere"}, 404, "", ""),
    ],
)
def test_bad_desk_requests_are_refused_naming_the_field(
    desk: Desk, fields: dict[str, Any], status: int, field: str, needle: str
) -> None:
    resp = desk.sup.post("/api/service-desk/requests", json={**PHONE_CALL, **fields})
    problem = assert_problem(resp, status, needle)
    if field:
        assert any(field in e["name"] for e in problem["errors"]), problem
    assert queue(desk) == []


def test_the_queue_shows_sla_clocks_and_filters_by_status(desk: Desk) -> None:
    urgent, minor, late = (logged(desk)["request"]["id"] for _ in range(3))
    for rid, urgency in ((urgent, "emergency"), (minor, "minor")):
        ok(
            desk.sup.post(
                f"/api/service-desk/requests/{rid}/accept",
                json={"urgency": urgency, "equipment": "P-01"},
            )
        )
    desk.advance(40)
    accepted = queue(desk, "accepted")
    assert [q["id"] for q in accepted] == [urgent, minor]  # oldest first
    first, second = accepted
    assert first["urgency"] == "emergency" and first["order_status"] == "open"
    assert first["response_left_min"] == 30 - 40  # P1: 30 min to respond, 10 overdue
    assert second["urgency"] == "minor" and second["response_left_min"] > 0
    assert first["resolution_left_min"] < second["resolution_left_min"]
    waiting = queue(desk)
    assert [(q["id"], q["age_min"], q["response_due"]) for q in waiting] == [(late, 40, None)]
    assert_problem(desk.sup.get("/api/service-desk/requests?status=bogus"), 422, "status")


def test_a_duplicate_is_merged_and_follows_its_primary(desk: Desk) -> None:
    first = logged(desk)
    second = logged(desk, caller_name="李先生", phone="13900139000")
    a, b = first["request"]["id"], second["request"]["id"]
    merged = ok(desk.sup.post(f"/api/service-desk/requests/{b}/merge", json={"primary_id": a}))
    assert merged["status"] == "merged"
    assert [q["id"] for q in queue(desk)] == [a]
    shown = queue(desk, "merged")[0]
    assert (shown["merged_into"], shown["merged_into_number"]) == (a, f"R-{a:06d}")
    status = desk.status(second["status_token"])
    assert (status["state"], status["merged_into"]) == ("received", f"R-{a:06d}")

    decided = ok(
        desk.sup.post(
            f"/api/service-desk/requests/{a}/accept",
            json={"urgency": "emergency", "equipment": "P-01"},
        )
    )
    oid = decided["work_order_id"]
    ok(desk.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
    assert desk.status(second["status_token"])["state"] == "in_progress"
    ok(desk.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "fixed"}))
    follower = desk.status(second["status_token"])
    assert follower["state"] == "done" and follower["can_rate"] is False  # only the primary's
    received = datetime.fromisoformat(follower["steps"][0]["at"])
    assert received == datetime.fromisoformat(second["request"]["created_at"])  # its own
    rate = desk.public.post(
        f"/api/public/requests/{second['status_token']}/rating", json={"rating": 5}
    )
    assert_problem(rate, 409, "cannot be rated")
    assert desk.status(first["status_token"])["can_rate"] is True
    with Session(desk.engine) as session:
        audited = session.scalars(
            select(AuditRow).where(
                AuditRow.target == f"public_request:{b}",
                AuditRow.action == "public_request.decision",
            )
        ).one()
        assert audited.detail == {"decision": "merge", "primary_id": a}
        assert audited.result == "ok"


def test_merges_that_would_lose_or_tangle_a_decision_are_refused(
    make_client: ClientFactory, db: Engine, tmp_path: Path
) -> None:
    desk = Desk(make_client, db, tmp_path / "files")
    a, b, c, d = (logged(desk)["request"]["id"] for _ in range(4))

    def merge(dup: int, primary: int) -> Any:
        return desk.sup.post(
            f"/api/service-desk/requests/{dup}/merge", json={"primary_id": primary}
        )

    assert_problem(merge(a, a), 422, "into itself")
    ok(merge(b, a))
    assert_problem(merge(a, b), 409, "cannot take duplicates")  # no cycle: b is merged
    assert_problem(merge(b, c), 409, "already decided")  # a merge is final
    assert_problem(merge(c, b), 409, "cannot take duplicates")  # no chain
    ok(desk.sup.post(f"/api/service-desk/requests/{d}/decline", json={"reason": "户内"}))
    assert_problem(merge(d, a), 409, "already decided")
    assert_problem(merge(c, d), 409, "cannot take duplicates")
    ok(
        desk.sup.post(
            f"/api/service-desk/requests/{a}/accept", json={"urgency": "minor", "equipment": "P-01"}
        )
    )
    assert_problem(merge(a, c), 409, "already decided")  # an accepted one is never a duplicate
    ok(merge(c, a))  # an accepted primary takes duplicates
    assert_problem(merge(c, 99999), 404, "does not exist")
    outsider = make_client(desk.engine, clock=desk.clock, user="outsider")
    assert_problem(
        outsider.post(f"/api/service-desk/requests/{c}/merge", json={"primary_id": a}), 404
    )
    assert_problem(
        desk.tech.post(f"/api/service-desk/requests/{c}/merge", json={"primary_id": a}), 403
    )
    with Session(db) as session:
        rows = {
            r.id: (r.status, r.merged_into_id) for r in session.scalars(select(PublicRequestRow))
        }
    assert rows == {
        a: ("accepted", None),
        b: ("merged", a),
        c: ("merged", a),
        d: ("declined", None),
    }


def test_merging_a_primary_moves_its_duplicates_along(desk: Desk) -> None:
    taken = [logged(desk) for _ in range(3)]
    a, b, c = (t["request"]["id"] for t in taken)
    ok(desk.sup.post(f"/api/service-desk/requests/{b}/merge", json={"primary_id": a}))
    ok(desk.sup.post(f"/api/service-desk/requests/{a}/merge", json={"primary_id": c}))
    merged = {q["id"]: q["merged_into"] for q in queue(desk, "merged")}
    assert merged == {a: c, b: c}  # flat: b follows c, not a merged a
    assert desk.status(taken[1]["status_token"])["merged_into"] == f"R-{c:06d}"
    assert [q["id"] for q in queue(desk)] == [c]


def test_another_sites_primary_is_unknown(desk: Desk, make_client: ClientFactory) -> None:
    mine = logged(desk)["request"]["id"]
    with Session(desk.engine) as session:  # a request of a site the supervisor does not see
        row = session.get(PublicRequestRow, mine)
        assert row is not None
        other = PublicRequestRow(
            site="north",
            status="new",
            channel="phone",
            category="water",
            location="x",
            description="x",
            language="en",
            status_token_sha256="0" * 64,
            created_at=NOW,
        )
        session.add(other)
        session.commit()
        other_id = other.id
    resp = desk.sup.post(f"/api/service-desk/requests/{mine}/merge", json={"primary_id": other_id})
    assert_problem(resp, 404, "does not exist")
    admin = make_client(desk.engine, clock=desk.clock, user="admin")
    resp = admin.post(f"/api/service-desk/requests/{mine}/merge", json={"primary_id": other_id})
    assert_problem(resp, 422, "same site")


def incident_order(db: Engine, equipment: str = "P-01", status: str = "open") -> int:
    """An alarm incident's open reactive order, as the incident handler leaves it."""
    with Session(db) as session:
        order = WorkOrderRow(
            site="demo",
            equipment=equipment,
            kind="reactive",
            status=status,
            priority=1,
            title="entrapment",
            description="",
            family="entrapment",
            incident_key=f"demo/{equipment}/entrapment",
            created_at=NOW,
            updated_at=NOW,
            response_due=NOW + timedelta(minutes=30),
            resolution_due=NOW + timedelta(hours=4),
            stage="mid",
            stage_reason="",
            stage_detail={},
        )
        session.add(order)
        session.commit()
        return order.id


def test_the_same_problem_as_an_alarm_incident_joins_its_order(desk: Desk) -> None:
    oid = incident_order(desk.engine)
    taken = logged(desk, equipment="P-01", category="elevator")
    rid = taken["request"]["id"]
    plain = logged(desk)["request"]["id"]  # no equipment: no incident to offer
    shown = {q["id"]: q["incident_orders"] for q in queue(desk)}
    assert shown == {rid: [oid], plain: []}
    assert_problem(
        desk.sup.post(f"/api/service-desk/requests/{plain}/link", json={"work_order_id": oid}),
        422,
        "not an open alarm-incident order",
    )
    linked = ok(
        desk.sup.post(f"/api/service-desk/requests/{rid}/link", json={"work_order_id": oid})
    )
    assert (linked["status"], linked["work_order_id"]) == ("accepted", oid)
    with Session(desk.engine) as session:
        assert session.scalar(select(WorkOrderRow.id).where(WorkOrderRow.id != oid)) is None
        notes = session.scalars(
            select(WorkOrderEventRow).where(WorkOrderEventRow.work_order_id == oid)
        ).all()
        assert any(
            (n.message or {}).get("params", {}).get("number") == f"R-{rid:06d}" for n in notes
        )
    assert desk.status(taken["status_token"])["state"] == "accepted"
    again = desk.sup.post(f"/api/service-desk/requests/{rid}/link", json={"work_order_id": oid})
    assert_problem(again, 409, "already decided")
    accepted = queue(desk, "accepted")[0]
    assert (accepted["work_order_id"], accepted["urgency"]) == (oid, "emergency")


def test_a_finished_incident_order_cannot_be_joined(desk: Desk) -> None:
    oid = incident_order(desk.engine, status="resolved")
    rid = logged(desk, equipment="P-01")["request"]["id"]
    assert queue(desk)[0]["incident_orders"] == []
    resp = desk.sup.post(f"/api/service-desk/requests/{rid}/link", json={"work_order_id": oid})
    assert_problem(resp, 422, "not an open alarm-incident order")


def entrapment_alarm(engine: Engine) -> int:
    """The elevator's entrapment alarm activates: the incident handler opens its order."""
    event = AlarmEvent(
        event_id=str(uuid.uuid4()),
        alarm_id=str(uuid.uuid4()),
        site="demo",
        building="B1",
        equipment="E-01",
        equipment_type="elevator",
        rule="elevator.entrapment",
        fault_code="ELEV_ENTRAPMENT_BETWEEN_FLOORS",
        family="entrapment",
        severity=Severity.CRITICAL,
        priority=1,
        transition="activate",
        state=AlarmState.ACTIVE_UNACK,
        previous_state=AlarmState.NORMAL,
        at=NOW,
        value=1.0,
        message="passengers trapped between floors",
        maintenance=MaintenanceAction.REACTIVE,
    )
    outcome = process_event(session_factory(engine), event)
    assert outcome.work_order_id is not None
    return outcome.work_order_id


def test_an_owner_reporting_a_stuck_elevator_during_its_entrapment_alarm(desk: Desk) -> None:
    oid = entrapment_alarm(desk.engine)
    code = desk.point(equipment="E-01", label="2号楼 电梯")
    token = ok(desk.send(code, category="elevator", description="电梯困人"))["status_token"]
    waiting = queue(desk)[0]
    assert (waiting["equipment"], waiting["incident_orders"]) == ("E-01", [oid])
    linked = ok(
        desk.sup.post(
            f"/api/service-desk/requests/{waiting['id']}/link", json={"work_order_id": oid}
        )
    )
    assert linked["work_order_id"] == oid
    with Session(desk.engine) as session:
        assert session.scalar(select(func.count()).select_from(WorkOrderRow)) == 1  # no second
    assert desk.status(token)["state"] == "accepted"
    ok(desk.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
    assert desk.status(token)["state"] == "in_progress"  # the owner follows the alarm's order


def test_the_desk_names_the_equipment_of_a_floor_request_and_sees_the_alarm(desk: Desk) -> None:
    oid = entrapment_alarm(desk.engine)
    code = desk.point(equipment=None, label="2号楼 3层")
    ok(desk.send(code, category="elevator", description="电梯停在两层之间"))
    waiting = queue(desk)[0]
    assert (waiting["equipment"], waiting["incident_orders"]) == (None, [])
    path = f"/api/service-desk/requests/{waiting['id']}/equipment"
    assert_problem(desk.sup.post(path, json={"equipment": "NOPE"}), 422, "NOPE")
    assert_problem(desk.tech.post(path, json={"equipment": "E-01"}), 403)
    named = ok(desk.sup.post(path, json={"equipment": "E-01"}))
    assert (named["equipment"], named["incident_orders"]) == ("E-01", [oid])
    ok(
        desk.sup.post(
            f"/api/service-desk/requests/{waiting['id']}/link", json={"work_order_id": oid}
        )
    )
    assert_problem(desk.sup.post(path, json={"equipment": "P-01"}), 409, "already decided")
