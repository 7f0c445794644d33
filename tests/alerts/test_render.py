"""Notices as read (pure): language, local time with its zone, the rescue clock, links, digests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bldgwatch.alerts.render import NoticeItem, RescueClock, SiteInfo, local_time, render
from tests.alerts.test_escalation import T0, facts

SITE = SiteInfo(
    site="demo",
    name="Demo Tower",
    zone=ZoneInfo("Asia/Shanghai"),
    buildings={"B1": "Tower A"},
    equipment={"E-01": "Passenger lift 1"},
)
RESCUE = RescueClock(30, frozenset({"entrapment"}))


def one(language: str, now: datetime, **item: object) -> str:
    notice = render(
        [NoticeItem(facts(), open_url="https://c/alarms/a1", ack_url="https://c/ack/t", **item)],  # type: ignore[arg-type]
        language=language,
        site=SITE,
        rescue=RESCUE,
        now=now,
        list_url="https://c/alarms",
        link_ttl_h=12,
    )
    return notice.text


def test_a_chinese_entrapment_notice() -> None:
    text = one("zh-CN", T0 + timedelta(minutes=2, seconds=10))
    assert text.splitlines() == [
        "【P1 紧急报警】困人（平层关人）",
        "设备：Passenger lift 1 (E-01)",
        "位置：Demo Tower Tower A",
        "数值：1",
        "报警时间：2026-12-06 03:00:00 (Asia/Shanghai, UTC+08:00)",
        "救援时限：还剩 28 分钟（30 分钟救援时钟，自报警起算）",
        "查看报警：https://c/alarms/a1",
        "确认报警（一次有效，12 小时内）：https://c/ack/t",
    ]


def test_an_english_reminder_past_the_rescue_time() -> None:
    text = one("en", T0 + timedelta(minutes=41), repeat=3)
    assert "[P1 emergency alarm] Entrapment at a landing" in text
    assert "Raised: 2026-12-06 03:00:00 (Asia/Shanghai, UTC+08:00)" in text
    assert "Rescue clock: 11 min overdue (30 min from the alarm)" in text
    assert "Reminder 4: nobody has acknowledged yet" in text


def test_an_escalation_says_to_whom() -> None:
    text = one("zh-CN", T0, level=1, roles=("backup",))
    assert "已升级通知：备班" in text


def test_a_pump_alarm_has_no_rescue_clock_and_falls_back_to_the_rule_text() -> None:
    pump = facts(
        family="bearing", fault_code="PUMP_NEW_CODE", message="P-01: odd", equipment="P-01"
    )
    notice = render(
        [NoticeItem(pump, open_url="u")],
        language="en",
        site=SITE,
        rescue=RESCUE,
        now=T0,
        list_url="l",
        link_ttl_h=12,
    )
    assert "Rescue" not in notice.text
    assert notice.subject == "[P1 emergency alarm] P-01: odd"
    assert "Equipment: P-01" in notice.text


def test_a_digest_lists_the_most_urgent_first() -> None:
    items = [
        NoticeItem(
            facts(alarm_id=f"a{i}", priority=p, fault_code="PUMP_CAVITATION", family="x"),
            open_url="u",
        )
        for i, p in enumerate([3, 1, 2])
    ]
    items.append(NoticeItem(facts(alarm_id="trap"), open_url="u", ack_url="https://c/ack/x"))
    notice = render(
        items,
        language="en",
        site=SITE,
        rescue=RESCUE,
        now=T0 + timedelta(minutes=5),
        list_url="https://c/alarms",
        link_ttl_h=12,
    )
    lines = notice.text.splitlines()
    assert lines[0] == "[Alarm digest] 4 alarms await acknowledgement"
    assert [line.split(" ")[1] for line in lines if line[:2] in ("1.", "2.", "3.", "4.")] == [
        "P1",
        "P1",
        "P2",
        "P3",
    ]
    assert "   Rescue clock: 25 min left" in lines
    assert "   Acknowledge: https://c/ack/x" in lines
    assert lines[-1] == "All alarms: https://c/alarms"
    assert notice.alarm_ids[0] in {"a1", "trap"}


def test_local_time_names_the_zone_and_offset() -> None:
    winter = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert (
        local_time(winter, ZoneInfo("Europe/Berlin"))
        == "2026-01-10 13:00:00 (Europe/Berlin, UTC+01:00)"
    )
    assert local_time(winter, ZoneInfo("Asia/Shanghai"), short=True) == "01-10 20:00"


def test_sms_parameters_carry_the_rescue_time() -> None:
    notice = render(
        [NoticeItem(facts(), open_url="u", ack_url="https://c/ack/t")],
        language="zh-CN",
        site=SITE,
        rescue=RESCUE,
        now=T0 + timedelta(minutes=1),
        list_url="l",
        link_ttl_h=12,
    )
    assert notice.sms_params == {
        "priority": "P1",
        "fault": "困人（平层关人）",
        "equipment": "Passenger lift 1 (E-01)",
        "time": "12-06 03:00",
        "rescue": "还剩 29 分钟",
        "count": "1",
        "link": "https://c/ack/t",
    }
