"""A closed leak alarm's page is reached from the pages, zh-CN and en, in a real Chromium
(fifth review of issue 20, H1): "not a leak" closes the alarm at the rules service's next sweep,
and its page — where a supervisor corrects the verdict — was linked from nowhere (the alarms
list asked only for open alarms, the equipment page's alarm rows were no links). Now the
supervisor's "verdicts to review" on the alarms page lists the standing verdicts, "not a leak"
first, each a link to its alarm; the state filter's "normal" lists closed alarms; the equipment
page's alarm rows link to their alarm."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.models import EquipmentRow
from bldgwatch.rules.models import LeakVerdictRow
from tests.console.conftest import ARTIFACTS, PASSWORD, seed_users
from tests.console.procs import serving
from tests.console.seed import add, assets, work_order
from tests.console.test_entrapment_browser import signed_in_phone
from tests.console.test_leak_verdict import leak

SUPERVISOR = {"username": "supervisor", "password": PASSWORD}

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

WORDS = {
    "zh-CN": {"review": "待复核判定", "none": "不是漏水", "leak": "确认漏水", "normal": "正常",
              "button": "更正判定", "done": "判定已更正", "all": "报警", "days90": "近 90 天"},
    "en": {"review": "Verdicts to review", "none": "Not a leak", "leak": "Leak confirmed",
           "normal": "Normal", "button": "Correct the verdict", "done": "Verdict corrected",
           "all": "Alarms", "days90": "90 days"},
}  # fmt: skip


@pytest.fixture
def console(sqlite_db: Engine, closed_influx: InfluxSettings) -> Iterator[str]:
    now = datetime.now(UTC).replace(microsecond=0)
    add(sqlite_db, *assets())
    meters = [
        EquipmentRow(site="demo", id=m, building="B1", type="water_meter", rated={}, params={})
        for m in ("WM-01", "WM-02")
    ]
    add(sqlite_db, *meters)
    r1, r2, old = now - timedelta(days=2), now - timedelta(days=1), now - timedelta(days=45)
    closed = {"state": "normal", "is_open": False, "acked_by": "engineer"}
    add(
        sqlite_db,
        leak("r1", 0, raised_at=r1, updated_at=r1, **closed),
        leak("r2", 0, equipment="WM-02", raised_at=r2, updated_at=r2, state="active_ack",
             acked_by="engineer"),
        leak("r0", 0, raised_at=old, updated_at=old, **closed),
        work_order(0, id=88, equipment="WM-02", family="leak"),
    )  # fmt: skip
    add(
        sqlite_db,
        LeakVerdictRow(alarm_id="r1", raised_at=r1, leak=False, actor="engineer",
                       given_at=r1 + timedelta(hours=1)),
        LeakVerdictRow(alarm_id="r2", raised_at=r2, leak=True, actor="engineer",
                       given_at=r2 + timedelta(hours=1), work_order_id=88),
        LeakVerdictRow(alarm_id="r0", raised_at=old, leak=False, actor="engineer",
                       given_at=old + timedelta(hours=1)),
    )  # fmt: skip
    seed_users(sqlite_db)
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=open_store(closed_influx))
    with serving(app) as url:
        yield url


@pytest.mark.long(seconds=20)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_supervisor_reaches_a_closed_leak_alarm_from_the_alarms_page(
    browser: Any, console: str, locale: str
) -> None:
    expect, words = playwright_sync.expect, WORDS[locale]
    errors: list[str] = []
    page = signed_in_phone(
        browser, console, locale, SUPERVISOR, errors, viewport={"width": 390, "height": 844}
    )
    context = page.context
    try:
        # The equipment page's alarm rows are links to the alarm.
        page.goto(f"{console}/equipment/demo/WM-01")
        link = page.locator(".eq-alarm-open[data-alarm=r1]")
        expect(link).to_have_count(1, timeout=15_000)
        link.click()
        expect(page).to_have_url(f"{console}/alarms/r1", timeout=15_000)

        # The state filter's "normal" asks for closed alarms.
        page.goto(f"{console}/alarms")
        expect(page.locator(".alarm-key[data-alarm=r2]")).to_have_count(1, timeout=15_000)
        expect(page.locator(".alarm-key[data-alarm=r1]")).to_have_count(0)
        page.locator(".filter-state").click()
        page.locator(".el-select-dropdown__item:visible", has_text=words["normal"]).first.click()
        page.keyboard.press("Escape")
        expect(page.locator(".alarm-key[data-alarm=r1]")).to_have_count(1, timeout=15_000)
        expect(page.locator("#alarms-title")).to_contain_text(words["all"])

        # "Verdicts to review": "not a leak" first, the old one (45 days) not listed in the
        # last 30 days.
        page.goto(f"{console}/alarms")
        page.locator(".review-verdicts").click()
        rows = page.locator("#verdict-review .review-row")
        expect(rows).to_have_count(2, timeout=15_000)
        expect(rows.nth(0)).to_have_attribute("data-alarm", "r1")
        expect(rows.nth(0).locator(".review-verdict")).to_have_text(words["none"])
        expect(rows.nth(1)).to_have_attribute("data-alarm", "r2")
        expect(rows.nth(1).locator(".review-verdict")).to_have_text(words["leak"])
        # Review 20f, L5: a longer period lists the older verdicts too ("not a leak" first,
        # newest first).
        page.locator(".review-period").click()
        page.locator(".el-select-dropdown__item:visible", has_text=words["days90"]).click()
        expect(rows).to_have_count(3, timeout=15_000)
        expect(rows.nth(1)).to_have_attribute("data-alarm", "r0")
        page.screenshot(path=str(ARTIFACTS / f"verdict-review-{locale}.png"))
        rows.nth(0).locator(".review-open").click()
        expect(page).to_have_url(f"{console}/alarms/r1", timeout=15_000)
        button = page.locator("#correct-verdict")
        expect(button).to_have_text(words["button"], timeout=15_000)
        button.click()
        page.locator(".correct-confirm .el-button--primary").click()
        expect(page.locator(".el-message").last).to_contain_text(words["done"], timeout=15_000)
        expect(page.locator("#alarm-verdict")).to_have_attribute(
            "data-leak", "true", timeout=15_000
        )
    finally:
        context.close()
    assert errors == [], errors
