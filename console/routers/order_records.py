"""The rest of a work order's life: comments, bookings (labour, parts from the parts list,
contractor charges; late bookings by supervisors), the completion record, resolving with a
summary, the follow-up (回访), cancelling with a reason, photos and documents; and what those
forms need: the parts list, the cause codes, the technicians of a site.

Who may act is `console.orderpolicy`; the change itself is the owner's (`maintenance.desk`,
one transaction with its event in the work-order outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, cast

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.auth import (
    SUPERVISOR,
    TECHNICIAN,
    CurrentUser,
    Requester,
    Supervisor,
    User,
)
from bldgwatch.console.auth import WorkOrderWorker as Worker
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooLargeError,
    UnprocessableError,
)
from bldgwatch.console.language import Lang
from bldgwatch.console.models import UserRow
from bldgwatch.console.orderpolicy import check
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.work_orders import order_detail
from bldgwatch.console.schemas import WorkOrderDetail
from bldgwatch.console.schemas_orders import (
    BookingRequest,
    CancelRequest,
    CodeName,
    CompletionRequest,
    FollowUpRequest,
    ListedPart,
    OrderComment,
    PartEntryIn,
    ResolveRequest,
    TechnicianOut,
)
from bldgwatch.core.db import session_factory
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    InvalidTransition,
    UnknownPart,
    WorkOrderNotFound,
)
from bldgwatch.maintenance.followup import FollowUp, Outcome
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.partslist import parts, save_part
from bldgwatch.maintenance.texts import text
from bldgwatch.maintenance.worklog import (
    CAUSES,
    Charge,
    Completion,
    InvalidWorkLog,
    LabourUse,
    PartUse,
    RepairClass,
    WorkDone,
)

router = APIRouter(prefix="/api", tags=["work orders"])

OrderId = Annotated[int, Path(ge=1, description="Work-order number.")]
DOCS = problem_docs(401, 403, 404, 409, 413, 422, 503)


def _order(session: Session, user: User, order_id: int, action: str) -> WorkOrderRow:
    row = queries.work_order(session, order_id)
    if row is None or not user.may_see(row.site):
        raise NotFoundError(f"work order {order_id} does not exist")
    check(user, row, action)
    return row


def _apply(
    session: Session,
    engine: Engine,
    user: User,
    lang: str,
    operation: Callable[[WorkDesk], object],
    *,
    order_id: int,
) -> WorkOrderDetail:
    """Run the desk's change and answer the order as stored after it."""
    try:
        operation(WorkDesk.from_store(session_factory(engine)))
    except (InvalidTransition, InvalidWorkLog) as err:
        raise ConflictError(str(err)) from err
    except UnknownPart as err:
        raise UnprocessableError(str(err), param="part_no") from err
    except InvalidRecord as err:
        if err.field == "file" and "larger" in str(err):
            raise TooLargeError(str(err), param="file") from err
        raise UnprocessableError(str(err), param=err.field) from err
    except WorkOrderNotFound as err:
        raise NotFoundError(str(err)) from err
    session.rollback()  # end this request's read transaction: the next reads see the change
    row = queries.work_order(session, order_id)
    if row is None:
        raise NotFoundError(f"work order {order_id} does not exist")
    return order_detail(session, row, lang=lang, user=user)


def work_of(user: User, body: BookingRequest) -> WorkDone:
    """The booking as the desk takes it; a technician books only their own labour."""
    labour = []
    for entry in body.labour:
        who = entry.technician or user.name
        if who != user.name and not user.has_any(frozenset({SUPERVISOR})):
            raise ForbiddenError(f"{user.name} may book only their own labour, not {who}'s")
        labour.append(LabourUse(who, entry.hours, entry.rate, entry.note))
    return WorkDone(
        labour=tuple(labour),
        parts=tuple(PartUse(p.part_no, p.quantity, p.unit_cost) for p in body.parts),
        charges=tuple(Charge(c.contractor, c.amount, c.note) for c in body.charges),
    )


def completion_of(body: CompletionRequest) -> Completion:
    """The completion record as the desk takes it."""
    repair = RepairClass(body.repair_class) if body.repair_class is not None else None
    return Completion(repair, body.root_cause, body.downtime_h, body.cause_code)


@router.post(
    "/work-orders/{order_id}/comments",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Comment on a work order",
)
def comment(
    *,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Requester,
    lang: Lang,
    order_id: OrderId,
    body: OrderComment,
) -> WorkOrderDetail:
    """A comment on the timeline, at any step (closed orders too)."""
    _order(session, user, order_id, "comment")
    now = clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.comment(order_id, body.text, at=now, actor=user.name),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/bookings",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Book labour, parts and contractor charges",
)
def book(
    *,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    lang: Lang,
    order_id: OrderId,
    body: BookingRequest,
) -> WorkOrderDetail:
    """Labour (who, hours, rate), parts from the parts list (quantity; unit cost defaults to
    the list's) and contractor charges. On a closed or cancelled order only a supervisor may
    book, with `late: true`, and the booking is recorded as late."""
    _order(session, user, order_id, "book_late" if body.late else "book")
    work, now = work_of(user, body), clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.book(order_id, work, at=now, actor=user.name, late=body.late),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/completion",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Record how the repair went",
)
def complete(
    *,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    lang: Lang,
    order_id: OrderId,
    body: CompletionRequest,
) -> WorkOrderDetail:
    """Repair class (小修/中修/大修/更换), cause code, root cause and downtime; a major overhaul
    or a replacement renews the equipment's age."""
    _order(session, user, order_id, "complete")
    done, now = completion_of(body), clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.complete(order_id, done, at=now, actor=user.name),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/resolve",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Resolve with a summary",
)
def resolve(
    *,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    lang: Lang,
    order_id: OrderId,
    body: ResolveRequest,
) -> WorkOrderDetail:
    """in_progress → resolved with what was done; labour, parts and the completion record
    may come with it (all in one transaction)."""
    _order(session, user, order_id, "resolve")
    work, now = work_of(user, body), clock.now()
    done = completion_of(body.completion) if body.completion is not None else None
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.resolve(
            order_id, body.summary, at=now, actor=user.name, work=work, completion=done
        ),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/follow-up",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Follow up a resolved order (回访)",
)
def follow_up(
    *,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    order_id: OrderId,
    body: FollowUpRequest,
) -> WorkOrderDetail:
    """Outcome, satisfaction (1–5) and note: satisfied verifies the order; not satisfied or
    the fault came back sends it back to its technician."""
    _order(session, user, order_id, "follow_up")
    result, now = FollowUp(Outcome(body.outcome), body.satisfaction, body.note), clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.follow_up(order_id, result, at=now, actor=user.name),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/cancel",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Cancel with a reason",
)
def cancel(
    *,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    order_id: OrderId,
    body: CancelRequest,
) -> WorkOrderDetail:
    """Any open order → cancelled; the reason goes on the timeline."""
    _order(session, user, order_id, "cancel")
    now = clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.cancel(order_id, body.reason, at=now, actor=user.name),
        order_id=order_id,
    )


def attachment_store(request: Request) -> AttachmentStore:
    """The console's attachment folder."""
    return cast(AttachmentStore, request.app.state.attachments)


@router.post(
    "/work-orders/{order_id}/attachments",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Attach a photo or document",
)
async def attach(
    *,
    request: Request,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    lang: Lang,
    order_id: OrderId,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP, HEIC or PDF.")],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> WorkOrderDetail:
    """The file is kept in the attachment folder if its bytes are an accepted type and it is
    no larger than allowed (413); its type is sniffed, not taken from the upload."""
    _order(session, user, order_id, "attach")
    store = attachment_store(request)
    data = await file.read(store.settings.max_bytes + 1)
    now, name = clock.now(), file.filename or "attachment"
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.attach(
            order_id, store, data=data, filename=name, at=now, actor=user.name, note=note
        ),
        order_id=order_id,
    )


@router.get(
    "/work-orders/{order_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={**problem_docs(401, 404, 422, 503), 200: {"content": {"application/pdf": {}}}},
    summary="Download an attachment",
)
def download(
    *,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    order_id: OrderId,
    attachment_id: Annotated[int, Path(ge=1)],
) -> FileResponse:
    """The file, to users who may see the order's site."""
    order = queries.work_order(session, order_id)
    row = queries.attachment(session, order_id, attachment_id)
    if order is None or row is None or not user.may_see(order.site):
        raise NotFoundError(f"attachment {attachment_id} of work order {order_id} does not exist")
    try:
        path = attachment_store(request).path(row)
    except FileNotFoundError as err:
        raise NotFoundError(f"the file of attachment {attachment_id} is missing") from err
    inline = row.content_type.startswith("image/")
    return FileResponse(
        path,
        media_type=row.content_type,
        filename=row.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
    )


@router.get(
    "/parts",
    response_model=list[ListedPart],
    responses=problem_docs(401, 422, 503),
    summary="The parts list",
)
def parts_list(
    *,
    session: DbSession,
    user: CurrentUser,
    all_: Annotated[bool, Query(alias="all", description="Withdrawn parts too.")] = False,
) -> list[ListedPart]:
    """Parts one may book on orders (part number, name, unit, unit cost)."""
    return [ListedPart.model_validate(p) for p in parts(session, active_only=not all_)]


@router.put(
    "/parts/{part_no}",
    response_model=ListedPart,
    responses=problem_docs(401, 403, 422, 503),
    summary="Add or change a part of the parts list",
)
def put_part(
    *,
    session: DbSession,
    clock: AppClock,
    user: Supervisor,
    part_no: Annotated[str, Path(min_length=1, max_length=64)],
    body: PartEntryIn,
) -> ListedPart:
    """Bookings made before keep the name, unit and cost they were booked at."""
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
        )
    except InvalidRecord as err:
        raise UnprocessableError(str(err), param=err.field) from err
    session.commit()
    return ListedPart.model_validate(row)


@router.get(
    "/causes",
    response_model=list[CodeName],
    responses=problem_docs(401, 422, 503),
    summary="Cause codes of the completion record",
)
def causes(*, user: CurrentUser, lang: Lang) -> list[CodeName]:
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
        raise NotFoundError(f"site {site} does not exist")
    rows = session.scalars(
        select(UserRow).where(UserRow.disabled.is_(False)).order_by(UserRow.name)
    )
    return [
        TechnicianOut(name=r.name, display_name=r.display_name or r.name)
        for r in rows
        if TECHNICIAN in r.roles and (r.sites is None or site in r.sites)
    ]
