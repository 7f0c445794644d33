"""A contractor's order in a real browser (Debian's Chromium through playwright) on a running
console, in zh-CN and en: a supervisor dispatches a repair of a lift to the elevator company
whose contract covers it; the company's user logs in, lands on its orders, sees only that
one, starts it and resolves it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bldgwatch.demo import DEV_LOGIN
from tests.console.conftest import ARTIFACTS, PASSWORD

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

WORDS = {
    "zh-CN": {"confirm": "确认", "contractor": "维保单位", "summary": "更换门机皮带，试运行正常"},
    "en": {"confirm": "Confirm", "contractor": "Contractor", "summary": "door belt replaced"},
}
LIFT_USER = {"username": "liftco.wang", "password": PASSWORD}


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    """The REST API as the admin (the dev login), with the elevator company, its contract
    for the demo site's elevators and its user in place."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        company = {
            "name": "上海某电梯工程有限公司",
            "licence": "TS3131001-2027",
            "contact": "王工",
            "phone": "021-5555 0101",
            "on_call": "400 820 0101",
        }
        assert http.put("/api/contractors/liftco", json=company).status_code == 200
        deal = {
            "site": "demo",
            "equipment_type": "elevator",
            "scope": "半月维保（TSG T5002）、急修",
            "valid_from": "2020-01-01",
            "valid_to": "2099-12-31",
            "response_min": 30,
            "resolution_h": 24,
        }
        assert http.post("/api/contractors/liftco/contracts", json=deal).status_code == 201
        user = {
            "name": LIFT_USER["username"],
            "password": LIFT_USER["password"],
            "roles": ["contractor"],
            "sites": ["demo"],
            "contractor": "liftco",
        }
        made = http.post("/api/users", json=user)
        assert made.status_code == 201, made.text
        yield http


def _lift_of(api: httpx.Client) -> str:
    items = api.get("/api/equipment", params={"site": "demo", "limit": 500}).json()["items"]
    return next(e["id"] for e in items if e["type"] == "elevator")


def _sign_in(browser: Any, console: str, locale: str, errors: list[str]) -> Any:
    """The contractor's user signs in: it lands on its work orders."""
    expect = playwright_sync.expect
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(console + "/")
    expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
    page.fill("input[name=username]", LIFT_USER["username"])
    page.fill("input[name=password]", LIFT_USER["password"])
    page.locator("#login button[type=submit]").click()
    expect(page.locator("#orders-title")).to_be_visible(timeout=15_000)
    return page


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_supervisor_dispatches_and_the_contractor_resolves(
    page_of: Any, browser: Any, console: str, admin_api: httpx.Client, locale: str
) -> None:
    expect = playwright_sync.expect
    words = WORDS[locale]
    made = admin_api.post(
        "/api/work-orders",
        json={"site": "demo", "equipment": _lift_of(admin_api), "title": f"lift door ({locale})"},
    )
    assert made.status_code == 201, made.text
    oid = made.json()["id"]

    boss = page_of(locale, DEV_LOGIN)
    boss.goto(f"{console}/work-orders/{oid}")
    expect(boss.locator("#wo-title")).to_contain_text(f"#{oid}", timeout=15_000)
    expect(boss.locator("#wo-contractor")).to_have_text("–")
    boss.locator(".act-dispatch").click()
    boss.locator(".el-message-box").get_by_role("button", name=words["confirm"]).click()
    expect(boss.locator("#wo-contractor")).to_have_text("上海某电梯工程有限公司", timeout=10_000)
    expect(boss.locator(".wo-facts")).to_contain_text(words["contractor"])
    # Dispatched once: no second dispatch would restart the contract's clocks (review 18f L7).
    expect(boss.locator(".act-dispatch")).to_have_count(0)
    # The contract form takes whole hours, its default 24 among them: the browser had blocked
    # the submit, silently, for anything but x.5 hours (review 18f H1).
    boss.goto(f"{console}/contractors")
    hours = boss.locator("input[name=resolution_h]")
    expect(hours).to_be_visible(timeout=15_000)
    for value in ("24", "8", "0.5"):
        hours.fill(value)
        assert hours.evaluate("input => input.checkValidity()"), value
    boss.screenshot(path=str(ARTIFACTS / f"contractor-dispatch-{locale}.png"), full_page=True)

    errors: list[str] = []
    page = _sign_in(browser, console, locale, errors)
    try:
        mine = admin_api.get("/api/work-orders", params={"limit": 500}).json()["items"]
        theirs = [o["id"] for o in mine if o["contractor"] == "liftco"]
        links = page.locator("#work-orders a[data-order]")
        expect(links).to_have_count(len(theirs), timeout=10_000)
        expect(page.locator(f'#work-orders a[data-order="{oid}"]')).to_be_visible()
        # The header offers its orders and its scorecard only; another page is not for it.
        expect(page.locator("[data-nav]")).to_have_count(2)
        # No live stream nor alarm sounds are its: no "connecting" that never clears, no mute
        # (review 18e M4); its order names the equipment without links to pages closed to it.
        for closed in ("#live", "#mute", "#cue-settings"):
            expect(page.locator(closed)).to_have_count(0)
        page.locator(f'#work-orders a[data-order="{oid}"]').click()
        expect(page.locator("#wo-title")).to_contain_text(f"#{oid}", timeout=15_000)
        expect(page.locator(".wo-facts a")).to_have_count(0)
        page.locator(".act-start").click()
        expect(page.locator("#wo-title .wo-status")).to_have_attribute(
            "data-status", "in_progress", timeout=10_000
        )
        page.locator("#resolve-form textarea[name=summary]").fill(words["summary"])
        page.locator(".act-resolve").click()
        page.locator(".el-message-box").get_by_role("button", name=words["confirm"]).click()
        expect(page.locator("#wo-title .wo-status")).to_have_attribute(
            "data-status", "resolved", timeout=10_000
        )
        page.screenshot(path=str(ARTIFACTS / f"contractor-resolved-{locale}.png"), full_page=True)
        page.locator('[data-nav="scorecard"]').click()
        scores = page.locator("#contractor-scores")
        expect(scores).to_contain_text("上海某电梯工程有限公司", timeout=10_000)  # its name
        expect(scores.locator("tbody tr")).to_have_count(1)
        # On a phone the eight figures are a card, not a table wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        expect(scores.locator(".score-card")).to_have_count(1, timeout=10_000)
        expect(scores.locator(".score-card dt")).to_have_count(7)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.set_viewport_size({"width": 1280, "height": 900})
        # The month is the site's (Asia/Shanghai), named with its zone, not the browser's UTC.
        month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
        expect(page.locator(".page")).to_contain_text(re.compile(rf"{month}\D+Asia/Shanghai"))
        page.goto(f"{console}/alarms")
        expect(page).to_have_url(re.compile(r"/not-allowed$"), timeout=10_000)
        expect(page.locator("#alarms-count")).to_have_count(0)
    finally:
        page.context.close()
    assert errors == [], errors
    order = admin_api.get(f"/api/work-orders/{oid}").json()
    assert (order["status"], order["contractor"]) == ("resolved", "liftco")
    assert order["record"]["summary"] == words["summary"]
