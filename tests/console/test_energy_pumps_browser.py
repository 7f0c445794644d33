"""The pump-efficiency section of the energy page in a real Chromium, zh-CN then en: two pumps
over the 21 days up to today (P-01 with its rated curve and its own meter, its impeller worn
over the last week; P-02 with the register's baseline), the figures, the drift tag and the
charts (issue 20, point 3). The console runs in-process under uvicorn on a free port, on a
migrated SQLite file and a real InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.clock import SystemClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join
from bldgwatch.core.tsdb import open_store
from tests.console.conftest import ARTIFACTS, PASSWORD, seed_users
from tests.console.procs import serving
from tests.console.seed import add
from tests.console.test_energy_pumps import DAYS, SHANGHAI, readings, rows

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console(sqlite_db: Engine, influx_settings: InfluxSettings) -> Iterator[str]:
    today = SystemClock().now().astimezone(SHANGHAI).date()
    first = today - timedelta(days=DAYS)
    add(sqlite_db, *rows(installed=first))
    seed_users(sqlite_db)
    start = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI).astimezone(UTC)
    tsdb = open_store(influx_settings)
    tsdb.ensure_database()
    tsdb.write(join(readings(start)), precision="ms")
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=tsdb)
    try:
        with serving(app) as url:
            yield url
    finally:
        tsdb.close()


@pytest.mark.long(seconds=15)
def test_the_pump_efficiency_section_in_both_languages(browser: Any, console: str) -> None:
    expect = playwright_sync.expect
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(console + "/")
        expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", PASSWORD)
        page.locator("#login button[type=submit]").click()
        expect(page.locator("input[name=username]")).to_have_count(0, timeout=20_000)

        page.goto(f"{console}/energy")
        section = page.locator("#pump-efficiency")
        expect(section.locator("#pumps-title")).to_have_text("水泵能效", timeout=15_000)
        p1 = section.locator("[data-pump='P-01']")
        expect(p1).to_contain_text("单位能耗升高", timeout=15_000)
        expect(p1.locator(".pump-note")).to_contain_text("+25.0 %")
        expect(p1.locator("[data-figure='head']")).to_contain_text("额定")
        expect(p1.locator("[data-figure='power']")).to_contain_text("专用电表")
        expect(p1.locator("canvas")).to_have_count(2)  # the curve and the days
        p2 = section.locator("[data-pump='P-02']")
        expect(p2.locator("[data-figure='specific']")).to_contain_text("台账")
        expect(p2).not_to_contain_text("单位能耗升高")
        page.screenshot(path=str(ARTIFACTS / "pumps-zh.png"), full_page=True)

        page.locator("#lang").click()
        expect(section.locator("#pumps-title")).to_have_text("Pump efficiency", timeout=10_000)
        expect(p1.locator(".pump-note")).to_contain_text("impeller", timeout=10_000)
        # Over the page's 28 days: 14 days at 30 m³/h, then 7 worn at 24.
        expect(p1.locator("[data-figure='flow']")).to_contain_text("28.0 m³/h")
        page.screenshot(path=str(ARTIFACTS / "pumps-en.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], errors
