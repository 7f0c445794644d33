"""What an order's forms pick from: the parts list (and a supervisor's changes to it), the
cause codes of the completion record, and the technicians a site's orders may go to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

import bldgwatch.console.partpath  # noqa: F401  (registers {…:part})
from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import TECHNICIAN, Admin, CurrentUser, OrderReader, Supervisor
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError, UnprocessableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.models import UserRow
from bldgwatch.console.present import order_title
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_orders import (
    CodeName,
    ListedPart,
    PartEntryIn,
    PartFit,
    PendingSpotPurchase,
    TechnicianOut,
)
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.models import WorkOrderLabourRow, WorkOrderPartRow, WorkOrderRow
from bldgwatch.maintenance.partslist import fits_of, parts, save_part
from bldgwatch.maintenance.recordmodels import WorkOrderChargeRow
from bldgwatch.maintenance.technicians import StoredTechnicians
from bldgwatch.maintenance.texts import text
from bldgwatch.maintenance.worklog import CAUSES, held_text

router = APIRouter(prefix="/api", tags=["work orders"])


def with_fits(part: ListedPart, fits: list[tuple[str, str]]) -> ListedPart:
    """The part with the classes and models it fits."""
    found = [PartFit.model_validate({"equipment_type": t, "model": m}) for t, m in fits]
    return part.model_copy(update={"fits": found})


@router.get(
    "/parts",
    response_model=list[ListedPart],
    responses=problem_docs(401, 404, 422, 503),
    summary="The parts list",
)
def parts_list(
    *,
    session: DbSession,
    user: CurrentUser,
    all_: Annotated[bool, Query(alias="all", description="Withdrawn parts too.")] = False,
    order: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**31 - 1,
            description="A work order: the parts that fit its equipment first (`fits_order`).",
        ),
    ] = None,
) -> list[ListedPart]:
    """Parts one may book on orders (part number, name, unit, unit cost); for an order, those
    fitting its equipment's class (and model) first, so its pickers offer them first (review
    19c-s H4)."""
    rows = parts(session, active_only=not all_)
    fits = fits_of(session, [r.part_no for r in rows])
    listed = [with_fits(ListedPart.model_validate(r), fits[r.part_no]) for r in rows]
    if order is None:
        return listed
    row = queries.work_order(session, order)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order)}))
    unit = queries.equipment(session, row.site, row.equipment)
    kind, model = (unit.type, unit.model) if unit is not None else ("", "")
    marked = [
        p.model_copy(
            update={
                "fits_order": any(
                    f.equipment_type == kind and f.model in ("", model) for f in p.fits
                )
            }
        )
        for p in listed
    ]
    return sorted(marked, key=lambda p: not p.fits_order)  # stable: by part number within


@router.put(
    "/parts/{part_no:part}",
    response_model=ListedPart,
    responses=problem_docs(401, 403, 422, 503),
    summary="Add or change a part of the parts list",
)
def put_part(
    *,
    noted: Annotated[AuditEntry, Depends(Audited(audit.PART_SAVE, "part:{part_no}"))],
    session: DbSession,
    clock: AppClock,
    user: Admin,
    part_no: Annotated[str, Path(min_length=1, max_length=64)],
    body: PartEntryIn,
) -> ListedPart:
    """Bookings made before keep the name, unit and cost they were booked at. The list is
    shared by every site, so only an admin changes it: a supervisor of one site lowering a
    price changed every site's costs and slipped a request under the approval limit (review
    19c-s M5). A part number may hold "/" (6205-2RS/C3, review 19c-s M2)."""
    noted.detail = {"unit_cost": body.unit_cost, "active": body.active}
    try:
        row = save_part(
            session,
            part_no=part_no,
            name=body.name,
            unit=body.unit,
            unit_cost=body.unit_cost,
            active=body.active,
            actor=user.name,
            at=clock.now(),
            critical=body.critical,
            fits=None if body.fits is None else [(f.equipment_type, f.model) for f in body.fits],
        )
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param=err.field) from err
    session.commit()
    fits = fits_of(session, [row.part_no])[row.part_no]  # as the list names it (review 19c-s L1)
    return with_fits(ListedPart.model_validate(row), fits)


@router.get(
    "/causes",
    response_model=list[CodeName],
    responses=problem_docs(401, 422, 503),
    summary="Cause codes of the completion record",
)
def causes(*, user: OrderReader, lang: Lang) -> list[CodeName]:
    """Each cause code with its name in the reader's language."""
    return [CodeName(code=c, name=text(f"cause.{c}", lang)) for c in CAUSES]


@router.get(
    "/technicians",
    response_model=list[TechnicianOut],
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Technicians one may assign a site's orders to",
)
def technicians(
    *,
    session: DbSession,
    user: Supervisor,
    site: Annotated[str, Query(max_length=64, description="Site id.")],
) -> list[TechnicianOut]:
    """Active users with the technician role who work at the site."""
    if not user.may_see(site) or queries.site(session, site) is None:
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    rows = session.scalars(
        select(UserRow).where(UserRow.disabled.is_(False)).order_by(UserRow.name)
    )
    directory = StoredTechnicians(session)
    found = []
    for r in rows:
        if TECHNICIAN in r.roles and (r.sites is None or site in r.sites):
            known = directory.technician(r.name)
            skills = list(known.skills) if known is not None else []
            found.append(
                TechnicianOut(name=r.name, display_name=r.display_name or r.name, skills=skills)
            )
    return found


@router.get(
    "/spot-purchases/pending",
    response_model=list[PendingSpotPurchase],
    responses=problem_docs(401, 403, 422, 503),
    summary="Spot purchases awaiting approval",
)
def pending_spot_purchases(
    *,
    session: DbSession,
    user: Supervisor,
    lang: Lang,
    site: Annotated[str | None, Query(max_length=64, description="Only this site.")] = None,
) -> list[PendingSpotPurchase]:
    """Parts a technician bought on the spot that wait for a supervisor's approval (not
    counted in their orders' cost until approved), oldest first, on the sites one sees; the
    orders cannot be resolved or closed until each is approved or rejected (review 19f M3)."""
    return [
        _pending(kind, line, order, lang)
        for kind, line, order in queries.pending_lines(session, user.sites, site)
    ]


def _pending(
    kind: str,
    line: WorkOrderPartRow | WorkOrderLabourRow | WorkOrderChargeRow,
    order: WorkOrderRow,
    lang: str,
) -> PendingSpotPurchase:
    """One line awaiting approval as the list gives it."""
    if isinstance(line, WorkOrderPartRow):
        what = (line.part_no, line.description, line.quantity, line.unit, line.unit_cost)
    elif isinstance(line, WorkOrderLabourRow):
        what = ("", line.technician, line.hours, "h", line.rate)
    else:
        what = ("", line.contractor, 1.0, None, line.amount)
    part_no, description, quantity, unit, unit_cost = what
    return PendingSpotPurchase(
        kind=kind,
        order_id=order.id,
        site=order.site,
        equipment=order.equipment,
        title=order_title(order, lang),
        status=order.status,
        id=line.id,
        part_no=part_no,
        description=description,
        quantity=quantity,
        unit=unit,
        unit_cost=unit_cost,
        amount=round(quantity * unit_cost, 2),
        actor=line.actor or "",
        at=line.at,
        waits_because=held_text(line, lang),
    )
