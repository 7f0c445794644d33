"""A verdict corrected on the alarm's page in a real Chromium, zh-CN and en (fourth review of
issue 20, H1/M1): a night-flow alarm the rules service closed after an engineer's "not a
leak" shows the verdict, who gave it and when, and offers the supervisor "correct the
verdict", which opens the repair order; the alarms list shows a leak order that was
cancelled as cancelled, not "unassigned"."""

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
from bldgwatch.rules.models import AlarmCommentRow, LeakVerdictRow
from tests.console.conftest import ARTIFACTS, PASSWORD, seed_users
from tests.console.procs import serving
from tests.console.seed import add, assets, at, incident_alarm, work_order
from tests.console.test_entrapment_browser import signed_in_phone
from tests.console.test_leak_verdict import leak

SUPERVISOR = {"username": "supervisor", "password": PASSWORD}

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

WORDS = {
    "zh-CN": {"none": "不是漏水", "by": "engineer 判定", "leak": "确认漏水", "done": "判定已更正",
              "cancelled": "已取消", "button": "更正判定", "why": "理由：不是漏水: 水箱补水",
              "noted": "确认漏水，已开维修工单", "no_order": "无"},
    "en": {"none": "Not a leak", "by": "by engineer", "leak": "Leak confirmed",
           "done": "Verdict corrected", "cancelled": "cancelled", "button": "Correct the verdict",
           "why": "Why: 不是漏水: 水箱补水", "noted": "leak confirmed, repair order opened",
           "no_order": "none"},
}  # fmt: skip


@pytest.fixture
def console(sqlite_db: Engine, closed_influx: InfluxSettings) -> Iterator[str]:
    add(sqlite_db, *assets())
    meters = [
        EquipmentRow(site="demo", id=m, building="B1", type="water_meter", rated={}, params={})
        for m in ("WM-01", "WM-02")
    ]
    add(sqlite_db, *meters)
    closed = {"state": "normal", "is_open": False}
    add(
        sqlite_db,
        leak("c1", 20, acked_by="engineer", **closed),
        leak("c2", 25, equipment="WM-02", state="active_ack", acked_by="engineer"),
        work_order(26, id=77, equipment="WM-02", status="cancelled", family="leak"),
    )
    add(
        sqlite_db,
        incident_alarm("e-c2", 77, "c2", 26),
        LeakVerdictRow(alarm_id="c1", raised_at=at(20), leak=False, actor="engineer",
                       given_at=at(30)),
        AlarmCommentRow(alarm_id="c1", at=at(30), actor="engineer", text="不是漏水: 水箱补水"),
        LeakVerdictRow(alarm_id="c2", raised_at=at(25), leak=True, actor="engineer",
                       given_at=at(26), work_order_id=77),
    )  # fmt: skip
    seed_users(sqlite_db)
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=open_store(closed_influx))
    with serving(app) as url:
        yield url


@pytest.mark.long(seconds=15)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_supervisor_corrects_not_a_leak_on_the_closed_alarms_page(
    browser: Any, console: str, locale: str
) -> None:
    expect, words = playwright_sync.expect, WORDS[locale]
    errors: list[str] = []
    page = signed_in_phone(
        browser, console, locale, SUPERVISOR, errors, viewport={"width": 390, "height": 844}
    )
    context = page.context
    try:
        page.goto(f"{console}/alarms")
        row = page.locator(".alarm-row", has=page.locator(".alarm-key[data-alarm=c2]"))
        expect(row.locator(".order-state")).to_have_text(words["cancelled"], timeout=15_000)

        page.goto(f"{console}/alarms/c1")
        verdict = page.locator("#alarm-verdict")
        expect(verdict).to_contain_text(words["none"], timeout=15_000)
        expect(verdict).to_contain_text(words["by"])
        # Review 20d L1: the page shows why (the note given with the verdict), the order (none
        # yet) and the alarm's history with who and when.
        expect(page.locator("#verdict-reason")).to_have_text(words["why"])
        expect(page.locator("#alarm-order")).to_have_text(words["no_order"])
        history = page.locator("#alarm-page-history")
        expect(history).to_contain_text("水箱补水")
        expect(history).to_contain_text("engineer")
        button = page.locator("#correct-verdict")
        expect(button).to_have_text(words["button"])
        page.screenshot(path=str(ARTIFACTS / f"leak-correct-{locale}.png"))
        button.click()
        page.locator(".correct-confirm .el-button--primary").click()
        expect(page.locator(".el-message").last).to_contain_text(words["done"], timeout=15_000)
        expect(verdict).to_have_attribute("data-leak", "true", timeout=15_000)
        expect(verdict).to_contain_text(words["leak"])
        expect(verdict.locator(".verdict-order")).to_have_count(1)
        expect(page.locator("#correct-verdict")).to_have_count(0)  # its order stands
        expect(page.locator("#alarm-order")).to_contain_text("#", timeout=15_000)
        expect(history).to_contain_text(words["noted"], timeout=15_000)
        expect(history.locator(".history-actor")).to_contain_text(["engineer", "supervisor"])
        page.screenshot(path=str(ARTIFACTS / f"leak-corrected-{locale}.png"))
    finally:
        context.close()
    assert errors == [], errors


TEACHES = {"zh-CN": "连续三晚回落到平常水平", "en": "three nights in a row"}


@pytest.mark.long(seconds=15)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_correction_to_not_a_leak_says_what_it_teaches(
    browser: Any, console: str, locale: str
) -> None:
    """Fifth review of issue 20, L6: the alarm page's correction of a confirmed leak whose order
    was cancelled to "not a leak" asked only for the reason, and taught the meter the level as
    its new normal without the explanation the alarms list's dialog gives (the level, three
    nights, who may reverse it)."""
    expect, words = playwright_sync.expect, WORDS[locale]
    errors: list[str] = []
    page = signed_in_phone(
        browser, console, locale, SUPERVISOR, errors, viewport={"width": 390, "height": 844}
    )
    context = page.context
    try:
        page.goto(f"{console}/alarms/c2")
        button = page.locator("#correct-verdict")
        expect(button).to_have_text(words["button"], timeout=15_000)
        button.click()
        ask = page.locator(".correct-reason")
        expect(ask.locator(".not-leak-teaches")).to_contain_text(TEACHES[locale])
        page.screenshot(path=str(ARTIFACTS / f"leak-correct-none-{locale}.png"))
        ask.locator("input").fill("水箱补水")
        ask.locator(".el-button--primary").click()
        expect(page.locator(".el-message").last).to_contain_text(words["done"], timeout=15_000)
        expect(page.locator("#alarm-verdict")).to_have_attribute("data-leak", "false")
    finally:
        context.close()
    assert errors == [], errors
