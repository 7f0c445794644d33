"""One failing bearing, one work order: the simulator's bearing-wear fault drives the shipped
pump rules (in-process, on a ManualClock), and every alarm event they raise goes to
maintenance in order. The wear shows as vibration in zone C (a planned-work alarm), then as
noisy vibration the cavitation rule sees, then as a hot bearing and vibration in zone D; the
pump pack names all of them symptoms of one incident family (`rotor`), so exactly one order
opens, and the others attach to it, making it reactive and as urgent as the worst."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from bench.support.truth import Device, run_truth
from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmEvent, MaintenanceAction
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.incidents import IncidentPolicy, OutcomeKind, process_event
from bldgwatch.maintenance.models import IncidentAlarmRow, WorkOrderRow
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.schema import load_rules
from bldgwatch.simulators.config import ScheduledFault
from tests.maintenance.conftest import demo_site

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
PUMP = Device(Equipment("demo", "P-01", "pump", "B1", {}, {"current_a": 30.0}, "II"))
# Weeks of wear in hours: zone C (2.8 mm/s, class II) after about 4 h, the bearing past 85 °C
# after about 13 h, zone D (7.1 mm/s) after about 15 h.
WEAR = ScheduledFault(
    equipment="P-01",
    fault="bearing_wear",
    at_s=600,
    params={"vibration_mm_s_per_day": 9.0, "temp_c_per_day": 54.0},
)


def test_bearing_wear_opens_exactly_one_order(sqlite_db: Engine) -> None:
    run = run_truth(
        [PUMP],
        [WEAR],
        load_rules(["pump"], []),
        sqlite_db,
        start=START,
        duration_s=20 * 3600,
        step_s=2.0,  # the cavitation rule wants 10 samples in its 30 s window
    )
    raised = Counter(e.fault_code for e in run.events if e.transition == "activate")
    # the symptoms the old per-family grouping turned into three orders
    assert {"PUMP_VIBRATION_ZONE_C", "PUMP_CAVITATION", "PUMP_BEARING_TEMP"} <= set(raised)
    assert {e.incident for e in run.events if e.fault_code in raised} == {"rotor"}

    sessions = session_factory(sqlite_db)
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    outcomes = [process_event(sessions, e, IncidentPolicy()) for e in run.events]
    assert [o.kind for o in outcomes].count(OutcomeKind.CREATED) == 1

    with sessions() as s:
        [order] = s.scalars(select(WorkOrderRow)).all()
        attached = s.scalars(
            select(IncidentAlarmRow).where(IncidentAlarmRow.work_order_id == order.id)
        ).all()
    first = next(e for e in run.events if e.transition == "activate")
    assert first.maintenance is MaintenanceAction.PLANNED  # zone C came first …
    assert order.kind == "reactive"  # … the hot bearing made it a repair
    assert order.incident_key == "demo/P-01/rotor"
    assert order.alarm_count == sum(raised.values())
    assert {a.fault_code for a in attached} == set(raised)
    # as urgent as the worst symptom: the bearing alarm is P2, one level up in late life
    # (the demo pump was installed in 2020: mid life, so P2)
    assert order.priority == 2
    # the SLA follows the worst too: each symptom's clocks run from its own activation
    response = {2: timedelta(hours=2), 3: timedelta(hours=8)}
    resolution = {2: timedelta(hours=24), 3: timedelta(hours=72)}
    activations = [e for e in run.events if e.transition == "activate"]

    def priority(e: AlarmEvent) -> int:
        return max(e.priority, 3) if e.maintenance is MaintenanceAction.PLANNED else e.priority

    assert order.response_due == min(e.at + response[priority(e)] for e in activations)
    assert order.resolution_due == min(e.at + resolution[priority(e)] for e in activations)
    first_repair = next(e for e in activations if e.maintenance is MaintenanceAction.REACTIVE)
    assert order.resolution_due == first_repair.at + timedelta(hours=24)
