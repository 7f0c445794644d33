"""A technician records a PM order's checklist on a phone (Debian's Chromium through
playwright, 390 px, zh-CN) against a running console (review 19c-r M6): each item gets
合格 / 不合格 / 无此项 with a note and a reading with its unit; the failed item opens a repair
order, linked from its line; the page shows what was recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bldgwatch.demo import DEV_LOGIN
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.roundmodels import OrderCheckRow
from tests.console.conftest import ARTIFACTS, PASSWORD, RunningConsole

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

TECH = {"username": "wang.fang", "password": PASSWORD}
PHONE = {"width": 390, "height": 844}
TASKS = ["制动器：动作、磨损、间隙", "母排和电缆接头温度（红外测温）", "应急照明"]


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    """The REST API as the admin (the dev login), with a technician of the demo site."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        user = {**TECH, "name": TECH["username"], "roles": ["technician"], "sites": ["demo"]}
        del user["username"]
        made = http.post("/api/users", json=user)
        assert made.status_code == 201, made.text
        yield http


def _pm_order(running_console: RunningConsole, equipment: str) -> int:
    """A monthly PM order of the equipment assigned to the technician, with its checklist (as
    the PM scheduler opens one)."""
    now = datetime.now(UTC)
    order = WorkOrderRow(
        site="demo",
        equipment=equipment,
        kind="preventive",
        status="assigned",
        priority=3,
        title="PM: monthly",
        description="",
        family="pm",
        alarm_count=0,
        created_at=now,
        updated_at=now,
        response_due=now + timedelta(hours=4),
        resolution_due=now + timedelta(days=3),
        assigned_to=TECH["username"],
        stage="mid",
        stage_reason="",
    )
    engine = create_engine(running_console.db_url)
    try:
        with Session(engine) as s, s.begin():
            s.add(order)
            s.flush()
            order_id = order.id
            for n, text in enumerate(TASKS):
                s.add(OrderCheckRow(work_order_id=order_id, idx=n, text=text))
        return order_id
    finally:
        engine.dispose()


@pytest.mark.long(seconds=20)
def test_a_technician_records_pass_fail_and_na_with_a_reading_on_a_phone(
    browser: Any, console: str, running_console: RunningConsole, admin_api: httpx.Client
) -> None:
    expect = playwright_sync.expect
    items = admin_api.get("/api/equipment", params={"site": "demo", "limit": 500}).json()["items"]
    panel = next(e for e in items if e["type"] == "shaft_panel")["id"]
    order_id = _pm_order(running_console, panel)
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(console + "/")
        page.fill("input[name=username]", TECH["username"])
        page.fill("input[name=password]", TECH["password"])
        page.locator("#login button[type=submit]").click()
        expect(page.locator("#my-orders")).to_be_visible(timeout=15_000)
        page.goto(f"{console}/work-orders/{order_id}")
        card = page.locator("#order-checklist")
        expect(card).to_contain_text("已完成 0/3 项", timeout=15_000)
        brake, temp, light = (card.locator(f'.check-line[data-idx="{n}"]') for n in range(3))
        brake.locator(".check-note-input input").fill("闸瓦磨损超限")
        brake.locator(".check-fail").click()
        expect(brake).to_have_attribute("data-result", "fail")
        expect(brake).to_contain_text("不合格")
        expect(brake).to_contain_text("闸瓦磨损超限")
        repair = brake.locator(".check-repair")
        expect(repair).to_contain_text("维修工单 #")
        temp.locator(".check-reading-input input").fill("42,5")
        temp.locator(".check-unit-input input").fill("°C")
        temp.locator(".check-pass").click()
        expect(temp).to_have_attribute("data-result", "pass")
        expect(temp).to_contain_text("读数 42.5 °C")
        light.locator(".check-na").click()
        expect(light).to_have_attribute("data-result", "na")
        expect(card).to_contain_text("已完成 3/3 项")
        page.screenshot(path=str(ARTIFACTS / "pm-checklist-phone.png"), full_page=True)
        # the failed item's repair order is the panel's reactive order
        repair_id = int((repair.text_content() or "").split("#")[1])
        got = admin_api.get(f"/api/work-orders/{repair_id}").json()
        assert (got["kind"], got["equipment"]) == ("reactive", panel)
        # taken back, the item asks for its result again
        light.locator(".check-undo").click()
        expect(light).to_have_attribute("data-result", "none")
        expect(light.locator(".check-na")).to_be_visible()
        assert errors == []
    finally:
        context.close()
