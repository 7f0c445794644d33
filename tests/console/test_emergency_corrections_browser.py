"""Review 19c-d M5 and M13 in a real browser (Debian's Chromium through playwright) on a
running console: the duty engineer, on a phone (390×844) in zh-CN and in English, records an
entrapment reported by phone (no alarm) and lands on its order with the rescue clock running
from the call; a supervisor corrects a drill recorded with a wrong participant (the card
says who corrected it, when and why) and voids one recorded by mistake."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bldgwatch.demo import DEV_LOGIN
from tests.console.conftest import ARTIFACTS, PASSWORD
from tests.console.test_entrapment_browser import signed_in_phone

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

ENGINEER = {"username": "wu.duty", "password": PASSWORD}
SUPERVISOR = {"username": "qian.sup", "password": PASSWORD}
PHONE = {"width": 390, "height": 844}
ZONE = ZoneInfo("Asia/Shanghai")
WORDS = {
    "zh-CN": {"report": "登记困人", "case": "困人救援", "clock": "救援计时"},
    "en": {"report": "Record the entrapment", "case": "Entrapment rescue", "clock": "Rescue clock"},
}


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    """The REST API as the admin: the duty engineer and a supervisor of the demo site, and
    the site's entrapment plan from the template."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        for login, role in ((ENGINEER, "engineer"), (SUPERVISOR, "supervisor")):
            user = {"name": login["username"], "password": PASSWORD, "roles": [role]}
            made = http.post("/api/users", json=user | {"sites": ["demo"]})
            assert made.status_code == 201, made.text
        plans = http.get("/api/emergency/plans", params={"site": "demo"}).json()
        if not any(p["kind"] == "entrapment" for p in plans):
            plan = http.get("/api/emergency/template").json()
            body = {"site": "demo", "kind": "entrapment", "plan": plan}
            assert http.post("/api/emergency/plans", json=body).status_code == 201
        yield http


@pytest.mark.long(seconds=40)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_duty_engineer_records_an_entrapment_reported_by_phone(
    browser: Any, console: str, admin_api: httpx.Client, locale: str
) -> None:
    expect = playwright_sync.expect
    words = WORDS[locale]
    lifts = admin_api.get("/api/equipment", params={"site": "demo", "limit": 500}).json()
    lift = [e["id"] for e in lifts["items"] if e["type"] == "elevator"][-1 if locale == "en" else 0]
    errors: list[str] = []
    page = signed_in_phone(browser, console, locale, ENGINEER, errors)
    page.goto(f"{console}/emergency")
    form = page.locator("#entrapment-report")
    expect(form).to_contain_text("Asia/Shanghai", timeout=15_000)
    form.locator(".report-lift").click()
    page.locator(".el-select-dropdown__item:visible", has_text=lift).first.click()
    called = (datetime.now(ZONE) - timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M")
    form.locator("input[name=reported_at]").fill(called)
    form.locator("textarea[name=report_note]").fill("12 楼业主来电：两人被困")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    form.locator(".report-entrapment").click()
    case = page.locator("#entrapment-case")
    expect(case).to_contain_text(words["case"], timeout=15_000)
    expect(case.locator(".rescue-clock")).to_contain_text(words["clock"])
    # minutes since the call (typed to the minute: 4 or 5), not since the order was entered
    expect(case.locator(".rescue-clock")).to_contain_text(re.compile(r"\D[45] ?(分钟|min)"))
    page.screenshot(path=str(ARTIFACTS / f"entrapment-phone-{locale}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    order_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    [rescue] = admin_api.get("/api/entrapments", params={"order": order_id}).json()
    assert rescue["reported_by"] == ENGINEER["username"]
    alarm = datetime.fromisoformat(rescue["moments"][0]["at"])
    assert alarm.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") == called
    page.context.close()
    assert errors == [], errors


@pytest.mark.long(seconds=40)
def test_a_supervisor_corrects_and_voids_a_recorded_drill(
    page_of: Any, admin_api: httpx.Client
) -> None:
    expect = playwright_sync.expect
    plan = next(
        p
        for p in admin_api.get("/api/emergency/plans", params={"site": "demo"}).json()
        if p["kind"] == "entrapment"
    )
    now = datetime.now(UTC)
    recorded = []
    for minutes in (50, 40):
        drill = admin_api.post(
            "/api/drills",
            json={
                "plan_id": plan["id"],
                "scheduled_at": (now - timedelta(minutes=minutes)).isoformat(),
            },
        ).json()
        times = [(now - timedelta(minutes=minutes - 2)).isoformat()] + [None] * (
            len(plan["steps"]) - 1
        )
        body = {"participants": ["王工", "张三"], "step_times": times, "findings": "对讲声音小"}
        done = admin_api.post(f"/api/drills/{drill['id']}/record", json=body)
        assert done.status_code == 200, done.text
        recorded.append(drill["id"])
    fixed, wrong = recorded
    page = page_of("zh-CN", SUPERVISOR)
    page.goto(page.url.split("/alarms")[0] + "/emergency")
    card = page.locator(f'article[data-drill="{fixed}"]')
    expect(card).to_contain_text("王工、张三", timeout=15_000)
    card.locator(".correct-drill").click()
    card.locator("input[name=fix_participants]").fill("王工、李师傅")
    card.locator("input[name=change_reason]").fill("参加人员登记错了")
    card.locator(".confirm-change").click()
    expect(card).to_contain_text("王工、李师傅", timeout=10_000)
    expect(card.locator(".drill-corrections")).to_contain_text(f"{SUPERVISOR['username']} 于")
    expect(card.locator(".drill-corrections")).to_contain_text("参加人员登记错了 (参加人员)")
    other = page.locator(f'article[data-drill="{wrong}"]')
    other.locator(".void-drill").click()
    other.locator("input[name=change_reason]").fill("记错了演练")
    other.locator(".confirm-change").click()
    expect(other.locator(".drill-status")).to_have_text("已作废", timeout=10_000)
    expect(other.locator(".void-drill")).to_have_count(0)
    expect(other.locator(".drill-corrections")).to_contain_text("作废：记错了演练")
