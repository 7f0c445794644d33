"""The follow-ups (回访) the desk owes: every resolved repair is listed until its follow-up is
recorded, oldest first, with its due time in the site's zone and the callers to ring back;
the recorded follow-ups count in 回访率 and 满意率 of the site's month (KPIs page and the
monthly report), on the real databases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from bldgwatch.console.config import ConsoleConfig
from tests.console.conftest import ClientFactory
from tests.console.support import assert_problem
from tests.console.test_desk_queue import PHONE_CALL, incident_order
from tests.console.test_public_requests import Desk, ok


@pytest.fixture
def desk(make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path) -> Desk:
    return Desk(make_client, sqlite_db, tmp_path / "files")


def due(desk: Desk, client: Any = None, **params: Any) -> list[dict[str, Any]]:
    found = ok((client or desk.sup).get("/api/service-desk/follow-ups", params=params))
    items: list[dict[str, Any]] = found["items"]
    assert found["total"] == len(items)
    return items


def resolve(desk: Desk, oid: int) -> None:
    ok(desk.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "fixed"}))


def test_resolved_repairs_wait_for_their_follow_up(desk: Desk) -> None:
    first = ok(desk.sup.post("/api/service-desk/requests", json=PHONE_CALL))
    second = ok(
        desk.sup.post(
            "/api/service-desk/requests",
            json={**PHONE_CALL, "caller_name": "李先生", "phone": "13900139000"},
        )
    )
    a, b = first["request"]["id"], second["request"]["id"]
    ok(desk.sup.post(f"/api/service-desk/requests/{b}/merge", json={"primary_id": a}))
    accepted = ok(
        desk.sup.post(
            f"/api/service-desk/requests/{a}/accept", json={"urgency": "minor", "equipment": "P-01"}
        )
    )
    oid = accepted["work_order_id"]
    incident = incident_order(desk.engine, equipment="P-02")
    assert due(desk) == []
    resolve(desk, incident)
    desk.advance(60)
    resolve(desk, oid)
    desk.advance(60 * 71 + 1)
    listed = due(desk)
    assert [f["order_id"] for f in listed] == [incident, oid]  # oldest resolution first
    reactive, request = listed
    assert (reactive["kind"], reactive["callers"], reactive["overdue"]) == ("reactive", [], True)
    assert (request["kind"], request["age_h"], request["overdue"]) == ("request", 71, False)
    # NOW is 10:00 in Shanghai; resolved an hour later, due 72 h after that
    assert request["resolved_local"] == "2026-03-20 11:00 GMT+08:00"
    assert request["due_local"] == "2026-03-23 11:00 GMT+08:00"
    assert [(c["number"], c["name"], c["phone"], c["can_rate"]) for c in request["callers"]] == [
        (f"R-{a:06d}", "王女士", "138 0013 8000", True),
        (f"R-{b:06d}", "李先生", "13900139000", False),  # merged: follows, never rates
    ]
    assert_problem(desk.tech.get("/api/service-desk/follow-ups"), 403)
    assert due(desk, site="demo") == listed
    assert_problem(desk.sup.get("/api/service-desk/follow-ups", params={"site": "north"}), 404)

    body = {"outcome": "satisfied", "satisfaction": 4, "note": "已回访"}
    ok(desk.sup.post(f"/api/work-orders/{oid}/follow-up", json=body))
    assert [f["order_id"] for f in due(desk)] == [incident]
    status = desk.status(first["status_token"])
    assert status["can_rate"] is False  # the call was its 回访

    figures = ok(desk.sup.get("/api/kpis/maintenance", params={"site": "demo", "month": "2026-03"}))
    assert (figures["figures"]["follow_up_rate"], figures["figures"]["satisfaction_score"]) == (
        0.5,
        4.0,
    )  # one of the month's two resolved repairs followed up, scored 4
    page = desk.sup.get("/api/reports/demo/2026-03.html", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200, page.text
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert re.search(r"回访率\s+50(\.0)?\s*%", text), text[:3000]


def test_an_outsider_sees_no_follow_ups_of_other_sites(
    desk: Desk, make_client: ClientFactory
) -> None:
    oid = incident_order(desk.engine)
    resolve(desk, oid)
    outsider = make_client(desk.engine, clock=desk.clock, user="outsider")
    assert due(desk, outsider) == []
    assert [f["order_id"] for f in due(desk)] == [oid]


@pytest.mark.parametrize("hours", [0, -1, 721, "soon"])
def test_a_bad_follow_up_window_is_refused_naming_it(hours: Any) -> None:
    with pytest.raises(ValidationError, match="follow_up_within_hours"):
        ConsoleConfig.model_validate({"service_desk": {"follow_up_within_hours": hours}})
