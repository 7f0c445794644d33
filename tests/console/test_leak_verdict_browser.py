"""The leak verdict on the alarms page in a real Chromium, zh-CN and en (review of issue 20,
F14): a night-flow alarm's detail says it waits for a person; "confirm leak" opens the repair
order (its number in the message, the order linked in the detail); "not a leak" needs the
reason, then acknowledges the alarm with it and opens no order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.models import EquipmentRow
from tests.console.conftest import ARTIFACTS, PASSWORD, seed_users
from tests.console.procs import serving
from tests.console.seed import add, assets
from tests.console.test_entrapment_browser import signed_in_phone
from tests.console.test_leak_verdict import leak, waste

SUPERVISOR = {"username": "supervisor", "password": PASSWORD}

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

WORDS = {
    "zh-CN": {"waits": "须有人确认漏水", "confirm": "确认漏水", "no": "不是漏水",
              "confirmed": "已确认漏水：维修工单 #", "not": "已确认报警：不是漏水",
              "reason": "请说明为何不是漏水"},
    "en": {"waits": "only when someone confirms", "confirm": "Confirm leak", "no": "Not a leak",
           "confirmed": "Leak confirmed: repair order #", "not": "Acknowledged: not a leak",
           "reason": "Say why it is not a leak"},
}  # fmt: skip


@pytest.fixture
def console(sqlite_db: Engine, closed_influx: InfluxSettings) -> Iterator[str]:
    add(sqlite_db, *assets())
    meters = [
        EquipmentRow(site="demo", id=m, building="B1", type="water_meter", rated={}, params={})
        for m in ("WM-01", "WM-02")
    ]
    add(sqlite_db, *meters)
    add(sqlite_db, leak("w1", 0), leak("w2", 5, equipment="WM-02"), waste("o1", 10))
    seed_users(sqlite_db)
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=open_store(closed_influx))
    with serving(app) as url:
        yield url


@pytest.mark.long(seconds=15)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_leak_alarm_is_confirmed_or_refused_on_the_page(
    browser: Any, console: str, locale: str
) -> None:
    expect, words = playwright_sync.expect, WORDS[locale]
    errors: list[str] = []
    page = signed_in_phone(
        browser, console, locale, SUPERVISOR, errors, viewport={"width": 1280, "height": 900}
    )
    context = page.context
    try:
        page.goto(f"{console}/alarms")

        def detail(alarm_id: str) -> Any:
            row = page.locator(".alarm-row", has=page.locator(f".alarm-key[data-alarm={alarm_id}]"))
            row.locator(".alarm-text").click()
            drawer = page.locator(".el-drawer:visible")
            expect(drawer).to_contain_text(words["waits"], timeout=15_000)
            return drawer

        drawer = detail("w1")
        drawer.locator(".act-confirm-leak").click()
        dialog = page.locator(".alarm-dialog[data-action=confirmLeak]")
        dialog.locator("textarea").fill("cistern")
        dialog.locator(".dialog-confirm").click()
        expect(page.locator(".el-message")).to_contain_text(words["confirmed"], timeout=15_000)
        expect(drawer.locator(".detail-order a")).to_have_count(1, timeout=15_000)
        expect(drawer.locator(".act-confirm-leak")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / f"leak-confirmed-{locale}.png"))
        drawer.locator(".el-drawer__close-btn").click()

        drawer = detail("w2")
        drawer.locator(".act-not-leak").click()
        dialog = page.locator(".alarm-dialog[data-action=notLeak]")
        dialog.locator(".dialog-confirm").click()  # no reason: refused by the form
        expect(dialog.locator(".el-form-item__error")).to_have_text(words["reason"])
        dialog.locator("textarea").fill("roof tank filled")
        dialog.locator(".dialog-confirm").click()
        expect(page.locator(".el-message").last).to_contain_text(words["not"], timeout=15_000)
        expect(page.locator(".alarm-key[data-alarm=w2]")).to_have_attribute(
            "data-state", "active_ack", timeout=15_000
        )
    finally:
        context.close()
    assert errors == [], errors


ROW_WORDS = {
    "zh-CN": {"waiting": "待判定漏水（2）", "no_order": "不会开维修工单"},
    "en": {"waiting": "Leaks waiting for a verdict (2)", "no_order": "opens no repair order"},
}


@pytest.mark.long(seconds=15)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_leak_alarms_row_offers_the_verdict_and_a_filter_shows_the_waiting_ones(
    browser: Any, console: str, locale: str
) -> None:
    """Second review of issue 20, N7: the leak alarm's row offered only "acknowledge" (which
    gives no verdict and opens no order) and nothing listed leaks waiting for one. On a phone
    its row offers 确认漏水 / 不是漏水 in place of acknowledging, the page counts and filters
    the waiting ones, and "confirm leak" from the row opens the order."""
    expect, words, rows = playwright_sync.expect, WORDS[locale], ROW_WORDS[locale]
    errors: list[str] = []
    page = signed_in_phone(
        browser, console, locale, SUPERVISOR, errors, viewport={"width": 390, "height": 844}
    )
    context = page.context
    try:
        page.goto(f"{console}/alarms")
        verdicts = page.locator(".verdict-only")
        expect(verdicts).to_contain_text(rows["waiting"], timeout=15_000)
        row = page.locator(".alarm-row", has=page.locator(".alarm-key[data-alarm=w1]"))
        expect(row.locator(".act-confirm-leak")).to_have_text(words["confirm"])
        expect(row.locator(".act-not-leak")).to_have_text(words["no"])
        expect(row.locator(".act-ack")).to_have_count(0)
        verdicts.click()
        expect(page.locator("#alarms .alarm-row")).to_have_count(2)
        row.locator(".act-confirm-leak").click()
        dialog = page.locator(".alarm-dialog[data-action=confirmLeak]")
        dialog.locator(".dialog-confirm").click()
        expect(page.locator(".el-message")).to_contain_text(words["confirmed"], timeout=15_000)
        expect(page.locator("#alarms .alarm-row")).to_have_count(1, timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / f"leak-row-verdict-{locale}.png"))
        # The plain acknowledgement (still in the detail) says it gives no verdict.
        page.locator(".alarm-row", has=page.locator(".alarm-key[data-alarm=w2]")).locator(
            ".act-details"
        ).click()
        page.locator(".el-drawer:visible .act-ack").click()
        expect(page.locator(".alarm-dialog[data-action=acknowledge]")).to_contain_text(
            rows["no_order"]
        )
    finally:
        context.close()
    assert errors == [], errors


WASTE_WORDS = {
    "zh-CN": {"button": "预期用量", "reason": "请说明为何这是预期用量",
              "done": "已确认报警：预期用量", "teaches": "非营业时段的正常用量"},
    "en": {"button": "Expected use", "reason": "Say why this use is expected",
           "done": "Acknowledged: expected use", "teaches": "normal use outside hours"},
}  # fmt: skip


@pytest.mark.long(seconds=15)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_an_off_hours_alarm_is_answered_expected_use_on_the_page(
    browser: Any, console: str, locale: str
) -> None:
    """Third review of issue 20, M2: an off-hours (waste) alarm could not be taught. On a
    phone its row offers "expected use" (not the leak verdict); the dialog says what the
    meter will learn, wants the reason, and acknowledges the alarm with it."""
    expect, words = playwright_sync.expect, WASTE_WORDS[locale]
    errors: list[str] = []
    page = signed_in_phone(
        browser, console, locale, SUPERVISOR, errors, viewport={"width": 390, "height": 844}
    )
    context = page.context
    try:
        page.goto(f"{console}/alarms")
        row = page.locator(".alarm-row", has=page.locator(".alarm-key[data-alarm=o1]"))
        expect(row.locator(".act-expected-use")).to_have_text(words["button"], timeout=15_000)
        expect(row.locator(".act-not-leak")).to_have_count(0)
        row.locator(".act-expected-use").click()
        dialog = page.locator(".alarm-dialog[data-action=expectedUse]")
        expect(dialog).to_contain_text(words["teaches"])
        dialog.locator(".dialog-confirm").click()  # no reason: refused by the form
        expect(dialog.locator(".el-form-item__error")).to_have_text(words["reason"])
        dialog.locator("textarea").fill("24-hour tenant")
        dialog.locator(".dialog-confirm").click()
        expect(page.locator(".el-message").last).to_contain_text(words["done"], timeout=15_000)
        expect(page.locator(".alarm-key[data-alarm=o1]")).to_have_attribute(
            "data-state", "active_ack", timeout=15_000
        )
        page.screenshot(path=str(ARTIFACTS / f"waste-expected-use-{locale}.png"))
    finally:
        context.close()
    assert errors == [], errors
