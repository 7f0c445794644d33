"""Notices speak the site's language and tell times on the site's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bldgwatch.core.models import WorkOrderEvent
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.notices import SiteVoice, notice_for
from bldgwatch.maintenance.roster import RosterSettings, Technician

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
TECH = Technician(
    id="tech2", name="Li Wei", sites=["demo"], skills=["mechanical"], email="tech2@example.org"
)
TITLE = {
    "fault_code": "PUMP_BEARING_TEMP",
    "equipment": "P-01",
    "equipment_type": {"key": "equipment_type.pump", "params": {}},
    "message": {
        "key": "rule.pump.bearing_temp_high",
        "params": {"equipment": "P-01", "value": 92.5, "limit": 85.0},
    },
}


def _order(**changes: object) -> WorkOrderRow:
    order = WorkOrderRow(
        id=7,
        site="demo",
        equipment="P-01",
        status="assigned",
        priority=2,
        title="PUMP_BEARING_TEMP: pump P-01 — P-01: bearing temperature 92.5 °C above 85.0 °C",
        title_key="workorder.title.alarm",
        title_params=TITLE,
        description="",
        assigned_to="tech2",
        response_due=T0 + timedelta(hours=1),
        resolution_due=T0 + timedelta(hours=8),
        stage_reason="mid life",
    )
    for name, value in changes.items():
        setattr(order, name, value)
    return order


def _event(change: str) -> WorkOrderEvent:
    return WorkOrderEvent(
        event_id="e1", work_order_id=7, site="demo", equipment="P-01", kind="reactive",
        change=change, status="assigned", priority=2, title="t", at=T0, assigned_to="tech2",
    )  # fmt: skip


def test_the_assignment_notice_speaks_chinese_on_shanghai_time() -> None:
    voice = SiteVoice("zh-CN", ZoneInfo("Asia/Shanghai"))
    roster = RosterSettings(technicians=[TECH])
    notice = notice_for(_event("assigned"), _order(), roster, [], voice)
    assert notice is not None
    assert notice.title == "PUMP_BEARING_TEMP：水泵 P-01 — P-01：轴承温度 92.5 °C，超过 85.0 °C"
    assert "已派给 Li Wei" in notice.text
    assert "请于 2026-12-06 15:00 GMT+08:00 前响应" in notice.text
    assert notice.subject().startswith("[bldgwatch 派单] #7 P2 PUMP_BEARING_TEMP：水泵 P-01")
    assert notice.language == "zh-CN"


def test_an_overdue_notice_in_english_on_the_sites_clock() -> None:
    voice = SiteVoice("en", ZoneInfo("Europe/Berlin"))
    notice = notice_for(_event("overdue"), _order(), RosterSettings(), ["boss@x.org"], voice)
    assert notice is not None
    assert "response was due 2026-12-06 08:00 GMT+01:00 and is overdue" in notice.text
    assert notice.subject().startswith("[bldgwatch overdue] #7 P2 PUMP_BEARING_TEMP: pump P-01")


def test_a_title_without_a_key_is_shown_as_written() -> None:
    voice = SiteVoice("zh-CN")
    order = _order(title="Elevator half-monthly maintenance: E-01", title_key=None)
    assert voice.title(order) == "Elevator half-monthly maintenance: E-01"
