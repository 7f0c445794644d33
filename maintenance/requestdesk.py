"""The desk's side of public repair requests: accept (a repair work order through
`WorkDesk.request`, in the same transaction), decline with a reason, mark as spam; the
requester's side after that: the progress in plain steps, and the one rating after the
repair, recorded as the order's follow-up (回访) by `WorkDesk.follow_up`.

急修 (emergency) and 零修 (minor) are the order's priority, so the SLA clocks
(`maintenance.sla`) and the KPIs (P1–P2 emergency, P3–P4 minor) count them: emergency → P1
(30 min response by default), minor → P3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bldgwatch.maintenance.attachments import STORED, AttachmentStore
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.errors import InvalidRecord, InvalidTransition, MaintenanceError
from bldgwatch.maintenance.followup import FollowUp, Outcome
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import WorkOrderEventRow, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.publicrequests import RequestStatus, request_number
from bldgwatch.maintenance.recordmodels import AttachmentRow
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow
from bldgwatch.maintenance.workorders import add_note

logger = logging.getLogger(__name__)

S = WorkOrderStatus


class Urgency(StrEnum):
    """The desk's classification of an accepted request."""

    EMERGENCY = "emergency"  # 急修
    MINOR = "minor"  # 零修


PRIORITY = {Urgency.EMERGENCY: 1, Urgency.MINOR: 3}
SATISFIED_FROM = 3
"""A rating of 3–5 verifies the repair; 1–2 sends it back to work (`maintenance.followup`)."""


class RequestNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No public request with that number (HTTP 404)."""

    def __init__(self, request_id: int) -> None:
        super().__init__(Message("error.request.unknown", {"id": str(request_id)}))


def request_word(status: str) -> dict[str, str]:
    """A request's status as a message parameter, in the reader's language."""
    return {"key": f"error.request_word.{status}", "default": status}


class RequestDecided(MaintenanceError):  # noqa: N818
    """The request was already accepted, declined or marked as spam (HTTP 409)."""

    def __init__(self, request_id: int, status: str) -> None:
        params = {"id": str(request_id), "status": request_word(status)}
        super().__init__(Message("error.request.decided", params))


class NotRateable(MaintenanceError):  # noqa: N818
    """The request cannot be rated now: not done yet, or rated already (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a request's progress and when it was reached (None: not yet)."""

    name: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Progress:
    """What the status page shows: where it stands, the steps, the desk's reason, the rating."""

    state: str  # received, accepted, in_progress, done, declined, cancelled
    steps: tuple[Step, ...]
    reason: str | None  # the desk's decline reason, written for the requester
    can_rate: bool


_NO_PHOTO = {"photo_stored_as": None, "photo_type": None, "photo_size": None, "photo_sha256": None}


def _claim(session: Session, request_id: int, values: dict[str, Any]) -> None:
    """Decide a new request, only if it is still new (two desks cannot both decide it)."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(PublicRequestRow)
            .where(
                PublicRequestRow.id == request_id,
                PublicRequestRow.status == RequestStatus.NEW.value,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount == 1:
        return
    row = session.get(PublicRequestRow, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    raise RequestDecided(request_id, row.status)


class RequestDesk:
    """The desk's decisions on public requests, and the requester's rating."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        desk: WorkDesk,
        photos: AttachmentStore | None = None,
    ) -> None:
        self._sessions = sessions
        self._desk = desk
        self._photos = photos

    def _request(self, request_id: int) -> tuple[PublicRequestRow, RequestPointRow | None]:
        with self._sessions() as session:
            row = session.get(PublicRequestRow, request_id)
            if row is None:
                raise RequestNotFound(request_id)
            point = None if row.point_id is None else session.get(RequestPointRow, row.point_id)
            return row, point

    def accept(
        self,
        request_id: int,
        *,
        urgency: Urgency,
        at: datetime,
        actor: str,
        equipment: str | None = None,
    ) -> WorkOrderRow:
        """Open the repair order (on the equipment the desk names now, else the one named when
        it was logged, else the point's: InvalidRecord without any; UnknownEquipment;
        RequestDecided)."""
        row, point = self._request(request_id)
        target = equipment or row.equipment or (point.equipment if point else None)
        if not target:
            raise InvalidRecord("equipment", Message("error.request.equipment_needed"))
        values = {
            "status": RequestStatus.ACCEPTED.value,
            "decided_at": at,
            "decided_by": actor[:64],
            "urgency": urgency.value,
        }

        number = request_number(row)

        def link(session: Session, order: WorkOrderRow) -> None:
            _claim(session, request_id, {**values, "work_order_id": order.id})
            if row.photo_stored_as:  # the technician sees the requester's photo on the order
                session.add(_photo_of(row, order, number, at=at, actor=actor))
            join_duplicates(session, request_id, order, at=at, actor=actor)

        lines = request_lines(row)
        order = self._desk.request(
            site=row.site,
            equipment=target,
            title=f"{number} {row.location}: {row.description}"[:300],
            at=at,
            actor=actor,
            priority=PRIORITY[urgency],
            description="\n".join(lines),
            link=link,
        )
        logger.info("public request %s accepted as work order %d by %s", number, order.id, actor)
        return order

    def decline(self, request_id: int, reason: str, *, at: datetime, actor: str) -> list[str]:
        """Decline with a reason the requester sees (InvalidRecord without; RequestDecided);
        returns the numbers of the requests merged into it, waiting again now."""
        if not reason.strip():
            raise InvalidRecord("reason", Message("error.record.cancel_reason"))
        values = {
            "status": RequestStatus.DECLINED.value,
            "decided_at": at,
            "decided_by": actor[:64],
            "decline_reason": reason.strip(),
        }
        return self._refuse(request_id, values)

    def mark_spam(self, request_id: int, *, at: datetime, actor: str) -> list[str]:
        """Mark as spam: never dispatched; its status page says declined (RequestDecided);
        returns the numbers of the requests merged into it, waiting again now."""
        values = {"status": RequestStatus.SPAM.value, "decided_at": at, "decided_by": actor[:64]}
        return self._refuse(request_id, values)

    def _refuse(self, request_id: int, values: dict[str, Any]) -> list[str]:
        """Decide a request that will never be dispatched; its photo (someone's home, or an
        abuser's 5 MB) is not kept: the row forgets it and, once that is committed, the file
        goes from the folder. The genuine callers merged into it are not refused with it:
        in the same transaction they wait in the queue again (returns their numbers)."""
        with self._sessions() as session:
            photo = session.scalar(
                select(PublicRequestRow.photo_stored_as).where(PublicRequestRow.id == request_id)
            )
            _claim(session, request_id, {**values, **_NO_PHOTO})
            returned = _unmerge(session, request_id)
            session.commit()
        if returned:
            logger.info("requests %s merged into %d wait again", ", ".join(returned), request_id)
        if photo is not None and self._photos is not None and STORED.match(photo):
            self._photos.discard_named(photo)
        return returned

    def rate(self, request_id: int, rating: int, comment: str, *, at: datetime) -> WorkOrderRow:
        """The requester's one rating of a done repair, recorded as the order's follow-up
        (NotRateable when not done or rated already; InvalidRecord for a rating not 1–5)."""
        if not 1 <= rating <= 5:
            raise InvalidRecord("satisfaction", Message("error.record.satisfaction"))
        row, _ = self._request(request_id)
        if row.rated_at is not None or row.work_order_id is None:
            raise NotRateable(Message("error.request.not_rateable"))
        with self._sessions() as session:  # claim the one rating first
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(PublicRequestRow)
                    .where(PublicRequestRow.id == request_id, PublicRequestRow.rated_at.is_(None))
                    .values(rated_at=at, rating=rating, rating_comment=comment.strip())
                ),
            )
            if claimed.rowcount != 1:
                raise NotRateable(Message("error.request.not_rateable"))
            session.commit()
        outcome = Outcome.SATISFIED if rating >= SATISFIED_FROM else Outcome.NOT_SATISFIED
        actor = f"requester {request_number(row)}"
        recorded = False
        try:
            order = self._desk.follow_up(
                row.work_order_id, FollowUp(outcome, rating, comment.strip()), at=at, actor=actor
            )
            recorded = True
            return order
        except InvalidTransition as err:  # not resolved
            raise NotRateable(Message("error.request.not_rateable")) from err
        finally:
            if not recorded:  # whatever failed: no rating without its 回访, give it back
                self._give_back(request_id)

    def _give_back(self, request_id: int) -> None:
        with self._sessions() as session:
            session.execute(
                update(PublicRequestRow)
                .where(PublicRequestRow.id == request_id)
                .values(rated_at=None, rating=None, rating_comment=None)
            )
            session.commit()


def _unmerge(session: Session, primary_id: int) -> list[str]:
    """The requests merged into `primary_id` wait in the queue again (new, not merged)."""
    rows = session.scalars(
        select(PublicRequestRow)
        .where(
            PublicRequestRow.merged_into_id == primary_id,
            PublicRequestRow.status == RequestStatus.MERGED.value,
        )
        .order_by(PublicRequestRow.id)
        .with_for_update()
    ).all()
    for row in rows:
        row.status = RequestStatus.NEW.value
        row.merged_into_id = None
        row.decided_at = None
        row.decided_by = None
    session.flush()
    return [request_number(r) for r in rows]


def request_lines(row: PublicRequestRow) -> list[str]:
    """What the technician reads of a request on its order: the caller's words, the place
    and number, the phone."""
    lines = [row.description, f"{row.location} · {request_number(row)}"]
    if row.phone:
        lines.append(f"☎ {row.phone}")
    return lines


def join_order(
    session: Session, row: PublicRequestRow, order: WorkOrderRow, *, at: datetime, actor: str
) -> None:
    """A request joining an order that exists (an alarm incident's, or its primary's): its
    words, place and phone as a note on the order's timeline and its photo as an attachment,
    what accepting it would have put on a new order."""
    number = request_number(row)
    params = {"number": number, "text": "\n".join(request_lines(row))}
    add_note(
        session,
        order,
        actor=actor,
        at=at,
        kind="request",
        message=Message("note.request_linked", params),
    )
    if row.photo_stored_as:
        session.add(_photo_of(row, order, number, at=at, actor=actor))


def join_duplicates(
    session: Session, primary_id: int, order: WorkOrderRow, *, at: datetime, actor: str
) -> None:
    """The requests merged into `primary_id` join `order` with it (`join_order`)."""
    merged = session.scalars(
        select(PublicRequestRow)
        .where(PublicRequestRow.merged_into_id == primary_id)
        .order_by(PublicRequestRow.created_at, PublicRequestRow.id)
    ).all()
    for row in merged:
        join_order(session, row, order, at=at, actor=actor)


def _photo_of(
    row: PublicRequestRow, order: WorkOrderRow, number: str, *, at: datetime, actor: str
) -> AttachmentRow:
    """The request's photo as an attachment of its order (the same file, in the folder)."""
    stored = str(row.photo_stored_as)
    return AttachmentRow(
        work_order_id=order.id,
        filename=f"{number}.{stored.rsplit('.', 1)[-1]}",
        content_type=row.photo_type or "application/octet-stream",
        size=row.photo_size or 0,
        sha256=row.photo_sha256 or "",
        stored_as=stored,
        note="",  # the file is named after the request; no frozen sentence in one language
        at=at,
        actor=actor[:64],
    )


def _first_at(session: Session, order_id: int, status: str) -> datetime | None:
    return session.scalar(
        select(WorkOrderEventRow.at)
        .where(WorkOrderEventRow.work_order_id == order_id, WorkOrderEventRow.to_status == status)
        .order_by(WorkOrderEventRow.at)
        .limit(1)
    )


def progress(session: Session, row: PublicRequestRow) -> Progress:
    """The request's progress as its status page shows it: it follows the work order; a
    merged duplicate follows its primary's (only the primary's requester rates: one 回访 per
    order). The duplicate's page never goes back in time: a step the primary reached before
    the merge shows at the merge, when this request reached it."""
    if row.status == RequestStatus.MERGED.value and row.merged_into_id is not None:
        primary = session.get(PublicRequestRow, row.merged_into_id)
        if primary is not None:
            followed = progress(session, primary)
            joined = row.decided_at or row.created_at
            later = (Step(s.name, s.at and max(s.at, joined)) for s in followed.steps[1:])
            own = (Step("received", row.created_at), *later)
            return Progress(followed.state, own, followed.reason, can_rate=False)
    received = Step("received", row.created_at)
    if row.status in (RequestStatus.DECLINED.value, RequestStatus.SPAM.value):
        steps: tuple[Step, ...] = (received, Step("declined", row.decided_at))
        return Progress("declined", steps, row.decline_reason, can_rate=False)
    order = session.get(WorkOrderRow, row.work_order_id) if row.work_order_id else None
    if order is None:
        return Progress("received", (received,), None, can_rate=False)
    accepted = Step("accepted", row.decided_at)
    if order.status == S.CANCELLED.value:  # the cancellation note is the staff's: not shown
        steps = (received, accepted, Step("cancelled", order.closed_at))
        return Progress("cancelled", steps, None, can_rate=False)
    working = Step("in_progress", _first_at(session, order.id, S.IN_PROGRESS.value))
    done_at = _first_at(session, order.id, S.RESOLVED.value)
    steps = (received, accepted, working, Step("done", done_at))
    done = order.status in (S.RESOLVED.value, S.VERIFIED.value, S.CLOSED.value)
    state = "done" if done else "in_progress" if working.at is not None else "accepted"
    can_rate = order.status == S.RESOLVED.value and row.rated_at is None
    return Progress(state, steps, None, can_rate=can_rate)
