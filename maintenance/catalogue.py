"""The default preventive-maintenance catalogue, as plain data (`config.PlanSettings` builds its
default plans from it).

Elevators follow TSG T5002 (电梯维护保养规则): half-monthly, quarterly, half-yearly and yearly
items. Electrical-shaft panels (强电井配电柜): a monthly round of the breakers, joint and busbar
temperatures, the RCD test button and cleaning, and a yearly one in a planned outage (tightness
of terminals and busbar bolts, insulation resistance, earthing). Counter plans: pumps by run
hours, elevators by trips.

Titles and tasks are catalogue keys (`maintenance.plan.*`, `maintenance.task.*` in
`core/locale/*/bldgwatch.po`): an order's title and checklist are read in the reader's language
(`maintenance.checklists.task_text`). A configured plan may use plain text instead.
"""

from __future__ import annotations

from typing import Any

TASK = "maintenance.task."
PLAN = "maintenance.plan."


def _tasks(group: str, *names: str) -> list[str]:
    return [f"{TASK}{group}.{name}" for name in names]


ELEVATOR_CALENDAR: tuple[dict[str, Any], ...] = (
    {
        "id": "elevator.half_monthly",
        "title": f"{PLAN}elevator.half_monthly",
        "every_days": 15,
        "tasks": _tasks("elevator", "clean", "brake", "doors", "car", "levelling"),
    },
    {
        "id": "elevator.quarterly",
        "title": f"{PLAN}elevator.quarterly",
        "cron": "0 0 1 1,4,7,10 *",
        "tasks": _tasks("elevator", "sheave_ropes", "guides", "door_hangers"),
    },
    {
        "id": "elevator.half_yearly",
        "title": f"{PLAN}elevator.half_yearly",
        "cron": "0 0 1 1,7 *",
        "tasks": _tasks("elevator", "governor", "machine", "limits"),
    },
    {
        "id": "elevator.yearly",
        "title": f"{PLAN}elevator.yearly",
        "cron": "0 0 1 1 *",
        "tasks": _tasks("elevator", "insulation", "brake_test", "safety_gear_test", "inspection"),
    },
)

PANEL_CALENDAR: tuple[dict[str, Any], ...] = (
    {
        "id": "shaft_panel.monthly",
        "title": f"{PLAN}shaft_panel.monthly",
        "cron": "0 0 1 * *",
        "tasks": _tasks("shaft_panel", "breakers", "temperatures", "rcd", "clean"),
    },
    {
        "id": "shaft_panel.yearly",
        "title": f"{PLAN}shaft_panel.yearly",
        "cron": "0 0 1 4 *",  # before the summer peak load
        "tasks": _tasks("shaft_panel", "tightness", "insulation", "earthing"),
    },
)

COUNTERS: tuple[dict[str, Any], ...] = (
    {
        "id": "pump.run_hours",
        "equipment_type": "pump",
        "field": "run_hours",
        "every": 2000,
        "title": f"{PLAN}pump.run_hours",
        "tasks": _tasks("pump", "bearings", "seal", "coupling"),
    },
    {
        "id": "elevator.trips",
        "equipment_type": "elevator",
        "field": "trip_count",
        "every": 100_000,
        "title": f"{PLAN}elevator.trips",
        "tasks": _tasks("elevator", "door_operator", "brake_linings", "ropes"),
    },
)
