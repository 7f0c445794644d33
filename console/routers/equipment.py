"""Sites and equipment (the asset register)."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser, User
from bldgwatch.console.deps import DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.paging import OnlySite, Page, Paging, fetch_page, page_of, where_given
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import Building, Equipment, Site
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow

router = APIRouter(prefix="/api", tags=["assets"])


@router.get(
    "/sites", response_model=Page[Site], responses=problem_docs(401, 422, 503), summary="List sites"
)
def list_sites(*, session: DbSession, user: CurrentUser, paging: Paging) -> Page[Site]:
    """Sites by id, each with its buildings and how much equipment it has."""
    rows, total = fetch_page(
        session, select(SiteRow).where(user.site_filter(SiteRow.id)), (SiteRow.id,), paging
    )
    ids = [r.id for r in rows]
    buildings: dict[str, list[Building]] = defaultdict(list)
    for b in session.scalars(
        select(BuildingRow).where(BuildingRow.site.in_(ids)).order_by(BuildingRow.id)
    ):
        buildings[b.site].append(Building.model_validate(b))
    count_rows = session.execute(
        select(EquipmentRow.site, func.count())
        .where(EquipmentRow.site.in_(ids))
        .group_by(EquipmentRow.site)
    ).all()
    counts: dict[str, int] = dict(count_rows)
    items = [
        Site(id=r.id, name=r.name, buildings=buildings[r.id], equipment_count=counts.get(r.id, 0))
        for r in rows
    ]
    return Page[Site](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get(
    "/equipment",
    response_model=Page[Equipment],
    responses=problem_docs(401, 422, 503),
    summary="List equipment",
)
def list_equipment(
    *,
    session: DbSession,
    user: CurrentUser,
    paging: Paging,
    site: OnlySite = None,
    type_: Annotated[
        str | None,
        Query(alias="type", max_length=32, description="elevator, pump, shaft_panel, …"),
    ] = None,
    building: Annotated[str | None, Query(max_length=64, description="Only this building.")] = None,
) -> Page[Equipment]:
    """Equipment matching every given filter, by site and id."""
    stmt = where_given(
        select(EquipmentRow).where(user.site_filter(EquipmentRow.site)),
        (EquipmentRow.site, site),
        (EquipmentRow.type, type_),
        (EquipmentRow.building, building),
    )
    return page_of(session, stmt, (EquipmentRow.site, EquipmentRow.id), paging, Equipment)


@router.get(
    "/equipment/{site}/{equipment_id}",
    response_model=Equipment,
    responses=problem_docs(401, 404, 422, 503),
    summary="One equipment",
)
def get_equipment(
    *,
    session: DbSession,
    user: CurrentUser,
    site: Annotated[str, Path(max_length=64, description="Site id.")],
    equipment_id: Annotated[str, Path(max_length=64, description="Equipment id.")],
) -> Equipment:
    """One asset with its ratings and rule parameters."""
    row = find_equipment(session, user, site, equipment_id)
    return Equipment.model_validate(row)


def find_equipment(session: Session, user: User, site: str, equipment: str) -> EquipmentRow:
    """The equipment row, or a 404 problem naming it."""
    row = session.get(EquipmentRow, (site, equipment))
    if row is None or not user.may_see(site):
        raise NotFoundError(f"equipment {equipment} of site {site} does not exist")
    return row
