"""The follow-ups (回访) the desk owes (supervisors and admins, at their sites): every
resolved repair, oldest first, with its age, its due time (`service_desk.follow_up_within_hours`
after the resolution, shown in the site's time zone) and the callers to ring back. The
follow-up itself is recorded with `POST /api/work-orders/{order_id}/follow-up`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, cast

from fastapi import APIRouter, Query, Request
from sqlalchemy import and_
from sqlalchemy.orm import Session

from bldgwatch.console.auth import Supervisor
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import Page, Paging, fetch_page
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_requests import FollowUpCaller, FollowUpDue
from bldgwatch.core import i18n
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import DEFAULT_TIMEZONE, site_zone
from bldgwatch.maintenance import followupqueue as fq
from bldgwatch.maintenance.models import SiteRow, WorkOrderRow

router = APIRouter(prefix="/api/service-desk", tags=["public requests"])

SiteQuery = Annotated[str | None, Query(max_length=64, description="Only this site.")]


def _due(
    session: Session, order: WorkOrderRow, within: timedelta, now: datetime, lang: str
) -> FollowUpDue:
    site = session.get(SiteRow, order.site)
    zone = site_zone(site.timezone if site else DEFAULT_TIMEZONE)
    resolved = order.resolved_at or order.updated_at
    due = fq.due_at(order, within)
    return FollowUpDue(
        order_id=order.id,
        site=order.site,
        equipment=order.equipment,
        kind=order.kind,
        priority=order.priority,
        title=order.title,
        resolved_at=resolved,
        resolved_local=i18n.format_time(resolved, zone, lang),
        due_at=due,
        due_local=i18n.format_time(due, zone, lang),
        age_h=max(0, int((now - resolved).total_seconds() // 3600)),
        overdue=now > due,
        callers=[FollowUpCaller.model_validate(c) for c in fq.callers(session, order)],
    )


@router.get(
    "/follow-ups",
    response_model=Page[FollowUpDue],
    responses=problem_docs(401, 403, 404, 422),
    summary="Follow-ups due (回访)",
)
def follow_ups_due(
    *,
    request: Request,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    paging: Paging,
    site: SiteQuery = None,
) -> Page[FollowUpDue]:
    """Resolved repairs (reactive and request orders) without their follow-up yet, oldest
    resolution first, a page at a time; `total` is how many are due."""
    if site is not None and not user.may_see(site):
        raise NotFoundError(Message("error.site.not_found", {"site": site}))
    hours = cast(ConsoleConfig, request.app.state.cfg).service_desk.follow_up_within_hours
    scope = user.site_filter(WorkOrderRow.site)
    if site is not None:
        scope = and_(scope, WorkOrderRow.site == site)
    order = (WorkOrderRow.resolved_at, WorkOrderRow.id)
    rows, total = fetch_page(session, fq.due_orders(scope), order, paging)
    now, within = clock.now(), timedelta(hours=hours)
    items = [_due(session, r, within, now, lang) for r in rows]
    return Page[FollowUpDue](items=items, total=total, limit=paging.limit, offset=paging.offset)
