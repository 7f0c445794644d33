"""The dashboard in a real browser (headless Chromium through playwright) against the running
stack: log in, see an injected simulator fault appear as an alarm without reload, acknowledge
it, find its work order in the technician view and resolve it. Screenshots of the main pages
go to test-artifacts/console/ (not committed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bldgwatch.core.config import DatabaseSettings, InfluxSettings
from bldgwatch.demo import DEV_LOGIN, Stack
from bldgwatch.servers import Server
from tests.stack import control_pump_fault, operator, running_stack
from tests.tools import unavailable

pytestmark = [pytest.mark.services, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def stack(
    tmp_path: Path,
    demo_broker: Server,
    influxd: Server,
    sqlite_settings: DatabaseSettings,
    influx_settings: InfluxSettings,
) -> Iterator[Stack]:
    with running_stack(
        tmp_path,
        demo_broker,
        influxd,
        db_url=sqlite_settings.url,
        influx_database=influx_settings.database,
    ) as stack:
        yield stack


@pytest.fixture
def page(stack: Stack) -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable("chromium is not installed (/usr/bin/chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_alarm_to_resolved_work_order_in_the_browser(
    stack: Stack, page: Any, demo_broker: Server
) -> None:
    expect = playwright_sync.expect
    page.goto(stack.console_url + "/")
    page.fill("input[name=username]", DEV_LOGIN["username"])
    page.fill("input[name=password]", DEV_LOGIN["password"])
    page.click("form#login button[type=submit]")
    expect(page.locator("#alarms-count")).to_be_visible(timeout=15_000)
    expect(page.locator("#live")).to_have_class("live-on", timeout=15_000)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    _shot(page, "alarms-before")

    control_pump_fault(operator(demo_broker), "start", client="browser-control")
    row = page.locator("#alarms tbody tr", has_text="P-01").first
    expect(row).to_have_attribute("data-state", "active_unack", timeout=120_000)
    assert page.evaluate("window.__sameDocument") is True, "the alarm needed a reload"
    _shot(page, "alarms-active")

    # A critical alarm sounds the cue; muted, it does not.
    critical = "{kind: 'alarm', id: 0, data: {severity: 'critical', state: 'active_unack'}}"
    page.evaluate(f"BW.emit({critical})")
    assert page.evaluate("BW.beeps") == 1
    page.click("#mute")
    page.evaluate(f"BW.emit({critical})")
    assert page.evaluate("BW.beeps") == 1
    page.click("#mute")

    row.locator("button.ack").click()
    expect(page.locator("#alarms tbody tr", has_text="P-01").first).to_have_attribute(
        "data-state", re.compile("active_ack|normal"), timeout=15_000
    )

    page.goto(stack.console_url + "/#board")
    expect(page.locator(".panel[data-equipment=P-01]")).to_be_visible(timeout=15_000)
    expect(page.locator(".panel[data-equipment=E-01] .shaft")).to_be_visible(timeout=15_000)
    _shot(page, "board")

    page.goto(stack.console_url + "/#equipment/demo/P-01")
    expect(page.locator("#chart canvas").first).to_be_visible(timeout=20_000)
    expect(page.locator("#eq-stage")).to_contain_text("life")  # stage and reason
    expect(page.locator("#eq-alarms tbody tr")).not_to_have_count(0)
    _shot(page, "equipment-P-01")

    page.goto(stack.console_url + "/#kpis")
    expect(page.locator("#alarm-figures .figure").first).to_be_visible(timeout=15_000)
    expect(page.locator("#maintenance-figures .figure").first).to_be_visible()
    _shot(page, "kpis")

    page.goto(stack.console_url + "/#tech")
    order = page.locator("#open-orders article", has_text="P-01").first
    expect(order).to_be_visible(timeout=60_000)
    order.locator("button.act-accept").click()
    mine = page.locator("#my-orders article", has_text="P-01").first
    mine.locator("button.act-start").click(timeout=15_000)
    mine = page.locator("#my-orders article", has_text="P-01").first
    mine.locator("input[name=labour_hours]").fill("1.5", timeout=15_000)
    mine.locator("input[name=parts]").fill("bearing 6205")
    mine.locator("input[name=note]").fill("bearing replaced")
    _shot(page, "technician")
    mine.locator("button.act-resolve").click()
    done = page.locator("#my-orders article", has_text="P-01").first
    expect(done.locator(".wo-status")).to_have_text("resolved", timeout=15_000)
    expect(done.locator("button")).to_have_count(0)  # nothing left for the technician
    _shot(page, "technician-resolved")
    page.goto(stack.console_url + "/#alarms")
    expect(page.locator("#orders tbody tr", has_text="P-01").first).to_contain_text("resolved")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(stack.console_url + "/#alarms")
    expect(page.locator("#alarms-count")).to_be_visible(timeout=15_000)
    _shot(page, "phone-alarms")
    page.click("#lang")
    expect(page.locator("nav a[href='#alarms']")).to_have_text("报警")
    _shot(page, "phone-alarms-zh")
