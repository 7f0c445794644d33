"""A site's figures through the API: budgets and targets set by a supervisor with history,
KPIs per site and building in the site's months with their range (no figures before the
site existed), the trend for charts, the monthly report at its stable URL in zh-CN and en
(HTML and PDF), and the equipment history file (JSON, CSV, PDF)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from bldgwatch.core.db import session_factory
from bldgwatch.core.site import BuildingSpec, EquipmentSpec, SiteSpec
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import RosterSettings, Technician
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.partslist import save_part
from bldgwatch.maintenance.worklog import Completion, PartUse, RepairClass, WorkDone
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, alarm
from tests.console.support import assert_problem
from tests.maintenance.desks import seeded_desk
from tests.tools import require_binary

TZ = "Asia/Shanghai"
REGISTERED = datetime(2026, 2, 10, 4, tzinfo=UTC)  # 10 Feb, noon in Shanghai
NOW = datetime(2026, 4, 15, 2, tzinfo=UTC)
SITE = SiteSpec(
    site="demo",
    name="Demo Plaza",
    timezone=TZ,
    buildings=[BuildingSpec(id="B1", name="Tower"), BuildingSpec(id="B2", name="Annex")],
    equipment=[
        EquipmentSpec(id="P-01", type="pump", building="B1", name="Water pump 1"),
        EquipmentSpec(id="E-01", type="elevator", building="B2"),
    ],
)


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    sessions = session_factory(sqlite_db)
    with sessions() as s:
        import_site(s, SITE, at=REGISTERED)
        save_part(s, part_no="6205-2RS", name="轴承", unit="pc", unit_cost=45.5, actor="s", at=NOW)
        s.commit()
    tech = Technician(id="tech", sites=["demo"], skills=["mechanical"])
    desk = seeded_desk(sessions, RosterSettings(technicians=[tech]))
    t = datetime(2026, 3, 3, 1, tzinfo=UTC)  # 3 March, 09:00 in Shanghai
    order = desk.request(
        site="demo", equipment="P-01", title="水泵异响", at=t, actor="desk", priority=3
    )
    desk.assign(order.id, at=t + timedelta(hours=1), actor="sup", technician="tech")
    desk.move(order.id, S.IN_PROGRESS, at=t + timedelta(hours=2), actor="tech")
    work = WorkDone(hours=2, rate=80, parts=(PartUse("6205-2RS", 2),))
    done = Completion(RepairClass.MEDIUM, "bearing worn", downtime_h=3, cause_code="wear")
    desk.resolve(
        order.id, "更换轴承", at=t + timedelta(hours=4), actor="tech", work=work, completion=done
    )
    add(sqlite_db, alarm("a1", 0, raised_at=t - timedelta(minutes=5)))
    return make_client(sqlite_db, clock=ManualClock(NOW), user="supervisor")


def test_budgets_and_targets_with_history(client: TestClient) -> None:
    for amount in (300.0, 400.0):
        resp = client.post(
            "/api/budgets/demo", json={"period": "2026-03", "category": "parts", "amount": amount}
        )
        assert resp.status_code == 201, resp.text
    client.post("/api/budgets/demo", json={"period": "2026", "category": "labour", "amount": 1200})
    budgets = client.get("/api/budgets/demo?year=2026").json()
    assert [(b["period"], b["category"], b["amount"]) for b in budgets["in_force"]] == [
        ("2026", "labour", 1200.0),
        ("2026-03", "parts", 400.0),
    ]
    assert [b["amount"] for b in budgets["history"]] == [1200.0, 400.0, 300.0]
    tech = auth_headers(client, "tech")
    assert_problem(
        client.post(
            "/api/budgets/demo",
            json={"period": "2026", "category": "parts", "amount": 1},
            headers=tech,
        ),
        403,
        "needs one of the roles",
    )
    assert_problem(
        client.post(
            "/api/budgets/demo",
            json={"building": "ZZ", "period": "2026", "category": "parts", "amount": 1},
        ),
        422,
        "building",
    )
    wide = {"period": "２０２６-12", "category": "parts", "amount": 1}  # full-width: 19c-s M3
    assert_problem(client.post("/api/budgets/demo", json=wide), 422, "period")
    put = client.put("/api/kpi-targets/demo?lang=zh-CN", json={"targets": {"good_condition": 0.97}})
    assert put.status_code == 200, put.text
    named = {t["kpi"]: t for t in put.json()["targets"]}
    assert (
        named["good_condition"]["target"] == 0.97
        and named["good_condition"]["name"] == "设备完好率"
    )
    assert named["emergency_timeliness"]["target"] == 0.92  # the default
    assert_problem(client.put("/api/kpi-targets/demo", json={"targets": {"x": 1}}), 422, "kpi")
    # the month's KPIs use both: cost 2 h × 80 + 2 × 45.5 = 251 against 400 + 1200 / 12
    kpis = client.get("/api/kpis/maintenance?site=demo&month=2026-03&lang=en").json()
    assert kpis["figures"]["cost"] == 251.0 and kpis["figures"]["budget"] == 500.0
    by_kpi = {k["kpi"]: k for k in kpis["kpis"]}
    assert by_kpi["good_condition"]["target"] == 0.97
    assert by_kpi["cost_vs_budget"]["met"] is True
    assert by_kpi["minor_timeliness"]["name"] == "Minor repairs on time"


def test_kpis_per_site_and_building_in_the_sites_months(client: TestClient) -> None:
    site = client.get("/api/kpis/maintenance?site=demo&month=2026-03&lang=zh-CN").json()
    assert site["timezone"] == TZ and site["range"] == {
        "first": "2026-02",
        "last": "2026-04",
        "timezone": TZ,
    }
    assert site["start"] == "2026-02-28T16:00:00Z"  # 1 March in Shanghai
    assert site["per_day"] == [{"day": "2026-03-03", "count": 1}]
    assert site["figures"]["units"] == 2
    # one request, one unit-day out of 2 units × 31 days
    assert site["figures"]["good_condition"] == round(1 - 1 / 62, 4)
    names = [k["name"] for k in site["kpis"]]
    assert {"设备完好率", "急修及时率", "零修及时率", "零修合格率", "回访率"} <= set(names)
    annex = client.get("/api/kpis/maintenance?site=demo&month=2026-03&building=B2").json()
    assert (annex["figures"]["units"], annex["figures"]["good_condition"]) == (1, 1.0)
    assert annex["figures"]["cost"] == 0.0
    february = client.get("/api/kpis/maintenance?site=demo&month=2026-02").json()
    assert february["start"] == "2026-02-10T04:00:00Z"  # from its registration on
    assert_problem(client.get("/api/kpis/maintenance?site=demo&month=2026-01"), 404, "2026-02")
    assert_problem(client.get("/api/kpis/maintenance?site=demo&month=2026-05"), 404, "2026-04")
    assert_problem(client.get("/api/kpis/maintenance?site=demo&building=ZZ"), 404, "ZZ")
    trend = client.get("/api/kpis/maintenance/trend?site=demo&months=12").json()
    assert [m["month"] for m in trend["months"]] == ["2026-02", "2026-03", "2026-04"]


def test_monthly_report_at_its_stable_url(client: TestClient) -> None:
    zh = client.get("/api/reports/demo/2026-03.html?lang=zh-CN")
    assert zh.status_code == 200 and zh.headers["content-type"].startswith("text/html")
    assert "Demo Plaza 设备维护月报（2026年3月）" in zh.text and "设备完好率" in zh.text
    assert "水泵异响" in zh.text and "中修" in zh.text and "251.00" in zh.text
    en = client.get("/api/reports/demo/2026-03?lang=en").text
    assert "Maintenance report March 2026 — Demo Plaza" in en and "medium repair" in en
    assert_problem(client.get("/api/reports/demo/2026-01.html"), 404, "2026-02")
    assert_problem(client.get("/api/reports/demo/2026-03.doc"), 422, "month")
    require_binary("chromium")
    pdf = client.get("/api/reports/demo/2026-03.pdf?lang=zh-CN")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]


def test_equipment_history_file(client: TestClient) -> None:
    body = client.get("/api/equipment/demo/P-01/history?lang=zh-CN").json()
    assert body["equipment"]["id"] == "P-01" and body["timezone"] == TZ
    [order] = body["work_orders"]
    assert order["title"] == "水泵异响"
    assert body["totals"] == {
        "orders": 1,
        "alarms": 1,
        "labour_hours": 2.0,
        "labour_cost": 160.0,
        "parts_cost": 91.0,
        "contractor_cost": 0.0,
        "cost": 251.0,
        "downtime_h": 3.0,
    }
    assert body["repair_classes"] == {"medium": 1}
    assert [a["fault"] for a in body["alarms"]] == ["轴承温度高"]
    assert body["stage"]["stage"] in ("early", "mid", "late") and body["stage"]["reason"]
    assert len(body["trend"]) == 4
    english_csv = body["exports"]["csv"].replace("lang=zh-CN", "lang=en")  # codes as headers
    rows = list(csv.DictReader(io.StringIO(client.get(english_csv).text.lstrip("\ufeff"))))
    assert [r["kind"] for r in rows] == ["alarm", "order", "part", "labour"]
    assert rows[2]["amount"] == "91.0" and rows[1]["at"].endswith("+08:00")
    outsider = auth_headers(client, "outsider")
    assert_problem(
        client.get("/api/equipment/demo/P-01/history.csv", headers=outsider), 404, "P-01"
    )
    require_binary("chromium")
    pdf = client.get(body["exports"]["pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
