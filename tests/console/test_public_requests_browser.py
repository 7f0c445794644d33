"""An owner's repair request (报修) in a real Chromium: from the QR page on a phone in zh-CN
(the browser does the proof of work with WebCrypto) to the status page, the desk accepting it
in English as an emergency work order, the repair, and the owner's rating, which the desk
counts as the order's follow-up (回访); the same page over plain HTTP at a LAN name (no
WebCrypto there); the public pages fit a 375 px phone without the staff console's chrome; the
desk pages a flood and marks a selection as spam, on a phone too. The console runs in-process
under uvicorn on a free port, on a migrated SQLite file; screenshots go to
test-artifacts/console/ (not committed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig, ServiceDeskSettings
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance import publicrequests as pr
from bldgwatch.maintenance.config import AttachmentSettings
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.recordmodels import FollowUpRow
from tests.console.conftest import ARTIFACTS, CHROMIUM, PASSWORD, ClientFactory, seed_users
from tests.console.procs import serving
from tests.console.seed import add, assets

pytestmark = [pytest.mark.e2e]

PHONE = {"width": 375, "height": 740}
LAN_NAME = "bldg.test"
"""A name the insecure browser maps to 127.0.0.1: plain HTTP to it is not a secure context."""
NOW = datetime.now(UTC)
"""The flood's time (the console runs on the real clock)."""
playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


def _config(folder: Path, **limits: Any) -> ConsoleConfig:
    # 12 bits: a few thousand WebCrypto digests, so a starved CI browser still finishes fast.
    return ConsoleConfig(
        dev=True,
        attachments=AttachmentSettings(folder=folder),
        service_desk=ServiceDeskSettings(pow_difficulty=12, **limits),
    )


@pytest.fixture
def console(
    request: pytest.FixtureRequest,
    sqlite_db: Engine,
    closed_influx: InfluxSettings,
    tmp_path: Path,
) -> Iterator[str]:
    """The console on a free port over the seeded database (limits: the test's parameter)."""
    add(sqlite_db, *assets())
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    limits = getattr(request, "param", {})
    app = create_app(_config(tmp_path / "files", **limits), engine=sqlite_db, store=store)
    try:
        with serving(app) as url:
            yield url
    finally:
        store.close()


def _ok(resp: Any) -> Any:
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def _owner_sends(page: Any, console: str, code: str) -> str:
    """The owner fills the QR page in zh-CN; returns the status link's path."""
    page.goto(f"{console}/r/{code}")
    expect(page.locator("#request-place")).to_contain_text("Demo Plaza · 1号楼 水泵房")
    page.locator(".category-water").click()
    page.fill("textarea[name=description]", "地下室水泵房地面积水，水管在滴水")
    page.fill("input[name=phone]", "138 0013 8000")
    _fits_and_is_bare(page)
    page.locator("#request-submit").click()
    expect(page.locator("#request-done")).to_contain_text("已收到您的报修，编号 R-000001")
    _fits_and_is_bare(page)
    link = page.locator("#status-link")
    href = str(link.get_attribute("href"))
    assert href.startswith("/s/") and len(href) > 30
    page.screenshot(path=str(ARTIFACTS / "public-request-sent.png"))
    return href


def _fits_and_is_bare(page: Any) -> None:
    """A public page as an owner sees it: nothing wider than the phone, and none of the staff
    console's header, mute button or API links."""
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px phone"
    for staff in (".app-header", "#mute", "a[href='/docs']", "a[href='/redoc']"):
        assert page.locator(staff).count() == 0, staff
    expect(page.locator("#lang")).to_be_visible()  # the language stays the owner's choice


def _login(page: Any, console: str, path: str) -> None:
    page.goto(f"{console}{path}")
    expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.locator("#login button[type=submit]").click()


def _desk_accepts(browser: Any, console: str) -> None:
    """The supervisor, in English, accepts the request as an emergency."""
    context = browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{console}/service-desk")
        expect(page.locator("input[name=username]")).to_be_visible(timeout=15_000)
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", PASSWORD)
        page.locator("#login button[type=submit]").click()
        queue = page.locator("#desk-queue")
        expect(queue).to_contain_text("R-000001", timeout=20_000)
        expect(queue).to_contain_text("地下室水泵房地面积水")
        page.screenshot(path=str(ARTIFACTS / "service-desk-waiting.png"))
        queue.locator(".urgency").click()
        page.locator(".el-select-dropdown__item", has_text="Emergency (P1)").click()
        queue.locator(".accept").click()
        expect(page.locator(".el-message")).to_contain_text("R-000001 accepted")
        expect(queue).to_contain_text("No requests waiting")
        page.screenshot(path=str(ARTIFACTS / "service-desk-accepted.png"))
    finally:
        context.close()


def test_owner_request_from_the_qr_page_to_the_rating(
    browser: Any, console: str, sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path
) -> None:
    cfg = _config(tmp_path / "files")
    sup = make_client(sqlite_db, user="supervisor", cfg=cfg)
    tech = make_client(sqlite_db, user="tech", cfg=cfg)
    body = {"site": "demo", "kind": "equipment", "label": "1号楼 水泵房", "equipment": "P-01"}
    code = _ok(sup.post("/api/service-desk/points", json=body))["code"]
    owner = browser.new_context(locale="zh-CN", viewport=PHONE)
    try:
        page = owner.new_page()
        status_path = _owner_sends(page, console, code)
        page.goto(console + status_path)
        expect(page.locator("#status-state")).to_have_text("已收到")
        _fits_and_is_bare(page)
        current = page.locator(".current-step .el-step__title")
        expect(current).to_have_text("已收到")  # the step it is at, not the next one
        expect(current).to_have_class(re.compile(r"\bis-finish\b"))  # current, not done or waiting
        waiting = page.locator(".el-step__title.is-wait")
        expect(waiting).to_have_text(["已受理", "维修中", "已完成"])
        page.screenshot(path=str(ARTIFACTS / "public-request-received.png"))
        expect(page.locator(".request-status")).to_contain_text("GMT+08:00")
        expect(page.locator(".request-status")).to_contain_text("Asia/Shanghai")

        _desk_accepts(page.context.browser, console)
        with Session(sqlite_db) as session:
            order = session.scalars(select(WorkOrderRow)).one()
            assert (order.kind, order.priority, order.equipment) == ("request", 1, "P-01")
            oid = order.id
        page.reload()
        expect(page.locator("#status-state")).to_have_text("已受理")
        expect(page.locator(".current-step .el-step__title")).to_have_text("已受理")
        expect(page.locator(".el-step__title.is-wait")).to_have_text(["维修中", "已完成"])

        _ok(sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
        _ok(tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
        _ok(tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "换了阀门"}))
        page.reload()
        expect(page.locator("#status-state")).to_have_text("已完成")
        page.locator("#rating-form .el-rate__item").nth(4).click()
        page.fill("textarea[name=comment]", "来得很快")
        page.locator("#rating-submit").click()
        expect(page.locator("#status-rated")).to_contain_text("5 星")
        page.screenshot(path=str(ARTIFACTS / "public-request-rated.png"))
    finally:
        owner.close()
    with Session(sqlite_db) as session:
        follow = session.scalars(select(FollowUpRow)).one()
        assert (follow.work_order_id, follow.satisfaction, follow.note) == (oid, 5, "来得很快")
        assert session.get(WorkOrderRow, oid).status == "verified"  # type: ignore[union-attr]


@pytest.mark.parametrize("console", [{"address_requests": 1}], indirect=True)
def test_the_qr_page_says_when_the_limit_is_reached(
    browser: Any, console: str, sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path
) -> None:
    sup = make_client(sqlite_db, user="supervisor", cfg=_config(tmp_path / "files"))
    body = {"site": "demo", "kind": "equipment", "label": "1号楼 水泵房", "equipment": "P-01"}
    code = _ok(sup.post("/api/service-desk/points", json=body))["code"]
    owner = browser.new_context(locale="zh-CN", viewport=PHONE)
    try:
        page = owner.new_page()
        _owner_sends(page, console, code)
        page.goto(f"{console}/r/{code}")
        page.locator(".category-door").click()
        page.fill("textarea[name=description]", "单元门禁坏了")
        page.fill("input[name=phone]", "not a phone")
        page.locator("#request-submit").click()  # refused in the page, before any work
        expect(page.locator("#request-error")).to_have_text("电话号码无效")
        page.fill("input[name=phone]", "")
        page.locator("#request-submit").click()
        expect(page.locator("#request-error")).to_contain_text("您所在网络提交的报修过多")
        expect(page.locator("#request-error")).to_contain_text("请约 60 分钟后再试")
        expect(page.locator("#request-error")).not_to_contain_text("秒")
        _fits_and_is_bare(page)
        expect(page.locator("#request-form")).to_be_visible()  # the form stays, filled in
        expect(page.locator("textarea[name=description]")).to_have_value("单元门禁坏了")
        page.screenshot(path=str(ARTIFACTS / "public-request-limited.png"))
    finally:
        owner.close()
    assert ok_count(sup) == 1


def ok_count(sup: Any) -> int:
    """Requests waiting for the desk."""
    return int(_ok(sup.get("/api/service-desk/requests"))["total"])


def test_the_qr_page_works_over_plain_http_without_webcrypto(
    browser: Any, console: str, sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path
) -> None:
    sup = make_client(sqlite_db, user="supervisor", cfg=_config(tmp_path / "files"))
    body = {"site": "demo", "kind": "equipment", "label": "1号楼 水泵房", "equipment": "P-01"}
    code = _ok(sup.post("/api/service-desk/points", json=body))["code"]
    lan = console.replace("127.0.0.1", LAN_NAME)
    rules = f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1"
    insecure = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", rules],
    )
    try:
        page = insecure.new_context(locale="zh-CN", viewport=PHONE).new_page()
        page.goto(f"{lan}/r/{code}")
        expect(page.locator("#request-place")).to_contain_text("1号楼 水泵房")
        assert page.evaluate("[window.isSecureContext, typeof crypto.subtle]") == [
            False,
            "undefined",
        ]
        _owner_sends(page, lan, code)
    finally:
        insecure.close()
    assert ok_count(sup) == 1


def _flood(engine: Engine, code: str, count: int) -> None:
    """`count` waiting requests from the point, stored as the public route stores them."""
    with Session(engine) as session:
        point = pr.point_by_code(session, code)
        assert point is not None
        for i in range(count):
            pr.submit(session, point, pr.Submission("other", "", f"灌水 {i}", "zh-CN"), at=NOW)
        session.commit()


def test_the_desk_pages_a_flood_and_marks_a_selection_as_spam_on_a_phone(
    browser: Any, console: str, sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path
) -> None:
    sup = make_client(sqlite_db, user="supervisor", cfg=_config(tmp_path / "files"))
    body = {"site": "demo", "kind": "equipment", "label": "1号楼 水泵房", "equipment": "P-01"}
    code = _ok(sup.post("/api/service-desk/points", json=body))["code"]
    _flood(sqlite_db, code, 600)
    with Session(sqlite_db) as session:  # the genuine one, after the flood
        point = pr.point_by_code(session, code)
        assert point is not None
        sent = pr.Submission("water", "", "地下室漏水", "zh-CN")
        pr.submit(session, point, sent, at=NOW + timedelta(minutes=1))
        session.commit()
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    try:
        page = context.new_page()
        _login(page, console, "/service-desk")
        queue = page.locator("#desk-queue")
        expect(page.locator("#desk-count")).to_have_text("共 601 件待审核", timeout=20_000)
        expect(queue.locator(".request").first).to_contain_text("灌水 0")  # oldest first
        for button in (".accept", ".decline", ".spam"):  # all in reach on the phone
            box = queue.locator(".request").first.locator(button).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, button
        page.screenshot(path=str(ARTIFACTS / "service-desk-phone.png"))
        page.locator(".queue-pages li.number", has_text="13").click()  # the last page
        expect(queue).to_contain_text("地下室漏水")
        page.locator(".queue-pages li.number", has_text="1").first.click()
        expect(queue.locator(".request").first).to_contain_text("灌水 0", timeout=15_000)
        page.locator(".pick-page").click()
        expect(page.locator("#spam-picked")).to_contain_text("50")
        page.locator("#spam-picked").click()
        page.locator(".el-message-box .el-button--primary").click()
        # 50 decisions, each in its own transaction as one at a time: slow on a loaded machine
        marked = page.locator(".el-message")
        expect(marked).to_contain_text("已将 50 件报修标记为垃圾", timeout=30_000)
        expect(page.locator("#desk-count")).to_have_text("共 551 件待审核", timeout=30_000)
        expect(queue.locator(".request").first).to_contain_text("灌水 50")
    finally:
        context.close()
    assert ok_count(sup) == 551
