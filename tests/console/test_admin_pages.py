"""The admin pages in a real browser (Debian's Chromium through playwright) on a running
console (the demo's console process alone, on a broker of its own and the test InfluxDB;
the `running_console` and `browser` fixtures of tests/console/conftest.py):
the admin ends an engineer's sessions on the users page and then finds that change and
their own login in the audit log, in zh-CN and in en, with times on the site's clock; an
engineer has no menu entry for either page and is sent to the not-allowed page on their
URLs (the API refuses them too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bldgwatch.demo import DEV_LOGIN
from tests.console.conftest import ARTIFACTS

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

ENGINEER = {"username": "eng.audit", "password": "Kettle-Orbit-7359"}
TEXT = {
    "zh-CN": {"login": "登录成功", "revoke": "结束用户全部会话", "title": "审计日志"},
    "en": {"login": "logged in", "revoke": "all sessions of a user ended", "title": "Audit log"},
}


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    """The REST API as the admin; the engineer's account is created through it."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        created = http.post(
            "/api/users",
            json={"name": ENGINEER["username"], "password": ENGINEER["password"],
                  "roles": ["engineer"]},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        yield http


def _audit_row(page: Any, action: str, actor: str, target: str = "") -> Any:
    """The newest row of `action` by `actor` (on `target`, if given)."""
    rows = page.locator("#audit tr.el-table__row").filter(
        has=page.locator(f'.action[data-action="{action}"]')
    )
    rows = rows.filter(has=page.locator(".actor", has_text=actor))
    return rows.filter(has=page.locator(".target", has_text=target)).first


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_admin_reads_own_login_and_change_in_audit_log(
    page_of: Any, admin_api: httpx.Client, locale: str
) -> None:
    expect = playwright_sync.expect
    engineer = httpx.post(f"{admin_api.base_url}/api/auth/token", data=ENGINEER)
    assert engineer.status_code == 200  # a session of the engineer's to end
    page = page_of(locale, DEV_LOGIN)

    page.locator('[data-nav="users"]').click()
    row = page.locator("#users tr.el-table__row").filter(has_text=ENGINEER["username"])
    row.locator(".revoke").click()
    page.locator(".el-message-box__btns .el-button--primary").click()
    expect(page.locator(".el-message--success")).to_be_visible(timeout=10_000)
    refused = httpx.post(
        f"{admin_api.base_url}/api/auth/refresh",
        json={"refresh_token": engineer.json()["refresh_token"]},
    )
    assert refused.status_code == 401  # the page's action took effect

    page.locator('[data-nav="audit"]').click()
    expect(page.locator("#audit-title")).to_contain_text(TEXT[locale]["title"])
    revoke = _audit_row(page, "user.revoke", "admin", f"user:{ENGINEER['username']}")
    expect(revoke).to_contain_text(TEXT[locale]["revoke"], timeout=10_000)
    expect(revoke.locator(".actor")).to_have_text("admin")
    expect(revoke.locator("time")).to_contain_text("GMT+8")
    expect(revoke).to_contain_text("127.0.0.1")
    login = _audit_row(page, "login", "admin")
    expect(login).to_contain_text(TEXT[locale]["login"])
    # newest first: the change comes before the login that preceded it
    actions = page.locator("#audit .action").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions.index("user.revoke") < actions.index("login")

    page.locator(".actor-input input").fill(ENGINEER["username"])
    with page.expect_response(lambda r: "/api/audit?" in r.url and "actor=eng.audit" in r.url):
        page.locator(".actor-input input").press("Enter")
    others = page.locator("#audit .actor", has_not_text=ENGINEER["username"])
    expect(others).to_have_count(0)
    expect(page.locator("#audit .actor").first).to_have_text(ENGINEER["username"])
    page.screenshot(path=str(ARTIFACTS / f"audit-{locale}.png"), full_page=True)


def test_engineer_has_no_admin_pages(page_of: Any, admin_api: httpx.Client, console: str) -> None:
    expect = playwright_sync.expect
    page = page_of("en", ENGINEER)
    expect(page.locator('[data-nav="alarms"]')).to_be_visible()
    expect(page.locator('[data-nav="audit"]')).to_have_count(0)
    expect(page.locator('[data-nav="users"]')).to_have_count(0)
    for path in ("/audit", "/users"):
        page.goto(console + path)
        expect(page.locator("#forbidden")).to_contain_text("Your role does not give you this page")
        assert page.url.endswith("/not-allowed")
    expect(page.locator("#audit")).to_have_count(0)
    token = httpx.post(f"{console}/api/auth/token", data=ENGINEER).json()["access_token"]
    denied = httpx.get(f"{console}/api/audit", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
