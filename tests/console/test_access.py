"""Access rules: every route declares one; anonymous → 401, wrong role → 403, another site's
object → 404, for every endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.routing import Mount, Route

from bldgwatch.console.auth import SUPERVISOR, AccessRule, PublicAccess, require
from bldgwatch.console.routers.live import WEBSOCKET_RULES
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.db import make_engine
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.contractormodels import ContractorAccountRow
from bldgwatch.maintenance.models import WorkOrderLabourRow, WorkOrderPartRow
from bldgwatch.servers import free_port
from tests.alerts.seed import ROTA as ALERT_ROTA
from tests.alerts.seed import entrapment_policy, seed_site
from tests.conftest import sqlite_copy
from tests.console.conftest import ClientFactory, auth_headers, new_client, release_app
from tests.console.seed import (
    add,
    alarm,
    assets,
    complaint,
    contract,
    contractor,
    emergency_plans,
    inspection_round,
    public_request,
    store,
    work_order,
)
from tests.console.support import assert_problem

FRAMEWORK_ROUTES = {"/openapi.json"}
"""FastAPI's own route (public on purpose); /docs and /redoc are the console's (routers.docs)."""
STATIC_MOUNTS = {"/assets", "/vendor"}
"""The built web application's files (public: the login page needs them)."""


@dataclass(frozen=True)
class Endpoint:
    """How to call one route, who may, and how to address another site's object."""

    path: str
    body: Any = None
    forbidden_for: str | None = None
    """A user whose roles do not allow it (None: every signed-in user may)."""
    other_site: str | None = None
    """The same request addressing an object of a site the `outsider` user cannot see."""


DEMO_ALARM, DEMO_ORDER = "a1", 1
PLAN = {
    "title": "Entrapment rescue",
    "steps": [
        {"text": "alarm", "target_min": 0, "milestone": "alarm"},
        {"text": "on site", "target_min": 30, "milestone": "on_site"},
    ],
}
"""A plan's content (the emergency routes)."""

TEMPLATE = {
    "name": "Pump room",
    "equipment_type": "pump",
    "items": [{"key": "leak", "kind": "check", "label": "No leak"}],
}
ROUND = {"name": "Pumps", "times": ["08:00"], "stops": [{"equipment": "P-01", "template_id": 1}]}
ENTRY = {
    "id": "6f1d3c2e-8a4b-4f51-9d57-0c2b8f1e7a10",
    "stop": 0,
    "item": "leak",
    "value": True,
    "code": "demo-point-code1",
    "recorded_at": "2026-03-01T08:05:00Z",
}

ENDPOINTS: dict[tuple[str, str], Endpoint | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/metrics"): None,
    ("POST", "/api/auth/token"): None,
    ("POST", "/api/auth/refresh"): None,
    ("GET", "/"): None,
    ("GET", "/{path:page}"): None,
    ("GET", "/docs"): None,
    ("GET", "/redoc"): None,
    ("GET", "/api/auth/me"): Endpoint("/api/auth/me"),
    ("POST", "/api/auth/logout"): Endpoint("/api/auth/logout"),
    ("POST", "/api/auth/password"): Endpoint(
        "/api/auth/password",
        {"current_password": "wrong", "new_password": "a new long passphrase"},
    ),
    ("POST", "/api/users/{name}/revoke"): Endpoint(
        "/api/users/viewer/revoke", forbidden_for="supervisor"
    ),
    ("GET", "/api/sessions"): Endpoint("/api/sessions", forbidden_for="supervisor"),
    ("DELETE", "/api/sessions/{session_id}"): Endpoint(
        "/api/sessions/unknown", forbidden_for="engineer"
    ),
    ("GET", "/api/audit"): Endpoint("/api/audit", forbidden_for="supervisor"),
    ("GET", "/api/users"): Endpoint("/api/users", forbidden_for="supervisor"),
    ("POST", "/api/users"): Endpoint(
        "/api/users",
        {"name": "new", "password": "long enough pw", "roles": ["viewer"]},
        forbidden_for="supervisor",
    ),
    ("PATCH", "/api/users/{name}"): Endpoint(
        "/api/users/viewer", {"disabled": True}, forbidden_for="supervisor"
    ),
    ("GET", "/api/tokens"): Endpoint("/api/tokens", forbidden_for="supervisor"),
    ("POST", "/api/tokens"): Endpoint(
        "/api/tokens", {"name": "m", "roles": ["viewer"]}, forbidden_for="supervisor"
    ),
    ("DELETE", "/api/tokens/{token_id}"): Endpoint("/api/tokens/1", forbidden_for="engineer"),
    ("GET", "/api/alarms"): Endpoint("/api/alarms"),
    ("GET", "/api/alarms/counts"): Endpoint("/api/alarms/counts"),
    ("GET", "/api/alarms/verdicts"): Endpoint("/api/alarms/verdicts"),
    ("GET", "/api/points"): Endpoint("/api/points"),
    ("GET", "/api/liveness"): Endpoint("/api/liveness"),
    ("GET", "/api/gateways"): Endpoint("/api/gateways", forbidden_for="tech"),
    ("GET", "/api/gateways/{site}/{gateway}"): Endpoint(
        "/api/gateways/demo/gw-1", forbidden_for="tech"
    ),
    ("GET", "/api/gateways/{site}/{gateway}/configs/{number}"): Endpoint(
        "/api/gateways/demo/gw-1/configs/1", forbidden_for="tech"
    ),
    ("POST", "/api/gateways/{site}/{gateway}/configs"): Endpoint(
        "/api/gateways/demo/gw-1/configs",
        {"config": {"devices": []}, "reason": "r"},
        forbidden_for="supervisor",
    ),
    ("GET", "/api/preferences"): Endpoint("/api/preferences"),
    ("PUT", "/api/preferences"): Endpoint("/api/preferences", {"language": "en"}),
    ("GET", "/api/alarms/{alarm_id}"): Endpoint(f"/api/alarms/{DEMO_ALARM}", other_site="self"),
    ("POST", "/api/alarms/{alarm_id}/acknowledge"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/acknowledge", {}, forbidden_for="tech", other_site="self"
    ),
    ("POST", "/api/alarms/{alarm_id}/leak-verdict"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/leak-verdict",
        {"leak": True},
        forbidden_for="tech",
        other_site="self",
    ),
    ("POST", "/api/alarms/{alarm_id}/shelve"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/shelve",
        {"minutes": 10, "comment": "why"},
        "viewer",
        other_site="self",
    ),
    ("POST", "/api/alarms/{alarm_id}/unshelve"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/unshelve", {}, "viewer", other_site="self"
    ),
    ("POST", "/api/alarms/{alarm_id}/out-of-service"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/out-of-service", {"reason": "x"}, "supervisor"
    ),
    ("POST", "/api/alarms/{alarm_id}/return-to-service"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/return-to-service", {}, "supervisor"
    ),
    ("POST", "/api/alarms/{alarm_id}/comments"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/comments", {"text": "x"}, "tech", "self"
    ),
    ("GET", "/api/alarms/{alarm_id}/history"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/history", other_site="self"
    ),
    ("GET", "/api/work-orders"): Endpoint("/api/work-orders"),
    ("GET", "/api/work-orders/{order_id}"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}", other_site="self"
    ),
    ("POST", "/api/work-orders"): Endpoint(
        "/api/work-orders",
        {"site": "demo", "equipment": "P-01", "title": "noise"},
        forbidden_for="viewer",
        other_site="self",
    ),
    ("POST", "/api/work-orders/{order_id}/assign"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/assign", {"technician": "tech"}, "tech", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/transition"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/transition", {"to": "cancelled"}, "engineer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/labour"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/labour", {"labour_hours": 1}, "viewer", "self"
    ),
    ("GET", "/api/work-orders/{order_id}/history"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/history", other_site="self"
    ),
    ("POST", "/api/work-orders/{order_id}/comments"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/comments", {"text": "x"}, "viewer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/bookings"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/bookings", {"labour": [{"hours": 1}]}, "viewer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/parts/{booking_id}/approval"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/parts/1/approval", {"approve": True}, "tech", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/parts/{booking_id}/reverse"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/parts/1/reverse", {"reason": "x"}, "viewer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/{line}/{booking_id}/approval"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/labour/1/approval", {"approve": True}, "tech", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/{line}/{booking_id}/reverse"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/labour/1/reverse", {"reason": "x"}, "viewer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/completion"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/completion", {"downtime_h": 1}, "engineer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/resolve"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/resolve", {"summary": "done"}, "viewer", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/follow-up"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/follow-up", {"outcome": "satisfied"}, "tech", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/cancel"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/cancel", {"reason": "duplicate"}, "tech", "self"
    ),
    # the upload's and the download's other-site cases are in tests/console/test_order_records.py
    # (they need a file)
    ("POST", "/api/work-orders/{order_id}/attachments"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/attachments", {}, "viewer"
    ),
    ("GET", "/api/work-orders/{order_id}/attachments/{attachment_id}"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/attachments/1"
    ),
    ("GET", "/api/stores"): Endpoint("/api/stores"),
    ("POST", "/api/stores"): Endpoint(
        "/api/stores", {"site": "demo", "code": "b2", "name": "Block 2 store"}, "tech", "self"
    ),
    ("GET", "/api/stores/{store_id}/stock"): Endpoint("/api/stores/1/stock", other_site="self"),
    ("GET", "/api/stores/{store_id}/movements"): Endpoint(
        "/api/stores/1/movements", other_site="self"
    ),
    ("GET", "/api/stores/{store_id}/movements.csv"): Endpoint(
        "/api/stores/1/movements.csv", other_site="self"
    ),
    ("GET", "/api/stores/{store_id}/reservations"): Endpoint(
        "/api/stores/1/reservations", other_site="self"
    ),
    ("PUT", "/api/stores/{store_id}/stock/{part_no:part}/levels"): Endpoint(
        "/api/stores/1/stock/6205-2RS/levels", {"minimum": 1, "reorder_level": 3}, "tech", "self"
    ),
    ("POST", "/api/stores/{store_id}/receipts"): Endpoint(
        "/api/stores/1/receipts",
        {"part_no": "6205-2RS", "quantity": 2, "reason": "到货"},
        "tech",
        "self",
    ),
    ("POST", "/api/stores/{store_id}/stocktakes"): Endpoint(
        "/api/stores/1/stocktakes",
        {"part_no": "6205-2RS", "counted": 0, "reason": "broken"},
        "tech",
        "self",
    ),
    ("GET", "/api/work-orders/{order_id}/stock"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/stock", other_site="self"
    ),
    ("POST", "/api/work-orders/{order_id}/stock"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/stock",
        {"action": "reserve", "store_id": 1, "part_no": "6205-2RS", "quantity": 1},
        "viewer",
        "self",
    ),
    ("GET", "/api/stores/{store_id}/purchase-requests"): Endpoint(
        "/api/stores/1/purchase-requests", forbidden_for="tech", other_site="self"
    ),
    ("POST", "/api/stores/{store_id}/purchase-requests"): Endpoint(
        "/api/stores/1/purchase-requests",
        {"lines": [{"part_no": "6205-2RS", "quantity": 1}]},
        "tech",
        "self",
    ),
    ("POST", "/api/stores/{store_id}/purchase-requests/{request_id}/decision"): Endpoint(
        "/api/stores/1/purchase-requests/1/decision", {"approve": True}, "tech", "self"
    ),
    ("POST", "/api/stores/{store_id}/purchase-requests/{request_id}/close"): Endpoint(
        "/api/stores/1/purchase-requests/1/close", None, "tech", "self"
    ),
    ("POST", "/api/stores/{store_id}/purchase-requests/{request_id}/receipts"): Endpoint(
        "/api/stores/1/purchase-requests/1/receipts", {"line_id": 1, "quantity": 1}, "tech", "self"
    ),
    ("GET", "/api/stores/{store_id}/suggestions"): Endpoint(
        "/api/stores/1/suggestions", forbidden_for="tech", other_site="self"
    ),
    ("POST", "/api/stores/{store_id}/suggestions/{part_no:part}/accept"): Endpoint(
        "/api/stores/1/suggestions/6205-2RS/accept", {}, "tech", "self"
    ),
    ("GET", "/api/complaints"): Endpoint("/api/complaints", forbidden_for="tech"),
    ("POST", "/api/complaints"): Endpoint(
        "/api/complaints",
        {
            "site": "demo",
            "building": "B3",
            "room": "502",
            "channel": "phone",
            "category": "noise",
            "description": "noise",
        },
        "viewer",
        "self",
    ),
    ("GET", "/api/complaints/{complaint_id}"): Endpoint(
        "/api/complaints/1", forbidden_for="tech", other_site="self"
    ),
    ("POST", "/api/complaints/{complaint_id}/assign"): Endpoint(
        "/api/complaints/1/assign", {"handler": "engineer"}, "viewer", "self"
    ),
    ("POST", "/api/complaints/{complaint_id}/respond"): Endpoint(
        "/api/complaints/1/respond", {"note": "called back"}, "tech", "self"
    ),
    ("POST", "/api/complaints/{complaint_id}/resolve"): Endpoint(
        "/api/complaints/1/resolve", {"outcome": "resolved", "note": "fixed"}, "viewer", "self"
    ),
    ("GET", "/api/contractors"): Endpoint("/api/contractors", forbidden_for="tech"),
    ("PUT", "/api/contractors/{contractor_id}"): Endpoint(
        "/api/contractors/liftco",
        {"name": "L", "licence": "1", "contact": "W", "phone": "12345", "on_call": "12345"},
        forbidden_for="engineer",
    ),
    ("POST", "/api/contractors/{contractor_id}/contracts"): Endpoint(
        "/api/contractors/liftco/contracts",
        {
            "site": "demo",
            "equipment_type": "pump",
            "scope": "pumps",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
            "response_min": 60,
            "resolution_h": 48,
        },
        "tech",
        "self",
    ),
    ("POST", "/api/contractors/{contractor_id}/contracts/{contract_id}/end"): Endpoint(
        "/api/contractors/liftco/contracts/1/end", {"valid_to": "2026-06-30"}, "tech", "self"
    ),
    ("POST", "/api/work-orders/{order_id}/dispatch"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/dispatch", {}, "viewer", "self"
    ),
    ("GET", "/api/kpis/contractors"): Endpoint(
        "/api/kpis/contractors?site=demo", other_site="self"
    ),
    ("GET", "/api/checklist-templates"): Endpoint("/api/checklist-templates"),
    ("POST", "/api/checklist-templates"): Endpoint(
        "/api/checklist-templates", {**TEMPLATE, "site": "demo"}, "tech"
    ),
    ("PUT", "/api/checklist-templates/{template_id}"): Endpoint(
        "/api/checklist-templates/1", TEMPLATE, "engineer", "self"
    ),
    ("GET", "/api/rounds"): Endpoint("/api/rounds"),
    ("POST", "/api/rounds"): Endpoint("/api/rounds", {**ROUND, "site": "demo"}, "tech"),
    ("PUT", "/api/rounds/{round_id}"): Endpoint("/api/rounds/1", ROUND, "viewer", "self"),
    ("POST", "/api/rounds/{round_id}/runs"): Endpoint("/api/rounds/1/runs", {}, "engineer", "self"),
    ("GET", "/api/round-runs/{run_id}"): Endpoint("/api/round-runs/1", other_site="self"),
    ("GET", "/api/rounds/{round_id}/history"): Endpoint("/api/rounds/1/history", other_site="self"),
    ("POST", "/api/round-runs/{run_id}/entries"): Endpoint(
        "/api/round-runs/1/entries", {"entries": [ENTRY]}, "viewer", "self"
    ),
    ("PUT", "/api/round-runs/{run_id}/entries/{entry_id}"): Endpoint(
        f"/api/round-runs/1/entries/{ENTRY['id']}", {"value": True, "reason": "x"}, "viewer"
    ),
    ("PUT", "/api/round-runs/{run_id}/photos/{photo_id}"): Endpoint(
        f"/api/round-runs/1/photos/{ENTRY['id']}", {}, "viewer"
    ),  # another site's run: tests/console/test_round_photos.py
    ("GET", "/api/round-runs/{run_id}/photos/{photo_id}"): Endpoint(
        f"/api/round-runs/1/photos/{ENTRY['id']}"
    ),
    ("GET", "/api/work-orders/{order_id}/checklist"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/checklist", other_site="self"
    ),
    ("PUT", "/api/work-orders/{order_id}/checklist/{idx}"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/checklist/0", {"done": True}, "viewer", "self"
    ),
    ("GET", "/api/households/{site}"): Endpoint(
        "/api/households/demo?building=B3&room=502", forbidden_for="tech", other_site="self"
    ),
    ("GET", "/api/complaint-handlers"): Endpoint(
        "/api/complaint-handlers?site=demo", None, "viewer", "self"
    ),
    ("GET", "/api/emergency/plans"): Endpoint("/api/emergency/plans"),
    ("GET", "/api/emergency/plans/{plan_id}"): Endpoint(
        "/api/emergency/plans/1", other_site="self"
    ),
    ("GET", "/api/emergency/plans/{plan_id}/versions/{version}"): Endpoint(
        "/api/emergency/plans/1/versions/1", forbidden_for="tech", other_site="self"
    ),
    ("GET", "/api/emergency/template"): Endpoint("/api/emergency/template", forbidden_for="tech"),
    ("POST", "/api/emergency/plans/{plan_id}/retire"): Endpoint(
        "/api/emergency/plans/1/retire", None, "engineer", "self"
    ),
    ("POST", "/api/emergency/plans/{plan_id}/reinstate"): Endpoint(
        "/api/emergency/plans/1/reinstate", None, "engineer", "self"
    ),
    ("POST", "/api/emergency/plans"): Endpoint(
        "/api/emergency/plans",
        {"site": "demo", "kind": "entrapment", "plan": PLAN},
        "tech",
        "self",
    ),
    ("PUT", "/api/emergency/plans/{plan_id}"): Endpoint(
        "/api/emergency/plans/1", {"version": 1, "plan": PLAN}, "engineer", "self"
    ),
    ("GET", "/api/entrapments"): Endpoint("/api/entrapments"),
    ("POST", "/api/entrapments"): Endpoint(
        "/api/entrapments",
        {"site": "demo", "equipment": "E-01", "reported_at": datetime.now(UTC).isoformat()},
        "tech",
        "self",
    ),
    ("POST", "/api/work-orders/{order_id}/released"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/released", {}, "viewer", "self"
    ),
    ("GET", "/api/work-orders/{order_id}/entrapment"): Endpoint(
        f"/api/work-orders/{DEMO_ORDER}/entrapment", other_site="self"
    ),
    ("GET", "/api/drills"): Endpoint("/api/drills"),
    ("GET", "/api/drills/{drill_id}"): Endpoint("/api/drills/1", other_site="self"),
    ("POST", "/api/drills"): Endpoint(
        "/api/drills", {"plan_id": 1, "scheduled_at": "2026-03-10T09:00:00+08:00"}, "tech", "self"
    ),
    ("POST", "/api/drills/{drill_id}/reschedule"): Endpoint(
        "/api/drills/1/reschedule",
        {"scheduled_at": "2026-03-11T09:00:00+08:00"},
        "engineer",
        "self",
    ),
    ("POST", "/api/drills/{drill_id}/cancel"): Endpoint(
        "/api/drills/1/cancel", {"note": "rain"}, "tech", "self"
    ),
    ("POST", "/api/drills/{drill_id}/steps/{step}"): Endpoint(
        "/api/drills/1/steps/1", {}, "viewer", "self"
    ),
    ("POST", "/api/drills/{drill_id}/record"): Endpoint(
        "/api/drills/1/record", {"participants": ["王工"], "step_times": [None] * 4}, "tech", "self"
    ),
    ("POST", "/api/drills/{drill_id}/correct"): Endpoint(
        "/api/drills/1/correct",
        {"participants": ["王工"], "step_times": [None] * 4, "reason": "x", "corrections": 0},
        "tech",
        "self",
    ),
    ("POST", "/api/drills/{drill_id}/void"): Endpoint(
        "/api/drills/1/void", {"reason": "x", "corrections": 0}, "engineer", "self"
    ),
    ("GET", "/api/parts"): Endpoint("/api/parts"),
    ("PUT", "/api/parts/{part_no:part}"): Endpoint(
        "/api/parts/GR-1", {"name": "grease", "unit": "kg", "unit_cost": 20}, "tech"
    ),
    ("GET", "/api/causes"): Endpoint("/api/causes"),
    ("GET", "/api/spot-purchases/pending"): Endpoint("/api/spot-purchases/pending", None, "tech"),
    ("GET", "/api/technicians"): Endpoint("/api/technicians?site=demo", None, "tech", "self"),
    ("GET", "/api/budgets/{site}"): Endpoint("/api/budgets/demo", other_site="self"),
    ("POST", "/api/budgets/{site}"): Endpoint(
        "/api/budgets/demo",
        {"period": "2026", "category": "parts", "amount": 1000},
        forbidden_for="tech",
        other_site="self",
    ),
    ("GET", "/api/kpi-targets/{site}"): Endpoint("/api/kpi-targets/demo", other_site="self"),
    ("PUT", "/api/kpi-targets/{site}"): Endpoint(
        "/api/kpi-targets/demo", {"targets": {"good_condition": 0.97}}, "tech", "self"
    ),
    ("GET", "/api/kpis/maintenance/trend"): Endpoint(
        "/api/kpis/maintenance/trend?site=demo", other_site="self"
    ),
    ("GET", "/api/equipment/{site}/{equipment_id}/history"): Endpoint(
        "/api/equipment/demo/P-01/history", other_site="self"
    ),
    ("GET", "/api/equipment/{site}/{equipment_id}/history.csv"): Endpoint(
        "/api/equipment/demo/P-01/history.csv", other_site="self"
    ),
    ("GET", "/api/equipment/{site}/{equipment_id}/history.pdf"): Endpoint(
        "/api/equipment/demo/P-01/history.pdf", other_site="self"
    ),
    ("GET", "/api/kpis/alarms"): Endpoint("/api/kpis/alarms?site=demo", other_site="self"),
    ("GET", "/api/kpis/maintenance"): Endpoint(
        "/api/kpis/maintenance?site=demo", other_site="self"
    ),
    ("GET", "/api/kpis/scores"): Endpoint("/api/kpis/scores?site=demo", other_site="self"),
    ("GET", "/api/energy/consumption"): Endpoint(
        "/api/energy/consumption?site=demo", other_site="self"
    ),
    ("GET", "/api/energy/consumption.csv"): Endpoint(
        "/api/energy/consumption.csv?site=demo", other_site="self"
    ),
    ("GET", "/api/energy/balance"): Endpoint("/api/energy/balance?site=demo", other_site="self"),
    ("GET", "/api/energy/savings"): Endpoint(
        "/api/energy/savings?site=demo&start=2026-03-01&end=2026-03-02", other_site="self"
    ),
    ("GET", "/api/energy/savings.csv"): Endpoint(
        "/api/energy/savings.csv?site=demo&start=2026-03-01&end=2026-03-02", other_site="self"
    ),
    ("GET", "/api/energy/targets/{site}"): Endpoint("/api/energy/targets/demo", other_site="self"),
    ("PUT", "/api/energy/targets/{site}"): Endpoint(
        "/api/energy/targets/demo",
        {"kind": "electricity", "year": 2026, "reduction": 0.05},
        "tech",
        "self",
    ),
    ("PUT", "/api/energy/baselines/{site}"): Endpoint(
        "/api/energy/baselines/demo",
        {"building": "B1", "kind": "electricity", "start": "2026-01-01", "end": "2026-02-01"},
        "tech",
        "self",
    ),
    ("GET", "/api/energy/balance.csv"): Endpoint(
        "/api/energy/balance.csv?site=demo", other_site="self"
    ),
    ("GET", "/api/energy/pumps"): Endpoint("/api/energy/pumps?site=demo", other_site="self"),
    ("GET", "/api/pm-plans"): Endpoint("/api/pm-plans?site=demo", None, "engineer", "self"),
    ("GET", "/api/reports/{site}/{month}"): Endpoint(
        "/api/reports/demo/2026-03", forbidden_for="tech", other_site="self"
    ),
    ("GET", "/api/sites"): Endpoint("/api/sites"),
    ("GET", "/api/equipment"): Endpoint("/api/equipment"),
    ("GET", "/api/equipment/{site}/{equipment_id}"): Endpoint(
        "/api/equipment/demo/P-01", other_site="self"
    ),
    ("GET", "/api/readings"): Endpoint(
        "/api/readings?site=demo&equipment=P-01&point=flow_m3h", other_site="self"
    ),
    ("GET", "/api/readings/latest"): Endpoint(
        "/api/readings/latest?site=demo&equipment=P-01", other_site="self"
    ),
    ("GET", "/api/alarms/{alarm_id}/notifications"): Endpoint(
        f"/api/alarms/{DEMO_ALARM}/notifications", other_site="self"
    ),
    ("POST", "/api/ack-links/{token}"): None,
    ("GET", "/ack/{token}"): None,
    ("POST", "/ack/{token}"): None,
    **{
        ("GET", f"/api/alerts/{{site}}/{kind}"): Endpoint(
            f"/api/alerts/demo/{kind}", forbidden_for="viewer", other_site="self"
        )
        for kind in ("contacts", "rotas", "policies", "channels")
    },
    ("GET", "/api/alerts/{site}/rotas/{item_id}/on-call"): Endpoint(
        "/api/alerts/demo/rotas/duty/on-call", forbidden_for="viewer", other_site="self"
    ),
    ("PUT", "/api/alerts/{site}/contacts/{item_id}"): Endpoint(
        "/api/alerts/demo/contacts/wang", {"id": "wang", "name": "W"}, "engineer", "self"
    ),
    ("DELETE", "/api/alerts/{site}/contacts/{item_id}"): Endpoint(
        "/api/alerts/demo/contacts/zhang", forbidden_for="engineer", other_site="self"
    ),
    ("PUT", "/api/alerts/{site}/rotas/{item_id}"): Endpoint(
        "/api/alerts/demo/rotas/duty", ALERT_ROTA, "engineer", "self"
    ),
    ("DELETE", "/api/alerts/{site}/rotas/{item_id}"): Endpoint(
        "/api/alerts/demo/rotas/duty", forbidden_for="engineer", other_site="self"
    ),
    ("PUT", "/api/alerts/{site}/policies/{item_id}"): Endpoint(
        "/api/alerts/demo/policies/p1-lifts", entrapment_policy(), "engineer", "self"
    ),
    ("DELETE", "/api/alerts/{site}/policies/{item_id}"): Endpoint(
        "/api/alerts/demo/policies/p1-lifts", forbidden_for="engineer", other_site="self"
    ),
    ("PUT", "/api/alerts/{site}/channels/{item_id}"): Endpoint(
        "/api/alerts/demo/channels/hook",
        {"kind": "webhook", "settings": {"url": "http://127.0.0.1:9/"}},
        "engineer",
        "self",
    ),
    ("DELETE", "/api/alerts/{site}/channels/{item_id}"): Endpoint(
        "/api/alerts/demo/channels/ding", forbidden_for="engineer", other_site="self"
    ),
    ("GET", "/api/public/points/{code}"): None,
    ("POST", "/api/public/points/{code}/requests"): None,
    ("GET", "/api/public/requests/{token}"): None,
    ("POST", "/api/public/requests/{token}/rating"): None,
    ("GET", "/api/service-desk/points"): Endpoint("/api/service-desk/points", forbidden_for="tech"),
    ("POST", "/api/service-desk/points"): Endpoint(
        "/api/service-desk/points", {"site": "demo", "kind": "floor", "label": "3F"}, "tech", "self"
    ),
    ("POST", "/api/service-desk/points/{point_id}/retire"): Endpoint(
        "/api/service-desk/points/1/retire", forbidden_for="tech", other_site="self"
    ),
    ("GET", "/api/service-desk/points/sheet"): Endpoint(
        "/api/service-desk/points/sheet?site=demo", forbidden_for="tech", other_site="self"
    ),
    ("GET", "/api/service-desk/requests"): Endpoint(
        "/api/service-desk/requests", forbidden_for="tech"
    ),
    ("GET", "/api/service-desk/requests/{request_id}/photo"): Endpoint(
        "/api/service-desk/requests/1/photo", forbidden_for="tech"
    ),
    ("POST", "/api/service-desk/requests/{request_id}/accept"): Endpoint(
        "/api/service-desk/requests/1/accept", {"urgency": "minor"}, "tech", "self"
    ),
    ("POST", "/api/service-desk/requests/{request_id}/decline"): Endpoint(
        "/api/service-desk/requests/1/decline", {"reason": "x"}, "tech", "self"
    ),
    ("POST", "/api/service-desk/requests/{request_id}/spam"): Endpoint(
        "/api/service-desk/requests/1/spam", forbidden_for="tech", other_site="self"
    ),
    ("POST", "/api/service-desk/requests/spam"): Endpoint(
        "/api/service-desk/requests/spam", {"ids": [1]}, "tech", "self"
    ),
    ("POST", "/api/service-desk/requests"): Endpoint(
        "/api/service-desk/requests",
        {
            "site": "demo",
            "channel": "phone",
            "category": "water",
            "description": "x",
            "location": "3F",
        },
        "tech",
        "self",
    ),
    ("POST", "/api/service-desk/requests/{request_id}/merge"): Endpoint(
        "/api/service-desk/requests/1/merge", {"primary_id": 1}, "tech", "self"
    ),
    ("GET", "/api/service-desk/limits"): Endpoint("/api/service-desk/limits", forbidden_for="tech"),
    ("GET", "/api/service-desk/follow-ups"): Endpoint(
        "/api/service-desk/follow-ups", forbidden_for="tech"
    ),
    ("POST", "/api/service-desk/requests/{request_id}/equipment"): Endpoint(
        "/api/service-desk/requests/1/equipment", {"equipment": "P-01"}, "tech", "self"
    ),
    ("POST", "/api/service-desk/requests/{request_id}/link"): Endpoint(
        "/api/service-desk/requests/1/link", {"work_order_id": 1}, "tech", "self"
    ),
}

PROTECTED = {k: v for k, v in ENDPOINTS.items() if v is not None}

CONTRACTOR_MAY = {
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password"),
    ("GET", "/api/preferences"),
    ("PUT", "/api/preferences"),
    ("GET", "/api/causes"),
    ("GET", "/api/sites"),
    ("GET", "/api/points"),
    ("GET", "/api/kpis/contractors"),
    ("GET", "/api/work-orders"),
    ("GET", "/api/work-orders/{order_id}"),
    ("GET", "/api/work-orders/{order_id}/history"),
    ("GET", "/api/work-orders/{order_id}/attachments/{attachment_id}"),
    ("POST", "/api/work-orders/{order_id}/transition"),
    ("POST", "/api/work-orders/{order_id}/labour"),
    ("POST", "/api/work-orders/{order_id}/comments"),
    ("POST", "/api/work-orders/{order_id}/bookings"),
    ("POST", "/api/work-orders/{order_id}/resolve"),
    ("POST", "/api/work-orders/{order_id}/completion"),
    ("POST", "/api/work-orders/{order_id}/attachments"),
    ("GET", "/api/work-orders/{order_id}/checklist"),
    ("PUT", "/api/work-orders/{order_id}/checklist/{idx}"),
    ("GET", "/api/work-orders/{order_id}/entrapment"),
    ("POST", "/api/work-orders/{order_id}/released"),
}
"""What a contractor's user (维保单位) may call; every other route is 403 to it. Of the work
orders it sees only those dispatched to its contractor: `DEMO_ORDER` is not (404)."""


def _rules(dependant: Dependant) -> list[object]:
    found: list[object] = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, AccessRule | PublicAccess):
            found.append(dep.call)
        found += _rules(dep)
    return found


def _http_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            out += [(m, ctx.path, route) for m in sorted(route.methods)]
    return out


def _seed(engine: Engine) -> None:
    add(engine, *assets())
    add(engine, alarm(DEMO_ALARM, 0), work_order(0), complaint(0), *public_request())
    # a part and a labour line on the demo order: reversing or approving a missing one is a
    # 404 of its own (review 19f L5), so the site's own user must address lines that exist
    booked = {
        "work_order_id": DEMO_ORDER,
        "at": datetime(2026, 3, 1, 8, tzinfo=UTC),
        "actor": "tech",
    }
    add(
        engine,
        WorkOrderPartRow(id=1, part_no="6205-2RS", quantity=1, unit_cost=45.5, **booked),
        WorkOrderLabourRow(id=1, technician="tech", hours=1, rate=80, **booked),
    )
    add(engine, contractor(), contract(), ContractorAccountRow(user="lift", contractor="liftco"))
    add(engine, *store())
    add(engine, *emergency_plans())
    add(engine, *inspection_round())
    seed_site(engine, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")


@pytest.fixture
def app_client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    """A console of its own (for a test whose requests change the store)."""
    _seed(sqlite_db)
    return make_client(sqlite_db, user=None)


@pytest.fixture(scope="module")
def shared_client(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One console for the tests whose requests are refused, or only read or touch the
    caller's own session and preferences: none changes what another reads, so they share a
    store and an app instead of building one each (a new app compiles its routes on its first
    request: about a quarter of a second, for ~300 tests)."""
    folder = tmp_path_factory.mktemp("access")
    engine = make_engine(sqlite_copy(sqlite_template, f"sqlite:///{folder / 'bldgwatch.db'}"))
    _seed(engine)
    store = open_store(InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=2))
    client = new_client(engine, store, attachments=folder / "attachments", user=None)
    yield client
    client.close()
    release_app(cast(FastAPI, client.app))
    store.close()
    engine.dispose()


def test_every_route_declares_an_access_rule_and_is_tested(shared_client: TestClient) -> None:
    app = shared_client.app
    assert isinstance(app, FastAPI)
    routes = _http_routes(app)
    missing_rule = [f"{m} {p}" for m, p, r in routes if not _rules(r.dependant)]
    assert missing_rule == [], "routes without an access rule"
    untested = [f"{m} {p}" for m, p, _ in routes if (m, p) not in ENDPOINTS]
    assert untested == [], "routes missing from the access test table"
    assert {(m, p) for m, p, _ in routes} == set(ENDPOINTS)
    others = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIWebSocketRoute):
            assert ctx.path in WEBSOCKET_RULES, f"websocket {ctx.path} without an access rule"
        elif isinstance(route, Mount):
            assert route.path in STATIC_MOUNTS
        elif isinstance(route, Route) and not isinstance(route, APIRoute):
            others.append(route.path)
    assert set(others) <= FRAMEWORK_ROUTES


@pytest.mark.parametrize(("method", "template"), sorted(PROTECTED))
def test_anonymous_gets_401(shared_client: TestClient, method: str, template: str) -> None:
    ep = PROTECTED[(method, template)]
    resp = shared_client.request(method, ep.path, json=ep.body)
    body = assert_problem(resp, 401, "authentication required")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert body["instance"] == ep.path.split("?")[0]


@pytest.mark.parametrize("token", ["garbage", "bwt_unknown", "a.b.c"])
def test_bad_tokens_get_401(shared_client: TestClient, token: str) -> None:
    resp = shared_client.get("/api/alarms", headers={"Authorization": f"Bearer {token}"})
    assert_problem(resp, 401)


@pytest.mark.parametrize(
    ("method", "template"), sorted(k for k, v in PROTECTED.items() if v.forbidden_for)
)
def test_wrong_role_gets_403(shared_client: TestClient, method: str, template: str) -> None:
    ep = PROTECTED[(method, template)]
    assert ep.forbidden_for is not None
    headers = auth_headers(shared_client, ep.forbidden_for)
    resp = shared_client.request(method, ep.path, json=ep.body, headers=headers)
    assert_problem(resp, 403, "needs one of the roles")
    zh = {**headers, "Accept-Language": "zh-CN"}
    resp = shared_client.request(method, ep.path, json=ep.body, headers=zh)
    detail = str(assert_problem(resp, 403, "需要以下角色之一")["detail"])
    # the whole text in Chinese: what the rule guards and every role (the user's name aside)
    assert not re.search("[A-Za-z]", detail.replace(ep.forbidden_for, "")), detail


STOCK_RESERVE = {"action": "reserve", "store_id": 1, "part_no": "6205-2RS", "quantity": 1}
REFUSALS = [
    (
        "en",
        "tech",
        ("GET", "/api/stores/1/purchase-requests", None),
        "Planning, assigning and reporting needs one of the roles supervisor; tech has technician",
    ),
    (
        "zh-CN",
        "tech",
        ("GET", "/api/stores/1/purchase-requests", None),
        "计划、派工和报表需要以下角色之一：主管；tech 的角色：维修技术员",
    ),
    (
        "en",
        "viewer",
        ("POST", f"/api/work-orders/{DEMO_ORDER}/stock", STOCK_RESERVE),
        "Moving parts on work orders needs one of the roles technician or supervisor; "
        "viewer has viewer",
    ),
    (
        "zh-CN",
        "viewer",
        ("POST", f"/api/work-orders/{DEMO_ORDER}/stock", STOCK_RESERVE),
        "工单备件的预留、领用和退还需要以下角色之一：维修技术员或主管；viewer 的角色：只读",
    ),
    (
        "zh-CN",
        "lift",
        ("GET", "/api/alarms", None),
        "查看需要以下角色之一：只读、值班工程师、维修技术员、主管或管理员；"
        "lift 的角色：维保单位用户",
    ),
]


@pytest.mark.parametrize(("lang", "user", "call", "detail"), REFUSALS)
def test_a_refusal_says_what_and_which_roles_in_the_readers_language(
    shared_client: TestClient, lang: str, user: str, call: tuple[str, str, Any], detail: str
) -> None:
    method, path, body = call
    headers = {**auth_headers(shared_client, user), "Accept-Language": lang}
    resp = shared_client.request(method, path, json=body, headers=headers)
    assert assert_problem(resp, 403)["detail"] == detail


def test_an_access_rule_without_catalogue_text_stops_the_console() -> None:
    with pytest.raises(ValueError, match=r"auth\.what\.guarding nothing"):
        require(SUPERVISOR, what="guarding nothing")


@pytest.mark.parametrize(
    ("method", "template"), sorted(k for k, v in PROTECTED.items() if v.other_site)
)
def test_another_sites_object_is_404(app_client: TestClient, method: str, template: str) -> None:
    ep = PROTECTED[(method, template)]
    headers = auth_headers(app_client, "outsider")  # every role but admin, site north only
    resp = app_client.request(method, ep.path, json=ep.body, headers=headers)
    assert_problem(resp, 404, "does not exist")
    # The same request by a user of that site is not a 404: the object is there.
    ok = app_client.request(
        method, ep.path, json=ep.body, headers=auth_headers(app_client, "admin")
    )
    assert ok.status_code != 404, ok.text


def test_listings_hide_other_sites(shared_client: TestClient) -> None:
    headers = auth_headers(shared_client, "outsider")
    for path in (
        "/api/alarms",
        "/api/work-orders",
        "/api/equipment",
        "/api/sites",
        "/api/complaints",
    ):
        items = shared_client.get(path, headers=headers).json()["items"]
        sites = {i.get("site", i.get("id")) for i in items}
        assert sites <= {"north"}, (path, sites)


@pytest.mark.parametrize(("method", "template"), sorted(PROTECTED))
def test_a_contractors_user_may_call_only_its_routes(
    shared_client: TestClient, method: str, template: str
) -> None:
    """`lift` holds the role contractor at the demo site and acts for liftco; the demo order
    is not dispatched to it: it is a 404 where the route is open to it, 403 elsewhere."""
    ep = PROTECTED[(method, template)]
    resp = shared_client.request(
        method, ep.path, json=ep.body, headers=auth_headers(shared_client, "lift")
    )
    if (method, template) not in CONTRACTOR_MAY:
        assert_problem(resp, 403, "needs one of the roles")
    elif template.endswith("/attachments"):  # the missing file is a 422 before the order
        assert "needs one of the roles" not in resp.text and resp.status_code == 422
    elif "{order_id}" in template:
        assert_problem(resp, 404, "does not exist")
    else:  # let in (the password route refuses the wrong current password by itself)
        assert resp.status_code not in (401, 404), resp.text
        assert "needs one of the roles" not in resp.text


def test_a_contractors_user_lists_only_its_contractors_orders(shared_client: TestClient) -> None:
    headers = auth_headers(shared_client, "lift")
    assert shared_client.get("/api/work-orders", headers=headers).json()["items"] == []
    me = shared_client.get("/api/auth/me", headers=headers).json()
    assert me["contractor"] == "liftco" and me["roles"] == ["contractor"]
