"""The parts catalogue: what technicians book on orders (part number, name, unit, unit cost),
whether a part is critical, and the equipment classes (and models) it fits.

Stock of these parts per store, their movements and reorder levels are `maintenance.stock`'s;
`part_no` stays the key bookings refer to, and an issue from stock is a booking. Bookings keep
their own name, unit and unit cost, so they read the same whatever the catalogue becomes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import first_hidden
from bldgwatch.core.site import EQUIPMENT_TYPES
from bldgwatch.maintenance.config import PartSpec
from bldgwatch.maintenance.errors import InvalidRecord, UnknownPart
from bldgwatch.maintenance.recordmodels import PartRow
from bldgwatch.maintenance.stockmodels import PartFitRow

Fit = tuple[str, str]
"""An equipment class and model a part fits ('' model: every model of the class)."""


def part_number(raw: str) -> str:
    """A part number as the list keeps it: NFKC (full-width "ＰＰ" is "PP"), no space around
    (review 19s L11)."""
    return unicodedata.normalize("NFKC", raw).strip()


def plain(field: str, text: str, *, lines: bool = False) -> str:
    """`text` without the spaces around it, refused (InvalidRecord naming `field`) when it
    holds an invisible, format/bidi or control character (review 19s L11)."""
    code = first_hidden(text, lines=lines)
    if code is not None:
        raise InvalidRecord(field, Message("error.text.hidden", {"code": code}))
    return text.strip()


COUNTED_UNITS = frozenset(
    {
        *("pc", "pcs", "piece", "pieces", "ea", "each", "unit", "units", "set", "sets"),
        *("pair", "pairs", "roll", "rolls", "box", "boxes", "kit", "kits", "pack", "packs"),
        *("个", "台", "套", "只", "件", "根", "块", "把", "副", "支", "片", "条", "张", "盒"),
        *("箱", "卷", "组", "对", "节", "颗", "粒", "盏", "部", "具", "桶", "瓶", "袋", "包"),
    }
)
"""Units counted in whole pieces; any other unit (m, L, kg, 米, 升, 千克 …) is measured."""


def whole_units(unit: str) -> bool:
    """Whether a part of `unit` is counted in whole pieces (pcs, 个, 台, 套 …)."""
    return unicodedata.normalize("NFKC", unit).strip().lower() in COUNTED_UNITS


def counted(part: PartRow, quantity: float, field: str = "quantity") -> float:
    """`quantity` when the part takes it: a part counted in whole pieces refuses a fraction
    (InvalidRecord 422 naming `field`); a measured part takes any."""
    if whole_units(part.unit) and quantity != round(quantity):
        params = {"part_no": part.part_no, "unit": part.unit, "quantity": f"{quantity:g}"}
        raise InvalidRecord(field, Message("error.stock.whole_units", params))
    return quantity


def listed_part(session: Session, part_no: str) -> PartRow:
    """The part of that number (UnknownPart when it is not on the list or withdrawn)."""
    row = session.get(PartRow, part_number(part_no))
    if row is None or not row.active:
        raise UnknownPart(part_no)
    return row


def known_part(session: Session, part_no: str) -> PartRow:
    """The part of that number, withdrawn or not (UnknownPart when it never was on the list):
    what the store still holds of a withdrawn part is counted, written off and its levels
    cleared (review 19c-s M1)."""
    row = session.get(PartRow, part_number(part_no))
    if row is None:
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
    critical: bool | None = None,
    fits: Iterable[Fit] | None = None,
) -> PartRow:
    """Add a part to the list or change it (its bookings keep what they were booked at);
    `critical` and `fits` stay as they were when None."""
    part_no = plain("part_no", part_number(part_no))
    name, unit = plain("name", name), plain("unit", unit)
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
    if critical is not None or row.critical is None:
        row.critical = bool(critical)
    session.flush()
    if fits is not None:
        _set_fits(session, part_no, fits)
    return row


def _set_fits(session: Session, part_no: str, fits: Iterable[Fit]) -> None:
    """Replace the classes and models the part fits (InvalidRecord for an unknown class)."""
    wanted: set[Fit] = set()
    for equipment_type, model in fits:
        if equipment_type not in EQUIPMENT_TYPES:
            known = ", ".join(EQUIPMENT_TYPES)
            raise InvalidRecord(
                "fits", Message("error.stock.fit_type", {"type": equipment_type, "known": known})
            )
        wanted.add((equipment_type, plain("fits", model)[:200]))
    session.execute(delete(PartFitRow).where(PartFitRow.part_no == part_no))
    session.add_all(PartFitRow(part_no=part_no, equipment_type=t, model=m) for t, m in wanted)
    session.flush()


def fits_of(session: Session, part_nos: Sequence[str]) -> dict[str, list[Fit]]:
    """The classes and models each part fits, sorted."""
    found: dict[str, list[Fit]] = {p: [] for p in part_nos}
    stmt = (
        select(PartFitRow)
        .where(PartFitRow.part_no.in_(part_nos))
        .order_by(PartFitRow.equipment_type, PartFitRow.model)
    )
    for fit in session.scalars(stmt):
        found[fit.part_no].append((fit.equipment_type, fit.model))
    return found


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
                critical=spec.critical,
                fits=[(f.type, f.model) for f in spec.fits],
            )
            added += 1
    return added


def parts(session: Session, *, active_only: bool = True) -> list[PartRow]:
    """The list, by part number."""
    stmt = select(PartRow).order_by(PartRow.part_no)
    if active_only:
        stmt = stmt.where(PartRow.active.is_(True))
    return list(session.scalars(stmt))
