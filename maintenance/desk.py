"""The work-order desk: every change to an order in one transaction, with its events.

What the console and the maintenance service call to change orders: open a repair request,
assign (by hand or by the roster), move an order through its states (booking labour and parts
with the move), book labour and parts, escalate overdue orders. Each method commits the
change, its timeline rows and its `WorkOrderEvent`s — with the notice each calls for — to the
work-order outbox together, and returns the result or raises at once (WorkOrderNotFound 404,
InvalidTransition 409, …). Only the maintenance service sends the events and notices
(`maintenance.outbox`), whoever made the change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.maintenance.attachments import AttachmentStore
from bldgwatch.maintenance.bookingkeys import BookingKey, first_use, seen
from bldgwatch.maintenance.checklists import open_items
from bldgwatch.maintenance.config import RosterSettings, SlaPolicy, StageConfig
from bldgwatch.maintenance.deskrules import check_attachable, check_move, check_workers
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.escalation import Escalation, escalate_overdue
from bldgwatch.maintenance.events import (
    ATTACHED,
    COMMENTED,
    COMPLETION,
    CREATED,
    FOLLOWED_UP,
    WORK_LOGGED,
    order_event,
)
from bldgwatch.maintenance.followup import FollowUp, record_follow_up
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.outbox import enqueue
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.recordmodels import AttachmentRow
from bldgwatch.maintenance.roster import (
    NoTechnician,
    TechnicianDirectory,
    assign_order,
    check_assignable,
)
from bldgwatch.maintenance.technicians import StoredTechnicians
from bldgwatch.maintenance.worklog import (
    Completion,
    WorkDone,
    book,
    decide_line,
    record_completion,
    reverse_charge,
    reverse_labour,
    reverse_part,
)
from bldgwatch.maintenance.workorders import (
    FINISHING,
    add_note,
    check_no_pending,
    check_transition,
    create_request,
    get_order,
    transition,
)

logger = logging.getLogger(__name__)


class _Repeat(Exception):  # noqa: N818
    """A booking repeated under its key: nothing is written."""


REVERSALS = {"parts": reverse_part, "labour": reverse_labour, "charges": reverse_charge}
"""The reversal of each kind of booked line, by the name the API gives it."""


def _open(items: list[int], key: str) -> Message:
    """The refusal naming the checklist items not ticked (their places from 1)."""
    return Message(key, {"items": "、".join(map(str, items)), "count": len(items)})


def record_change(
    session: Session, order: WorkOrderRow, *, change: str, previous: str | None, actor: str
) -> None:
    """Put the change's event, caused by the order's newest timeline row, in the outbox."""
    session.flush()
    cause = session.scalar(
        select(func.max(WorkOrderEventRow.id)).where(WorkOrderEventRow.work_order_id == order.id)
    )
    event = order_event(
        order,
        change=change,
        cause=str(cause),
        at=order.updated_at,
        actor=actor,
        previous_status=previous,
    )
    enqueue(session, event)


class WorkDesk:
    """Changes orders; the maintenance service tells the world.

    Orders are assigned only to active technicians of the order's site, as `technicians`
    (the stored directory, `maintenance.technicians`, when None) knows them: by hand, or by
    a technician accepting an order (UnknownTechnician, TechnicianNotAtSite otherwise). The
    roster's automatic choice always reads the stored directory; `roster` gives the skill
    each equipment type needs and whether to assign automatically.
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        roster: RosterSettings | None = None,
        sla: SlaPolicy | None = None,
        stage: StageConfig | None = None,
        technicians: TechnicianDirectory | None = None,
    ) -> None:
        self._sessions = sessions
        self.roster = roster or RosterSettings()
        self.sla = sla or SlaPolicy()
        self.stage = stage or StageConfig()
        self.technicians = technicians

    def _directory(self, session: Session) -> TechnicianDirectory:
        """Who may be assigned and booked: the named directory, else the stored one."""
        return self.technicians or StoredTechnicians(session)

    @classmethod
    def from_store(
        cls, sessions: Callable[[], Session], *, technicians: TechnicianDirectory | None = None
    ) -> WorkDesk:
        """A desk that applies the policy the maintenance service runs with (stored by it at
        start): for changes made from another process, such as the console, which names its
        own directory of who may be assigned."""
        with sessions() as session:
            owner = load_policy(session)
        return cls(
            sessions, roster=owner.roster, sla=owner.sla, stage=owner.stage, technicians=technicians
        )

    def request(
        self,
        *,
        site: str,
        equipment: str,
        title: str,
        at: datetime,
        actor: str,
        priority: int = 3,
        description: str = "",
        link: Callable[[Session, WorkOrderRow], None] | None = None,
    ) -> WorkOrderRow:
        """Open a repair request on a registered equipment (UnknownEquipment otherwise);
        `link` runs in the same transaction with the new order (e.g. the public request it
        comes from), and whatever it raises undoes the order."""
        with self._sessions() as session:
            order = create_request(
                session,
                site=site,
                equipment=equipment,
                title=title,
                at=at,
                actor=actor,
                priority=priority,
                description=description,
                sla=self.sla,
                stage_config=self.stage,
            )
            if link is not None:
                link(session, order)
            record_change(session, order, change=CREATED, previous=None, actor=actor)
            session.commit()
        return order

    def assign(
        self,
        order_id: int,
        *,
        at: datetime,
        actor: str,
        technician: str | None = None,
        note: str = "",
    ) -> WorkOrderRow:
        """Assign to `technician` or to the roster's pick (NoTechnician, InvalidTransition)."""
        with self._sessions() as session:
            src = get_order(session, order_id, for_update=True).status
            order, _ = assign_order(
                session,
                order_id,
                self.roster,
                at=at,
                actor=actor,
                technician=technician,
                note=note,
                directory=self.technicians,
            )
            record_change(session, order, change=order.status, previous=src, actor=actor)
            session.commit()
        return order

    def move(
        self,
        order_id: int,
        to_status: WorkOrderStatus | str,
        *,
        at: datetime,
        actor: str,
        note: str = "",
        assigned_to: str | None = None,
        work: WorkDone | None = None,
    ) -> WorkOrderRow:
        """Any transition, booking `work` as `actor`'s with it (WorkOrderNotFound 404,
        InvalidTransition 409, InvalidWorkLog 409, IncompleteMove 422 when the move skips
        what its dedicated change records); a refused move books nothing."""
        with self._sessions() as session:
            current = get_order(session, order_id, for_update=True)
            src = current.status
            check_transition(src, to_status, order_id=order_id)
            check_move(to_status, note)
            left = open_items(session, order_id) if to_status == WorkOrderStatus.RESOLVED else []
            if left:  # a move has no room for why: resolve says it (review 19c-r M4)
                raise InvalidRecord("to", _open(left, "error.checklist.open_move"))
            if to_status == WorkOrderStatus.ASSIGNED:
                check_assignable(self._directory(session), assigned_to or actor, current.site)
            if work is not None:
                check_workers(self._directory(session), work, actor, current.site)
                finishing = WorkOrderStatus(to_status) in FINISHING
                if finishing:  # what waits already refuses the move before anything is booked
                    check_no_pending(session, order_id, WorkOrderStatus(to_status))
                finish = str(WorkOrderStatus(to_status).value) if finishing else None
                book(session, order_id, work, actor=actor, at=at, finishing=finish)
            order = transition(
                session, order_id, to_status, actor=actor, at=at, note=note, assigned_to=assigned_to
            )
            record_change(session, order, change=order.status, previous=src, actor=actor)
            session.commit()
        return order

    def log_work(
        self, order_id: int, work: WorkDone, *, at: datetime, actor: str, note: str = ""
    ) -> WorkOrderRow:
        """Book labour and parts without moving the order (InvalidWorkLog 409 when finished)."""
        with self._sessions() as session:
            order = get_order(session, order_id, for_update=True)
            check_workers(self._directory(session), work, actor, order.site)
            book(session, order_id, work, actor=actor, at=at, note=note)
            session.commit()
        return order

    def auto_assign(self, order_id: int, *, at: datetime) -> WorkOrderRow | None:
        """Assign a new order by the roster when `auto_assign` is on; None when nobody fits."""
        if not self.roster.auto_assign:
            return None
        try:
            return self.assign(order_id, at=at, actor="roster")
        except NoTechnician as err:
            logger.warning("order %d stays unassigned: %s", order_id, err)
            return None

    def escalate(self, now: datetime) -> list[Escalation]:
        """Escalate every overdue order, each with its event (and notice) in the outbox."""
        with self._sessions() as session:
            raised = escalate_overdue(session, now)
            for esc in raised:
                order = get_order(session, esc.work_order_id)
                event = order_event(
                    order,
                    change=esc.kind,
                    cause=f"{esc.level.value}",
                    at=now,
                    actor="escalation",
                    previous_status=order.status,
                )
                enqueue(session, event)
            session.commit()
        return raised

    # -- the rest of the order's life: comments, bookings, completion, follow-up, files --------
    def _change(
        self,
        order_id: int,
        change: str,
        actor: str,
        apply: Callable[[Session, WorkOrderRow], WorkOrderRow],
    ) -> WorkOrderRow:
        """Run `apply` on the locked order and put its event in the outbox, in one transaction."""
        with self._sessions() as session:
            current = get_order(session, order_id, for_update=True)
            src = current.status
            order = apply(session, current)
            record_change(session, order, change=change, previous=src, actor=actor)
            session.commit()
        return order

    def comment(self, order_id: int, text: str, *, at: datetime, actor: str) -> WorkOrderRow:
        """A comment on the order's timeline, at any step (closed orders too)."""
        if not text.strip():
            raise InvalidRecord("text", Message("error.record.comment_empty"))

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            order.updated_at = max(order.updated_at, at)
            add_note(session, order, actor=actor, at=at, note=text.strip())
            return order

        return self._change(order_id, COMMENTED, actor, apply)

    def book(
        self,
        order_id: int,
        work: WorkDone,
        *,
        at: datetime,
        actor: str,
        late: bool = False,
        key: BookingKey | None = None,
    ) -> WorkOrderRow | None:
        """Book labour (anyone's), parts from the parts list and contractor charges without
        moving the order. On a closed or cancelled order only with `late` (a supervisor's
        booking), flagged as late (InvalidWorkLog 409 otherwise; UnknownPart 422). With a
        `key` (review 19g L7) the same key from the same booker on the order books once:
        a repeat books nothing and gives None; another booking under it is KeyReused 409."""
        if work.is_empty():
            raise InvalidRecord("work", Message("error.record.nothing_to_book"))

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            if key is not None and not first_use(session, order.id, actor, key, at):
                raise _Repeat
            check_workers(self._directory(session), work, actor, order.site)
            book(session, order.id, work, actor=actor, at=at, late=late)
            return order

        try:
            return self._change(order_id, WORK_LOGGED, actor, apply)
        except _Repeat:
            return None
        except IntegrityError:
            # two at once under one key: the other stored it first (its commit won the race)
            if key is None:
                raise
            with self._sessions() as session:
                if not seen(session, order_id, actor, key):
                    raise
            return None

    def decide_line(
        self,
        order_id: int,
        kind: str,
        booking_id: int,
        *,
        approve: bool,
        limit: float | None,
        at: datetime,
        actor: str,
        reason: str = "",
    ) -> WorkOrderRow:
        """Approve (within `limit`; None: any amount) or reject a part, labour line or
        contractor charge awaiting approval (`worklog.decide_line`, review 19g)."""

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            decide_line(
                session,
                order.id,
                kind,
                booking_id,
                approve=approve,
                limit=limit,
                actor=actor,
                at=at,
                reason=reason,
            )
            return order

        return self._change(order_id, WORK_LOGGED, actor, apply)

    def reverse_line(
        self,
        order_id: int,
        line: str,
        booking_id: int,
        *,
        reason: str,
        supervisor: bool,
        at: datetime,
        actor: str,
    ) -> WorkOrderRow:
        """Reverse a mistyped hand booking (`line` "parts"), labour line ("labour") or
        contractor charge ("charges") with the reason (`worklog.reverse_part`,
        `worklog.reverse_labour`, `worklog.reverse_charge`)."""
        reverse = REVERSALS[line]

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            reverse(
                session,
                order.id,
                booking_id,
                reason=reason,
                supervisor=supervisor,
                actor=actor,
                at=at,
            )
            return order

        return self._change(order_id, WORK_LOGGED, actor, apply)

    def complete(
        self, order_id: int, completion: Completion, *, at: datetime, actor: str
    ) -> WorkOrderRow:
        """The completion record: repair class, cause code, root cause, downtime; a major
        overhaul or a replacement renews the equipment's age."""

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            return record_completion(session, order.id, completion, at=at, actor=actor)

        return self._change(order_id, COMPLETION, actor, apply)

    def resolve(
        self,
        order_id: int,
        summary: str,
        *,
        at: datetime,
        actor: str,
        work: WorkDone | None = None,
        completion: Completion | None = None,
        open_items_reason: str | None = None,
    ) -> WorkOrderRow:
        """in_progress → resolved with a summary, booking `work` and the completion record
        with it (all or nothing). A checklist item left unticked needs `open_items_reason`
        (why), which goes on the timeline with the items' numbers (review 19c-r M4)."""
        if not summary.strip():
            raise InvalidRecord("summary", Message("error.record.summary"))
        reason = (open_items_reason or "").strip()

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            check_transition(order.status, WorkOrderStatus.RESOLVED, order_id=order.id)
            left = open_items(session, order.id)
            if left and not reason:
                raise InvalidRecord("open_items_reason", _open(left, "error.checklist.open"))
            if left:
                params = {"items": "、".join(map(str, left)), "reason": reason}
                message = Message("note.checklist_open", params)
                add_note(session, order, actor=actor, at=at, kind="checklist", message=message)
            if work is not None and not work.is_empty():
                check_workers(self._directory(session), work, actor, order.site)
                # what waits already refuses the resolve before anything is booked, and a
                # line of this booking that would wait refuses it unkept (review 19h H2)
                check_no_pending(session, order.id, WorkOrderStatus.RESOLVED)
                book(session, order.id, work, actor=actor, at=at, finishing="resolved")
            if completion is not None:
                record_completion(session, order.id, completion, at=at, actor=actor)
            return transition(
                session,
                order.id,
                WorkOrderStatus.RESOLVED,
                actor=actor,
                at=at,
                note=summary.strip(),
            )

        return self._change(order_id, WorkOrderStatus.RESOLVED.value, actor, apply)

    def follow_up(
        self, order_id: int, result: FollowUp, *, at: datetime, actor: str
    ) -> WorkOrderRow:
        """The 回访 of a resolved order: satisfied verifies it, otherwise it goes back to work."""

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            return record_follow_up(session, order.id, result, at=at, actor=actor)

        return self._change(order_id, FOLLOWED_UP, actor, apply)

    def cancel(self, order_id: int, reason: str, *, at: datetime, actor: str) -> WorkOrderRow:
        """Cancel with a reason (InvalidRecord without one, InvalidTransition when finished)."""
        if not reason.strip():
            raise InvalidRecord("reason", Message("error.record.cancel_reason"))

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            return transition(
                session,
                order.id,
                WorkOrderStatus.CANCELLED,
                actor=actor,
                at=at,
                note=reason.strip(),
            )

        return self._change(order_id, WorkOrderStatus.CANCELLED.value, actor, apply)

    def attach(
        self,
        order_id: int,
        store: AttachmentStore,
        *,
        data: bytes,
        filename: str,
        at: datetime,
        actor: str,
        note: str = "",
    ) -> AttachmentRow:
        """Keep a photo or document with the order (InvalidRecord when the file is refused);
        the file is removed again when the row cannot be stored."""
        stored = store.save(data, filename)
        row = AttachmentRow(
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            stored_as=stored.stored_as,
            note=note,
            at=at,
            actor=actor[:64],
        )

        def apply(session: Session, order: WorkOrderRow) -> WorkOrderRow:
            check_attachable(order)
            row.work_order_id = order.id
            session.add(row)
            order.updated_at = max(order.updated_at, at)
            size_kb = round(stored.size / 1024, 1)
            params = {"filename": stored.filename, "size_kb": size_kb}
            message = Message("note.attachment", params)
            add_note(session, order, actor=actor, at=at, kind="attachment", message=message)
            return order

        kept = False
        try:
            self._change(order_id, ATTACHED, actor, apply)
            kept = True
        finally:
            if not kept:  # the order is unknown, or the row failed: no orphan file
                store.discard(stored)
        return row
