"""Sites and equipment (the asset register)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser, OrderReader, User
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.paging import OnlySite, Page, Paging, to_page
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import Building, Equipment, Site, SiteCalendar
from bldgwatch.core import workcal
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import site_zone
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.assets import calendar_of_row
from bldgwatch.maintenance.models import EquipmentRow

router = APIRouter(prefix="/api", tags=["assets"])


@router.get(
    "/sites", response_model=Page[Site], responses=problem_docs(401, 422, 503), summary="List sites"
)
def list_sites(
    *, session: DbSession, clock: AppClock, user: OrderReader, paging: Paging
) -> Page[Site]:
    """Sites by id, each with its buildings, how much equipment it has and its working
    calendar with the holidays and make-up workdays of the next 60 site days."""
    rows, total = queries.list_sites(session, user.sites, limit=paging.limit, offset=paging.offset)
    ids = [r.id for r in rows]
    buildings = queries.buildings_of(session, ids)
    counts = queries.equipment_counts(session, ids)
    items = [
        Site(
            id=r.id,
            name=r.name,
            timezone=r.timezone,
            language=r.language,
            buildings=[Building.model_validate(b) for b in buildings.get(r.id, [])],
            equipment_count=counts.get(r.id, 0),
            calendar=SiteCalendar.model_validate(
                workcal.describe(
                    calendar_of_row(r), clock.now().astimezone(site_zone(r.timezone)).date()
                )
            ),
        )
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
    wanted = queries.EquipmentFilter(sites=user.sites, site=site, type=type_, building=building)
    rows, total = queries.list_equipment(session, wanted, limit=paging.limit, offset=paging.offset)
    return to_page(rows, total, paging, Equipment)


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
    row = queries.equipment(session, site, equipment)
    if row is None or not user.may_see(site):
        raise NotFoundError(
            Message("error.equipment.not_found", {"equipment": equipment, "site": site})
        )
    return row
