"""Alarms: listing with filters (open first, then priority, then newest), and one alarm with
its transitions. The SQL is the owner's (`rules.queries`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.paging import OnlyEquipment, OnlySite, Page, Paging, to_page
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import AlarmDetail, AlarmSummary, AlarmTransition
from bldgwatch.core.models import AlarmState
from bldgwatch.rules import queries

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
    wanted = queries.AlarmFilter(
        sites=user.sites,
        site=site,
        equipment=equipment,
        states=[s.value for s in state] if state else None,
        open=open_,
    )
    rows, total = queries.list_alarms(session, wanted, limit=paging.limit, offset=paging.offset)
    return to_page(rows, total, paging, AlarmSummary)


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
    row = queries.alarm(session, alarm_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(f"alarm {alarm_id} does not exist")
    detail = AlarmDetail.model_validate(row)
    detail.events = [
        AlarmTransition.model_validate(e) for e in queries.transitions(session, alarm_id)
    ]
    return detail
