"""The parts list: what technicians book on orders (part number, name, unit, unit cost).

A simple list owned by maintenance until a spare-parts module with stock exists: that module
takes the `parts` table over (adding stores, stock levels and movements), keeps `part_no` as
the key bookings refer to, and turns a booking into a stock issue; bookings already keep their
own name, unit and unit cost, so they read the same whatever the list becomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.config import PartSpec
from bldgwatch.maintenance.errors import InvalidRecord, UnknownPart
from bldgwatch.maintenance.recordmodels import PartRow


def listed_part(session: Session, part_no: str) -> PartRow:
    """The part of that number (UnknownPart when it is not on the list or withdrawn)."""
    row = session.get(PartRow, part_no.strip())
    if row is None or not row.active:
        raise UnknownPart(part_no)
    return row


def save_part(
    session: Session,
    *,
    part_no: str,
    name: str,
    unit: str,
    unit_cost: float,
    actor: str,
    at: datetime,
    active: bool = True,
) -> PartRow:
    """Add a part to the list or change it (its bookings keep what they were booked at)."""
    part_no, name, unit = part_no.strip(), name.strip(), unit.strip()
    if not part_no or len(part_no) > 64:
        raise InvalidRecord("part_no", Message("error.record.length", {"low": 1, "high": 64}))
    if not name:
        raise InvalidRecord("name", Message("error.record.part_name"))
    if not unit or len(unit) > 16:
        raise InvalidRecord("unit", Message("error.record.unit"))
    if not unit_cost >= 0:
        raise InvalidRecord("unit_cost", Message("error.record.not_negative"))
    row = session.get(PartRow, part_no)
    if row is None:
        row = PartRow(part_no=part_no)
        session.add(row)
    row.name, row.unit, row.unit_cost, row.active = name[:200], unit, float(unit_cost), active
    row.updated_at, row.updated_by = at, actor[:64]
    session.flush()
    return row


def seed_parts(session: Session, specs: Sequence[PartSpec], *, at: datetime) -> int:
    """Add the parts of the service's config that the list lacks (kept as edited otherwise);
    how many were added. The caller commits."""
    added = 0
    for spec in specs:
        if session.get(PartRow, spec.part_no) is None:
            save_part(
                session,
                part_no=spec.part_no,
                name=spec.name,
                unit=spec.unit,
                unit_cost=spec.unit_cost,
                actor="maintenance",
                at=at,
            )
            added += 1
    return added


def parts(session: Session, *, active_only: bool = True) -> list[PartRow]:
    """The list, by part number."""
    stmt = select(PartRow).order_by(PartRow.part_no)
    if active_only:
        stmt = stmt.where(PartRow.active.is_(True))
    return list(session.scalars(stmt))
