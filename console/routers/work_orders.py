"""Work orders: listing with filters, and one order with its history. The SQL is the owner's
(`maintenance.queries`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import DbSession
from bldgwatch.console.errors import NotFoundError
from bldgwatch.console.locale import ReaderOf
from bldgwatch.console.paging import (
    DIGITS_ONLY,
    MAX_ID,
    OnlyEquipment,
    OnlySite,
    Page,
    Paging,
    to_page,
)
from bldgwatch.console.present import present_orders
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas import (
    LabourEntry,
    PartEntry,
    WorkOrderDetail,
    WorkOrderEvent,
    WorkOrderSummary,
)
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus

router = APIRouter(prefix="/api/work-orders", tags=["work orders"])

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
    reader: ReaderOf,
    paging: Paging,
    site: OnlySite = None,
    equipment: OnlyEquipment = None,
    status: Annotated[
        list[WorkOrderStatus] | None,
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
    wanted = queries.OrderFilter(
        sites=user.sites,
        site=site,
        equipment=equipment,
        statuses=[str(s) for s in status] if status else None,
        kind=kind,
        open=open_,
        assigned_to=user.name if assigned_to == "me" else assigned_to,
    )
    rows, total = queries.list_work_orders(
        session, wanted, limit=paging.limit, offset=paging.offset
    )
    page = to_page(rows, total, paging, WorkOrderSummary)
    present_orders(page.items, reader.locale)
    return page


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
    reader: ReaderOf,
    order_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number."), DIGITS_ONLY],
) -> WorkOrderDetail:
    """The full work order, its transitions (oldest first) and the alarms attached to it."""
    row = queries.work_order(session, order_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(Message("error.work_order.not_found", {"id": order_id}))
    return order_detail(session, row, reader.locale)


def order_detail(session: Session, row: WorkOrderRow, locale: str = "en") -> WorkOrderDetail:
    """The order with its history, attached alarms, labour and parts (all oldest first)."""
    record = queries.order_record(session, row)
    detail = WorkOrderDetail.model_validate(row)
    present_orders([detail], locale)
    detail.events = [WorkOrderEvent.model_validate(e) for e in record.events]
    detail.alarm_ids = record.alarm_ids
    detail.labour = [LabourEntry.model_validate(r) for r in record.labour]
    detail.parts = [PartEntry.model_validate(r) for r in record.parts]
    return detail
