"""The energy page in a real Chromium, zh-CN then en: three days of the demo site's meters
(a gap, a rollover, a replaced meter) up to today, the building's consumption per day in the
table, the counter notes, the sub-metering balance with its flagged days, and the CSV export
(issue 20). The console runs in-process under uvicorn on a free port, on a migrated SQLite
file and a real InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.clock import SystemClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.models import SiteRow
from tests.console.conftest import ARTIFACTS, PASSWORD, seed_users
from tests.console.procs import serving
from tests.console.seed import add
from tests.console.test_energy import SHANGHAI, meter_readings, meter_rows

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console(sqlite_db: Engine, influx_settings: InfluxSettings) -> Iterator[str]:
    """The console over the meters, with readings of the three days before today (Shanghai):
    inside the page's default window, the last 30 days by day."""
    add(sqlite_db, *meter_rows())
    seed_users(sqlite_db)
    today = SystemClock().now().astimezone(SHANGHAI).date()
    with Session(sqlite_db) as session, session.begin():  # its calendar: China's, one own day
        calendar = {"official": "cn", "holidays": [_own_holiday(today).isoformat()]}
        session.execute(update(SiteRow).where(SiteRow.id == "demo").values(calendar=calendar))
    first = today - timedelta(days=3)
    start = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI).astimezone(UTC)
    tsdb = open_store(influx_settings)
    tsdb.ensure_database()
    tsdb.write(join(meter_readings(start)), precision="ms")
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=tsdb)
    try:
        with serving(app) as url:
            yield url
    finally:
        tsdb.close()


def _own_holiday(today: date) -> date:
    """A weekday a week or more ahead: the site's own day off on the page's calendar."""
    day = today + timedelta(days=7)
    return day + timedelta(days=max(0, day.weekday() - 4) and 7 - day.weekday())


WIDEST = """[...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > 391)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > 391))
  .slice(0, 8).map(e => e.tagName + '.' + e.className)"""
"""The innermost elements reaching past a 390 px screen (what a failure names)."""
SELECT_BOX = "xpath=ancestor::div[contains(@class,'el-select')][1]"


def _number(cell: str) -> float:
    """A figure as the page shows it (grouped, maybe negative); fails on "–"."""
    return float(cell.replace(",", "").replace("−", "-").strip())


@pytest.mark.long(seconds=15)
def test_the_energy_page_in_both_languages(browser: Any, console: str) -> None:
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
        expect(page.locator("#energy-title")).to_have_text("能耗与用水", timeout=15_000)
        # D5: the site's working calendar and its coming holidays and make-up workdays
        calendar = page.locator("#energy-calendar")
        own = _own_holiday(SystemClock().now().astimezone(SHANGHAI).date()).isoformat()
        expect(calendar).to_contain_text(
            "工作日依据：中国大陆法定节假日与调休上班日", timeout=15_000
        )
        expect(calendar).to_contain_text("本场地自定：休息 1 天")
        expect(calendar.locator(f"[data-day='{own}']")).to_contain_text("放假 (本场地自定)")
        table = page.locator("#energy-table")
        # Block 1 is its main meter: three days at 100 kW, the gap's share kept.
        expect(table).to_contain_text("Block 1 (7,200 kWh)", timeout=15_000)
        expect(table).to_contain_text("2,400")
        flags = page.locator("#energy-flags")
        expect(flags).to_contain_text("换表")
        expect(flags).to_contain_text("翻转")
        expect(flags).to_contain_text("均摊")
        expect(page.locator("#balance-summary")).to_contain_text(
            "EM-01 对比 EM-02, EM-03：30 个时段中 3 个超出阈值"
        )
        expect(page.locator("#balance-flagged tbody tr")).to_have_count(3)
        # Each flagged row shows the sub-meters' sum, and parent − sum = unaccounted.
        for row in page.locator("#balance-flagged tbody tr").all():
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            parent, submeters = _number(cells[2]), _number(cells[3])
            unaccounted = _number(cells[4].split("(")[0])
            assert submeters > 0, cells
            assert parent - submeters == pytest.approx(unaccounted, abs=1.0), cells
        expect(page.locator("#energy-chart canvas")).to_have_count(1)
        with page.expect_download() as got:
            page.locator("#energy-csv").click()
        text = got.value.path().read_text(encoding="utf-8-sig")
        assert text.splitlines()[0] == "时段,编号,名称,用量,单位,卡表,数据,估算原因", text[:200]
        assert ",B1,Block 1,2400.000,kWh,否" in text
        page.screenshot(path=str(ARTIFACTS / "energy-zh.png"), full_page=True)

        page.locator("#lang").click()
        expect(page.locator("#energy-title")).to_have_text("Energy and water", timeout=10_000)
        expect(flags).to_contain_text("replaced meter", timeout=10_000)
        expect(calendar).to_contain_text("mainland China's official holidays")
        expect(calendar.locator(f"[data-day='{own}']")).to_contain_text("holiday (the site's own)")
        expect(page.locator("#balance-summary")).to_contain_text(
            "EM-01 against EM-02, EM-03: 3 of 30 periods flagged."
        )
        page.locator(".energy-by").click()
        page.locator(".el-select-dropdown__item:visible", has_text="system").click()
        expect(table).to_contain_text("pumps (2,160 kWh)", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "energy-en.png"), full_page=True)
    finally:
        context.close()
    assert errors == [], errors


@pytest.mark.long(seconds=15)
@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("zh-CN", {"title": "能耗与用水", "no_data": "无数据"}),
        ("en", {"title": "Energy and water", "no_data": "no data"}),
    ],
)
def test_the_energy_page_fits_a_phone(
    browser: Any, console: str, locale: str, words: dict[str, str]
) -> None:
    """Review of issue 20, F7 and F1: at 390 px the page is no wider than the screen (the
    filters wrap, full width, showing their values; the tables scroll in their box), and the
    days before the meters' first readings say "no data", not 0."""
    expect = playwright_sync.expect
    context = browser.new_context(
        locale=locale, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
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
        expect(page.locator("#energy-title")).to_have_text(words["title"], timeout=15_000)
        table = page.locator("#energy-table")
        expect(table).to_contain_text("Block 1 (7,200 kWh)", timeout=15_000)
        expect(table).to_contain_text(words["no_data"])
        expect(page.locator("#balance-flagged tbody tr")).to_have_count(3, timeout=15_000)
        page.wait_for_timeout(500)  # let the chart and the tables lay out
        width = page.evaluate("document.scrollingElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / f"energy-phone-{locale}.png"), full_page=True)
        wide = page.evaluate(WIDEST)
        assert width <= 390, (width, wide)
        for select in ("#energy-site", "#energy-kind", "#energy-every", "#energy-by"):
            box = (
                page.locator(select)
                .locator("xpath=ancestor::div[contains(@class,'el-select')][1]")
                .bounding_box()
            )
            assert box is not None and box["width"] >= 150, (select, box)
    finally:
        context.close()
    assert errors == [], errors
