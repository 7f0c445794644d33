"""A desk merge of two repair requests in a real Chromium, in zh-CN and in English: the
supervisor logs a phone request on the service-desk page (its status link shown once), merges
it into the request already waiting, and the merged caller's status page — opened from that
link — shows that it follows the primary and the primary's progress once the repair starts.
The console runs in-process under uvicorn on a free port, on a migrated SQLite file;
screenshots go to test-artifacts/console/ (not committed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.app import create_app
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.requestmodels import PublicRequestRow
from tests.console.conftest import ARTIFACTS, PASSWORD, ClientFactory, seed_users
from tests.console.procs import serving
from tests.console.seed import add, assets
from tests.console.test_public_requests_browser import _config, _ok

pytestmark = [pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

TEXTS = {
    "zh-CN": {
        "logged": "R-000002 已登记",
        "merged": "R-000002 已合并",
        "follows": "已与报修 R-000001 合并处理",
        "state": "维修中",
    },
    "en": {
        "logged": "R-000002 logged",
        "merged": "R-000002 merged",
        "follows": "Reported together with R-000001",
        "state": "In progress",
    },
}


@pytest.fixture
def console(sqlite_db: Engine, closed_influx: InfluxSettings, tmp_path: Path) -> Iterator[str]:
    """The console on a free port over the seeded database."""
    add(sqlite_db, *assets())
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    app = create_app(_config(tmp_path / "files"), engine=sqlite_db, store=store)
    try:
        with serving(app) as url:
            yield url
    finally:
        store.close()


def _desk_logs_and_merges(page: Any, console: str, locale: str) -> str:
    """The supervisor logs the second caller's request and merges it into the first;
    returns the status link the page showed for it."""
    texts = TEXTS[locale]
    page.goto(f"{console}/service-desk")
    expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.locator("#login button[type=submit]").click()
    queue = page.locator("#desk-queue")
    expect(queue).to_contain_text("R-000001", timeout=20_000)
    form = page.locator("#desk-log")
    form.locator("input[name=location]").fill("3栋 502")
    form.locator("textarea[name=description]").fill("楼上漏水，天花板滴水")
    form.locator("input[name=caller]").fill("李先生")
    form.locator("input[name=phone]").fill("139 0013 9000")
    form.locator(".log-request").click()
    expect(page.locator(".el-message").last).to_contain_text(texts["logged"])
    link = page.locator("#desk-log-link a")
    expect(link).to_be_visible()
    href = str(link.get_attribute("href"))
    assert "/s/" in href
    duplicate = queue.locator("[data-number=R-000002]")
    expect(duplicate).to_contain_text("李先生")
    duplicate.locator(".merge-into").click()
    page.locator(".el-select-dropdown__item:visible", has_text="R-000001").click()
    duplicate.locator(".merge").click()
    expect(page.locator(".el-message").last).to_contain_text(texts["merged"])
    expect(queue.locator("[data-number=R-000002]")).to_have_count(0)
    expect(queue.locator("[data-number=R-000001]")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / f"service-desk-merged-{locale}.png"))
    return href[href.index("/s/") :]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_desk_merge_and_the_merged_callers_status_page(
    *,
    browser: Any,
    console: str,
    sqlite_db: Engine,
    make_client: ClientFactory,
    tmp_path: Path,
    locale: str,
) -> None:
    texts = TEXTS[locale]
    cfg = _config(tmp_path / "files")
    sup = make_client(sqlite_db, user="supervisor", cfg=cfg)
    tech = make_client(sqlite_db, user="tech", cfg=cfg)
    first = {
        "site": "demo",
        "channel": "phone",
        "category": "water",
        "location": "3栋 602",
        "description": "卫生间漏水到楼下",
        "equipment": "P-01",
    }
    primary = _ok(sup.post("/api/service-desk/requests", json=first))["request"]
    assert primary["number"] == "R-000001"
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        status_path = _desk_logs_and_merges(page, console, locale)
    finally:
        context.close()
    with Session(sqlite_db) as session:
        rows = {
            r.id: (r.status, r.merged_into_id) for r in session.scalars(select(PublicRequestRow))
        }
    assert rows == {1: ("new", None), 2: ("merged", 1)}

    decided = _ok(sup.post("/api/service-desk/requests/1/accept", json={"urgency": "minor"}))
    oid = decided["work_order_id"]
    _ok(sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    _ok(tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))

    owner = browser.new_context(locale=locale, viewport={"width": 375, "height": 740})
    try:
        page = owner.new_page()
        page.goto(console + status_path)
        expect(page.locator("#status-merged")).to_contain_text(texts["follows"], timeout=15_000)
        expect(page.locator("#status-state")).to_have_text(texts["state"])
        assert page.locator("#rating-form").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"request-status-merged-{locale}.png"))
    finally:
        owner.close()


def test_on_a_phone_the_link_wraps_and_refusing_a_primary_warns_of_its_callers(
    *, browser: Any, console: str, sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path
) -> None:
    """Review 18d M5, M2, L4: at 390x844 the caller's link wraps (no sideways scroll), the
    "duplicate of…" choice names its candidates' status, and declining a primary says its
    merged caller goes back to the queue (it then waits again)."""
    sup = make_client(sqlite_db, user="supervisor", cfg=_config(tmp_path / "files"))
    call = {"site": "demo", "channel": "phone", "category": "water", "location": "3栋 602"}
    _ok(sup.post("/api/service-desk/requests", json={**call, "description": "恶作剧"}))
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        _desk_logs_and_merges(page, console, "zh-CN")
        link = page.locator("#desk-log-link a")
        assert str(link.get_attribute("href")).startswith(console + "/s/")  # the server's
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"the page scrolls sideways by {wide} px"
        primary = page.locator("#desk-queue [data-number=R-000001]")
        expect(primary.locator(".age")).to_contain_text("已等待")
        primary.locator(".decline").click()
        box = page.locator(".el-message-box")
        expect(box).to_contain_text("合并到它的 1 件报修将回到待处理队列")
        box.locator("input").fill("不是物业维修范围")
        box.locator(".el-button--primary").click()
        expect(page.locator("#desk-queue [data-number=R-000002]")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "service-desk-declined-primary-phone.png"))
    finally:
        context.close()
    with Session(sqlite_db) as session:
        rows = {
            r.id: (r.status, r.merged_into_id) for r in session.scalars(select(PublicRequestRow))
        }
    assert rows == {1: ("declined", None), 2: ("new", None)}
