"""Complaints in a real browser (Debian's Chromium through playwright) on a running console
(the demo's console process alone, the `running_console`, `browser` and `page_of` fixtures of
tests/console/conftest.py): the desk logs a complaint in zh-CN, answers and settles it on its
page, and the KPI page's 有效投诉办结率 and complaint count move; the form checks before
sending in its own words, takes full-width phone digits, and the timeline speaks zh-CN (no raw
field names); in en the list marks a complaint whose response clock ran out, times show on the
site's clock with its zone, a change someone else made meanwhile is refused and the page
reloads saying so, and the household's history lists its complaints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bldgwatch.demo import DEV_LOGIN
from tests.console.conftest import ARTIFACTS

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOM = {"zh-CN": "1单元 502", "en": "2单元 1101"}


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    """The REST API as the admin (the dev login)."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _figures(api: httpx.Client) -> dict[str, Any]:
    answer = api.get("/api/kpis/maintenance", params={"site": "demo"})
    assert answer.status_code == 200, answer.text
    figures: dict[str, Any] = answer.json()["figures"]
    return figures


def test_log_answer_and_settle_a_complaint_in_chinese(
    page_of: Any, admin_api: httpx.Client
) -> None:
    expect = playwright_sync.expect
    before = _figures(admin_api)
    page = page_of("zh-CN", DEV_LOGIN)
    page.locator('[data-nav="complaints"]').click()
    expect(page.locator("#complaints-title")).to_contain_text("投诉")
    page.locator(".new-complaint").click()
    form = page.locator("#complaint-form")
    # Review 18c #8: the form's own words before sending, per field, not the API's.
    form.locator("input[name=room]").fill("\u200b")
    form.locator("input[name=phone]").fill("1----------")
    form.locator(".log-complaint").click()
    expect(form.locator(".el-form-item__error")).to_have_count(4)
    expect(form).to_contain_text("必填")
    expect(form).to_contain_text("至少 5 位数字")
    expect(form).not_to_contain_text("请求体")
    form.locator("input[name=building]").fill("3栋")
    form.locator("input[name=room]").fill(ROOM["zh-CN"])
    form.locator("textarea[name=description]").fill("厨房漏水报修三天无人上门")
    form.locator("input[name=complainant]").fill("王女士")
    form.locator("input[name=phone]").fill("１３８１２３４５６７８")  # a Chinese IME's digits
    household = {"building": "3栋", "room": ROOM["zh-CN"]}
    logged_before = len(
        admin_api.get("/api/households/demo", params=household).json()["complaints"]
    )
    form.locator(".log-complaint").dblclick()  # review 18c #23: busy, so sent once

    expect(page.locator("#complaint-title")).to_contain_text("投诉 #", timeout=10_000)
    expect(page.locator(".complaint-zone")).to_contain_text("Asia/Shanghai")
    expect(page.locator(".complaint-facts")).to_contain_text("GMT+8")
    expect(page.locator("#complaint-timeline")).to_contain_text("登记")
    expect(page.locator(".complaint-facts")).to_contain_text("13812345678")
    logged = admin_api.get("/api/households/demo", params=household).json()["complaints"]
    assert len(logged) == logged_before + 1
    page.locator("textarea[name=respond_note]").fill("已致电业主，今天下午上门")
    page.locator(".do-respond").click()
    expect(page.locator(".responded-at")).to_contain_text("GMT+8", timeout=10_000)
    expect(page.locator("#complaint-timeline")).to_contain_text("首次回应")
    page.locator("textarea[name=resolve_note]").fill("已更换水管，业主认可")
    # Review 18c #11: nobody's acceptance is pre-selected; the user says yes, no or not asked.
    expect(page.locator(".accepted-choice .is-active")).to_have_count(0)
    expect(page.locator(".do-resolve")).to_be_disabled()
    page.locator(".accepted-choice .el-radio-button").first.click()
    page.locator(".do-resolve").click()
    expect(page.locator(".complaint-outcome")).to_have_text("已解决", timeout=10_000)
    expect(page.locator(".resolve-card")).to_have_count(0)  # settled: nothing left to do
    timeline = page.locator("#complaint-timeline")
    expect(timeline).to_contain_text("办结")
    # Review 18c #5: field names and values in the reader's language.
    expect(timeline).to_contain_text("结果：– → 已解决")
    expect(timeline).to_contain_text("投诉人是否认可：– → 是")
    expect(timeline).to_contain_text("首次回应：– → ")
    for raw in ("responded_at", "outcome", "accepted", "handler", "true", "resolved_at"):
        expect(timeline).not_to_contain_text(raw)

    after = _figures(admin_api)
    assert after["complaints"] == (before["complaints"] or 0) + 1
    assert after["complaint_resolution_rate"] == 1.0
    page.locator('[data-nav="kpis"]').click()
    rate = page.locator('#maintenance-kpis [data-kpi="complaint_resolution_rate"]')
    expect(rate).to_have_text("100%", timeout=10_000)
    count = page.locator('#maintenance-kpis [data-kpi="complaints"]')
    expect(count).to_have_text(str(after["complaints"]))
    expect(page.locator("#maintenance-kpis")).to_contain_text("有效投诉办结率")
    page.screenshot(path=str(ARTIFACTS / "complaints-zh-CN.png"), full_page=True)


def test_the_list_marks_overdue_complaints_in_english(
    page_of: Any, admin_api: httpx.Client
) -> None:
    expect = playwright_sync.expect
    received = datetime.now(UTC) - timedelta(days=2)
    made = admin_api.post(
        "/api/complaints",
        json={
            "site": "demo",
            "building": "5栋",
            "room": ROOM["en"],
            "channel": "wecom",
            "category": "noise",
            "description": "pump room noise at night",
            "received_at": received.isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    page = page_of("en", DEV_LOGIN)
    page.locator('[data-nav="complaints"]').click()
    expect(page.locator("#complaints-title")).to_contain_text("Complaints")
    expect(page.locator(".complaint-zone")).to_contain_text("Asia/Shanghai")
    row = page.locator("#complaints tr.el-table__row").filter(has_text=f"#{cid}")
    expect(row).to_have_class("el-table__row overdue", timeout=10_000)
    expect(row).to_contain_text("response overdue")
    expect(row).to_contain_text("GMT+8")
    expect(row).to_contain_text("WeCom")
    page.locator(".only-overdue").click()
    expect(page.locator("#complaints tr.el-table__row").first).to_contain_text("overdue")
    row.locator("a").first.click()
    expect(page.locator("#complaint-title")).to_contain_text(f"Complaint #{cid}")
    expect(page.locator("#complaint-title")).to_contain_text("response overdue")
    # Review 18c #2: another desk assigns it while this page shows the older version.
    other = admin_api.post(f"/api/complaints/{cid}/assign", json={"handler": "admin"})
    assert other.status_code == 200, other.text
    page.locator("textarea[name=respond_note]").fill("called back")
    page.locator(".do-respond").click()
    expect(page.locator(".complaint-stale")).to_contain_text("Someone else changed", timeout=10_000)
    expect(page.locator(".complaint-handler")).to_have_text("admin")  # reloaded
    expect(page.locator(".responded-at")).to_have_text("–")
    expect(page.locator("#complaint-timeline")).to_contain_text("Handler: – → admin")
    page.locator(".household-link").click()
    expect(page.locator("#household-title")).to_contain_text(ROOM["en"])
    expect(page.locator("#household-complaints")).to_contain_text(f"#{cid}")
    expect(page.locator("#household-complaints")).to_contain_text("noise")
    page.screenshot(path=str(ARTIFACTS / "complaints-en.png"), full_page=True)
