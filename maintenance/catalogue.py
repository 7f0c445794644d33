"""The default preventive-maintenance catalogue, as plain data (`config.PlanSettings` builds its
default plans from it).

Elevators follow TSG T5002-2017 (电梯维护保养规则) appendix A: its half-monthly (31),
quarterly (13), half-yearly (15) and yearly (17) items, one checklist line each; a higher level
includes the lower ones. Electrical-shaft panels (强电井配电柜): a monthly round of the
breakers, joint and busbar temperatures, the RCD test button and cleaning, and a yearly one in
a planned outage (tightness of terminals and busbar bolts, insulation resistance, earthing).
Counter plans: pumps by run hours, elevators by trips.

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


TSG = "elevator_tsg"
"""The TSG T5002-2017 appendix A items (traction and positive-drive lifts), one checklist line
each: `maintenance.task.elevator_tsg.<item>`."""

HALF_MONTHLY = _tasks(
    TSG,
    "machine_room",
    "manual_rescue",
    "machine_running",
    "brake_pins",
    "brake_gap",
    "brake_selfcheck",
    "encoder_mount",
    "governor_pins",
    "bypass",
    "emergency_electric",
    "car_top",
    "car_top_stop",
    "oil_cups",
    "counterweight",
    "shaft_lighting",
    "car_lighting",
    "car_inspection",
    "alarm_intercom",
    "car_panel",
    "door_protection",
    "car_door_contact",
    "car_door_run",
    "levelling",
    "landing_calls",
    "sills",
    "landing_closer",
    "lock_reset",
    "landing_contact",
    "lock_engagement",
    "pit",
    "pit_stop",
)
QUARTERLY = _tasks(
    TSG,
    "gear_oil",
    "brake_linings",
    "encoder_work",
    "selector",
    "sheave_ropes",
    "governor_rope",
    "shoe_liners",
    "car_door_switch",
    "door_drive",
    "landing_gibs",
    "fire_switch",
    "buffer_oil",
    "governor_tension",
)
HALF_YEARLY = _tasks(
    TSG,
    "coupling",
    "sheave_bearings",
    "groove_wear",
    "brake_switch",
    "terminals",
    "meters",
    "pulley_bearings",
    "rope_wear",
    "rope_ends",
    "governor_rope_wear",
    "door_gaps",
    "door_restrictor",
    "cw_clearance",
    "comp_fixing",
    "final_limits",
)
YEARLY = _tasks(
    TSG,
    "gear_oil_change",
    "contactors",
    "brake_plunger",
    "brake_spring",
    "insulation",
    "safety_gear_test",
    "ascending_overspeed",
    "ucm_test",
    "car_bolts",
    "rail_brackets",
    "rails",
    "travelling_cable",
    "landing_doors",
    "load_weighing",
    "safety_gear_mount",
    "car_floor_bolts",
    "buffers",
)

ELEVATOR_CALENDAR: tuple[dict[str, Any], ...] = (
    {
        "id": "elevator.half_monthly",
        "title": f"{PLAN}elevator.half_monthly",
        "every_days": 15,
        "tasks": HALF_MONTHLY,
    },
    {
        "id": "elevator.quarterly",
        "title": f"{PLAN}elevator.quarterly",
        "cron": "0 0 1 1,4,7,10 *",
        "tasks": QUARTERLY,
        "includes": ["elevator.half_monthly"],
    },
    {
        "id": "elevator.half_yearly",
        "title": f"{PLAN}elevator.half_yearly",
        "cron": "0 0 1 1,7 *",
        "tasks": HALF_YEARLY,
        "includes": ["elevator.quarterly"],
    },
    {
        "id": "elevator.yearly",
        "title": f"{PLAN}elevator.yearly",
        "cron": "0 0 1 1 *",
        "tasks": YEARLY,
        "includes": ["elevator.half_yearly"],
    },
)
"""A higher level's visit includes the lower levels' items (年度 ⊃ 半年 ⊃ 季度 ⊃ 半月): on a day
several fall due on one lift, one order opens, for the highest level, with every level's items
(`maintenance.pm`)."""

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
