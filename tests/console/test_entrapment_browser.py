"""An entrapment order on a phone in a real browser (Debian's Chromium through playwright) on
a running console (review 19c-d M6, M8, M11): the technician opens the order of a 困人 on
a 390 px screen in zh-CN and in English; the page fits the screen (the rule id in the
description wraps), shows the site's rescue plan (steps, contacts to call) and the running
rescue clock. The lift company's user, whose contractor the order is dispatched to, sees the
same and records "passengers released", its confirmation within the screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from bldgwatch.demo import DEV_LOGIN
from tests.console.conftest import ARTIFACTS, PASSWORD, RunningConsole
from tests.console.seed import alarm, work_order

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

TECH = {"username": "li.tech", "password": PASSWORD}
LIFT_USER = {"username": "liftco.zhao", "password": PASSWORD}
PHONE = {"width": 390, "height": 844}
SHANGHAI = ZoneInfo("Asia/Shanghai")
WORDS = {
    "zh-CN": {"case": "困人救援", "clock": "救援计时", "released": "被困乘客已解救"},
    "en": {"case": "Entrapment rescue", "clock": "Rescue clock", "released": "Passengers released"},
}


@pytest.fixture(scope="module")
def engine(running_console: RunningConsole) -> Iterator[Engine]:
    """The console's database."""
    db = make_engine(DatabaseSettings(url=running_console.db_url))
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    """The REST API as the admin: the lift company and its user, a technician, and the demo
    site's entrapment plan from the template with a contact to call."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        company = {
            "name": "上海某电梯工程有限公司",
            "licence": "TS3131001-2027",
            "contact": "王工",
            "phone": "021-5555 0101",
            "on_call": "400 820 0101",
        }
        assert http.put("/api/contractors/liftco", json=company).status_code == 200
        for name, roles, extra in (
            (TECH["username"], ["technician"], {}),
            (LIFT_USER["username"], ["contractor"], {"contractor": "liftco"}),
        ):
            user = {"name": name, "password": PASSWORD, "roles": roles, "sites": ["demo"]}
            made = http.post("/api/users", json=user | extra)
            assert made.status_code == 201, made.text
        plan = http.get("/api/emergency/template", headers={"Accept-Language": "zh-CN"}).json()
        plan["contacts"] = [{"name": "王工", "role": "维保单位救援人员", "phone": "13812345678"}]
        made = http.post(
            "/api/emergency/plans", json={"site": "demo", "kind": "entrapment", "plan": plan}
        )
        assert made.status_code == 201, made.text
        yield http


def _entrapment_order(engine: Engine, api: httpx.Client, tag: str) -> int:
    """An entrapment order as the rules open it from its alarm, 6 minutes ago, dispatched to
    liftco."""
    lifts = api.get("/api/equipment", params={"site": "demo", "limit": 500}).json()["items"]
    lift = next(e["id"] for e in lifts if e["type"] == "elevator")
    opened = datetime.now(UTC) - timedelta(minutes=6)
    order = work_order(
        0, equipment=lift, family="entrapment", fault_code="ELEV_ENTRAPMENT_BETWEEN_FLOORS",
        priority=1, status="assigned", contractor="liftco", title=f"困人 {tag}",
        description="rule elevator.entrapment_between_floors: ELEV_ENTRAPMENT_BETWEEN_FLOORS "
        "car stopped between floors with passengers", created_at=opened, updated_at=opened,
        response_due=opened + timedelta(minutes=30), resolution_due=opened + timedelta(hours=24),
        stage_detail={}, source_alarm_id=f"ent-{tag}",
    )  # fmt: skip
    raised = alarm(
        f"ent-{tag}", 0, equipment=lift, equipment_type="elevator", family="entrapment",
        fault_code="ELEV_ENTRAPMENT_BETWEEN_FLOORS", severity="critical", priority=1,
        raised_at=opened, updated_at=opened, message="passengers trapped",
    )  # fmt: skip
    with Session(engine) as session:
        session.add_all([raised, order])
        session.commit()
        return order.id


def signed_in_phone(
    browser: Any,
    console: str,
    locale: str,
    login: dict[str, str],
    errors: list[str],
    *,
    viewport: dict[str, int] = PHONE,
) -> Any:
    """A page signed in as `login` (page errors into `errors`), phone-sized unless `viewport`
    says otherwise; closing `page.context` ends it."""
    context = browser.new_context(locale=locale, viewport=viewport)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(console + "/")
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.locator("#login button[type=submit]").click()
    # signed in once the login form is gone (networkidle alone came before the token under
    # load, and the next goto landed on the login page again)
    playwright_sync.expect(page.locator("#login")).to_have_count(0, timeout=30_000)
    return page


@pytest.mark.long(seconds=40)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_an_entrapment_order_on_a_phone(
    browser: Any, console: str, engine: Engine, admin_api: httpx.Client, locale: str
) -> None:
    expect = playwright_sync.expect
    words = WORDS[locale]
    order_id = _entrapment_order(engine, admin_api, locale)
    errors: list[str] = []
    tech = signed_in_phone(browser, console, locale, TECH, errors)
    tech.goto(f"{console}/alarms/ent-{locale}")  # the alarm's page carries it too
    expect(tech.locator("#entrapment-case .rescue-clock")).to_contain_text(
        words["clock"], timeout=15_000
    )
    expect(tech.locator(".entrapment-order")).to_contain_text(f"#{order_id}")
    tech.screenshot(path=str(ARTIFACTS / f"entrapment-alarm-{locale}.png"), full_page=True)
    # the alarm page fits the phone: its facts in one column, a card per notification
    assert tech.evaluate("document.documentElement.scrollWidth") <= 390
    tech.goto(f"{console}/work-orders/{order_id}")
    case = tech.locator("#entrapment-case")
    expect(case).to_contain_text(words["case"], timeout=15_000)
    expect(case.locator(".rescue-clock")).to_contain_text(words["clock"])
    expect(case.locator(".plan-steps li").first).to_be_visible()
    expect(case.locator(".plan-contacts a[href='tel:13812345678']")).to_be_visible()
    tech.screenshot(path=str(ARTIFACTS / f"entrapment-order-{locale}.png"), full_page=True)
    assert tech.evaluate("document.documentElement.scrollWidth") <= 390  # M8
    tech.context.close()

    lift = signed_in_phone(browser, console, locale, LIFT_USER, errors)
    lift.goto(f"{console}/work-orders/{order_id}")
    button = lift.locator("#entrapment-case .passengers-released")
    expect(button).to_have_text(words["released"], timeout=15_000)
    assert lift.evaluate("document.documentElement.scrollWidth") <= 390
    # the press was missed at the car (review 19c-d M9): the release time typed, site clock
    typed = lift.locator("#entrapment-case .released-at-input input")
    expect(lift.locator("#entrapment-case .released-at")).to_contain_text("Asia/Shanghai")
    ahead = datetime.now(SHANGHAI) + timedelta(minutes=30)
    typed.fill(ahead.strftime("%Y-%m-%d %H:%M"))  # in the future: refused before sending
    button.click()
    expect(lift.locator(".el-message--warning")).to_be_visible(timeout=5_000)
    expect(button).to_be_visible()
    freed = (datetime.now(SHANGHAI) - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    typed.fill(freed)
    button.click()
    box = lift.locator(".el-message-box").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    expect(lift.locator(".el-message-box")).to_contain_text(freed)
    lift.locator(".el-message-box .el-button--primary").click()
    expect(button).to_have_count(0, timeout=10_000)
    released = lift.locator("#entrapment-case .rescue-moments li").last
    expect(released).not_to_contain_text("–")
    expect(released).to_contain_text(freed[-5:])  # the typed time, not now
    expect(released).to_contain_text(re.compile(r"· [34]\.\d (分钟|min)"))  # 6 - 2 minutes
    lift.context.close()
    assert errors == [], errors
