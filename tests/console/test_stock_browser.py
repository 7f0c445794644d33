"""Parts from stock on a work order in a real Chromium, zh-CN then en: a technician's round
finds pump P-01 leaking, which opens a repair order (as `maintenance.roundentries` does); the
order is assigned to the technician, who reserves and issues a bearing on it; the order's cost
shows it, the stock page shows on hand down by what was issued, and its ledger the issue on
that order — the journey round → order → part, end to end (issue 19, point 5). The console
runs in-process under uvicorn on a free port, on a migrated SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.db import session_factory
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.checklists import ChecklistItem
from bldgwatch.maintenance.config import SlaPolicy, StageConfig
from bldgwatch.maintenance.roundentries import RoundPolicy, raise_fault
from bldgwatch.maintenance.roundmodels import RoundRunRow
from tests.console.conftest import ARTIFACTS, PASSWORD, ClientFactory, seed_users
from tests.console.procs import serving
from tests.console.seed import (
    T0,
    add,
    assets,
    inspection_round,
    ledger_movements,
    purchase_requests,
    store,
)

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console(sqlite_db: Engine, closed_influx: InfluxSettings) -> Iterator[str]:
    """The console on a free port over the seeded database (store 1: one bearing)."""
    add(sqlite_db, *assets(), *store())
    seed_users(sqlite_db)
    tsdb = open_store(closed_influx)
    app = create_app(ConsoleConfig(dev=True), engine=sqlite_db, store=tsdb)
    try:
        with serving(app) as url:
            yield url
    finally:
        tsdb.close()


def _order_in_progress(make_client: ClientFactory, engine: Engine) -> int:
    """The repair order a failed round item opened on pump P-01, assigned to `tech` and
    started; four more bearings received (5 on hand)."""
    add(engine, *inspection_round()[:3])  # the pump room's checklist, round and a run of it
    with session_factory(engine)() as session:
        run = session.get(RoundRunRow, 1)
        assert run is not None
        leak = ChecklistItem(key="leak", kind="check", label="No leak")
        policy = RoundPolicy(sla=SlaPolicy(), stage=StageConfig())
        oid = raise_fault(session, run, "P-01", leak, False, policy=policy, at=T0, actor="tech")
        session.commit()
    sup, tech = make_client(engine, user="supervisor"), make_client(engine, user="tech")
    got = sup.post(
        "/api/stores/1/receipts", json={"part_no": "6205-2RS", "quantity": 4, "reason": "到货"}
    )
    assert got.is_success, got.text
    assert sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}).is_success
    assert tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}).is_success
    return oid


@pytest.mark.long(seconds=15)
def test_technician_reserves_and_issues_a_part_on_the_order(
    browser: Any, console: str, make_client: ClientFactory, sqlite_db: Engine
) -> None:
    expect = playwright_sync.expect
    oid = _order_in_progress(make_client, sqlite_db)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(console + "/")
        expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
        page.fill("input[name=username]", "tech")
        page.fill("input[name=password]", PASSWORD)
        page.locator("#login button[type=submit]").click()
        expect(page.locator("input[name=username]")).to_have_count(0, timeout=20_000)

        page.goto(f"{console}/work-orders/{oid}")
        expect(page.locator("#wo-title")).to_contain_text(
            "巡检：P-01 的 No leak 不合格", timeout=15_000
        )
        card = page.locator("#stock-form")
        expect(card).to_contain_text("领用备件", timeout=15_000)
        expect(card.locator(".stock-store")).to_contain_text("Main store")
        card.locator(".stock-part").click()
        page.locator(".el-select-dropdown__item:visible", has_text="6205-2RS").click()
        card.locator("input[name=stock_quantity]").fill("2")
        card.locator(".stock-reserve").click()
        expect(card.locator(".held-reserved")).to_have_text("2", timeout=10_000)
        card.locator(".stock-issue").click()
        expect(card.locator(".held-issued")).to_have_text("2", timeout=10_000)
        expect(card.locator(".held-reserved")).to_have_text("0")
        expect(page.locator("#wo-cost")).to_have_text("¥91.00", timeout=10_000)  # 2 × 45.50
        page.screenshot(path=str(ARTIFACTS / "stock-order-zh.png"), full_page=True)

        page.goto(f"{console}/stock")
        expect(page.locator("#stock-title")).to_have_text("材料备品", timeout=15_000)
        expect(page.locator('.on-hand[data-part="6205-2RS"]')).to_have_text("3", timeout=10_000)
        page.locator(".ledger-link").click()
        issued = page.locator(".ledger-table tbody tr").first
        expect(issued.locator(".ledger-kind")).to_have_text("领用", timeout=10_000)
        expect(issued).to_contain_text(f"#{oid}")
        page.go_back()
        page.locator("#lang").click()
        expect(page.locator("#stock-title")).to_have_text("Spare parts", timeout=10_000)
        expect(page.locator(".stock-table")).to_contain_text("On hand")
        page.screenshot(path=str(ARTIFACTS / "stock-page-en.png"), full_page=True)
        # review 19b-s L3, L4, L12: on a phone the ledger is blocks with the change and the
        # order in view, its filters name themselves, an unknown store says so
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{console}/stock/ledger?store=999")
        expect(page.locator(".el-message")).to_contain_text("Store 999 was not found")
        issued = page.locator(".ledger-list .movement").first
        expect(issued.locator(".ledger-on-hand")).to_have_text("-2", timeout=10_000)
        expect(issued).to_contain_text(f"#{oid}")
        box = issued.locator(".ledger-on-hand").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
        expect(page.locator(".pickers")).to_contain_text("All parts")
        expect(page.locator(".pickers")).to_contain_text("All kinds")
    finally:
        context.close()
    assert errors == [], errors


def _signed_in(browser: Any, console: str, user: str, locale: str, width: int) -> Any:
    context = browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.goto(console + "/")
    playwright_sync.expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.locator("#login button[type=submit]").click()
    playwright_sync.expect(page.locator("input[name=username]")).to_have_count(0, timeout=20_000)
    return context, page


@pytest.mark.long(seconds=15)
def test_the_ledger_pages_on_keeps_its_filters_and_exports_them(
    browser: Any, console: str, sqlite_db: Engine
) -> None:
    """Review 19 stock L9: the ledger stopped at 500 rows; it now shows a page, "show more"
    goes on after the last row with the filters kept, and CSV exports all that is filtered."""
    expect = playwright_sync.expect
    add(sqlite_db, *ledger_movements(230))
    context, page = _signed_in(browser, console, "supervisor", "en", 1280)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{console}/stock/ledger?store=1")
        rows = page.locator(".ledger-table tbody tr")
        expect(rows).to_have_count(100, timeout=15_000)
        expect(rows.first).to_contain_text("tech229")
        expect(page.locator(".ledger-count")).to_contain_text("100 shown")
        page.locator(".more").click()
        expect(rows).to_have_count(200, timeout=10_000)
        expect(rows.nth(100)).to_contain_text("tech129")
        page.locator(".more").click()
        expect(rows).to_have_count(230, timeout=10_000)
        expect(page.locator(".more")).to_have_count(0)
        expect(page.locator(".ledger-count")).to_contain_text("230 shown: the whole ledger")
        page.locator(".pickers .el-select").nth(2).click()  # kind
        page.locator(".el-select-dropdown__item:visible", has_text="Issued").click()
        expect(rows).to_have_count(58, timeout=10_000)  # fewer than a page: no "show more"
        expect(page.locator(".more")).to_have_count(0)
        for i in (0, 57):
            expect(rows.nth(i).locator(".ledger-kind")).to_have_text("Issued")
        with page.expect_download() as got:
            page.locator(".ledger-export").click()
        text = got.value.path().read_text(encoding="utf-8-sig")
        lines = text.strip().splitlines()
        assert lines[0].startswith("Time,Kind,Part number")
        assert len(lines) == 1 + 58 and all(",issued," in line for line in lines[1:]), lines[:3]
        assert got.value.suggested_filename == "demo-main-ledger.csv"
    finally:
        context.close()
    assert errors == [], errors


@pytest.mark.long(seconds=15)
def test_the_work_order_page_fits_a_phone_in_both_languages(
    browser: Any, console: str, make_client: ClientFactory, sqlite_db: Engine
) -> None:
    """Review 19 stock L6: on a 390 px phone the order page was 404 px wide in English (the
    facts, two pairs a row, could not wrap the stage's reason); now one pair a row."""
    expect = playwright_sync.expect
    oid = _order_in_progress(make_client, sqlite_db)
    context, page = _signed_in(browser, console, "supervisor", "zh-CN", 390)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{console}/work-orders/{oid}")
        for language, stage, stock in (("zh-CN", "失效期", "领用备件"), ("en", "life", "Parts")):
            if language == "en":
                page.locator("#lang").click()
            expect(page.locator(".wo-facts")).to_contain_text(stage, timeout=15_000)
            expect(page.locator("#stock-form")).to_contain_text(stock, timeout=10_000)
            expect(page.locator("#wo-history")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            shot = ARTIFACTS / f"work-order-phone-{language}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert width <= 390, (language, width)
    finally:
        context.close()
    assert errors == [], errors


@pytest.mark.long(seconds=15)
def test_purchase_requests_page_on_by_status(browser: Any, console: str, sqlite_db: Engine) -> None:
    """Review 19 stock L7: only the newest 50 purchase requests were listed; now a page at
    a time with "show more", filtered by status, the status kept from page to page."""
    expect = playwright_sync.expect
    add(sqlite_db, *purchase_requests(2, 130))  # 131 with the seeded request 1
    context, page = _signed_in(browser, console, "supervisor", "en", 1280)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{console}/stock")
        listed = page.locator(".requests-list .request")
        expect(listed).to_have_count(20, timeout=15_000)
        expect(listed.first).to_have_attribute("data-request", "131")
        page.locator(".more-requests").click()
        expect(listed).to_have_count(40, timeout=10_000)
        expect(listed.nth(20)).to_have_attribute("data-request", "111")
        page.locator(".pr-status").click()
        page.locator(".el-select-dropdown__item:visible", has_text="waiting for approval").click()
        expect(listed).to_have_count(20, timeout=10_000)  # 27 pending: 1 and every fifth
        expect(listed.first).to_have_attribute("data-request", "130")
        page.locator(".more-requests").click()
        expect(listed).to_have_count(27, timeout=10_000)
        expect(listed.last).to_have_attribute("data-request", "1")
        expect(page.locator(".more-requests")).to_have_count(0)
        for i in (0, 19, 26):
            expect(listed.nth(i)).to_contain_text("waiting for approval")
    finally:
        context.close()
    assert errors == [], errors


@pytest.mark.long(seconds=15)
def test_an_admin_keeps_the_parts_list_on_its_page(browser: Any, console: str) -> None:
    """Review 19c-s H4: the parts list had no page; an admin adds a part (a number with "/",
    review 19c-s M2) with its price, critical flag and the class it fits, changes a price and
    withdraws a part, in zh-CN; a supervisor reads it in en without the form (M5)."""
    expect = playwright_sync.expect
    context, page = _signed_in(browser, console, "admin", "zh-CN", 1280)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{console}/parts")
        expect(page.locator("#parts-title")).to_have_text("备件清单", timeout=15_000)
        expect(page.locator('.unit-cost[data-part="6205-2RS"]')).to_have_text("45.50")
        form = page.locator("#part-form")
        form.locator("input[name=part_no]").fill("6205-2RS/C3")
        form.locator("input[name=part_name]").fill("深沟球轴承 C3")
        form.locator("input[name=part_unit]").fill("个")
        form.locator("input[name=unit_cost]").fill("52")
        form.locator(".critical").click()
        form.locator(".add-fit").click()  # pump, every model
        form.locator("input[name=fit_model_0]").fill("CR32")
        form.locator(".save-part").click()
        expect(page.locator(".el-message")).to_contain_text("备件已保存", timeout=10_000)
        expect(page.locator('.unit-cost[data-part="6205-2RS/C3"]')).to_have_text("52.00")
        expect(page.locator('.fits[data-part="6205-2RS/C3"]')).to_have_text("水泵 CR32")
        row = page.locator(".parts-table tbody tr", has_text="6205-2RS/C3")
        expect(row).to_contain_text("关键")
        # a price change and a withdrawal of the seeded bearing
        bearing = page.locator(".parts-table tbody tr").filter(
            has=page.locator('.unit-cost[data-part="6205-2RS"]')
        )
        bearing.locator(".edit-part").click()
        expect(form.locator("input[name=part_no]")).to_have_value("6205-2RS")
        form.locator("input[name=unit_cost]").fill("46")
        form.locator(".active").click()
        form.locator(".save-part").click()
        expect(page.locator('.unit-cost[data-part="6205-2RS"]')).to_have_count(0, timeout=10_000)
        page.locator(".show-withdrawn").click()
        expect(page.locator('.unit-cost[data-part="6205-2RS"]')).to_have_text("46.00")
        expect(bearing.locator(".withdrawn")).to_have_text("已停用")
        page.screenshot(path=str(ARTIFACTS / "parts-zh.png"), full_page=True)
    finally:
        context.close()
    context, page = _signed_in(browser, console, "supervisor", "en", 390)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{console}/parts")
        expect(page.locator("#parts-title")).to_have_text("Parts list", timeout=15_000)
        expect(page.locator('.fits[data-part="6205-2RS/C3"]')).to_have_text("pump CR32")
        expect(page.locator("#part-form")).to_have_count(0)
        expect(page.locator(".page")).to_contain_text("Only an admin changes this list")
    finally:
        context.close()
    assert errors == [], errors


@pytest.mark.long(seconds=10)
def test_a_chinese_store_code_is_refused_in_words(browser: Any, console: str) -> None:
    """Review 19c-s M9: a store code 一号库 was answered with the server's regular
    expression; the field names the form of a code and the page says it in zh-CN."""
    expect = playwright_sync.expect
    context, page = _signed_in(browser, console, "supervisor", "zh-CN", 390)
    try:
        page.goto(f"{console}/stock")
        code = page.locator("input[name=store_code]")
        expect(code).to_have_attribute("placeholder", "仓库编码，如 B1-main", timeout=15_000)
        code.fill("一号库")
        page.locator("input[name=store_name]").fill("一号库")
        page.locator(".add-store").click()
        toast = page.locator(".el-message")
        expect(toast).to_contain_text("只能用英文字母、数字", timeout=10_000)
        expect(toast).not_to_contain_text("^[A-Za-z")
    finally:
        context.close()


@pytest.mark.long(seconds=20)
def test_on_a_phone_the_stock_is_cards_and_a_rejection_says_why(browser: Any, console: str) -> None:
    """Review 19c-s L5: on a 390 px phone the 9-column stock table scrolled sideways, its
    reorder tag out of view; L4: a request was rejected without a reason, and who decided and
    when (with the year) was not shown."""
    expect = playwright_sync.expect
    context, page = _signed_in(browser, console, "supervisor", "zh-CN", 390)
    try:
        page.goto(f"{console}/stock")
        card = page.locator('.stock-card[data-part="6205-2RS"]')
        expect(card).to_contain_text("在库", timeout=15_000)
        box = card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        expect(page.locator(".stock-table")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        request = page.locator('.request[data-request="1"]')
        expect(request).to_contain_text(re.compile(r"20\d\d"))  # the year it was raised
        request.locator(".reject").click()
        prompt = page.locator(".reject-reason")
        prompt.locator("input").fill("重复申请")
        prompt.locator(".el-button--primary").click()
        decided = request.locator(".decided")
        expect(decided).to_contain_text("驳回", timeout=10_000)
        expect(decided).to_contain_text("重复申请")
        expect(decided).to_contain_text(re.compile(r"20\d\d"))
    finally:
        context.close()
