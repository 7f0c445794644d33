"""Rows for console tests, inserted through the writers' models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.maintenance.complaintmodels import ComplaintRow
from bldgwatch.maintenance.complaints import building_key, household_key
from bldgwatch.maintenance.contractormodels import ContractorRow, ContractRow
from bldgwatch.maintenance.emergencymodels import (
    DrillRow,
    EmergencyPlanRevisionRow,
    EmergencyPlanRow,
)
from bldgwatch.maintenance.models import (
    BuildingRow,
    EquipmentRow,
    IncidentAlarmRow,
    SiteRow,
    WorkOrderEventRow,
    WorkOrderRow,
)
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow
from bldgwatch.maintenance.roundmodels import (
    ChecklistTemplateRow,
    InspectionRoundRow,
    OrderCheckRow,
    RoundRunRow,
)
from bldgwatch.maintenance.stockmodels import (
    PurchaseLineRow,
    PurchaseRequestRow,
    StockMovementRow,
    StockRow,
    StoreRow,
)
from bldgwatch.rules.models import AlarmEventRow, AlarmRow

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def add(engine: Engine, *rows: Any) -> None:
    """Insert rows in one transaction."""
    with Session(engine) as session, session.begin():
        for row in rows:
            session.add(row)
            session.flush()


def assets() -> list[Any]:
    """Two sites, three buildings, four equipment, one part on the parts list."""
    return [
        SiteRow(id="demo", name="Demo Plaza"),
        SiteRow(id="north", name="North Tower"),
        BuildingRow(site="demo", id="B1", name="Block 1"),
        BuildingRow(site="demo", id="B2", name="Block 2"),
        BuildingRow(site="north", id="N1", name="Tower"),
        EquipmentRow(
            site="demo",
            id="P-01",
            building="B1",
            type="pump",
            name="Water pump 1",
            machine_class="I",
            rated={"current_a": 12.0},
            params={},
        ),
        EquipmentRow(site="demo", id="E-01", building="B1", type="elevator", rated={}, params={}),
        EquipmentRow(
            site="demo", id="SP-01", building="B2", type="shaft_panel", rated={}, params={}
        ),
        EquipmentRow(site="north", id="P-01", building="N1", type="pump", rated={}, params={}),
        PartRow(
            part_no="6205-2RS",
            name="deep-groove ball bearing",
            unit="pc",
            unit_cost=45.5,
            active=True,
            updated_at=T0,
            updated_by="seed",
        ),
    ]


def bought_part() -> PartRow:
    """A listed part no store holds (V-BELT-A, list price 45.5 like the bearing): what a spot
    purchase books without waiting (a part a store can issue waits; review 19g M4)."""
    return PartRow(
        part_no="V-BELT-A",
        name="V-belt A-1000",
        unit="pc",
        unit_cost=45.5,
        active=True,
        updated_at=T0,
        updated_by="seed",
    )


def work_order(minute: float, **kw: Any) -> WorkOrderRow:
    """A work order created `minute` minutes after T0."""
    created = at(minute)
    values: dict[str, Any] = {
        "site": "demo",
        "equipment": "P-01",
        "kind": "reactive",
        "status": "open",
        "priority": 2,
        "title": f"order at {minute}",
        "description": "",
        "family": "bearing",
        "fault_code": "PUMP_BEARING_TEMP",
        "alarm_count": 1,
        "created_at": created,
        "updated_at": created,
        "response_due": created + timedelta(hours=1),
        "resolution_due": created + timedelta(hours=8),
        "stage": "late",
        "stage_reason": "wear-out: failures rising with age",
        "stage_detail": {"beta": 2.1},
        "labour_hours": 0.0,
        "cost": 0.0,
    }
    values.update(kw)
    return WorkOrderRow(**values)


def alarm(alarm_id: str, minute: float, **kw: Any) -> AlarmRow:
    """An active alarm raised `minute` minutes after T0."""
    raised = at(minute)
    values: dict[str, Any] = {
        "id": alarm_id,
        "site": "demo",
        "building": "B1",
        "equipment": "P-01",
        "equipment_type": "pump",
        "rule": f"rule.{alarm_id}",
        "fault_code": "PUMP_BEARING_TEMP",
        "family": "bearing",
        "severity": "major",
        "priority": 2,
        "state": "active_unack",
        "is_open": True,
        "raised_at": raised,
        "value": 81.5,
        "message": "bearing hot",
        "maintenance": "reactive",
        "activations": 1,
        "updated_at": raised,
    }
    values.update(kw)
    return AlarmRow(**values)


def alarm_event(
    event_id: str, alarm_id: str, minute: float, *, transition: str, state: str, previous: str
) -> AlarmEventRow:
    """A stored alarm transition."""
    return AlarmEventRow(
        id=event_id,
        alarm_id=alarm_id,
        at=at(minute),
        transition=transition,
        state=state,
        previous_state=previous,
        value=80.0,
        actor=None,
    )


def order_event(
    order_id: int,
    minute: float,
    from_status: str | None,
    to_status: str,
    actor: str = "maintenance",
) -> WorkOrderEventRow:
    """A stored work-order transition."""
    return WorkOrderEventRow(
        work_order_id=order_id,
        at=at(minute),
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        note="",
    )


def incident_alarm(event_id: str, order_id: int, alarm_id: str, minute: float) -> IncidentAlarmRow:
    """An alarm event attached to a work order."""
    return IncidentAlarmRow(
        event_id=event_id, work_order_id=order_id, alarm_id=alarm_id, at=at(minute)
    )


def complaint(minute: float, **kw: Any) -> ComplaintRow:
    """A complaint of household B3/502 at the demo site received `minute` minutes after T0."""
    received = at(minute)
    values: dict[str, Any] = {
        "site": "demo",
        "building": "B3",
        "room": "502",
        "household": household_key("B3", "502"),
        "building_key": building_key("B3"),
        "channel": "phone",
        "category": "noise",
        "description": "pump noise at night",
        "received_at": received,
        "logged_at": received,
        "logged_by": "engineer",
        "response_due": received + timedelta(hours=24),
        "resolution_due": received + timedelta(days=7),
        "updated_at": received,
    }
    values.update(kw)
    return ComplaintRow(**values)


def public_request() -> list[Any]:
    """A request point (1) of the demo site on pump P-01, and a new request (1) sent from it."""
    return [
        RequestPointRow(
            id=1,
            site="demo",
            code="demo-point-code1",
            kind="equipment",
            label="B1 pump room",
            building="B1",
            equipment="P-01",
            created_at=T0,
            created_by="seed",
        ),
        PublicRequestRow(
            id=1,
            point_id=1,
            site="demo",
            status="new",
            category="water",
            location="B1 pump room",
            description="water on the floor",
            language="en",
            status_token_sha256="0" * 64,
            created_at=T0,
        ),
    ]


def contractor(contractor_id: str = "liftco", **kw: Any) -> ContractorRow:
    """A contractor (维保单位) without contracts."""
    values: dict[str, Any] = {
        "id": contractor_id,
        "name": "Lift Co",
        "licence": "TS3131001-2027",
        "contact": "Wang",
        "phone": "021-5555 0101",
        "on_call": "400 820 0101",
        "updated_at": T0,
        "updated_by": "seed",
    }
    values.update(kw)
    return ContractorRow(**values)


def contract(contractor_id: str = "liftco", **kw: Any) -> ContractRow:
    """A contract for the demo site's elevators through 2026, 30 min and 24 h."""
    values: dict[str, Any] = {
        "contractor": contractor_id,
        "site": "demo",
        "equipment_type": "elevator",
        "scope": "half-monthly maintenance (TSG T5002), call-outs",
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2026, 12, 31),
        "response_min": 30,
        "resolution_h": 24.0,
        "updated_at": T0,
        "updated_by": "seed",
    }
    values.update(kw)
    return ContractRow(**values)


def store() -> list[Any]:
    """Store 1 of the demo site with one bearing on hand, and purchase request 1 (pending,
    one line) of it; after `assets()`."""
    return [
        StoreRow(id=1, site="demo", code="main", name="Main store"),
        StockRow(
            store_id=1,
            part_no="6205-2RS",
            on_hand=1.0,
            reserved=0.0,
            minimum=0.0,
            reorder_level=2.0,
            updated_at=T0,
        ),
        PurchaseRequestRow(
            id=1,
            store_id=1,
            status="pending",
            amount=91.0,
            note="",
            created_at=T0,
            created_by="seed",
        ),
        PurchaseLineRow(
            id=1, request_id=1, part_no="6205-2RS", quantity=2.0, unit_cost=45.5, received=0.0
        ),
    ]


LEDGER_KINDS = ("receive", "issue", "reserve", "adjust")


def ledger_movements(count: int) -> list[StockMovementRow]:
    """`count` movements of the bearing in store 1 (after `store()`): three share each minute
    from T0 (ties broken by number), the kinds in turn (LEDGER_KINDS), by `tech<n>`; the
    reason of movement 5 reads like a spreadsheet formula."""
    rows = []
    for n in range(count):
        kind = LEDGER_KINDS[n % len(LEDGER_KINDS)]
        rows.append(
            StockMovementRow(
                store_id=1,
                part_no="6205-2RS",
                kind=kind,
                quantity=1.0,
                on_hand=-1.0 if kind == "issue" else 1.0,
                reserved=1.0 if kind == "reserve" else 0.0,
                at=T0 + timedelta(minutes=n // 3, microseconds=7),
                actor=f"tech{n}",
                reason="=HYPERLINK(1)" if n == 5 else f"reason {n}",
            )
        )
    return rows


PURCHASE_STATUSES = ("pending", "approved", "rejected", "received", "closed")


def purchase_requests(first: int, count: int) -> list[PurchaseRequestRow]:
    """Purchase requests `first`.. of store 1 (after `store()`, whose request 1 is pending):
    two raised each minute after T0 (ties broken by number), PURCHASE_STATUSES in turn by
    number (n % 5), no lines."""
    return [
        PurchaseRequestRow(
            id=n,
            store_id=1,
            status=PURCHASE_STATUSES[n % len(PURCHASE_STATUSES)],
            amount=float(n),
            note=f"request {n}",
            created_at=T0 + timedelta(minutes=n // 2),
            created_by="seed",
        )
        for n in range(first, first + count)
    ]


PLAN_STEPS = [
    {"text": "alarm", "target_min": 0, "milestone": "alarm"},
    {"text": "duty notified", "target_min": 5, "milestone": "notified"},
    {"text": "rescuer on site", "target_min": 30, "milestone": "on_site"},
    {"text": "passengers released", "target_min": None, "milestone": "released"},
]
"""The steps of the demo site's entrapment plan."""


def emergency_plans() -> list[Any]:
    """The demo site's entrapment plan (1, with a contact; its version 1 kept) and a drill of
    it (1) scheduled an hour after T0."""
    contact = {"name": "王工", "role": "rescuer", "phone": "13812345678"}
    plan = EmergencyPlanRow(
        id=1,
        site="demo",
        kind="entrapment",
        title="Entrapment rescue",
        roles=[{"role": "duty", "duty": "answers"}],
        contacts=[contact],
        steps=PLAN_STEPS,
        version=1,
        updated_at=T0,
        updated_by="supervisor",
    )
    drill = DrillRow(
        id=1,
        plan_id=1,
        site="demo",
        kind="entrapment",
        status="scheduled",
        scheduled_at=at(60),
        steps=[],
        participants=[],
        findings="",
        actions=[],
        note="",
        created_at=T0,
        created_by="supervisor",
        updated_at=T0,
        updated_by="supervisor",
    )
    document = {
        "title": plan.title,
        "roles": plan.roles,
        "contacts": [contact],
        "steps": PLAN_STEPS,
    }
    kept = EmergencyPlanRevisionRow(
        plan_id=1, version=1, at=T0, actor="supervisor", document=document
    )
    return [plan, kept, drill]


def inspection_round() -> list[Any]:
    """A checklist template (1) for pumps of the demo site, a round (1) over pump P-01 (its QR
    label is `public_request()`'s point), a run (1) of it, and a checklist item on order 1."""
    template = ChecklistTemplateRow(
        id=1,
        site="demo",
        name="Pump room",
        equipment_type="pump",
        items=[{"key": "leak", "kind": "check", "label": "No leak"}],
        updated_at=T0,
        updated_by="seed",
    )
    stops = [{"equipment": "P-01", "template_id": 1}]
    return [
        template,
        InspectionRoundRow(
            id=1,
            site="demo",
            name="Pumps",
            times=["08:00"],
            stops=stops,
            late_after_min=60,
            missed_after_min=240,
            active=True,
            created_at=T0,
            updated_at=T0,
            updated_by="seed",
        ),
        RoundRunRow(id=1, round_id=1, site="demo", due_at=T0, started_at=T0, started_by="tech"),
        OrderCheckRow(work_order_id=1, idx=0, text="Check the seal"),
    ]
