"""Alarms: listing with filters, sort and search (open first), counts by priority and state,
and one alarm with its transitions and work order. The SQL is the owner's (`rules.queries`,
`maintenance.queries`); texts and values come in the reader's language (`console.present`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from bldgwatch.console.auth import ENGINEER, SUPERVISOR, CurrentUser, User
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.locale import ReaderOf
from bldgwatch.console.paging import OnlyEquipment, OnlySite, Page, Paging, to_page
from bldgwatch.console.present import order_title, present_alarms
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.alarm_actions import asks_verdict, current_verdict, may_reverse
from bldgwatch.console.schemas import (
    AlarmDetail,
    AlarmOrder,
    AlarmSummary,
    AlarmTransition,
    AlarmVerdict,
    ReviewedAlarm,
)
from bldgwatch.core.i18n import Message
from bldgwatch.core.models import AlarmState
from bldgwatch.maintenance import queries as order_queries
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.rules import queries

router = APIRouter(prefix="/api/alarms", tags=["alarms"])

Sort = Literal["priority", "-priority", "raised", "-raised", "equipment", "-equipment", "state"]


class AlarmCounts(BaseModel):
    """How many alarms a filter matches, by priority and by state."""

    total: int
    by_priority: dict[str, int] = Field(description="'1' … '4' → count.")
    by_state: dict[str, int] = Field(description="ISA-18.2 state → count.")
    unacknowledged: dict[str, int] = Field(
        description="By priority: the ones waiting for an operator (active_unack, rtn_unack)."
    )


def alarm_filter(
    user: User,
    *,
    site: str | None = None,
    equipment: str | None = None,
    building: str | None = None,
    equipment_type: str | None = None,
    state: list[AlarmState] | None = None,
    priority: list[int] | None = None,
    open_: bool | None = None,
    q: str | None = None,
) -> queries.AlarmFilter:
    """The owner's filter of a request (within the user's sites)."""
    return queries.AlarmFilter(
        sites=user.sites,
        site=site,
        equipment=equipment,
        building=building,
        equipment_type=equipment_type,
        states=[s.value for s in state] if state else None,
        priorities=priority or None,
        open=open_,
        search=q.strip() or None if q else None,
    )


Building = Annotated[str | None, Query(max_length=64, description="Only this building.")]
EquipmentType = Annotated[
    str | None,
    Query(
        alias="type",
        max_length=32,
        description="elevator, pump, shaft_panel, temp_sensor, electricity_meter…",
    ),
]
States = Annotated[
    list[AlarmState] | None,
    Query(description="Only these ISA-18.2 states (repeat the parameter for several)."),
]
Priorities = Annotated[
    list[Annotated[int, Field(ge=1, le=4)]] | None,
    Query(description="Only these priorities, 1 = emergency … 4 = low (repeat for several)."),
]
IsOpen = Annotated[
    bool | None,
    Query(alias="open", description="true: not yet back to normal; false: only closed ones."),
]
Search = Annotated[
    str | None,
    Query(max_length=100, description="Part of the equipment id, fault code, rule or text."),
]


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
    reader: ReaderOf,
    paging: Paging,
    site: OnlySite = None,
    equipment: OnlyEquipment = None,
    building: Building = None,
    equipment_type: EquipmentType = None,
    state: States = None,
    priority: Priorities = None,
    open_: IsOpen = None,
    q: Search = None,
    sort: Annotated[
        Sort, Query(description="Order after open-first; a leading '-' reverses.")
    ] = "priority",
) -> Page[AlarmSummary]:
    """Alarms matching every given filter: open ones first, then in `sort` order (by
    default by priority, newest first). Texts and values in the reader's language."""
    wanted = alarm_filter(
        user, site=site, equipment=equipment, building=building,
        equipment_type=equipment_type, state=state, priority=priority, open_=open_, q=q,
    )  # fmt: skip
    rows, total = queries.list_alarms(
        session, wanted, limit=paging.limit, offset=paging.offset, sort=sort
    )
    page = to_page(rows, total, paging, AlarmSummary)
    present_alarms(page.items, reader.locale)
    orders = order_queries.orders_of_alarms(session, [a.id for a in page.items])
    for item in page.items:
        order = orders.get(item.id)
        if order is not None:
            item.order_id, item.order_status = order.id, order.status
            item.technician = order.assigned_to
    return page


@router.get(
    "/counts",
    response_model=AlarmCounts,
    responses=problem_docs(401, 422, 503),
    summary="Counts of open alarms by priority and state",
)
def alarm_counts(
    *,
    session: DbSession,
    user: CurrentUser,
    site: OnlySite = None,
    building: Building = None,
    equipment_type: EquipmentType = None,
) -> AlarmCounts:
    """What the console's banner and page title show: open alarms by priority and state."""
    wanted = alarm_filter(
        user, site=site, building=building, equipment_type=equipment_type, open_=True
    )
    by_priority: dict[str, int] = dict.fromkeys("1234", 0)
    unacked: dict[str, int] = dict.fromkeys("1234", 0)
    by_state: dict[str, int] = {}
    waiting = {AlarmState.ACTIVE_UNACK.value, AlarmState.RTN_UNACK.value}
    for prio, state, n in queries.counts(session, wanted):
        by_priority[str(prio)] = by_priority.get(str(prio), 0) + n
        by_state[state] = by_state.get(state, 0) + n
        if state in waiting:
            unacked[str(prio)] = unacked.get(str(prio), 0) + n
    return AlarmCounts(
        total=sum(by_priority.values()),
        by_priority=by_priority,
        by_state=by_state,
        unacknowledged=unacked,
    )


@router.get(
    "/verdicts",
    response_model=list[ReviewedAlarm],
    responses=problem_docs(401, 422, 503),
    summary="Leak and waste verdicts standing, for review",
)
def standing_verdicts(
    *,
    session: DbSession,
    user: CurrentUser,
    reader: ReaderOf,
    clock: AppClock,
    site: OnlySite = None,
    days: Annotated[
        int, Query(ge=1, le=366, description="Verdicts given in the last this many days.")
    ] = 30,
) -> list[ReviewedAlarm]:
    """The leak and off-hours alarms, open or closed, whose verdict given in the last `days`
    still stands: "not a leak" / "expected use" first, then newest first — each with who gave
    it, its order, and whether the caller may correct it (fifth review of issue 20, H1: a
    closed alarm's "correct the verdict" is reached from here)."""
    since = clock.now() - timedelta(days=days)
    writer = user.has_any(frozenset({ENGINEER, SUPERVISOR}))
    found = queries.standing_verdicts(session, user.sites, since, site=site)
    orders = order_queries.orders_of_alarms(session, [row.id for row, _ in found])
    out: list[ReviewedAlarm] = []
    for row, given in found:
        order = orders.get(row.id)
        verdict_order = (
            None if given.work_order_id is None else session.get(WorkOrderRow, given.work_order_id)
        )
        item = ReviewedAlarm.model_validate(
            {
                **AlarmSummary.model_validate(row).model_dump(),
                "verdict": AlarmVerdict(
                    leak=given.leak,
                    actor=given.actor,
                    given_at=given.given_at,
                    work_order_id=given.work_order_id,
                    order_status=None if verdict_order is None else verdict_order.status,
                    correctable=writer and may_reverse(session, row, given, user),
                ),
            }
        )
        if order is not None:
            item.order_id, item.order_status = order.id, order.status
            item.technician = order.assigned_to
        out.append(item)
    present_alarms(out, reader.locale)
    return out


@router.get(
    "/{alarm_id}",
    response_model=AlarmDetail,
    responses=problem_docs(401, 404, 422, 503),
    summary="One alarm with its transitions and work order",
)
def get_alarm(
    *,
    session: DbSession,
    user: CurrentUser,
    reader: ReaderOf,
    alarm_id: Annotated[str, Path(max_length=36, description="Alarm id.")],
) -> AlarmDetail:
    """The alarm, every stored transition of it (oldest first), and the work order it opened
    or joined with who it is assigned to."""
    row = queries.alarm(session, alarm_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.alarm.not_found", {"id": alarm_id}))
    detail = AlarmDetail.model_validate(row)
    present_alarms([detail], reader.locale)
    detail.events = [
        AlarmTransition.model_validate(e) for e in queries.transitions(session, alarm_id)
    ]
    order = order_queries.orders_of_alarms(session, [alarm_id]).get(alarm_id)
    if order is not None:
        detail.work_order = AlarmOrder(
            id=order.id,
            status=order.status,
            assigned_to=order.assigned_to,
            title_text=order_title(order, reader.locale),
        )
    given = current_verdict(session, row) if asks_verdict(row) else None
    if given is not None:
        verdict_order = (
            None if given.work_order_id is None else session.get(WorkOrderRow, given.work_order_id)
        )
        writer = user.has_any(frozenset({ENGINEER, SUPERVISOR}))
        detail.verdict = AlarmVerdict(
            leak=given.leak,
            actor=given.actor,
            given_at=given.given_at,
            work_order_id=given.work_order_id,
            order_status=None if verdict_order is None else verdict_order.status,
            correctable=writer and may_reverse(session, row, given, user),
        )
    return detail
