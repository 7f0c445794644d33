"""A supervisor reads the site's PM plans on their page (Debian's Chromium through playwright,
zh-CN and en) against a running console (review 19c-r M5, M9): each plan's schedule in words in
the page's language and the site's zone, the next due date with its zone, and the checklist a
visit carries (the yearly lift visit: the TSG T5002 yearly items then the lower levels')."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bldgwatch.demo import DEV_LOGIN
from bldgwatch.maintenance.config import PlanSettings
from bldgwatch.maintenance.pm import register_plans
from tests.console.conftest import ARTIFACTS, PASSWORD, RunningConsole

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

SUPERVISOR = {"username": "zhou.min", "password": PASSWORD}


@pytest.fixture(scope="module")
def plans(console: str, running_console: RunningConsole) -> Iterator[None]:
    """The default plans registered (as the maintenance service does at start) and a
    supervisor of the demo site."""
    engine = create_engine(running_console.db_url)
    try:
        with Session(engine) as s, s.begin():
            register_plans(s, PlanSettings(), datetime.now(UTC))
    finally:
        engine.dispose()
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        user = {"name": SUPERVISOR["username"], "password": PASSWORD}
        made = http.post("/api/users", json={**user, "roles": ["supervisor"], "sites": ["demo"]})
        assert made.status_code == 201, made.text
    yield


@pytest.mark.long(seconds=20)
@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "zh-CN",
            {
                "title": "预防性维保计划",
                "nav": "维保计划",
                "half": "每半月（每 15 天，Asia/Shanghai 0 点）",
                "yearly": "每年 1 月 1 日 00:00（Asia/Shanghai）",
                "yearly_name": "电梯年度维保",
                "switch": "切换语言",
                "first_yearly": "减速机润滑油：按制造单位要求更换，油质符合要求",
                "includes": "同时包含：电梯半年维保 · 电梯季度维保 · 电梯半月维保 的项目",
            },
        ),
        (
            "en",
            {
                "title": "Preventive maintenance plans",
                "nav": "PM plans",
                "half": "every half month (every 15 days, 00:00 Asia/Shanghai)",
                "yearly": "every year on day 1 of Jan at 00:00 (Asia/Shanghai)",
                "yearly_name": "Elevator yearly maintenance",
                "switch": "Switch language",
                "first_yearly": "Gearbox oil: changed as the maker requires, oil quality right",
                "includes": "Also carries the items of: Elevator half-yearly maintenance",
            },
        ),
    ],
)
def test_a_supervisor_sees_what_falls_due_when(
    browser: Any, console: str, plans: None, locale: str, words: dict[str, str]
) -> None:
    expect = playwright_sync.expect
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(console + "/")
        page.fill("input[name=username]", SUPERVISOR["username"])
        page.fill("input[name=password]", SUPERVISOR["password"])
        page.locator("#login button[type=submit]").click()
        expect(page.locator("#login")).to_have_count(0, timeout=15_000)
        page.get_by_role("link", name=words["nav"]).first.click()
        expect(page.locator("#pm-plans-title")).to_have_text(words["title"], timeout=15_000)
        table = page.locator("#pm-plans")
        expect(table).to_contain_text(words["half"], timeout=15_000)
        # the lift's yearly plan by its name, its schedule in words beside it
        yearly = table.locator("tr.el-table__row", has_text=words["yearly_name"]).first
        expect(yearly).to_contain_text(words["yearly"], timeout=15_000)
        expect(yearly.locator(".pm-count")).to_have_text("76", timeout=15_000)
        assert "UTC" not in (table.text_content() or "")
        yearly.locator(".el-table__expand-icon").click()
        tasks = page.locator(".pm-tasks").first
        expect(tasks.locator("li")).to_have_count(76, timeout=15_000)
        expect(tasks.locator("li").first).to_have_text(words["first_yearly"])
        expect(page.locator(".pm-includes").first).to_contain_text(
            words["includes"], timeout=15_000
        )
        page.screenshot(path=str(ARTIFACTS / f"pm-plans-{locale}.png"), full_page=False)
        # the list loaded again (here: in the other language) keeps the row open; a reload
        # (the page's first load sets the site, which loads it again) used to fold it
        page.get_by_role("button", name=words["switch"]).click()
        expect(page.locator(".pm-tasks li")).to_have_count(76, timeout=15_000)
        assert errors == []
    finally:
        context.close()
