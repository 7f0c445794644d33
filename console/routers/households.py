"""A household's history (complaints and the work orders they link to) and the people who
may handle a site's complaints. Reads only; who may read is as for complaints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from bldgwatch.console.auth import ENGINEER, SUPERVISOR, ComplaintHandler, ComplaintReader
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.language import Lang
from bldgwatch.console.models import UserRow
from bldgwatch.console.present import present_orders
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.complaints import summary
from bldgwatch.console.schemas import WorkOrderSummary
from bldgwatch.console.schemas_complaints import HandlerOut, HouseholdHistoryOut
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import complaintqueries, queries
from bldgwatch.maintenance.models import SiteRow

router = APIRouter(prefix="/api", tags=["complaints"])

Written = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


def _site(session: DbSession, user: ComplaintReader, site: str) -> SiteRow:
    row = queries.site(session, site)
    if row is None or not user.may_see(site):
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    return row


@router.get(
    "/households/{site}",
    response_model=HouseholdHistoryOut,
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="A household's complaints and repairs",
)
def household(
    *,
    session: DbSession,
    clock: AppClock,
    user: ComplaintReader,
    lang: Lang,
    site: Annotated[str, Path(max_length=64)],
    building: Written,
    room: Written,
) -> HouseholdHistoryOut:
    """The household's complaints, newest first, matched on building and room as written
    (full-width and half-width alike, spaces and case ignored), and the work orders those
    complaints link to. Work orders carry no household of their own (they belong to
    equipment), so orders no complaint links to are not found here."""
    row = _site(session, user, site)
    found = complaintqueries.household_history(session, site, building, room)
    orders = [WorkOrderSummary.model_validate(o) for o in found.orders]
    present_orders(orders, lang)
    return HouseholdHistoryOut(
        site=site,
        building=building,
        room=room,
        timezone=row.timezone,
        complaints=[summary(c, clock, row.timezone, user) for c in found.complaints],
        work_orders=orders,
    )


@router.get(
    "/complaint-handlers",
    response_model=list[HandlerOut],
    responses=problem_docs(401, 403, 404, 422, 503),
    summary="Who may handle a site's complaints",
)
def handlers(
    *,
    session: DbSession,
    user: ComplaintHandler,
    site: Annotated[str, Query(max_length=64, description="Site id.")],
) -> list[HandlerOut]:
    """Enabled engineers, supervisors and admins who work at the site."""
    _site(session, user, site)
    rows = session.scalars(
        select(UserRow).where(UserRow.disabled.is_(False)).order_by(UserRow.name)
    )
    return [
        HandlerOut(name=r.name, display_name=r.display_name or r.name)
        for r in rows
        if set(r.roles) & {ENGINEER, SUPERVISOR, "admin"} and (r.sites is None or site in r.sites)
    ]
