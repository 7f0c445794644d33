"""The alerting pages in a real browser (Debian's Chromium through playwright), in zh-CN and
in en, on one running console of the demo site with its alerting (the `running_console`,
`browser` and `page_of` fixtures of tests/console/conftest.py).

The admin adds a contact, a rota with that contact on every shift and a P1 policy through
the forms on `/alerts`, and the on-call view shows the contact on duty now. An entrapment
then escalates under that policy; the link the alerts service would send (`acklinks.issue`
with the site's key) opens in the recipient's language whatever the phone's, acknowledges
the alarm and stops the escalation, and opened again says it was used, in that language.
Every page and form is checked for CJK characters drawn as missing glyphs and, in zh-CN,
for English words in the visible text."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks, store
from bldgwatch.alerts.models import EscalationRow
from bldgwatch.alerts.secrets import SecretBox, load_key
from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.models import AlarmEvent
from bldgwatch.demo import DEV_LOGIN
from bldgwatch.demo_alerts import CONTACTS, POLICIES, ROTA
from bldgwatch.demo_setup import SITE_SPEC
from tests.console.conftest import ARTIFACTS, RunningConsole
from tests.console.seed import add, alarm

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

GLYPHS_JS = (Path(__file__).parent / "glyphs.js").read_text(encoding="utf-8")
ENGLISH_WORDS_JS = """() => {
  const words = new Set();
  const add = (text) => {
    for (const w of text.match(/[A-Za-z][A-Za-z'_-]*[A-Za-z]/g) ?? []) words.add(w);
  };
  add(document.body.innerText);
  for (const el of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (el.getClientRects().length && !el.value) add(el.placeholder);
  }
  return [...words].sort();
}"""
WORD = re.compile(r"[A-Za-z][A-Za-z'_-]*[A-Za-z]")


def _data_words() -> set[str]:
    """Words of the data the pages show, not of the interface: the demo's contacts (ids,
    names, addresses), its rota's and policies' ids, its channels, its site's and equipment's
    names and ids as the site file gives them."""
    texts = [SITE_SPEC["name"], ROTA["id"], "local-sink", "dingtalk-duty"]
    texts += [p["id"] for p in POLICIES]
    for contact in CONTACTS:
        texts += [contact["id"], contact["name"], contact.get("email", "")]
    for equipment in SITE_SPEC["equipment"]:
        texts += [equipment["id"], equipment["name"]]
    return {word for text in texts for word in WORD.findall(text)}


IDS = {
    locale: {"contact": f"zhao-{tag}", "rota": f"lifts-{tag}", "policy": f"entrapment-{tag}"}
    for locale, tag in (("zh-CN", "zh"), ("en", "en"))
}
"""The ids the walk in each language gives what it adds."""

ALLOWED_WORDS = (
    _data_words()
    | {i for ids in IDS.values() for i in ids.values()}
    | {
        # the product's name, the user signed in, the language button (EN: English, named in
        # English) and a contact's language by its own name, the zone of times (GMT+8)
        "bldgwatch",
        "admin",
        "EN",
        "English",
        "GMT",
        # the zone of times in notices and on the link's page, named as the notices name it
        # (`alerts.render.local_time`: "(Asia/Shanghai, UTC+08:00)")
        "Asia",
        "Shanghai",
        "UTC",
        # protocols and names as the providers' own Chinese pages write them
        "SMTP",
        "STARTTLS",
        "SSL",
        "TLS",
        "Webhook",
        "AccessKey",
        "ID",
        "open_id",
        "access_token",
        "hook",
        "key",
        "Secret",
    }
)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Words:
    """What one language's walk types and expects."""

    contact: str
    rota: str
    policy: str
    language: str
    labels: dict[str, str]
    channel_email: str
    security: list[str]
    shifts: tuple[str, str]
    ack: dict[str, str]
    entrapment: str
    """The lift's fault (a lift has one alarm per rule: each walk raises its own)."""


WORDS = {
    "zh-CN": Words(
        contact="赵敏",
        rota="电梯值班",
        policy="困人立即通知",
        language="中文",
        labels={
            "rota": "值班表",
            "channels": "渠道（按顺序备用）",
            "kind": "类型",
            "security": "加密方式",
        },
        channel_email="电子邮件",
        security=[
            "STARTTLS（先明文连接再升级加密，常用 587 端口）",
            "SSL/TLS（全程加密，常用 465 端口）",
            "不加密（仅限本机中继）",
        ],
        shifts=("白班", "夜班"),
        ack={
            "lead": "赵敏，您将确认以下报警：",
            "fault": "困人",
            "button": "确认报警",
            "done": "已确认，谢谢。升级通知已停止。",
            "used": "使用过，不能再次使用。",
        },
        entrapment="entrapment_at_floor",
    ),
    "en": Words(
        contact="Zhao Min",
        rota="Lift duty",
        policy="Entrapment at once",
        language="English",
        labels={
            "rota": "Rota",
            "channels": "Channels (in fallback order)",
            "kind": "Kind",
            "security": "Security",
        },
        channel_email="E-mail",
        security=[
            "STARTTLS (upgrade to encryption, usually port 587)",
            "SSL/TLS (encrypted throughout, usually port 465)",
            "No encryption (relay on this machine only)",
        ],
        shifts=("Day", "Night"),
        ack={
            "lead": "Zhao Min, you are acknowledging this alarm:",
            "fault": "ntrapment",
            "button": "Acknowledge",
            "done": "Acknowledged, thank you. The escalation has stopped.",
            "used": "it works only once.",
        },
        entrapment="entrapment_between_floors",
    ),
}


@pytest.fixture(scope="module")
def engine(running_console: RunningConsole) -> Iterator[Engine]:
    """The console's database (the alerts service's and the rules store's too)."""
    db = make_engine(DatabaseSettings(url=running_console.db_url))
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def admin_api(console: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _reads_well(page: Any, locale: str, where: str) -> int:
    """No CJK character drawn as a missing glyph; in zh-CN no English word in sight but the
    data's and the providers' own; the CJK characters checked."""
    glyphs = page.evaluate(GLYPHS_JS)
    assert glyphs["missing"] == [], f"{where}: drawn as missing glyphs: {glyphs['missing']}"
    assert glyphs["blank"] == [], f"{where}: drawn as nothing: {glyphs['blank']}"
    if locale == "zh-CN":
        english = [w for w in page.evaluate(ENGLISH_WORDS_JS) if w not in ALLOWED_WORDS]
        assert english == [], f"{where}: English in the Chinese page: {english}"
    page.screenshot(path=str(ARTIFACTS / f"alerting-{locale}-{where}.png"), full_page=True)
    return int(glyphs["checked"])


def _pick(page: Any, select: Any, option: str) -> None:
    """Choose `option` of an Element Plus select (its list is teleported to the body)."""
    select.click()
    item = page.locator(".el-select-dropdown__item:visible", has_text=option)
    item.first.click()


def _field(page: Any, form: str, label: str) -> Any:
    labelled = page.locator(".el-form-item__label", has_text=label)
    return page.locator(f"{form} .el-form-item").filter(has=labelled).first


def _save(page: Any, table: str, shows: str) -> None:
    expect = playwright_sync.expect
    page.locator(".alert-dialog .save").click()
    expect(page.locator(".alert-dialog")).to_be_hidden(timeout=10_000)
    expect(page.locator(f"{table} .el-table__row", has_text=shows)).to_be_visible()


def _add_contact(page: Any, locale: str, ids: dict[str, str], words: Words) -> int:
    page.locator("#tab-contacts").click()
    page.locator(".add-contact").click()
    form = ".contact-form"
    page.locator(f"{form} input[name=id]").fill(ids["contact"])
    page.locator(f"{form} input[name=name]").fill(words.contact)
    _pick(page, page.locator(f"{form} .el-select").first, words.language)
    checked = _reads_well(page, locale, "contact-form")
    _save(page, "#contacts", words.contact)
    return checked + _reads_well(page, locale, "contacts")


def _add_rota(page: Any, locale: str, ids: dict[str, str], words: Words) -> int:
    expect = playwright_sync.expect
    page.locator("#tab-rotas").click()
    page.locator(".add-rota").click()
    form = ".rota-form"
    page.locator(f"{form} input[name=id]").fill(ids["rota"])
    page.locator(f"{form} input[name=name]").fill(words.rota)
    # the new rota's two shifts are named in the page's language
    for row, shift in zip(page.locator(f"{form} .shift").all(), words.shifts, strict=True):
        expect(row.locator("input").first).to_have_value(shift)
    # one pair on the cycle: the contact takes every shift, so is on duty now
    _pick(page, page.locator(f"{form} .pair .el-select").first, words.contact)
    checked = _reads_well(page, locale, "rota-form")
    _save(page, "#rotas", words.rota)
    return checked + _reads_well(page, locale, "rotas")


def _add_policy(page: Any, locale: str, ids: dict[str, str], words: Words) -> int:
    page.locator("#tab-policies").click()
    page.locator(".add-policy").click()
    form = ".policy-form"
    page.locator(f"{form} input[name=id]").fill(ids["policy"])
    page.locator(f"{form} input[name=name]").fill(words.policy)
    _pick(page, _field(page, form, words.labels["rota"]).locator(".el-select"), ids["rota"])
    channels = _field(page, form, words.labels["channels"]).locator(".el-select")
    _pick(page, channels, "local-sink")
    page.locator(".alert-dialog .el-dialog__title").click()  # closes the open list
    checked = _reads_well(page, locale, "policy-form")
    _save(page, "#policies", words.policy)
    return checked + _reads_well(page, locale, "policies")


def _email_channel_form(page: Any, locale: str, words: Words) -> int:
    """The SMTP security choices read as words of the page's language (not starttls/tls)."""
    expect = playwright_sync.expect
    page.locator("#tab-channels").click()
    checked = _reads_well(page, locale, "channels")
    page.locator(".add-channel").click()
    form = ".channel-form"
    _pick(page, _field(page, form, words.labels["kind"]).locator(".el-select"), words.channel_email)
    _field(page, form, words.labels["security"]).locator(".el-select").click()
    items = page.locator(".el-select-dropdown__item:visible")
    expect(items).to_have_text(words.security)
    checked += _reads_well(page, locale, "channel-form-email")
    page.locator(".alert-dialog .el-dialog__headerbtn").click()
    expect(page.locator(".alert-dialog")).to_be_hidden()
    return checked


def _on_duty_shift(now: datetime, words: Words) -> str:
    local = now.astimezone(SHANGHAI).time()
    return words.shifts[0] if time(8, 30) <= local < time(20, 30) else words.shifts[1]


def _entrapment(
    engine: Engine, key: bytes, contact: str, fault: str, now: datetime
) -> tuple[str, str]:
    """An active P1 entrapment of the demo's lift, escalating (as the alerts service starts
    it), and the acknowledge link it would send `contact`: (alarm id, token)."""
    alarm_id = str(uuid.uuid4())
    add(
        engine,
        alarm(
            alarm_id, 0, equipment="E-01", equipment_type="elevator",
            rule=f"elevator.{fault}", fault_code=f"ELEV_{fault.upper()}",
            family="entrapment", priority=1, severity="critical", condition_active=True,
            raised_at=now, updated_at=now,
        ),
    )  # fmt: skip
    event = AlarmEvent.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "alarm_id": alarm_id,
            "site": "demo",
            "building": "B1",
            "equipment": "E-01",
            "equipment_type": "elevator",
            "rule": f"elevator.{fault}",
            "fault_code": f"ELEV_{fault.upper()}",
            "family": "entrapment",
            "severity": "critical",
            "priority": 1,
            "transition": "activate",
            "state": "active_unack",
            "previous_state": "normal",
            "at": now.isoformat(),
        }
    )
    with Session(engine) as session:
        store.activate(session, event, now, SHANGHAI)
        token = acklinks.issue(
            session,
            SecretBox(key).link_key,
            alarm_id=alarm_id,
            site="demo",
            contact_id=contact,
            message_id=None,
            now=now,
            ttl=timedelta(hours=12),
        )
        session.commit()
    return alarm_id, token


def _escalation(engine: Engine, alarm_id: str, policy: str) -> tuple[str, str | None]:
    with Session(engine) as session:
        row = session.get(EscalationRow, (alarm_id, policy))
        assert row is not None, f"no escalation of {alarm_id} under {policy}"
        return row.status, row.stop_reason


def _use_link(browser: Any, console: str, token: str, locale: str, words: Words) -> int:
    """The recipient opens the link on a phone set to the other language: the page speaks
    theirs; the button acknowledges; the link opened again says it was used."""
    expect = playwright_sync.expect
    phone = "en" if locale == "zh-CN" else "zh-CN"
    context = browser.new_context(locale=phone, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{console}/ack/{token}")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator("main")).to_contain_text(words.ack["lead"])
        expect(page.locator("main")).to_contain_text(words.ack["fault"])
        checked = _reads_well(page, locale, "ack-link")
        page.locator("button[type=submit]", has_text=words.ack["button"]).click()
        expect(page.locator("main")).to_contain_text(words.ack["done"])
        checked += _reads_well(page, locale, "ack-link-done")
        page.goto(f"{console}/ack/{token}")
        expect(page.locator("main")).to_contain_text(words.ack["used"])
        expect(page.locator("button")).to_have_count(0)
        expect(page.locator("html")).to_have_attribute("lang", locale)
        return checked + _reads_well(page, locale, "ack-link-used")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_admin_puts_a_contact_on_duty_and_their_link_acknowledges(
    locale: str,
    page_of: Any,
    running_console: RunningConsole,
    engine: Engine,
    admin_api: httpx.Client,
) -> None:
    expect = playwright_sync.expect
    words = WORDS[locale]
    ids = IDS[locale]
    page = page_of(locale, DEV_LOGIN)
    page.locator('[data-nav="alerts"]').click()
    expect(page.locator("#alerts-title")).to_be_visible()
    expect(page.locator(".on-call").first).to_be_visible(timeout=15_000)  # the demo's rota
    checked = _reads_well(page, locale, "on-call-before")
    checked += _add_contact(page, locale, ids, words)
    checked += _add_rota(page, locale, ids, words)
    checked += _add_policy(page, locale, ids, words)
    checked += _email_channel_form(page, locale, words)

    page.locator("#tab-on-call").click()
    now = datetime.now(UTC)
    duty = page.locator(f'.on-call[data-rota="{ids["rota"]}"]')
    expect(duty.locator(".primary")).to_have_text(words.contact)
    expect(duty).to_contain_text(_on_duty_shift(now, words))
    checked += _reads_well(page, locale, "on-call")
    who = admin_api.get(f"/api/alerts/demo/rotas/{ids['rota']}/on-call").json()
    assert who["primary"] == {"id": ids["contact"], "name": words.contact}

    key = load_key(running_console.key_file, {})
    assert key is not None
    alarm_id, token = _entrapment(engine, key, ids["contact"], words.entrapment, now)
    assert _escalation(engine, alarm_id, ids["policy"]) == ("active", None)
    browser = page.context.browser
    checked += _use_link(browser, running_console.url, token, locale, words)
    assert _escalation(engine, alarm_id, ids["policy"]) == ("stopped", "ack_link")
    acked = admin_api.get(f"/api/alarms/{alarm_id}").json()
    assert (acked["state"], acked["acked_by"]) == (
        "active_ack",
        f"{ids['contact']} (notice link)",
    )
    # the Chinese walk reads Chinese throughout; the English one still names 中文 and 赵敏…
    assert checked >= (300 if locale == "zh-CN" else 5), checked
