"""The gateways page in a real browser (Debian's Chromium through playwright), in zh-CN and en,
on the demo's running console (its gateway keys provisioned as the demo does): the fleet list
shows the demo gateway with its newest stored version; its page shows the versions with who
and why and the diff; a config that fails validation is refused naming the field; a good one
is pushed from the editor and listed as the next version, sent."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from bldgwatch.demo import DEV_LOGIN
from tests.console.conftest import ARTIFACTS

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

DEVICE = {
    "equipment": "P-01",
    "building": "B1",
    "profile": "pump-generic",
    "host": "127.0.0.1",
    "port": 1502,
    "unit": 1,
}
"""A device for the pushed configs (one that polls nothing is refused)."""

TEXTS = {
    "zh-CN": {"title": "网关", "pushed": "已保存并下发", "refused": "配置被拒绝"},
    "en": {"title": "Gateways", "pushed": "stored and sent", "refused": "configuration refused"},
}


@pytest.fixture(scope="module")
def first_version(console: str) -> int:
    """Version 1 of gw-1's config, pushed over the API as a machine would."""
    with httpx.Client(base_url=console, timeout=30) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        resp = http.post(
            "/api/gateways/demo/gw-1/configs",
            json={"config": {"devices": [DEVICE], "status_interval_s": 15}, "reason": "first"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["version"])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_gateways_page_lists_compares_refuses_and_pushes(
    page_of: object, console: str, first_version: int, locale: str
) -> None:
    texts = TEXTS[locale]
    page = page_of(locale, DEV_LOGIN)  # type: ignore[operator]
    page.goto(console + "/gateways")
    expect(page.locator("#gateways-title")).to_contain_text(texts["title"])
    link = page.locator("#gateways a.gateway-link", has_text="gw-1")
    expect(link).to_be_visible(timeout=15_000)
    link.click()
    expect(page.locator("#gateway-versions")).to_contain_text("first")
    expect(page.locator("#gateway-diff pre")).to_contain_text("status_interval_s: 15")

    editor = page.locator(".config-editor textarea")
    editor.fill('{"devices": [{"equipment": "X"}]}')
    page.locator(".push-reason input").fill("broken on purpose")
    page.locator("button.push").click()
    expect(page.locator("#push-error")).to_contain_text(texts["refused"])
    expect(page.locator("#push-error")).to_contain_text("devices.0")

    interval = 20 if locale == "zh-CN" else 25
    editor.fill(json.dumps({"devices": [DEVICE], "status_interval_s": interval}))
    page.locator(".push-reason input").fill(f"slower status {locale}")
    page.locator("button.push").click()
    expect(page.locator("#push-done")).to_contain_text(texts["pushed"])
    expect(page.locator("#gateway-versions")).to_contain_text(f"slower status {locale}")
    expect(page.locator("#gateway-diff pre")).to_contain_text(f"+status_interval_s: {interval}")
    assert re.search(r"\d", page.locator("#gateway-versions").inner_text())
    page.screenshot(path=str(ARTIFACTS / f"gateways-{locale}.png"), full_page=True)
