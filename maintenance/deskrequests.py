"""The service desk's own repair requests and its work on the queue: requests taken by phone
(电话) or at the counter (来访), duplicates merged into one request, and a request linked to
the open order of an alarm incident on the same equipment (the same problem).

A desk-logged request is a `public_requests` row like one from a QR page (the same queue,
the same decisions, the same status link), with its `channel`; its location is a request
point of the site or free text. A merged duplicate (`merged`) follows its primary: its
status page shows the primary's progress. The caller commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.maintenance.complaints import phone_number
from bldgwatch.maintenance.errors import (
    InvalidRecord,
    MaintenanceError,
    UnknownEquipment,
    UnknownSite,
)
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import EquipmentRow, SiteRow, WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.publicrequests import (
    CATEGORIES,
    TOKEN_BYTES,
    RequestStatus,
    request_number,
    token_digest,
)
from bldgwatch.maintenance.requestdesk import (
    RequestDecided,
    RequestNotFound,
    Urgency,
    join_duplicates,
    join_order,
    request_word,
)
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow

MAX_DESCRIPTION = 2000
MAX_LOCATION = 200
MAX_CALLER = 100
OPEN_ORDER = tuple(
    s.value
    for s in (
        WorkOrderStatus.OPEN,
        WorkOrderStatus.ASSIGNED,
        WorkOrderStatus.IN_PROGRESS,
        WorkOrderStatus.ON_HOLD,
    )
)
"""The statuses of an order still being worked on (a request may join it)."""


class Channel(StrEnum):
    """How a request reached the desk (`public_requests.channel`)."""

    QR = "qr"
    PHONE = "phone"  # 电话
    WALK_IN = "walk_in"  # 来访


class MergeRefused(MaintenanceError):  # noqa: N818 - reads better at the call site
    """The merge would lose or tangle a decision (HTTP 409): the duplicate was decided
    already, or the primary was declined, marked as spam or merged itself."""


@dataclass(frozen=True, slots=True)
class DeskEntry:
    """A request as the desk logs it from a call or a visit."""

    site: str
    channel: str
    category: str
    description: str
    language: str
    location: str = ""
    point_id: int | None = None
    caller_name: str | None = None
    phone: str | None = None
    equipment: str | None = None


def _text(field: str, value: str | None, *, most: int, needed: bool, lines: bool) -> None:
    """InvalidRecord naming `field`: blank when needed, a hidden character, too long."""
    if value is None or (not needed and not value):
        return
    if blank(value):
        raise InvalidRecord(field, Message("error.text.blank"))
    code = first_hidden(value, lines=lines)
    if code is not None:
        raise InvalidRecord(field, Message("error.text.hidden", {"code": code}))
    if len(value) > most:
        params = {"least": 1, "most": most, "n": len(value)}
        raise InvalidRecord(field, Message("error.complaint.length", params))


def _check(session: Session, entry: DeskEntry, most: int) -> RequestPointRow | None:
    """The entry's point (if named), or InvalidRecord / UnknownSite / UnknownEquipment."""
    if entry.channel not in (Channel.PHONE, Channel.WALK_IN):
        params = {"value": entry.channel[:40], "known": "phone, walk_in"}
        raise InvalidRecord("channel", Message("error.record.one_of", params))
    if entry.category not in CATEGORIES:
        known = ", ".join(CATEGORIES)
        raise InvalidRecord("category", Message("error.request.category", {"known": known}))
    _text("description", entry.description, most=most, needed=True, lines=True)
    _text("location", entry.location, most=MAX_LOCATION, needed=False, lines=False)
    _text("caller_name", entry.caller_name, most=MAX_CALLER, needed=False, lines=False)
    if session.get(SiteRow, entry.site) is None:
        raise UnknownSite(entry.site)
    point = None
    if entry.point_id is not None:
        point = session.get(RequestPointRow, entry.point_id)
        if point is None or point.site != entry.site or point.retired_at is not None:
            raise InvalidRecord(
                "point_id", Message("error.request.point_unknown", {"id": str(entry.point_id)})
            )
    elif not entry.location.strip():
        raise InvalidRecord("location", Message("error.request.location_needed"))
    if entry.equipment and session.get(EquipmentRow, (entry.site, entry.equipment)) is None:
        raise UnknownEquipment(entry.site, entry.equipment)
    return point


def log_request(
    session: Session, entry: DeskEntry, *, at: datetime, most: int = MAX_DESCRIPTION
) -> tuple[PublicRequestRow, str]:
    """Store a request taken by phone or at the counter, waiting in the queue like one from a
    QR page (a description of at most `most` characters, the QR page's limit); returns it
    and its status token (the desk may give the caller the link)."""
    point = _check(session, entry, most)
    phone = phone_number(entry.phone) if entry.phone and entry.phone.strip() else None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    location = entry.location.strip() or (point.label if point else "")
    row = PublicRequestRow(
        point_id=point.id if point else None,
        site=entry.site,
        status=RequestStatus.NEW.value,
        channel=entry.channel,
        caller_name=(entry.caller_name or "").strip() or None,
        equipment=entry.equipment or (point.equipment if point else None),
        category=entry.category,
        location=location,
        description=entry.description.strip(),
        phone=phone,
        language=entry.language,
        status_token_sha256=token_digest(token),
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row, token


def _get(session: Session, request_id: int) -> PublicRequestRow:
    row = session.get(PublicRequestRow, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    return row


def _locked_pair(
    session: Session, duplicate_id: int, primary_id: int
) -> tuple[PublicRequestRow, PublicRequestRow]:
    """Both requests read FOR UPDATE in one statement, in the order of their ids: two desks
    merging the same two requests crosswise lock them in the same order, so one waits for
    the other instead of deadlocking (RequestNotFound for either missing)."""
    rows = session.scalars(
        select(PublicRequestRow)
        .where(PublicRequestRow.id.in_((duplicate_id, primary_id)))
        .order_by(PublicRequestRow.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    found = {r.id: r for r in rows}
    for wanted in (duplicate_id, primary_id):
        if wanted not in found:
            raise RequestNotFound(wanted)
    return found[duplicate_id], found[primary_id]


def _check_primary(session: Session, primary: PublicRequestRow) -> None:
    """MergeRefused unless the primary is waiting, or accepted with its order still open (a
    repeat of a fault already repaired is a new request, not a duplicate)."""
    if primary.status not in (RequestStatus.NEW.value, RequestStatus.ACCEPTED.value):
        params = {
            "number": request_number(primary),
            "status": request_word(primary.status),
        }
        raise MergeRefused(Message("error.request.merge_primary", params))
    if primary.status == RequestStatus.ACCEPTED.value and primary.work_order_id is not None:
        order = session.get(WorkOrderRow, primary.work_order_id)
        if order is not None and order.status not in OPEN_ORDER:
            params = {
                "number": request_number(primary),
                "status": {"key": f"error.status_word.{order.status}", "default": order.status},
            }
            raise MergeRefused(Message("error.request.merge_done", params))


def merge(
    session: Session, duplicate_id: int, primary_id: int, *, at: datetime, actor: str
) -> PublicRequestRow:
    """Merge the waiting request `duplicate_id` into `primary_id` (waiting, or accepted with
    its order still open; same site). A merge is final: the duplicate is decided (`merged`)
    and never the primary of a merge, and the requests merged into it before now follow the
    new primary, so every merged request points at one that is not merged: no chain, no
    cycle. Both rows are locked in the order of their ids, so a concurrent merge of either
    (even crosswise) waits, then is refused or sees the other's result. Merged into an
    accepted primary, the duplicate's description, phone and photo join its order.
    InvalidRecord for itself or another site; MergeRefused; RequestNotFound. Returns the
    primary."""
    if duplicate_id == primary_id:
        raise InvalidRecord("primary_id", Message("error.request.merge_self"))
    duplicate, primary = _locked_pair(session, duplicate_id, primary_id)
    if primary.site != duplicate.site:
        raise InvalidRecord("primary_id", Message("error.request.merge_site"))
    _check_primary(session, primary)
    if duplicate.status != RequestStatus.NEW.value:
        raise RequestDecided(duplicate_id, duplicate.status)
    duplicate.status = RequestStatus.MERGED.value
    duplicate.merged_into_id = primary.id
    duplicate.decided_at = at
    duplicate.decided_by = actor[:64]
    session.flush()
    session.execute(  # the duplicate's own duplicates follow the primary too: flat
        update(PublicRequestRow)
        .where(PublicRequestRow.merged_into_id == duplicate_id)
        .values(merged_into_id=primary.id)
        .execution_options(synchronize_session=False)
    )
    if primary.status == RequestStatus.ACCEPTED.value and primary.work_order_id is not None:
        order = session.get(WorkOrderRow, primary.work_order_id)
        if order is not None:
            join_order(session, duplicate, order, at=at, actor=actor)
    return primary


def name_equipment(session: Session, request_id: int, equipment: str) -> PublicRequestRow:
    """The desk names the equipment a waiting request is about (a QR request from a building
    or floor point names none), so an alarm incident on it shows (UnknownEquipment;
    RequestDecided once decided; RequestNotFound)."""
    row = _get(session, request_id)
    if session.get(EquipmentRow, (row.site, equipment)) is None:
        raise UnknownEquipment(row.site, equipment)
    if row.status != RequestStatus.NEW.value:
        raise RequestDecided(request_id, row.status)
    row.equipment = equipment
    session.flush()
    return row


def incident_orders(session: Session, site: str, equipment: str | None) -> list[WorkOrderRow]:
    """The open reactive orders of an alarm incident on `equipment` (the same problem?)."""
    if not equipment:
        return []
    stmt = select(WorkOrderRow).where(
        WorkOrderRow.site == site,
        WorkOrderRow.equipment == equipment,
        WorkOrderRow.kind == "reactive",
        WorkOrderRow.incident_key.is_not(None),
        WorkOrderRow.status.in_(OPEN_ORDER),
    )
    return list(session.scalars(stmt.order_by(WorkOrderRow.created_at)))


def link_to_order(
    session: Session, request_id: int, order_id: int, *, at: datetime, actor: str
) -> WorkOrderRow:
    """Accept a waiting request by joining the open order of an alarm incident on its
    equipment instead of opening a second one: its status page follows that order.
    InvalidRecord when the order is not such an order of the request's site and equipment;
    RequestDecided; RequestNotFound."""
    row = _get(session, request_id)
    order = session.get(WorkOrderRow, order_id)
    found = incident_orders(session, row.site, row.equipment or _point_equipment(session, row))
    if order is None or order not in found:
        params = {"id": str(order_id)}
        raise InvalidRecord("work_order_id", Message("error.request.link_order", params))
    urgency = Urgency.EMERGENCY if order.priority <= 2 else Urgency.MINOR
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(PublicRequestRow)
            .where(
                PublicRequestRow.id == request_id,
                PublicRequestRow.status == RequestStatus.NEW.value,
            )
            .values(
                status=RequestStatus.ACCEPTED.value,
                work_order_id=order.id,
                urgency=urgency.value,
                decided_at=at,
                decided_by=actor[:64],
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        session.refresh(row)
        raise RequestDecided(request_id, row.status)
    join_order(session, row, order, at=at, actor=actor)
    join_duplicates(session, request_id, order, at=at, actor=actor)
    return order


def _point_equipment(session: Session, row: PublicRequestRow) -> str | None:
    point = None if row.point_id is None else session.get(RequestPointRow, row.point_id)
    return point.equipment if point else None


def equipment_of(session: Session, row: PublicRequestRow) -> str | None:
    """The equipment a request is about: the one the desk named, else its point's."""
    return row.equipment or _point_equipment(session, row)
