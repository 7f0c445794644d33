"""The default preventive plans read in the reader's language (review 19r M6): an
electrical-shaft panel's monthly order carries its checklist, title and description as catalogue
keys, rendered in zh-CN and en; a configured plan's plain text stays as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.checklists import order_checklist
from bldgwatch.maintenance.config import DEFAULT_CALENDAR, CalendarPlan, PlanSettings
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.plantexts import plan_text
from bldgwatch.maintenance.pm import PlanRunner
from bldgwatch.maintenance.texts import order_text, order_title
from tests.maintenance.conftest import demo_site

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_panel_orders_checklist_title_and_description_in_both_languages(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    panel = [p for p in DEFAULT_CALENDAR if p.equipment_type == "shaft_panel"]
    assert [p.id for p in panel] == ["shaft_panel.monthly", "shaft_panel.yearly"]
    clock = ManualClock(JAN1)
    runner = PlanRunner(sessions, PlanSettings(calendar=panel[:1], counters=[]), clock=clock)
    runner.run_all()  # first look: baseline
    clock.advance(timedelta(days=32))
    [order_id] = runner.run_all()
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None and order.equipment == "SP-01"
        items = [c.text for c in order_checklist(s, order_id)]
        assert [plan_text(t, "zh-CN") for t in items] == [
            "断路器和指示灯：动作正常，整定值与负荷相符，无过热痕迹",
            "母排和电缆接头温度（红外测温），与在线监测值比对",
            "剩余电流保护器（漏电开关）：按试验按钮，可靠跳闸",
            "清扫配电柜和电井内的灰尘杂物；柜门关闭上锁",
        ]
        rcd = "residual-current device (RCD): press its test button, it trips"
        assert plan_text(items[2], "en") == rcd
        assert order_title(order, "zh-CN") == "强电井配电柜月度维护：SP-01"
        assert (
            order_title(order, "en")
            == order.title
            == ("Electrical-shaft panel monthly maintenance: SP-01")
        )
        zh = order_text(order.texts, "description", order.description, "zh-CN")
        assert zh.splitlines()[0] == "• 断路器和指示灯：动作正常，整定值与负荷相符，无过热痕迹"
        assert len(zh.splitlines()) == 4
        assert order.description.splitlines()[3].startswith("- clean dust and debris")


def test_a_configured_plans_plain_text_is_shown_as_written(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    plan = CalendarPlan(
        id="pump.weekly",
        equipment_type="pump",
        every_days=7,
        title="水泵周检",
        tasks=["盘车", "maintenance.task.no_such_key"],
    )
    clock = ManualClock(JAN1)
    runner = PlanRunner(sessions, PlanSettings(calendar=[plan], counters=[]), clock=clock)
    runner.run_all()
    clock.advance(timedelta(days=8))
    [order_id] = runner.run_all()
    with sessions() as s:
        order = s.get(WorkOrderRow, order_id)
        assert order is not None
        texts = [plan_text(c.text, "en") for c in order_checklist(s, order_id)]
        assert texts == ["盘车", "maintenance.task.no_such_key"]
        assert order_title(order, "en") == "水泵周检: P-01"
        assert order_title(order, "zh-CN") == "水泵周检：P-01"
        assert s.scalars(select(WorkOrderRow.description)).one() == (
            "- 盘车\n- maintenance.task.no_such_key"
        )


def test_a_plan_names_only_plan_and_task_keys() -> None:
    """Review 19b-r L5: an order title's key (it needs parameters) is refused at config load,
    naming the field, and never rendered as a plan's text."""
    with pytest.raises(ValidationError) as refused:
        CalendarPlan(
            id="p", equipment_type="pump", every_days=7, title="maintenance.title.round_fault"
        )
    assert refused.value.errors()[0]["loc"] == ("title",)
    with pytest.raises(ValidationError) as refused:
        CalendarPlan(
            id="p", equipment_type="pump", every_days=7, title="t", tasks=["maintenance.title.pm"]
        )
    assert refused.value.errors()[0]["loc"] == ("tasks",)
    assert plan_text("maintenance.title.round_fault", "en") == "maintenance.title.round_fault"
