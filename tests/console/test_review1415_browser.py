"""Hostile review of issues 14/15 in a real Chromium on a phone-size viewport, zh-CN: a
technician working a ticket that the supervisor cancels meanwhile, and the history file
(设备档案). The console runs in-process under uvicorn on a free port, on a migrated SQLite
file; screenshots go to test-artifacts/console/ (not committed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from tests.console.conftest import PASSWORD, ClientFactory, seed_users
from tests.console.procs import serving
from tests.console.seed import add, assets

pytestmark = [pytest.mark.e2e]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
PHONE = {"width": 390, "height": 844}
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+(?: [A-Za-z]+){3,}")
playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console(sqlite_db: Engine, closed_influx: InfluxSettings) -> Iterator[str]:
    """The console on a free port over the seeded database."""
    add(sqlite_db, *assets())
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=store)
    try:
        with serving(app) as url:
            yield url
    finally:
        store.close()


@pytest.fixture
def phone(browser: Any, console: str) -> Iterator[Any]:
    """A phone-size page in zh-CN, signed in as the technician `tech`."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(console + "/")
        expect = playwright_sync.expect
        expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
        page.fill("input[name=username]", "tech")
        page.fill("input[name=password]", PASSWORD)
        page.locator("#login button[type=submit]").click()
        expect(page.locator("input[name=username]")).to_have_count(0, timeout=20_000)
        yield page
    finally:
        context.close()


def _api(make_client: ClientFactory, engine: Engine, user: str) -> Any:
    return make_client(engine, user=user)


def _resolve_cancelled_meanwhile(
    phone: Any, console: str, make_client: ClientFactory, engine: Engine
) -> Any:
    """The technician opens an order in progress and types the summary; the supervisor
    cancels it; the technician presses 完工 and confirms. The error message shown."""
    sup, tech = _api(make_client, engine, "supervisor"), _api(make_client, engine, "tech")
    oid = sup.post(
        "/api/work-orders",
        json={"site": "demo", "equipment": "P-01", "title": "水泵异响", "priority": 3},
    ).json()["id"]
    assert sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}).is_success
    moved = tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"})
    assert moved.is_success, moved.text
    phone.goto(f"{console}/work-orders/{oid}")
    expect = playwright_sync.expect
    expect(phone.locator("#resolve-form")).to_be_visible(timeout=15_000)
    phone.locator("#resolve-form textarea[name=summary]").fill("更换轴承")
    assert sup.post(f"/api/work-orders/{oid}/cancel", json={"reason": "业主撤单"}).is_success
    phone.locator("#resolve-form .act-resolve").click()
    phone.locator(".el-message-box button.el-button--primary").click()
    error = phone.locator(".el-message--error")
    expect(error).to_be_visible(timeout=10_000)
    phone.screenshot(path=str(ARTIFACTS / "review1415-resolve-refused-zh.png"), full_page=True)
    return error


def test_technician_on_a_phone_reads_a_refused_resolve_in_chinese(
    phone: Any, console: str, make_client: ClientFactory, sqlite_db: Engine
) -> None:
    """The technician's zh-CN page must say why in Chinese, not `cannot go from cancelled
    to resolved`."""
    shown = _resolve_cancelled_meanwhile(phone, console, make_client, sqlite_db).inner_text()
    assert not ENGLISH_SENTENCE.search(shown), f"English on a zh-CN phone: {shown!r}"


def test_history_file_on_a_phone_in_chinese_has_no_english_sentences(
    phone: Any, console: str
) -> None:
    """设备档案 in zh-CN: the stage line ("偶然失效期 — …") must not continue in English."""
    phone.goto(f"{console}/equipment/demo/P-01/history")
    expect = playwright_sync.expect
    expect(phone.get_by_text("偶然失效期").first).to_be_visible(timeout=15_000)
    phone.screenshot(path=str(ARTIFACTS / "review1415-history-zh.png"), full_page=True)
    body = phone.locator("main").inner_text()
    found = ENGLISH_SENTENCE.findall(body)
    assert not found, found


def test_history_trend_points_show_whole_dates(phone: Any, console: str) -> None:
    """The stage trend of the year: each point names its day (with the year), not a clipped
    time such as `03/08 20::` (the view slices a formatted time to 10 characters)."""
    phone.goto(f"{console}/equipment/demo/P-01/history")
    points = phone.locator("#hist-trend .trend-point")
    playwright_sync.expect(points.first).to_be_visible(timeout=15_000)
    shown = points.all_inner_texts()
    assert shown
    bad = [p for p in shown if "::" in p or not re.search(r"20\d\d", p)]
    assert not bad, bad
