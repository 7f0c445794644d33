"""From readings to work orders (issue 20, points 3 and 4): the rules engine's leak and
pump-drift alarms, raised from simulated meter and pump readings, go through maintenance's
alarm → incident → order path: a night-flow leak, once a person confirms it, opens a
reactive (repair) order, a pump's
specific-energy drift a preventive (condition) one; each order's title in zh-CN and en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.models import AlarmEvent, Quality, Reading
from bldgwatch.core.site import EquipmentSpec
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.incidents import OutcomeKind, confirmed_event, process_event
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.texts import order_title
from bldgwatch.rules.alarms import Transition
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.models import AlarmRow
from bldgwatch.rules.schema import load_rules
from bldgwatch.rules.store import AlarmStore
from tests.maintenance.conftest import demo_site

T0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # midnight in Shanghai


def _activations(db: Engine) -> list[AlarmEvent]:
    engine = RulesEngine(
        load_rules(["meters", "pump"], []),
        [
            Equipment("demo", "WM-01", "water_meter", "B1", timezone="Asia/Shanghai"),
            Equipment("demo", "P-01", "pump", "B1", {}, {"current_a": 12.0}),
        ],
        AlarmStore(db),
    )
    events = []
    for step in range(14 * 24 * 6):  # 14 days, every 10 minutes
        at = T0 + timedelta(minutes=10 * step)
        day, hour = step // 144, (at + timedelta(hours=8)).hour
        leak = 0.3 if day >= 6 else 0.0
        water = (0.03 if 1 <= hour < 5 else 1.2) + leak
        pump_flow = 30.0 if day < 8 else 24.0  # the impeller worn from day 8
        ms = int(at.timestamp() * 1000)
        readings = [
            Reading("WM-01", "flow_m3h", ms, water, Quality.GOOD),
            Reading("P-01", "motor_current_a", ms, 10.0, Quality.GOOD),
            Reading("P-01", "flow_m3h", ms, pump_flow, Quality.GOOD),
        ]
        for change in engine.evaluate("demo", readings):
            event = engine.commit(change)
            if event is not None and event.transition == Transition.ACTIVATE:
                events.append(event)
    return events


def test_a_leak_opens_a_repair_and_a_drifting_pump_a_condition_order(
    sqlite_db: Engine, sessions: sessionmaker[Session]
) -> None:
    site = demo_site()
    meter = EquipmentSpec(id="WM-01", type="water_meter", building="B1")
    with sessions() as s:
        import_site(s, site.model_copy(update={"equipment": [*site.equipment, meter]}))
        s.commit()
    events = _activations(sqlite_db)
    assert sorted(e.fault_code for e in events) == ["PUMP_ENERGY_DRIFT", "WATER_NIGHT_FLOW"]
    outcomes = {e.fault_code: process_event(sessions, e).kind for e in events}
    # The leak waits for a person (review of issue 20, F14); the drift opens its order.
    assert outcomes == {
        "WATER_NIGHT_FLOW": OutcomeKind.RECORDED,
        "PUMP_ENERGY_DRIFT": OutcomeKind.CREATED,
    }
    [leak] = [e for e in events if e.fault_code == "WATER_NIGHT_FLOW"]
    with Session(sqlite_db) as s:
        row = s.get(AlarmRow, leak.alarm_id)
        assert row is not None
        confirmed = confirmed_event(row, at=leak.at + timedelta(hours=1), actor="engineer")
    assert process_event(sessions, confirmed).kind is OutcomeKind.CREATED
    with sessions() as s:
        orders = {o.equipment: o for o in s.query(WorkOrderRow)}
        assert orders["WM-01"].kind == "reactive"
        assert orders["P-01"].kind == "preventive"
        assert "漏水" in order_title(orders["WM-01"], "zh-CN")
        assert "night minimum flow" in order_title(orders["WM-01"], "en")
        assert "叶轮磨损" in order_title(orders["P-01"], "zh-CN")
        assert "impeller wear?" in order_title(orders["P-01"], "en")
