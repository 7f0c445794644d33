"""Errors of the maintenance package; the console maps them to HTTP status codes."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError


class MaintenanceError(BldgwatchError):
    """Base of maintenance errors."""


class InvalidTransition(MaintenanceError):  # noqa: N818 - the domain's name for it
    """A work-order status change the state machine does not allow (HTTP 409)."""

    def __init__(self, from_status: str, to_status: str, *, order_id: int | None = None) -> None:
        which = f"work order {order_id}: " if order_id is not None else ""
        super().__init__(f"{which}cannot go from {from_status} to {to_status}")
        self.from_status = from_status
        self.to_status = to_status
        self.order_id = order_id


class WorkOrderNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No work order with that id (HTTP 404)."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"work order {order_id} not found")
        self.order_id = order_id


class UnknownSite(MaintenanceError):  # noqa: N818
    """No site with that id in the asset register (HTTP 404)."""

    def __init__(self, site: str) -> None:
        super().__init__(f"site {site!r} not found")
        self.site = site


class UnknownEquipment(MaintenanceError):  # noqa: N818
    """No such equipment in the asset register (HTTP 404)."""

    def __init__(self, site: str, equipment: str) -> None:
        super().__init__(f"equipment {equipment!r} of site {site!r} not found")
        self.site = site
        self.equipment = equipment


class HistoryError(MaintenanceError, ValueError):
    """A life-history CSV that cannot be read (the line and what is wrong)."""


class InvalidRecord(MaintenanceError, ValueError):  # noqa: N818
    """A value the record cannot take — a budget period, a KPI name, a part, a file — with
    the field it concerns (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownPart(MaintenanceError):  # noqa: N818
    """No part with that number in the parts list (HTTP 422 on a booking, 404 on the part)."""

    def __init__(self, part_no: str) -> None:
        super().__init__(f"part {part_no!r} is not in the parts list")
        self.part_no = part_no
