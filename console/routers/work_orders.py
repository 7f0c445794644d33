"""Work orders: listing with filters, and one order with its history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.paging import OnlyEquipment, OnlySite, Page, Paging, page_of, where_given
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import (
    LabourEntry,
    PartEntry,
    WorkOrderDetail,
    WorkOrderEvent,
    WorkOrderSummary,
)
from bldgwatch.maintenance.models import (
    IncidentAlarmRow,
    WorkOrderEventRow,
    WorkOrderLabourRow,
    WorkOrderPartRow,
    WorkOrderRow,
)

router = APIRouter(prefix="/api/work-orders", tags=["work orders"])

FINISHED_STATUSES = ("closed", "cancelled")
"""Statuses of orders that are no longer open."""

Name = Annotated[str | None, Query(max_length=64)]


@router.get(
    "",
    response_model=Page[WorkOrderSummary],
    responses=problem_docs(401, 422, 503),
    summary="List work orders",
)
def list_work_orders(
    *,
    session: DbSession,
    user: CurrentUser,
    paging: Paging,
    site: OnlySite = None,
    equipment: OnlyEquipment = None,
    status: Annotated[
        list[str] | None,
        Query(description="Only these statuses (repeat the parameter for several)."),
    ] = None,
    kind: Annotated[
        str | None, Query(max_length=16, description="reactive, preventive or request.")
    ] = None,
    open_: Annotated[
        bool | None,
        Query(alias="open", description="true: not closed or cancelled; false: only those."),
    ] = None,
    assigned_to: Annotated[
        str | None,
        Query(max_length=64, description="Only orders assigned to this user; `me` for yours."),
    ] = None,
) -> Page[WorkOrderSummary]:
    """Work orders matching every given filter, newest first."""
    stmt = where_given(
        select(WorkOrderRow).where(user.site_filter(WorkOrderRow.site)),
        (WorkOrderRow.site, site),
        (WorkOrderRow.equipment, equipment),
        (WorkOrderRow.kind, kind),
    )
    if status:
        stmt = stmt.where(WorkOrderRow.status.in_(status))
    if assigned_to is not None:
        who = user.name if assigned_to == "me" else assigned_to
        stmt = stmt.where(WorkOrderRow.assigned_to == who)
    if open_ is True:
        stmt = stmt.where(WorkOrderRow.status.not_in(FINISHED_STATUSES))
    elif open_ is False:
        stmt = stmt.where(WorkOrderRow.status.in_(FINISHED_STATUSES))
    order = (WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
    return page_of(session, stmt, order, paging, WorkOrderSummary)


@router.get(
    "/{order_id}",
    response_model=WorkOrderDetail,
    responses=problem_docs(401, 404, 422, 503),
    summary="One work order with its history",
)
def get_work_order(
    *,
    session: DbSession,
    user: CurrentUser,
    order_id: Annotated[int, Path(ge=1, description="Work-order number.")],
) -> WorkOrderDetail:
    """The full work order, its transitions (oldest first) and the alarms attached to it."""
    row = session.get(WorkOrderRow, order_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(f"work order {order_id} does not exist")
    return order_detail(session, row)


def order_detail(session: Session, row: WorkOrderRow) -> WorkOrderDetail:
    """The order with its history, attached alarms, labour and parts (all oldest first)."""
    order_id = row.id
    events = session.scalars(
        select(WorkOrderEventRow)
        .where(WorkOrderEventRow.work_order_id == order_id)
        .order_by(WorkOrderEventRow.at, WorkOrderEventRow.id)
    ).all()
    alarm_ids = session.scalars(
        select(IncidentAlarmRow.alarm_id)
        .where(IncidentAlarmRow.work_order_id == order_id)
        .group_by(IncidentAlarmRow.alarm_id)
        .order_by(IncidentAlarmRow.alarm_id)
    ).all()
    labour = session.scalars(
        select(WorkOrderLabourRow)
        .where(WorkOrderLabourRow.work_order_id == order_id)
        .order_by(WorkOrderLabourRow.at, WorkOrderLabourRow.id)
    ).all()
    parts = session.scalars(
        select(WorkOrderPartRow)
        .where(WorkOrderPartRow.work_order_id == order_id)
        .order_by(WorkOrderPartRow.at, WorkOrderPartRow.id)
    ).all()
    detail = WorkOrderDetail.model_validate(row)
    detail.events = [WorkOrderEvent.model_validate(e) for e in events]
    detail.alarm_ids = list(alarm_ids)
    detail.labour = [LabourEntry.model_validate(r) for r in labour]
    detail.parts = [PartEntry.model_validate(r) for r in parts]
    return detail
