"""The gateways page in a real browser (Debian's Chromium through playwright), in zh-CN and en,
on the demo's running console (its gateway keys provisioned as the demo does): the fleet list
shows the demo gateway with its newest stored version; its page shows the versions with who
and why and the diff; a config that fails validation is refused naming the field; a good one
is pushed from the editor and listed as the next version, sent."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.demo import DEV_LOGIN
from bldgwatch.demo_setup import SITE_SPEC
from tests.console.conftest import ARTIFACTS, RunningConsole

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
    "zh-CN": {
        "title": "网关",
        "pushed": "已保存并下发",
        "refused": "配置被拒绝",
        "left_out": "将停止采集",
    },
    "en": {
        "title": "Gateways",
        "pushed": "stored and sent",
        "refused": "configuration refused",
        "left_out": "will stop being polled",
    },
}


def _left_out() -> list[str]:
    """The demo register's equipment of gw-1 but P-01: a push of P-01 alone names them in
    `remove` (review 21e M6)."""
    given = [e["id"] for e in SITE_SPEC["equipment"] if e.get("gateway") == "gw-1"]
    left = [eq for eq in given if eq != DEVICE["equipment"]]
    assert "E-01" in left, "the demo register gives gw-1 more than P-01"
    return left


@pytest.fixture(scope="module")
def first_version(console: str) -> int:
    """Version 1 of gw-1's config, pushed over the API as a machine would."""
    with httpx.Client(base_url=console, timeout=30) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        resp = http.post(
            "/api/gateways/demo/gw-1/configs",
            json={
                "config": {"devices": [DEVICE], "status_interval_s": 15},
                "reason": "first",
                "remove": _left_out(),
            },
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
    page.locator(".el-message-box__btns .el-button--primary").click()  # leaves all out: asked
    expect(page.locator("#push-error")).to_contain_text(texts["refused"])
    expect(page.locator("#push-error")).to_contain_text("devices.0")

    interval = 20 if locale == "zh-CN" else 25
    editor.fill(json.dumps({"devices": [DEVICE], "status_interval_s": interval}))
    page.locator(".push-reason input").fill(f"slower status {locale}")
    page.locator("button.push").click()
    # the register's other equipment of gw-1 is left out: asked first (review 21e M6)
    box = page.locator(".el-message-box")
    expect(box).to_contain_text(texts["left_out"])
    expect(box).to_contain_text("E-01")
    expect(box).not_to_contain_text(re.compile(r"(^|[^S])P-01"))  # SP-01 is left out
    box.locator(".el-message-box__btns .el-button--primary").click()
    expect(page.locator("#push-done")).to_contain_text(texts["pushed"])
    expect(page.locator("#gateway-versions")).to_contain_text(f"slower status {locale}")
    expect(page.locator("#gateway-diff pre")).to_contain_text(f"+status_interval_s: {interval}")
    assert re.search(r"\d", page.locator("#gateway-versions").inner_text())
    page.screenshot(path=str(ARTIFACTS / f"gateways-{locale}.png"), full_page=True)


def _push(console: str, config: dict[str, object], why: str) -> int:
    with httpx.Client(base_url=console, timeout=30) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        resp = http.post(
            "/api/gateways/demo/gw-1/configs",
            json={"config": config, "reason": why, "remove": _left_out()},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["version"])


def _say_status(running: RunningConsole, config: dict[str, object]) -> None:
    """A retained status of gw-1, sent with the demo gateway's own account."""
    gw = MqttClient(
        MqttSettings(
            port=running.mqtt_port, username="demo/gw-1", password=running.gateway_password
        ),
        client_id=f"gw-{uuid.uuid4().hex[:8]}",
    )
    gw.start()
    try:
        assert gw.wait_connected(10)
        doc = {"state": "online", "status_interval_s": 15, "config": config}
        info = gw.publish("bw/v1/demo/gw-1/status", json.dumps(doc).encode(), qos=1, retain=True)
        info.wait_for_publish(10)
    finally:
        gw.stop()


EDITOR_TEXTS = {
    "zh-CN": {"holds": "编辑框中是第 {v} 版", "running": "即网关正在运行的版本"},
    "en": {"holds": "The editor holds version {v}", "running": "the one the gateway runs"},
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_after_a_rollback_the_editor_holds_the_version_the_gateway_runs(
    page_of: object, console: str, running_console: RunningConsole, locale: str
) -> None:
    """Review 21e M4: the gateway rolled the newest version back and runs the one before;
    the editor starts from that one and says so; a version row's "edit from this one"
    loads another."""
    texts = EDITOR_TEXTS[locale]
    good = _push(console, {"devices": [DEVICE], "status_interval_s": 31}, f"good {locale}")
    bad = _push(
        console, {"devices": [{**DEVICE, "port": 1}], "status_interval_s": 32}, f"bad {locale}"
    )
    rollback = {"version": bad, "reason": "no device answered within 3 polls"}
    _say_status(
        running_console,
        {
            "version": good,
            "source": "pushed",
            "state": "rolled_back",
            "refused": None,
            "rollback": rollback,
            "pending_restart": [],
        },
    )
    page = page_of(locale, DEV_LOGIN)  # type: ignore[operator]
    page.goto(console + "/gateways/demo/gw-1")
    expect(page.locator("#gateway-rollback")).to_be_visible(timeout=15_000)
    holds = page.locator("#gateway-push .editor-holds")
    expect(holds).to_contain_text(texts["holds"].format(v=good))
    expect(holds).to_contain_text(texts["running"])
    editor = page.locator(".config-editor textarea")
    expect(editor).to_have_value(re.compile(r'"status_interval_s": 31'))
    assert '"port": 1,' not in editor.input_value()

    row = page.locator("#gateway-versions tr", has_text=f"bad {locale}")
    row.locator("button.edit-from").click()
    expect(holds).to_contain_text(texts["holds"].format(v=bad))
    expect(holds).not_to_contain_text(texts["running"])
    expect(editor).to_have_value(re.compile(r'"status_interval_s": 32'))
    page.screenshot(path=str(ARTIFACTS / f"gateways-editor-{locale}.png"), full_page=True)
