"""Repair requests (报修) from anyone, without an account: request points and the requests
sent from them, up to the desk's decision.

A point (a building, a floor or an equipment of a site) carries an unguessable code, printed
as a QR code; a retired point's code refuses new requests. A request waits (`new`) until the
desk accepts it — a repair work order (`maintenance.requestdesk`) — declines it with a
reason, or marks it as spam: nothing reaches a technician unmoderated. The requester follows
it with a private status token; only its SHA-256 is stored, so a copy of the database holds
no working status link. The caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session

from bldgwatch.maintenance.attachments import StoredFile
from bldgwatch.maintenance.errors import InvalidRecord, UnknownEquipment, UnknownSite
from bldgwatch.maintenance.i18n import Message
from bldgwatch.maintenance.models import EquipmentRow, SiteRow
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow

CATEGORIES = ("water", "electrical", "elevator", "door", "other")
"""What a requester may pick (`public_requests.category`)."""
POINT_KINDS = ("building", "floor", "equipment")
"""What a request point marks (`request_points.kind`)."""
CODE_BYTES = 12
"""A point's code: 96 random bits (16 URL-safe characters)."""
TOKEN_BYTES = 24
"""A status token: 192 random bits (32 URL-safe characters)."""


class RequestStatus(StrEnum):
    """Where a public request stands with the desk (`public_requests.status`)."""

    NEW = "new"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SPAM = "spam"
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class NewPoint:
    """A request point the desk sets up."""

    site: str
    kind: str
    label: str
    building: str | None = None
    equipment: str | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """What a requester sent (checked by the console: sizes, phone, proof of work)."""

    category: str
    location: str
    description: str
    language: str
    phone: str | None = None
    photo: StoredFile | None = None


def token_digest(token: str) -> str:
    """The stored form of a status token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def request_number(request: PublicRequestRow) -> str:
    """The number the requester is told and the desk quotes (not a credential)."""
    return f"R-{request.id:06d}"


def add_point(session: Session, point: NewPoint, *, at: datetime, actor: str) -> RequestPointRow:
    """Store a new point with a fresh code (UnknownSite, UnknownEquipment, InvalidRecord)."""
    if session.get(SiteRow, point.site) is None:
        raise UnknownSite(point.site)
    if point.kind not in POINT_KINDS:
        known = ", ".join(POINT_KINDS)
        raise InvalidRecord("kind", Message("error.request.point_kind", {"known": known}))
    if not point.label.strip():
        raise InvalidRecord("label", Message("error.request.label_empty"))
    if point.equipment and session.get(EquipmentRow, (point.site, point.equipment)) is None:
        raise UnknownEquipment(point.site, point.equipment)
    row = RequestPointRow(
        site=point.site,
        code=secrets.token_urlsafe(CODE_BYTES),
        kind=point.kind,
        label=point.label.strip()[:200],
        building=point.building or None,
        equipment=point.equipment or None,
        created_at=at,
        created_by=actor[:64],
    )
    session.add(row)
    session.flush()
    return row


def point_by_code(session: Session, code: str) -> RequestPointRow | None:
    """The point a code names (retired ones too), or None."""
    return session.scalars(select(RequestPointRow).where(RequestPointRow.code == code)).first()


def points(
    session: Session, site_filter: ColumnElement[bool] | None = None
) -> list[RequestPointRow]:
    """The points (of the sites the filter lets through), by site and label."""
    stmt = select(RequestPointRow).where(site_filter if site_filter is not None else true())
    return list(session.scalars(stmt.order_by(RequestPointRow.site, RequestPointRow.label)))


def submit(
    session: Session, point: RequestPointRow, sent: Submission, *, at: datetime
) -> tuple[PublicRequestRow, str]:
    """Store a new request from `point`; returns it and its status token (shown once)."""
    if sent.category not in CATEGORIES:
        known = ", ".join(CATEGORIES)
        raise InvalidRecord("category", Message("error.request.category", {"known": known}))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    photo = sent.photo
    row = PublicRequestRow(
        point_id=point.id,
        site=point.site,
        status=RequestStatus.NEW.value,
        category=sent.category,
        location=sent.location.strip()[:200] or point.label,
        description=sent.description.strip(),
        phone=sent.phone or None,
        language=sent.language,
        status_token_sha256=token_digest(token),
        photo_stored_as=photo.stored_as if photo else None,
        photo_type=photo.content_type if photo else None,
        photo_size=photo.size if photo else None,
        photo_sha256=photo.sha256 if photo else None,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row, token


def by_token(session: Session, token: str) -> PublicRequestRow | None:
    """The request a status token belongs to, or None."""
    stmt = select(PublicRequestRow).where(
        PublicRequestRow.status_token_sha256 == token_digest(token)
    )
    return session.scalars(stmt).first()


def waiting(site_filter: ColumnElement[bool]) -> Select[PublicRequestRow]:
    """The query of requests waiting for the desk at the sites `site_filter` lets through
    (the caller orders and pages it)."""
    return select(PublicRequestRow).where(
        PublicRequestRow.status == RequestStatus.NEW.value, site_filter
    )
