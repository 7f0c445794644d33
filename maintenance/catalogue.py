"""The default preventive-maintenance catalogue, as plain data (`config.PlanSettings` builds its
default plans from it).

Elevators follow TSG T5002 (电梯维护保养规则): half-monthly, quarterly, half-yearly and yearly
items. Counter plans: pumps by run hours, elevators by trips.
"""

from __future__ import annotations

from typing import Any

ELEVATOR_CALENDAR: tuple[dict[str, Any], ...] = (
    {
        "id": "elevator.half_monthly",
        "title": "Elevator half-monthly maintenance",
        "every_days": 15,
        "tasks": [
            "machine room, car top, pit: clean and check for oil and debris",
            "brake: function, wear, clearance",
            "doors: operation, safety edge/light curtain, locks",
            "car: lighting, ventilation, alarm button, intercom",
            "levelling accuracy at every floor",
        ],
    },
    {
        "id": "elevator.quarterly",
        "title": "Elevator quarterly maintenance",
        "cron": "0 0 1 1,4,7,10 *",
        "tasks": [
            "traction sheave and ropes: wear, tension",
            "guide shoes and rails: wear, lubrication",
            "door hangers, tracks and gibs",
        ],
    },
    {
        "id": "elevator.half_yearly",
        "title": "Elevator half-yearly maintenance",
        "cron": "0 0 1 1,7 *",
        "tasks": [
            "governor and safety gear: function",
            "traction machine: bearing noise, oil level and leakage",
            "buffers, limit and final-limit switches",
        ],
    },
    {
        "id": "elevator.yearly",
        "title": "Elevator yearly maintenance",
        "cron": "0 0 1 1 *",
        "tasks": [
            "insulation resistance and earthing of the electrical installation",
            "brake: full-load stopping test",
            "safety gear and governor: trip test",
            "prepare the annual inspection",
        ],
    },
)

COUNTERS: tuple[dict[str, Any], ...] = (
    {
        "id": "pump.run_hours",
        "equipment_type": "pump",
        "field": "run_hours",
        "every": 2000,
        "title": "Pump service by run hours",
        "tasks": ["bearings: lubricate, check noise and temperature", "seal: leakage", "coupling"],
    },
    {
        "id": "elevator.trips",
        "equipment_type": "elevator",
        "field": "trip_count",
        "every": 100_000,
        "title": "Elevator service by trips",
        "tasks": ["door operator and contacts", "brake linings", "traction ropes"],
    },
)
