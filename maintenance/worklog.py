"""What was done on a work order: labour, parts, cost, repair class, root cause, downtime.

The order's `labour_hours` and `cost` are running totals of its labour and parts rows. A major
repair (大修) renews the equipment's age: its `last_overhaul` moves to the repair date, so the
stage scoring starts a new age segment. The caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.workorders import add_note, get_order

logger = logging.getLogger(__name__)


class RepairClass(StrEnum):
    """小修 / 中修 / 大修."""

    MINOR = "minor"
    MEDIUM = "medium"
    MAJOR = "major"


class InvalidWorkLog(MaintenanceError):  # noqa: N818 - reads better at the call site
    """Labour, parts or a completion the order cannot take (HTTP 409 / 422)."""


def _open_order(session: Session, order_id: int) -> WorkOrderRow:
    order = get_order(session, order_id, for_update=True)
    if WorkOrderStatus(order.status) in TERMINAL_STATUSES:
        raise InvalidWorkLog(f"work order {order_id} is {order.status}: no more work on it")
    return order


def _log(session: Session, order: WorkOrderRow, *, actor: str, at: datetime, note: str) -> None:
    """Note what was booked in the order's timeline, move its `updated_at` on and flush."""
    order.updated_at = max(order.updated_at, at)
    add_note(session, order, actor=actor, at=at, note=note)
    session.flush()


def add_labour(
    session: Session,
    order_id: int,
    *,
    technician: str,
    hours: float,
    rate: float,
    at: datetime,
    note: str = "",
) -> WorkOrderLabourRow:
    """Book `hours` of `technician` at `rate` per hour; adds to the order's hours and cost."""
    if hours <= 0 or rate < 0:
        raise InvalidWorkLog("labour needs positive hours and a rate of 0 or more")
    order = _open_order(session, order_id)
    row = WorkOrderLabourRow(
        work_order_id=order.id, technician=technician[:64], hours=hours, rate=rate, at=at, note=note
    )
    session.add(row)
    order.labour_hours += hours
    order.cost += hours * rate
    _log(session, order, actor=technician, at=at, note=f"labour {hours:g} h at {rate:g}/h")
    return row


def add_part(
    session: Session,
    order_id: int,
    *,
    part_no: str,
    quantity: float,
    unit_cost: float,
    at: datetime,
    actor: str,
    description: str = "",
) -> WorkOrderPartRow:
    """Book parts used; adds quantity × unit cost to the order's cost."""
    if quantity <= 0 or unit_cost < 0:
        raise InvalidWorkLog("parts need a positive quantity and a unit cost of 0 or more")
    order = _open_order(session, order_id)
    row = WorkOrderPartRow(
        work_order_id=order.id,
        part_no=part_no[:64],
        description=description[:200],
        quantity=quantity,
        unit_cost=unit_cost,
        at=at,
        actor=actor[:64],
    )
    session.add(row)
    order.cost += quantity * unit_cost
    _log(session, order, actor=actor, at=at, note=f"part {part_no} × {quantity:g} at {unit_cost:g}")
    return row


@dataclass(frozen=True, slots=True)
class PartUse:
    """Parts of one number used on an order."""

    part_no: str
    quantity: float
    unit_cost: float
    description: str = ""


@dataclass(frozen=True, slots=True)
class WorkDone:
    """Labour and parts a technician books in one go (with a move, or on their own)."""

    hours: float | None = None
    rate: float = 0.0
    parts: tuple[PartUse, ...] = ()


def book(
    session: Session, order_id: int, work: WorkDone, *, actor: str, at: datetime, note: str = ""
) -> None:
    """Book `work` as `actor`'s labour and parts on the order; the caller commits."""
    if work.hours:
        add_labour(
            session, order_id, technician=actor, hours=work.hours, rate=work.rate, at=at, note=note
        )
    for part in work.parts:
        add_part(
            session,
            order_id,
            part_no=part.part_no,
            quantity=part.quantity,
            unit_cost=part.unit_cost,
            description=part.description,
            at=at,
            actor=actor,
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """How a repair went: its class, root cause and the equipment's downtime."""

    repair_class: RepairClass | None = None
    root_cause: str | None = None
    downtime_h: float | None = None


def record_completion(
    session: Session, order_id: int, completion: Completion, *, at: datetime, actor: str
) -> WorkOrderRow:
    """Store repair class, root cause and downtime; a major repair renews the asset's age."""
    if completion.downtime_h is not None and completion.downtime_h < 0:
        raise InvalidWorkLog("downtime cannot be negative")
    order = _open_order(session, order_id)
    parts = []
    if completion.repair_class is not None:
        order.repair_class = completion.repair_class.value
        parts.append(f"repair class {completion.repair_class.value}")
        if completion.repair_class is RepairClass.MAJOR:
            _renew(session, order, at)
    if completion.root_cause is not None:
        order.root_cause = completion.root_cause
        parts.append(f"root cause: {completion.root_cause}")
    if completion.downtime_h is not None:
        order.downtime_h = completion.downtime_h
        parts.append(f"downtime {completion.downtime_h:g} h")
    _log(session, order, actor=actor, at=at, note="; ".join(parts) or "completion recorded")
    return order


def _renew(session: Session, order: WorkOrderRow, at: datetime) -> None:
    asset = session.get(EquipmentRow, (order.site, order.equipment))
    if asset is not None and (asset.last_overhaul is None or asset.last_overhaul < at.date()):
        asset.last_overhaul = at.date()
        logger.info("%s/%s overhauled on %s: age renewed", order.site, order.equipment, at.date())
