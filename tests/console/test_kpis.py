"""KPI, stage-score, PM-plan and report endpoints: thin views over rules and maintenance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0, add, alarm, alarm_event, assets, work_order
from tests.console.support import assert_problem


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    add(
        sqlite_db,
        alarm("a1", 0, severity="critical"),
        alarm("a2", 60 * 24, severity="major"),
        alarm("n1", 10, site="north"),
    )
    add(
        sqlite_db,
        alarm_event("e1", "a1", 0, transition="activate", state="active_unack", previous="normal"),
        alarm_event(
            "e2", "a2", 1440, transition="activate", state="active_unack", previous="normal"
        ),
    )
    add(sqlite_db, work_order(0), work_order(30, kind="request"))
    return make_client(sqlite_db, clock=ManualClock(T0 + timedelta(days=2)), user="supervisor")


def test_alarm_kpis_of_a_site(client: TestClient) -> None:
    body = client.get("/api/kpis/alarms?site=demo").json()
    assert body["site"] == "demo"
    assert body["figures"]["activations"] == 2
    assert {"per_10min_mean", "per_10min_peak", "flood_share", "standing"} <= set(body["figures"])
    assert body["per_day"] == [
        {"day": "2026-03-01", "count": 1},
        {"day": "2026-03-02", "count": 1},
    ]
    assert body["by_severity"] == {"critical": 1, "major": 1}
    bad = client.get(
        "/api/kpis/alarms?site=demo&start=2026-03-05T00:00:00Z&end=2026-03-01T00:00:00Z"
    )
    assert_problem(bad, 400, "start must be before end")


def test_maintenance_kpis_scores_plans_and_report(client: TestClient) -> None:
    kpis = client.get("/api/kpis/maintenance?site=demo&month=2026-03").json()
    assert kpis["month"] == "2026-03" and kpis["figures"]["site"] == "demo"
    assert "availability" in kpis["figures"] and kpis["per_day"] == [
        {"day": "2026-03-01", "count": 2}
    ]
    assert_problem(client.get("/api/kpis/maintenance?site=demo&month=2026-13"), 422, "month")
    units = {k["kpi"]: k["unit"] for k in kpis["kpis"]}  # how the page shows each figure
    assert (units["rounds_late"], units["rounds_missed"], units["backlog"]) == ("count",) * 3
    assert (units["availability"], units["mttr_h"], units["cost"]) == ("share", "hours", "amount")
    scores = client.get("/api/kpis/scores?site=demo&limit=2").json()
    assert scores["total"] == 3 and len(scores["items"]) == 2
    assert all(s["stage"] in ("early", "mid", "late") and s["reason"] for s in scores["items"])
    plans = client.get("/api/pm-plans?site=demo").json()
    assert plans == {"items": [], "total": 0, "limit": 50, "offset": 0}
    report = client.get("/api/reports/demo/2026-03")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "Demo Plaza" in report.text and "<svg" in report.text
    assert_problem(client.get("/api/kpis/scores?site=nowhere"), 404, "site nowhere")


def test_site_scoping_applies(client: TestClient) -> None:
    headers = auth_headers(client, "engineer")  # site demo only
    assert_problem(client.get("/api/kpis/alarms?site=north", headers=headers), 404, "north")


def test_operator_view_covers_the_callers_sites_only(client: TestClient) -> None:
    mine = client.get("/api/kpis/alarms").json()  # the supervisor watches every site
    assert (mine["site"], mine["figures"]["activations"]) == ("operator", 2)
    outsider = client.get("/api/kpis/alarms", headers=auth_headers(client, "outsider")).json()
    assert (outsider["site"], outsider["figures"]["activations"]) == ("operator", 0)


def test_pm_plans_per_equipment_with_their_state(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    from bldgwatch.maintenance.config import PlanSettings
    from bldgwatch.maintenance.models import PlanStateRow
    from bldgwatch.maintenance.pm import register_plans

    add(sqlite_db, *assets())
    with Session(sqlite_db) as session:
        register_plans(session, PlanSettings(), T0)
        session.add(
            PlanStateRow(
                plan_id="elevator.half_monthly",
                site="demo",
                equipment="E-01",
                last_due=T0,
                last_step=None,
                updated_at=T0,
            )
        )
        session.commit()
    client = make_client(sqlite_db, clock=ManualClock(T0), user="supervisor")
    body = client.get("/api/pm-plans?site=demo").json()
    # demo has one elevator (4 calendar plans + the trips plan), one pump (run hours) and one
    # electrical-shaft panel (monthly and yearly).
    assert body["total"] == 8
    by_plan = {(i["equipment"], i["plan_id"]): i for i in body["items"]}
    half = by_plan[("E-01", "elevator.half_monthly")]
    assert (half["kind"], half["last_due"]) == ("calendar", "2026-03-01T08:00:00Z")
    assert half["tasks"]
    # the schedule in words, in the reader's language and the site's zone (19c-r M5)
    assert half["schedule"] == "every half month (every 15 days, 00:00 Asia/Shanghai)"
    assert half["next_due"] == "2026-03-01T16:00:00Z"  # 2 March 00:00 in Shanghai
    yearly = by_plan[("E-01", "elevator.yearly")]
    assert yearly["next_due"] == "2026-12-31T16:00:00Z" and yearly["zone"] == "Asia/Shanghai"
    assert len(yearly["tasks"]) == 17 + 15 + 13 + 31  # its visit includes the lower levels'
    assert by_plan[("P-01", "pump.run_hours")]["next_step_at"] == 2000
    zh_lift = client.get("/api/pm-plans?site=demo&equipment=E-01&lang=zh-CN").json()["items"]
    assert [(p["plan_id"], p["schedule"], p["includes"]) for p in zh_lift] == [
        ("elevator.half_monthly", "每半月（每 15 天，Asia/Shanghai 0 点）", []),
        (
            "elevator.half_yearly",
            "每年 1、7 月 1 日 00:00（Asia/Shanghai）",
            ["电梯季度维保", "电梯半月维保"],
        ),
        ("elevator.quarterly", "每年 1、4、7、10 月 1 日 00:00（Asia/Shanghai）", ["电梯半月维保"]),
        ("elevator.trips", "运行次数每累计 100000", []),
        (
            "elevator.yearly",
            "每年 1 月 1 日 00:00（Asia/Shanghai）",
            ["电梯半年维保", "电梯季度维保", "电梯半月维保"],
        ),
    ]
    # the plans' titles and tasks in the reader's language (review 19r M6)
    zh = client.get("/api/pm-plans?site=demo&equipment=SP-01&lang=zh-CN").json()["items"]
    assert [(p["plan_id"], p["title"]) for p in zh] == [
        ("shaft_panel.monthly", "强电井配电柜月度维护"),
        ("shaft_panel.yearly", "强电井配电柜年度维护"),
    ]
    assert zh[0]["tasks"][2] == "剩余电流保护器（漏电开关）：按试验按钮，可靠跳闸"
    en = client.get("/api/pm-plans?site=demo&equipment=E-01&lang=en").json()["items"]
    assert (
        en[0]["tasks"][4]
        == "Brake clearance: linings clear of the drum when open, gap as the maker requires"
    )
    assert by_plan[("P-01", "pump.run_hours")]["last_step"] is None
    only_pump = client.get("/api/pm-plans?site=demo&equipment=P-01").json()
    assert [i["plan_id"] for i in only_pump["items"]] == ["pump.run_hours"]


def test_the_equipment_page_gets_the_score_of_an_equipment_past_the_500th(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    """From the review of issue 17: the equipment page fetched the first 500 scores of its
    site and looked for its own equipment there (no filter): past the 500th, no stage."""
    with Session(sqlite_db) as s:
        s.add(SiteRow(id="big", name="Big"))
        s.flush()
        s.add(BuildingRow(site="big", id="B1", name=""))
        s.flush()
        for k in range(520):
            installed = (T0 - timedelta(days=30 * (k % 300 + 1))).date()
            s.add(
                EquipmentRow(
                    site="big", id=f"X-{k:04d}", building="B1", type="pump",
                    installed=installed, rated={}, params={},
                )
            )  # fmt: skip
        s.commit()
    client = make_client(sqlite_db, clock=ManualClock(T0))
    got = client.get("/api/kpis/scores", params={"site": "big", "equipment": "X-0510"})
    assert got.status_code == 200
    page = got.json()
    assert [i["equipment"] for i in page["items"]] == ["X-0510"] and page["total"] == 1
    assert page["items"][0]["reason_text"]["zh-CN"]
    none = client.get("/api/kpis/scores", params={"site": "big", "equipment": "X-9999"}).json()
    assert none["items"] == [] and none["total"] == 0
