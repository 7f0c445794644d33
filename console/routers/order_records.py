"""The rest of a work order's life: comments, bookings (labour, parts from the parts list,
contractor charges; late bookings by supervisors), the completion record, resolving with a
summary, the follow-up (回访), cancelling with a reason, photos and documents; and what those
forms need: the parts list, the cause codes, the technicians of a site.

Who may act is `console.orderpolicy`; the change itself is the owner's (`maintenance.desk`,
one transaction with its event in the work-order outbox).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, File, Form, Header, Path, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import (
    CONTRACTOR,
    SUPERVISOR,
    Commenter,
    LineReverser,
    OrderReader,
    PartBooker,
    SpotApprover,
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
    said,
)
from bldgwatch.console.language import Lang
from bldgwatch.console.orderpolicy import check
from bldgwatch.console.paging import MAX_ID
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.work_order_actions import approval_limit, labour_bound, spot_limit
from bldgwatch.console.routers.work_orders import order_detail
from bldgwatch.console.schemas import WorkOrderDetail
from bldgwatch.console.schemas_orders import (
    BookingRequest,
    CancelRequest,
    CompletionRequest,
    FollowUpRequest,
    OrderComment,
    PartReversal,
    ResolveRequest,
    SpotDecision,
)
from bldgwatch.console.users import ConsoleTechnicians
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import queries
from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.bookingkeys import BookingKey, KeyReused
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    InvalidTransition,
    UnknownPart,
    WorkOrderNotFound,
)
from bldgwatch.maintenance.followup import FollowUp, Outcome
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.purchasing import OverApprovalLimit
from bldgwatch.maintenance.roster import TechnicianNotAtSite, UnknownTechnician
from bldgwatch.maintenance.worklog import (
    Charge,
    Completion,
    InvalidWorkLog,
    LabourBound,
    LabourUse,
    NoSuchBooking,
    NotPending,
    NotYourBooking,
    OwnLine,
    PartUse,
    PriceNotAllowed,
    RepairClass,
    WorkDone,
)

router = APIRouter(prefix="/api", tags=["work orders"])

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work-order number.")]
BookingId = Annotated[int, Path(ge=1, le=MAX_ID)]
LineKind = Annotated[
    Literal["labour", "charges"],
    Path(description="labour: a labour line; charges: a contractor's charge."),
]
ATTACHMENT_UPLOAD = r"^/api/work-orders/\d+/attachments$"
"""The upload path: its body may be as large as `attachments.max_bytes` (console.limits)."""
DOCS = problem_docs(401, 403, 404, 409, 413, 422, 503)
CommentNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_COMMENT, "work_order:{order_id}"))
]
BookingNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_BOOKING, "work_order:{order_id}"))
]
SpotNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_SPOT_DECISION, "work_order:{order_id}"))
]
LineReversalNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_LINE_REVERSAL, "work_order:{order_id}"))
]
ReversalNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_PART_REVERSAL, "work_order:{order_id}"))
]
CompletionNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_COMPLETION, "work_order:{order_id}"))
]
ResolveNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_RESOLVE, "work_order:{order_id}"))
]
FollowUpNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_FOLLOW_UP, "work_order:{order_id}"))
]
CancelNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_CANCEL, "work_order:{order_id}"))
]
AttachNoted = Annotated[
    AuditEntry, Depends(Audited(audit.WORK_ORDER_ATTACH, "work_order:{order_id}"))
]


def _order(
    session: Session, user: User, order_id: int, action: str, noted: AuditEntry
) -> WorkOrderRow:
    row = queries.work_order(session, order_id)
    if row is None or not user.may_see_order(row.site, row.contractor):
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    noted.site = row.site
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
        operation(
            WorkDesk.from_store(session_factory(engine), technicians=ConsoleTechnicians(session))
        )
    except (InvalidTransition, InvalidWorkLog, UnknownTechnician, TechnicianNotAtSite) as err:
        raise ConflictError(said(err)) from err
    except UnknownPart as err:
        raise UnprocessableError(said(err), param="part_no") from err
    except (PriceNotAllowed, OverApprovalLimit, NotYourBooking, OwnLine) as err:
        raise ForbiddenError(said(err)) from err
    except (NotPending, KeyReused) as err:
        raise ConflictError(said(err)) from err
    except NoSuchBooking as err:
        raise NotFoundError(said(err)) from err
    except InvalidRecord as err:
        if err.field == "file" and "larger" in str(err):
            raise TooLargeError(said(err), param="file") from err
        raise UnprocessableError(said(err), param=err.field) from err
    except WorkOrderNotFound as err:
        raise NotFoundError(said(err)) from err
    session.rollback()  # end this request's read transaction: the next reads see the change
    row = queries.work_order(session, order_id)
    if row is None:
        raise NotFoundError(Message("error.work_order.not_found", {"id": str(order_id)}))
    return order_detail(session, row, lang=lang, user=user)


def work_of(
    user: User,
    body: BookingRequest,
    spot_limit: float | None = 0.0,
    bound: LabourBound | None = None,
    rate: float | None = None,
) -> WorkDone:
    """The booking as the desk takes it; a technician books only their own labour, a
    contractor's user none at all (its charges are the property team's to book)."""
    if CONTRACTOR in user.roles and (body.labour or body.parts or body.charges):
        raise ForbiddenError(Message("error.contractor.no_booking"))
    labour = []
    for entry in body.labour:
        who = entry.technician or user.name
        if who != user.name and not user.has_any(frozenset({SUPERVISOR})):
            raise ForbiddenError(
                Message("error.work_order.own_labour", {"user": user.name, "who": who})
            )
        labour.append(LabourUse(who, entry.hours, entry.rate, entry.note, entry.rate_reason))
    return WorkDone(
        labour=tuple(labour),
        parts=tuple(
            PartUse(
                p.part_no,
                p.quantity,
                p.unit_cost,
                cost_reason=p.cost_reason,
                bought_on_spot=p.bought_on_spot,
                spot_reason=p.spot_reason,
            )
            for p in body.parts
        ),
        charges=tuple(Charge(c.contractor, c.amount, c.note) for c in body.charges),
        may_price=user.has_any(frozenset({SUPERVISOR})),
        spot_limit=spot_limit,
        labour_bound=bound,
        labour_rate=rate,
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
    noted: CommentNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Commenter,
    lang: Lang,
    order_id: OrderId,
    body: OrderComment,
) -> WorkOrderDetail:
    """A comment on the timeline, at any step (closed orders too)."""
    _order(session, user, order_id, "comment", noted)
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
    noted: BookingNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Worker,
    lang: Lang,
    order_id: OrderId,
    body: BookingRequest,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="One key per booking the client means to make (1–100 visible ASCII "
            "characters): sent again with the same booking (a retry), it books nothing and "
            "answers the order; with another booking, 409 naming the key (review 19g L7).",
        ),
    ] = None,
) -> WorkOrderDetail:
    """Labour (who, hours, rate), parts from the parts list (quantity; unit cost defaults to
    the list's) and contractor charges. On a closed or cancelled order only a supervisor may
    book, with `late: true`, and the booking is recorded as late. Idempotent by the
    `Idempotency-Key` header (the same key from the same user on the same order books once)."""
    _order(session, user, order_id, "book_late" if body.late else "book", noted)
    key = _booking_key(idempotency_key, body)
    work, now = (
        work_of(
            user,
            body,
            spot_limit(session, user),
            labour_bound(session, user),
            load_policy(session).stock.labour_rate,
        ),
        clock.now(),
    )
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.book(order_id, work, at=now, actor=user.name, late=body.late, key=key),
        order_id=order_id,
    )


def _booking_key(header: str | None, body: BookingRequest) -> BookingKey | None:
    """The booking's idempotency key with a hash of its body; 422 for a key that is empty,
    longer than 100 or not visible ASCII."""
    if header is None:
        return None
    if not 1 <= len(header) <= 100 or not all("!" <= c <= "~" for c in header):
        raise UnprocessableError(Message("error.work_log.bad_key"), param="Idempotency-Key")
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    return BookingKey(header, digest)


@router.post(
    "/work-orders/{order_id}/parts/{booking_id}/approval",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Approve or reject a spot purchase awaiting approval",
)
def decide_spot(
    *,
    noted: SpotNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: SpotApprover,
    lang: Lang,
    order_id: OrderId,
    booking_id: BookingId,
    body: SpotDecision,
) -> WorkOrderDetail:
    """A spot purchase booked by a technician above `stock.spot_purchase_limit` or at a price
    far from the list's waits uncounted; a supervisor approves it within their approval limit
    (`stock.supervisor_approval_limit`; a manager any amount; 403 naming both above it) and it
    counts in the order's cost and budget, or rejects it (kept, not counted). 409 when the
    booking is not awaiting approval (review 19e H1)."""
    _order(session, user, order_id, "book_late", noted)
    noted.detail = {"booking": booking_id, "approve": body.approve, "reason": body.reason}
    limit, now = approval_limit(session, user), clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.decide_line(
            order_id,
            "parts",
            booking_id,
            approve=body.approve,
            limit=limit,
            at=now,
            actor=user.name,
            reason=body.reason,
        ),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/parts/{booking_id}/reverse",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Reverse a mistyped hand booking of parts, with the reason",
)
def reverse_part(
    *,
    noted: ReversalNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: PartBooker,
    lang: Lang,
    order_id: OrderId,
    booking_id: BookingId,
    body: PartReversal,
) -> WorkOrderDetail:
    """A reversing row of the booking's quantity at its unit cost, naming it and the reason;
    the order's cost, history and budget follow (review 19e M5). A supervisor reverses any;
    the booker theirs until the order is resolved (403 otherwise). 409 for a store issue
    (return it to the store), a booking not counted, or one reversed already."""
    supervisor = user.has_any(frozenset({SUPERVISOR}))
    _order(session, user, order_id, "book_late" if supervisor else "book", noted)
    noted.detail = {"booking": booking_id, "reason": body.reason}
    now = clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.reverse_line(
            order_id,
            "parts",
            booking_id,
            reason=body.reason,
            supervisor=supervisor,
            at=now,
            actor=user.name,
        ),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/{line}/{booking_id}/approval",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Approve or reject a labour line or contractor charge awaiting approval",
)
def decide_line(
    *,
    noted: SpotNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: SpotApprover,
    lang: Lang,
    order_id: OrderId,
    line: LineKind,
    booking_id: BookingId,
    body: SpotDecision,
) -> WorkOrderDetail:
    """A labour line or contractor charge beyond its booker's authority for the day (a
    technician's `stock.spot_purchase_limit`, a supervisor's approval limit) waits uncounted;
    someone else approves it within their approval limit, which holds for what approvals by
    anyone brought into count on the order with this line (403 naming both above it; a
    manager any amount), or rejects it (kept, not counted). 409 when the line is not awaiting
    approval; 403 for one's own line (review 19g)."""
    _order(session, user, order_id, "book_late", noted)
    noted.detail = {
        "line": line,
        "booking": booking_id,
        "approve": body.approve,
        "reason": body.reason,
    }
    limit, now = approval_limit(session, user), clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.decide_line(
            order_id,
            line,
            booking_id,
            approve=body.approve,
            limit=limit,
            at=now,
            actor=user.name,
            reason=body.reason,
        ),
        order_id=order_id,
    )


@router.post(
    "/work-orders/{order_id}/{line}/{booking_id}/reverse",
    response_model=WorkOrderDetail,
    responses=DOCS,
    summary="Reverse a mistyped labour line or contractor charge, with the reason",
)
def reverse_line(
    *,
    noted: LineReversalNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: LineReverser,
    lang: Lang,
    order_id: OrderId,
    line: LineKind,
    booking_id: BookingId,
    body: PartReversal,
) -> WorkOrderDetail:
    """A reversing row (−hours at its rate, or −amount) naming the line and the reason; the
    order's hours, cost, history and budget follow (review 19f H2: 1000 h at ¥100,000/h stayed
    for good). A supervisor reverses any; the booker theirs until the order is resolved (403
    otherwise). 409 for a missing line, a reversal or one reversed already."""
    supervisor = user.has_any(frozenset({SUPERVISOR}))
    _order(session, user, order_id, "book_late" if supervisor else "book", noted)
    noted.detail = {"line": line, "booking": booking_id, "reason": body.reason}
    now = clock.now()
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.reverse_line(
            order_id,
            line,
            booking_id,
            reason=body.reason,
            supervisor=supervisor,
            at=now,
            actor=user.name,
        ),
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
    noted: CompletionNoted,
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
    _order(session, user, order_id, "complete", noted)
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
    noted: ResolveNoted,
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
    _order(session, user, order_id, "resolve", noted)
    work, now = (
        work_of(
            user,
            body,
            spot_limit(session, user),
            labour_bound(session, user),
            load_policy(session).stock.labour_rate,
        ),
        clock.now(),
    )
    done = completion_of(body.completion) if body.completion is not None else None
    return _apply(
        session,
        engine,
        user,
        lang,
        lambda desk: desk.resolve(
            order_id,
            body.summary,
            at=now,
            actor=user.name,
            work=work,
            completion=done,
            open_items_reason=body.open_items_reason,
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
    noted: FollowUpNoted,
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
    _order(session, user, order_id, "follow_up", noted)
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
    noted: CancelNoted,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    user: Supervisor,
    lang: Lang,
    order_id: OrderId,
    body: CancelRequest,
) -> WorkOrderDetail:
    """Any open order → cancelled; the reason goes on the timeline."""
    _order(session, user, order_id, "cancel", noted)
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
    noted: AttachNoted,
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
    # only the upload is read on the event loop: the database and the file write run in a
    # worker thread, as every other route's do, so one slow disk or lock stalls no one else
    await run_in_threadpool(_order, session, user, order_id, "attach", noted)
    store = attachment_store(request)
    data = await file.read(store.settings.max_bytes + 1)
    now, name = clock.now(), file.filename or "attachment"
    return await run_in_threadpool(
        _apply,
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
    user: OrderReader,
    order_id: OrderId,
    attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> FileResponse:
    """The file, to users who may see the order's site."""
    order = queries.work_order(session, order_id)
    row = queries.attachment(session, order_id, attachment_id)
    if order is None or row is None or not user.may_see_order(order.site, order.contractor):
        raise NotFoundError(
            Message(
                "error.attachment.not_found",
                {"attachment": str(attachment_id), "id": str(order_id)},
            )
        )
    try:
        path = attachment_store(request).path(row)
    except FileNotFoundError as err:
        raise NotFoundError(
            Message("error.attachment.file_missing", {"attachment": str(attachment_id)})
        ) from err
    inline = row.content_type.startswith("image/")
    return FileResponse(
        path,
        media_type=row.content_type,
        filename=row.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
    )
