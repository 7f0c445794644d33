"""One router per resource; `console.app` includes each (`ROUTERS`). Internal to the console.

Importing the package imports none of its modules.
"""

__all__ = [
    "alarm_actions",
    "alarms",
    "auth",
    "dashboard",
    "equipment",
    "health",
    "kpis",
    "live",
    "readings",
    "users",
    "work_order_actions",
    "work_orders",
]
