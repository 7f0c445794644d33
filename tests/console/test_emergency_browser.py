"""An emergency drill in a real browser (Debian's Chromium through playwright) on a running
console (the `running_console`, `browser` and `page_of` fixtures of tests/console/conftest.py):
a supervisor of the demo site, in zh-CN, starts the entrapment plan from the default
template, adds its rescuer's contact (a new version; the first is opened read-only from the
plan's versions), schedules a drill on the site's clock
(Asia/Shanghai, the zone named), records it with step times typed and one set by the "now"
button, participants and findings, and the drill shows each step's minutes against its
target, the rescuer's arrival in red over its 30 minutes; switched to English the same page
says so in English. Then (review 19d M4) the supervisor creates a fire plan and saves a new
version of it, moves a second drill and calls it off, each with its reason shown, and
retires the fire plan (not offered for a drill) and puts it back in use; on a
phone's screen a drill is a card that fits it (M9)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bldgwatch.demo import DEV_LOGIN

pytestmark = [pytest.mark.services, pytest.mark.e2e]

playwright_sync = pytest.importorskip("playwright.sync_api")

SUPERVISOR = {"username": "zhang.sup", "password": "drill passphrase 2026"}


@pytest.fixture(scope="module")
def supervisor(console: str) -> Iterator[dict[str, str]]:
    """A supervisor of the demo site, made by the admin (the dev login)."""
    with httpx.Client(base_url=console, timeout=10) as http:
        token = http.post("/api/auth/token", data=DEV_LOGIN).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        user = {
            "name": SUPERVISOR["username"],
            "password": SUPERVISOR["password"],
            "roles": ["supervisor"],
            "sites": ["demo"],
        }
        made = http.post("/api/users", json=user)
        assert made.status_code == 201, made.text
        yield SUPERVISOR


@pytest.mark.long(seconds=45)
def test_a_supervisor_schedules_and_records_a_drill(
    page_of: Any, supervisor: dict[str, str]
) -> None:
    expect = playwright_sync.expect
    page = page_of("zh-CN", supervisor)
    page.locator('[data-nav="emergency"]').click()
    expect(page.locator("#emergency-title")).to_have_text("应急预案与演练")
    page.locator(".from-template").click()
    plan = page.locator("article.plan")
    expect(plan).to_contain_text("电梯困人救援应急预案", timeout=10_000)
    expect(plan).to_contain_text("救援人员到达现场")
    expect(plan).to_contain_text("≤ 30 分钟")
    expect(plan.locator(".drill-overdue")).to_have_text("尚未演练")
    add = plan.locator(".add-contact")
    add.locator("input[name=contact_name]").fill("王工")
    add.locator("input[name=contact_role]").fill("维保救援")
    add.locator("input[name=contact_phone]").fill("１３８ 1234 5678")  # a Chinese IME's digits
    add.locator(".save-contact").click()
    expect(plan.locator("table.contacts")).to_contain_text("138 1234 5678", timeout=10_000)
    expect(plan).to_contain_text("第 2 版")
    plan.locator(".plan-versions").click()  # the earlier version, read-only (drills L10)
    history = plan.locator(".plan-history")
    expect(history.locator("tr[data-version]")).to_have_count(2, timeout=10_000)
    expect(history.locator('tr[data-version="2"]')).to_contain_text("当前版本")
    expect(history.locator('tr[data-version="1"]')).to_contain_text(SUPERVISOR["username"])
    history.locator('tr[data-version="1"] .open-version').click()
    shown = history.locator('.plan-version[data-version="1"]')
    expect(shown).to_contain_text("历史版本，只读", timeout=10_000)
    expect(shown).to_contain_text("救援人员到达现场")
    expect(shown).not_to_contain_text("138 1234 5678")  # the contact came with version 2
    expect(shown.locator("input")).to_have_count(0)
    plan.locator(".plan-versions").click()
    expect(history).to_have_count(0)
    plan.locator(".edit-plan").click()  # each step's rescue milestone (review 19b-d M1)
    expect(plan.locator(".plan-milestone-1")).to_contain_text("报警")
    plan.locator(".close-editor").click()

    # yesterday 09:30 on the site's clock: past its time, so overdue until recorded
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).strftime("%Y-%m-%d")
    schedule = page.locator("#drill-schedule")
    expect(schedule).to_contain_text("Asia/Shanghai")
    schedule.locator("input[name=scheduled_at]").fill(f"{day} 09:30")
    schedule.locator("input[name=scheduled_at]").press("Enter")  # a date-time picker (L5)
    schedule.locator(".schedule-drill").click()
    drills = page.locator("#drills")
    expect(drills.locator(".drill-status.over")).to_have_text("逾期", timeout=10_000)
    drill_id = drills.locator("article[data-drill]").get_attribute("data-drill")

    form = page.locator("#drill-record")
    form.locator(".record-drill-pick").click()
    page.locator(".el-select-dropdown__item:visible", has_text="电梯困人救援").click()
    expect(form.locator("input[name=step_6]")).to_be_visible()
    for step, clock in ((1, "09:30"), (2, "09:33"), (3, "09:34"), (4, "10:05"), (5, "10:12")):
        form.locator(f"input[name=step_{step}]").fill(f"{day} {clock}")
    # checked and back in service: now, with the drill card's button (review 19b-d H1: the
    # record then sent it as cleared); the form shows it, keeping what was typed
    drills.locator(f'article[data-drill="{drill_id}"] .step-now-6').click()
    expect(form.locator("input[name=step_6]")).not_to_have_value("", timeout=10_000)
    expect(form.locator("input[name=step_5]")).to_have_value(f"{day} 10:12")
    # the card's re-time takes the time the step was really reached on the site's clock (the
    # held one shown first), and the reason; the form and the timings follow it (review 19f:
    # the button asked only the reason, and timed the step "now")
    card = drills.locator(f'article[data-drill="{drill_id}"]')
    card.locator(".step-retime-6").click()
    fix = card.locator("form.step-retime")
    expect(fix).to_contain_text("Asia/Shanghai")
    expect(fix.locator("input[name=retime_at]")).to_have_value(
        form.locator("input[name=step_6]").input_value()
    )
    fix.locator("input[name=retime_at]").fill(f"{day} 10:20")
    fix.locator("input[name=retime_at]").press("Enter")
    fix.locator(".confirm-retime").click()
    expect(page.locator(".el-message--warning")).to_be_visible()  # no reason: nothing sent
    fix.locator("input[name=retime_why]").fill("手机点晚了，按现场记录")
    fix.locator(".confirm-retime").click()
    expect(fix).to_have_count(0, timeout=10_000)
    expect(form.locator("input[name=step_6]")).to_have_value(f"{day} 10:20", timeout=10_000)
    expect(card.locator('.drill-corrections li[data-kind="retimed"]')).to_contain_text(
        "手机点晚了，按现场记录"
    )
    form.locator("input[name=participants]").fill("王工，李师傅")
    form.locator("textarea[name=findings]").fill("轿厢对讲声音小")
    form.locator("textarea[name=actions]").fill("更换对讲主机")
    form.locator(".record-drill").click()

    row = drills.locator(f'article[data-drill="{drill_id}"]')
    expect(row).to_contain_text("已演练", timeout=10_000)
    expect(row).to_contain_text("3.0 分钟 / ≤ 5 分钟")
    over = row.locator(".timing.over")
    expect(over).to_have_count(1)
    expect(over).to_contain_text("救援人员到达现场: 35.0 分钟 / ≤ 30 分钟")
    expect(over).to_contain_text("超过目标")
    expect(row.locator(".timing").nth(5)).to_contain_text("50.0 分钟 /")  # 09:30 → 10:20, re-timed
    expect(row).to_contain_text("轿厢对讲声音小")
    expect(row).to_contain_text("王工、李师傅")

    page.locator("#lang").click()
    expect(page.locator("#emergency-title")).to_have_text("Emergency plans and drills")
    expect(row).to_contain_text("held")
    expect(over).to_contain_text("35.0 min / ≤ 30 min · over target")

    # review 19d M4: a fire plan from the page, then a new version of it
    page.locator(".new-plan").click()
    editor = page.locator(".plan-editor")
    editor.locator("input[name=plan_title]").fill("Tower A fire evacuation")
    editor.locator("input[name=plan_step_1]").fill("Sound the alarm, call 119")
    editor.locator("input[name=plan_target_1]").fill("0")
    editor.locator(".add-step").click()
    editor.locator("input[name=plan_step_2]").fill("Everyone out by the stairs")
    editor.locator("input[name=plan_target_2]").fill("10")
    editor.locator(".save-plan").click()
    fire = page.locator("article.plan", has_text="Fire evacuation · Tower A fire evacuation")
    expect(fire).to_contain_text("≤ 10 min", timeout=10_000)
    fire.locator(".edit-plan").click()
    fire.locator("input[name=plan_title]").fill("Tower A fire evacuation plan")
    fire.locator(".save-plan").click()
    expect(fire).to_contain_text("version 2", timeout=10_000)

    # review 19d M4: a drill moved, then called off, each for a reason the card shows
    later = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).strftime("%Y-%m-%d")
    schedule.locator("input[name=scheduled_at]").fill(f"{later} 09:30")
    schedule.locator("input[name=scheduled_at]").press("Enter")
    schedule.locator(".schedule-drill").click()
    coming = drills.locator("article[data-drill]", has_text="scheduled")
    coming.locator(".move-drill").click()
    coming.locator("input[name=moved_to]").fill(f"{later} 14:00")
    coming.locator("input[name=moved_to]").press("Enter")
    coming.locator("input[name=change_reason]").fill("heavy rain")
    coming.locator(".confirm-change").click()
    expect(coming).to_contain_text("Moved: heavy rain", timeout=10_000)
    expect(coming).to_contain_text("14:00")
    coming.locator(".cancel-drill").click()
    coming.locator("input[name=change_reason]").fill("\u200b")  # refused: the form stays (L4)
    coming.locator(".confirm-change").click()
    expect(page.locator(".el-message--error")).to_be_visible(timeout=10_000)
    expect(coming.locator("input[name=change_reason]")).to_have_value("\u200b")
    coming.locator("input[name=change_reason]").fill("annual lift inspection")
    coming.locator(".confirm-change").click()
    gone = drills.locator("article[data-drill]", has_text="Called off: annual lift inspection")
    expect(gone).to_contain_text("cancelled", timeout=10_000)

    # review drills L2: the fire plan is retired (asked first), kept and no longer offered
    # for a drill; put back in use, it is offered again
    fire.locator(".retire-plan").click()
    page.locator(".el-message-box .el-button--primary").click()
    expect(fire.locator(".plan-retired")).to_contain_text("Retired by", timeout=10_000)
    expect(fire.locator(".edit-plan")).to_have_count(0)
    schedule.locator(".schedule-plan").click()
    offered = page.locator(".el-select-dropdown__item:visible")
    expect(offered).to_have_count(1)
    expect(offered).not_to_contain_text(["Fire evacuation"])
    page.keyboard.press("Escape")
    fire.locator(".reinstate-plan").click()
    expect(fire.locator(".plan-retired")).to_have_count(0, timeout=10_000)
    schedule.locator(".schedule-plan").click()
    expect(page.locator(".el-select-dropdown__item:visible")).to_have_count(2)
    page.keyboard.press("Escape")

    # review 19d M9: on a phone (390x844) a drill is a card as wide as the screen, not a
    # table squeezed to one character a line
    page.set_viewport_size({"width": 390, "height": 844})
    card = drills.locator(f'article[data-drill="{drill_id}"]')
    box = card.bounding_box()
    assert box is not None and 300 <= box["width"] <= 390, box
    assert box["height"] < 844, box  # the whole drill in one screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
