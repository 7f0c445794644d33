"""Contractors (维保单位) through the API: register one and its contracts, refused input as
422 naming the field (blank, hidden characters, spans, overlaps, unknown site or class), and
the dispatch of a work order to the contractor whose contract covers it on the site's day,
with its clocks restarted from the contract's SLAs; refusals (no, expired, another site's
contract) as 409, another site's order as 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.models import AuditRow
from bldgwatch.console.schemas_contractors import EquipmentType
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.site import EQUIPMENT_TYPES
from bldgwatch.maintenance.models import WorkOrderEventRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, work_order
from tests.console.support import assert_problem

# 2026-03-31 23:30 at the site (Asia/Shanghai): the last evening of March there.
NOW = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
LIFTCO: dict[str, Any] = {
    "name": "上海某电梯工程有限公司",
    "licence": "TS3131001-2027",
    "contact": "王工",
    "phone": "021-5555 0101",
    "on_call": "400 820 0101",
}
LIFTS: dict[str, Any] = {
    "site": "demo",
    "equipment_type": "elevator",
    "scope": "半月维保（TSG T5002）、急修",
    "valid_from": "2026-01-01",
    "valid_to": "2026-03-31",
    "response_min": 30,
    "resolution_h": 24,
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    add(sqlite_db, *assets(), work_order(0, equipment="E-01"), work_order(1))
    add(sqlite_db, work_order(2, site="north", equipment="P-01"))
    return make_client(sqlite_db, clock=clock, user="supervisor")


def _register(client: TestClient) -> None:
    made = client.put("/api/contractors/liftco", json=LIFTCO)
    assert made.status_code == 200, made.text
    contract = client.post("/api/contractors/liftco/contracts", json=LIFTS)
    assert contract.status_code == 201, contract.text


def test_a_contractor_and_its_contract_are_listed_with_the_sites_zone(client: TestClient) -> None:
    _register(client)
    listed = client.get("/api/contractors").json()
    assert [c["id"] for c in listed] == ["liftco"]
    assert listed[0]["on_call"] == "400 820 0101" and listed[0]["licence"] == "TS3131001-2027"
    (contract,) = listed[0]["contracts"]
    assert contract["equipment_type"] == "elevator" and contract["response_min"] == 30
    assert contract["timezone"] == "Asia/Shanghai" and contract["valid_to"] == "2026-03-31"
    # Full-width digits from a Chinese IME are the same number (review 18e L6).
    wide = client.put(
        "/api/contractors/liftco", json={**LIFTCO, "on_call": "４００ ８２０ ０１０１"}
    )
    assert wide.status_code == 200 and wide.json()["on_call"] == "400 820 0101", wide.text
    # Updating keeps one contractor.
    again = client.put("/api/contractors/liftco", json={**LIFTCO, "contact": "李工"})
    assert again.json()["contact"] == "李工"
    assert len(client.get("/api/contractors").json()) == 1


def test_a_supervisor_of_another_site_neither_sees_nor_rewrites_a_contractor(
    client: TestClient,
) -> None:
    """Its on-call number is what a site rings when people are trapped in a lift: a supervisor
    of north only may not rename liftco (demo's) nor change that number (review 18e H2)."""
    _register(client)
    outsider = auth_headers(client, "outsider")
    assert client.get("/api/contractors", headers=outsider).json() == []
    evil = {**LIFTCO, "name": "Evil Lifts", "on_call": "400 000 0000"}
    assert_problem(client.put("/api/contractors/liftco", json=evil, headers=outsider), 404)
    assert client.get("/api/contractors").json()[0]["name"] == LIFTCO["name"]
    # Once liftco also serves north, north's supervisor sees it but still may not change
    # what demo rings: only an admin or a supervisor of both.
    north = {**LIFTS, "site": "north"}
    assert (
        client.post("/api/contractors/liftco/contracts", json=north, headers=outsider).status_code
        == 201
    )
    assert [c["id"] for c in client.get("/api/contractors", headers=outsider).json()] == ["liftco"]
    refused = client.put("/api/contractors/liftco", json=evil, headers=outsider)
    assert_problem(refused, 403, "also serves demo")
    admin = auth_headers(client, "admin")
    assert client.put("/api/contractors/liftco", json=evil, headers=admin).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "Lift\u202eCo"}, "name"),
        ({"contact": "王\x1b工"}, "contact"),
        ({"licence": "\u200b"}, "licence"),
        ({"phone": "call me"}, "phone"),
        ({"on_call": "12"}, "on_call"),
    ],
)
def test_a_contractor_that_cannot_be_stored_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    resp = client.put("/api/contractors/liftco", json={**LIFTCO, **change})
    body = assert_problem(resp, 422)
    assert body["errors"][0]["name"] == field, body
    assert client.get("/api/contractors").json() == []


def test_a_bad_contractor_id_is_422(client: TestClient) -> None:
    body = assert_problem(client.put("/api/contractors/Lift%20Co", json=LIFTCO), 422)
    assert body["errors"][0]["name"] == "contractor_id"


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"valid_to": "2025-12-31"}, "valid_to", "cannot end before it starts"),
        ({"scope": " \t"}, "scope", "blank"),
        ({"scope": "a\x07b"}, "scope", "U+0007"),
    ],
)
def test_a_contract_that_cannot_be_stored_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, needle: str
) -> None:
    _register(client)
    admin = auth_headers(client, "admin")  # sees every site: an unknown one is 422, not 404
    resp = client.post("/api/contractors/liftco/contracts", json={**LIFTS, **change}, headers=admin)
    body = assert_problem(resp, 422, needle)
    assert body["errors"][0]["name"] == field, body
    assert len(client.get("/api/contractors").json()[0]["contracts"]) == 1


def test_an_overlapping_contract_is_409_in_both_languages(client: TestClient) -> None:
    """Contracts of a site and class never overlap: at most one covers an order's day."""
    _register(client)
    later = {**LIFTS, "valid_from": "2026-03-31", "valid_to": "2026-04-30"}
    resp = client.post("/api/contractors/liftco/contracts", json=later)
    assert_problem(resp, 409, "overlaps contract 1 of liftco")
    resp = client.post(
        "/api/contractors/liftco/contracts",
        json={**LIFTS, "valid_from": "2025-02-01", "valid_to": "2026-01-01"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert_problem(resp, 409, "时间重叠")
    # The day after it ends is free; another class of the same site is free too.
    assert (
        client.post(
            "/api/contractors/liftco/contracts",
            json={**LIFTS, "valid_from": "2026-04-01", "valid_to": "2026-12-31"},
        ).status_code
        == 201
    )
    pumps = {**LIFTS, "equipment_type": "pump"}
    assert client.post("/api/contractors/liftco/contracts", json=pumps).status_code == 201


def test_an_unknown_site_or_class_is_refused(client: TestClient) -> None:
    _register(client)
    admin = auth_headers(client, "admin")
    resp = client.post(
        "/api/contractors/liftco/contracts", json={**LIFTS, "site": "nowhere"}, headers=admin
    )
    assert_problem(resp, 404, "nowhere")
    resp = client.post(
        "/api/contractors/liftco/contracts", json={**LIFTS, "equipment_type": "boiler"}
    )
    body = assert_problem(resp, 422)
    assert body["errors"][0]["name"] == "equipment_type"


def test_the_schemas_classes_are_the_registers() -> None:
    assert get_args(EquipmentType) == EQUIPMENT_TYPES


def test_a_contract_of_an_unknown_contractor_is_404_and_another_sites_too(
    client: TestClient,
) -> None:
    assert_problem(client.post("/api/contractors/ghost/contracts", json=LIFTS), 404, "ghost")
    client.put("/api/contractors/liftco", json=LIFTCO)
    outsider = auth_headers(client, "outsider")  # supervisor of north only
    resp = client.post("/api/contractors/liftco/contracts", json=LIFTS, headers=outsider)
    assert_problem(resp, 404)
    # The outsider sees the contractor, not the demo site's contract.
    seen = client.get("/api/contractors", headers=outsider).json()
    assert seen[0]["contracts"] == []


def test_technicians_and_engineers_manage_no_contractors(client: TestClient) -> None:
    for user in ("tech", "engineer", "viewer"):
        headers = auth_headers(client, user)
        assert_problem(client.get("/api/contractors", headers=headers), 403)
        assert_problem(client.put("/api/contractors/x", json=LIFTCO, headers=headers), 403)


def test_dispatch_records_the_contractor_and_restarts_the_clocks(
    client: TestClient, sqlite_db: Engine
) -> None:
    _register(client)
    resp = client.post("/api/work-orders/1/dispatch", json={})
    assert resp.status_code == 200, resp.text
    order = resp.json()
    assert order["contractor"] == "liftco" and order["status"] == "assigned"
    assert order["assigned_to"] == "liftco"
    assert order["contractor_name"] == LIFTCO["name"]  # the page names the company, not its id
    assert client.get("/api/work-orders/2").json()["contractor_name"] is None
    assert order["dispatched_at"].startswith("2026-03-31T15:30")
    # The contract's clocks, from the dispatch: 30 min and 24 h.
    assert order["response_due"].startswith("2026-03-31T16:00")
    assert order["resolution_due"].startswith("2026-04-01T15:30")
    notes = [e for e in order["events"] if e["kind"] == "dispatch"]
    assert notes and "liftco" in notes[0]["text"] and "维保单位" in notes[0]["text"]
    en = client.get("/api/work-orders/1", headers={"Accept-Language": "en"}).json()
    assert any("respond within 30 min" in e["text"] for e in en["events"])
    with Session(sqlite_db) as session:
        audit = session.scalars(
            select(AuditRow).where(AuditRow.action == "work_order.dispatch")
        ).one()
        assert (audit.result, audit.target, audit.actor) == ("ok", "work_order:1", "supervisor")
        kinds = session.scalars(
            select(WorkOrderEventRow.kind).where(WorkOrderEventRow.work_order_id == 1)
        ).all()
        assert "dispatch" in kinds and "transition" in kinds


def test_dispatch_takes_an_order_over_from_the_technician_who_holds_it(
    client: TestClient, sqlite_db: Engine
) -> None:
    """An order a technician started, sent on to the lift company: the company holds it now,
    the technician can no longer move it, and the timeline says from whom (review 18e M1)."""
    _register(client)
    add(sqlite_db, work_order(5, equipment="E-01", status="in_progress", assigned_to="tech"))
    order = client.post("/api/work-orders/4/dispatch", json={}).json()
    assert (order["status"], order["assigned_to"]) == ("in_progress", "liftco"), order
    took = [e["text"] for e in order["events"] if e["kind"] == "dispatch"]
    assert any("tech" in t and "接手" in t for t in took), took
    tech = auth_headers(client, "tech")
    held = client.post("/api/work-orders/4/transition", json={"to": "on_hold"}, headers=tech)
    assert_problem(held, 403)


def test_contractor_ids_and_user_names_never_meet(client: TestClient) -> None:
    """Orders dispatched to a contractor are assigned to its id: a technician named like it
    would hold them all (review 18e L4)."""
    taken = client.put("/api/contractors/tech", json=LIFTCO)
    assert_problem(taken, 409, "console user")
    _register(client)
    admin = auth_headers(client, "admin")
    body = {"name": "LiftCo", "password": "a long enough pass phrase 42", "roles": ["technician"]}
    assert_problem(client.post("/api/users", json=body, headers=admin), 409, "contractor")


def test_a_contract_is_ended_early_or_voided_and_the_right_one_added(
    client: TestClient,
) -> None:
    """A wrong end date or a company dismissed mid-year no longer blocks the site and class
    (review 18e M2): a contract is shortened (never stretched), or voided by ending it the
    day before its first; then the right one fits."""
    _register(client)
    (first,) = client.get("/api/contractors").json()[0]["contracts"]
    end = f"/api/contractors/liftco/contracts/{first['id']}/end"
    assert_problem(client.post(end, json={"valid_to": "2026-04-30"}), 422, "only shortened")
    assert_problem(client.post(end, json={"valid_to": "2025-12-30"}), 422, "valid to")
    right = {**LIFTS, "valid_from": "2026-02-01", "valid_to": "2026-12-31", "response_min": 20}
    assert_problem(client.post("/api/contractors/liftco/contracts", json=right), 409)
    shortened = client.post(end, json={"valid_to": "2026-01-31"})
    assert shortened.status_code == 200, shortened.text
    assert client.post("/api/contractors/liftco/contracts", json=right).status_code == 201
    # The one from February is voided in turn; January's still covers January only.
    contracts = client.get("/api/contractors").json()[0]["contracts"]
    february = next(c for c in contracts if c["valid_from"] == "2026-02-01")
    void = f"/api/contractors/liftco/contracts/{february['id']}/end"
    assert client.post(void, json={"valid_to": "2026-01-31"}).status_code == 200
    assert_problem(client.post("/api/work-orders/1/dispatch", json={}), 409)  # 31 March
    again = {**right, "response_min": 15}
    assert client.post("/api/contractors/liftco/contracts", json=again).status_code == 201
    order = client.post("/api/work-orders/1/dispatch", json={}).json()
    assert order["response_due"].startswith("2026-03-31T15:45"), order
    # Another site's supervisor does not see it; a made-up one is not there.
    outsider = auth_headers(client, "outsider")
    assert_problem(client.post(end, json={"valid_to": "2026-01-15"}, headers=outsider), 404)
    assert_problem(
        client.post("/api/contractors/liftco/contracts/999/end", json={"valid_to": "2026-01-15"}),
        404,
    )


def test_dispatch_is_by_the_sites_day(client: TestClient, clock: ManualClock) -> None:
    """The contract ends on 2026-03-31 site time: 23:59 there is covered, 00:30 is not."""
    _register(client)
    clock.advance(timedelta(minutes=29))  # 23:59 in Shanghai
    client.headers.update(auth_headers(client, "supervisor"))
    assert client.post("/api/work-orders/1/dispatch", json={}).status_code == 200
    # The same contract no longer covers a new elevator order 31 minutes later (April 1 there).
    clock.advance(timedelta(minutes=31))
    client.headers.update(auth_headers(client, "supervisor"))
    made = client.post(
        "/api/work-orders", json={"site": "demo", "equipment": "E-01", "title": "door stuck"}
    )
    later = client.post(f"/api/work-orders/{made.json()['id']}/dispatch", json={})
    assert_problem(later, 409, "no contract covers", "2026-04-01")


def test_dispatch_without_a_covering_contract_is_409(client: TestClient) -> None:
    _register(client)
    # Order 2 is a pump's: the contract covers elevators only.
    assert_problem(client.post("/api/work-orders/2/dispatch", json={}), 409, "pump")
    resp = client.post("/api/work-orders/2/dispatch", json={}, headers={"Accept-Language": "zh-CN"})
    assert_problem(resp, 409, "没有合同覆盖")
    # Naming a contract that does not cover the order changes nothing.
    assert_problem(client.post("/api/work-orders/2/dispatch", json={"contract_id": 1}), 409)
    assert client.get("/api/work-orders/2").json()["contractor"] is None


def test_dispatch_to_an_expired_contract_is_409(client: TestClient) -> None:
    client.put("/api/contractors/liftco", json=LIFTCO)
    old = {**LIFTS, "valid_from": "2025-01-01", "valid_to": "2025-12-31"}
    assert client.post("/api/contractors/liftco/contracts", json=old).status_code == 201
    assert_problem(client.post("/api/work-orders/1/dispatch", json={}), 409, "2026-03-31")


def test_dispatch_across_sites_is_refused(client: TestClient) -> None:
    _register(client)
    # The demo contract does not cover the north site's order (the admin sees both).
    admin = auth_headers(client, "admin")
    assert_problem(client.post("/api/work-orders/3/dispatch", json={}, headers=admin), 409)
    # A supervisor of demo does not see north's order at all.
    assert_problem(client.post("/api/work-orders/3/dispatch", json={}), 404)
    assert_problem(client.post("/api/work-orders/99/dispatch", json={}), 404)


def test_a_finished_order_is_not_dispatched(client: TestClient) -> None:
    _register(client)
    cancelled = client.post("/api/work-orders/1/cancel", json={"reason": "duplicate"})
    assert cancelled.status_code == 200, cancelled.text
    assert_problem(client.post("/api/work-orders/1/dispatch", json={}), 409, "cancelled")
    # In Chinese the status is named in Chinese, not as the code (review 18e L8).
    zh = {"Accept-Language": "zh-CN"}
    assert_problem(client.post("/api/work-orders/1/dispatch", json={}, headers=zh), 409, "已取消")
    uncovered = client.post("/api/work-orders/2/dispatch", json={}, headers=zh)
    body = assert_problem(uncovered, 409, "设备类别 水泵")
    assert "pump" not in body["detail"], body


def test_only_supervisors_dispatch(client: TestClient) -> None:
    _register(client)
    for user in ("tech", "engineer", "viewer"):
        resp = client.post(
            "/api/work-orders/1/dispatch", json={}, headers=auth_headers(client, user)
        )
        assert_problem(resp, 403)
