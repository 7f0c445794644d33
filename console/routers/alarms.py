"""Alarms: listing with filters (open first, then priority, then newest), and one alarm with
its transitions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.paging import OnlyEquipment, OnlySite, Page, Paging, page_of, where_given
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import AlarmDetail, AlarmSummary, AlarmTransition
from bldgwatch.core.models import AlarmState
from bldgwatch.rules.models import AlarmEventRow, AlarmRow

router = APIRouter(prefix="/api/alarms", tags=["alarms"])


@router.get(
    "",
    response_model=Page[AlarmSummary],
    responses=problem_docs(401, 422, 503),
    summary="List alarms",
)
def list_alarms(
    *,
    session: DbSession,
    user: CurrentUser,
    paging: Paging,
    site: OnlySite = None,
    equipment: OnlyEquipment = None,
    state: Annotated[
        list[AlarmState] | None,
        Query(description="Only these ISA-18.2 states (repeat the parameter for several)."),
    ] = None,
    open_: Annotated[
        bool | None,
        Query(alias="open", description="true: not yet back to normal; false: only closed ones."),
    ] = None,
) -> Page[AlarmSummary]:
    """Alarms matching every given filter: open ones first, then by priority, newest first."""
    stmt = where_given(
        select(AlarmRow).where(user.site_filter(AlarmRow.site)),
        (AlarmRow.site, site),
        (AlarmRow.equipment, equipment),
    )
    if state:
        stmt = stmt.where(AlarmRow.state.in_([s.value for s in state]))
    if open_ is not None:
        stmt = stmt.where(AlarmRow.is_open.is_(open_))
    order = (
        AlarmRow.is_open.desc(),
        AlarmRow.priority.asc(),
        AlarmRow.raised_at.desc(),
        AlarmRow.id,
    )
    return page_of(session, stmt, order, paging, AlarmSummary)


@router.get(
    "/{alarm_id}",
    response_model=AlarmDetail,
    responses=problem_docs(401, 404, 422, 503),
    summary="One alarm with its transitions",
)
def get_alarm(
    *,
    session: DbSession,
    user: CurrentUser,
    alarm_id: Annotated[str, Path(max_length=36, description="Alarm id.")],
) -> AlarmDetail:
    """The alarm and every stored transition of it, oldest first."""
    row = session.get(AlarmRow, alarm_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(f"alarm {alarm_id} does not exist")
    events = session.scalars(
        select(AlarmEventRow)
        .where(AlarmEventRow.alarm_id == alarm_id)
        .order_by(AlarmEventRow.at, AlarmEventRow.id)
    ).all()
    detail = AlarmDetail.model_validate(row)
    detail.events = [AlarmTransition.model_validate(e) for e in events]
    return detail
