"""Repair requests (报修) from anyone, without an account: the API of the QR pages.

- `GET /api/public/points/{code}`: the point's site and location, the form's limits and a
  fresh proof-of-work challenge (a retired point: 410, "no longer in use").
- `POST /api/public/points/{code}/requests`: the form (multipart, with an optional photo);
  guarded by `console.publicguard`; answers the request number and the private status token.
- `GET /api/public/requests/{token}`: the progress, following the work order.
- `POST /api/public/requests/{token}/rating`: the one rating after the repair (a 回访).

No route reads or needs a session: the code and the token are the only keys, and nothing
here answers anything of another request or of the console.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Annotated, cast

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bldgwatch.console.audit import client_address
from bldgwatch.console.auth import public
from bldgwatch.console.connections import address_group
from bldgwatch.console.deps import AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    GoneError,
    NotFoundError,
    TooLargeError,
    UnprocessableError,
    said,
)
from bldgwatch.console.locale import locale_of
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.publicguard import MAX_LOCATION_CHARS, PHOTO_TYPES, PublicGuard, Sent
from bldgwatch.console.schemas_requests import (
    Category,
    ChallengeOut,
    PointLimits,
    ProgressStep,
    PublicPoint,
    RatingIn,
    RequestStatusOut,
    Submitted,
)
from bldgwatch.core import i18n
from bldgwatch.core.clock import Clock
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.core.site import DEFAULT_TIMEZONE, site_zone
from bldgwatch.maintenance import publicrequests as pr
from bldgwatch.maintenance.attachments import StoredFile
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.photos import PhotoTooLarge, reencode
from bldgwatch.maintenance.requestdesk import NotRateable, RequestDesk, progress
from bldgwatch.maintenance.requestmodels import PublicRequestRow, RequestPointRow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/public", tags=["public requests"], dependencies=[Depends(public)])

Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="QR code.")]
Token = Annotated[
    str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Status token.")
]
CHALLENGE = r"^[A-Za-z0-9.]+$"
"""What a challenge is made of (`console.proofofwork.SHAPE` checks it fully)."""
SUBMIT_UPLOAD = r"^/api/public/points/[A-Za-z0-9_-]+/requests$"
"""The submit path: its body may hold a photo of `service_desk.max_photo_bytes`."""


def _guard(request: Request) -> PublicGuard:
    return cast(PublicGuard, request.app.state.public_guard)


def _client(request: Request) -> str:
    """Whom the request counts against: its address group (an IPv6 /64 as one)."""
    return address_group(client_address(request) or "-")


def _point(session: Session, code: str) -> RequestPointRow:
    point = pr.point_by_code(session, code)
    if point is None:
        raise NotFoundError(Message("error.request.no_point"))
    if point.retired_at is not None:
        raise GoneError(Message("error.request.point_retired"))
    return point


def _site(session: Session, site: str) -> SiteRow:
    row = session.get(SiteRow, site)
    return row if row is not None else SiteRow(id=site, name=site, timezone=DEFAULT_TIMEZONE)


@router.get(
    "/points/{code}",
    response_model=PublicPoint,
    responses=problem_docs(404, 410, 422),
    summary="A request point, with a challenge",
)
def point_page(*, request: Request, session: DbSession, code: Code) -> PublicPoint:
    """What the QR page shows, and a proof-of-work challenge for the form."""
    point = _point(session, code)
    site = _site(session, point.site)
    guard = _guard(request)
    found = guard.pow.issue(code=code, client=_client(request))
    limits = PointLimits(
        max_description_chars=guard.settings.max_description_chars,
        max_location_chars=MAX_LOCATION_CHARS,
        max_photo_bytes=guard.settings.max_photo_bytes,
        photo_types=PHOTO_TYPES,
    )
    return PublicPoint(
        site_name=site.name or site.id,
        location=point.label,
        kind=point.kind,
        timezone=site.timezone,
        categories=list(pr.CATEGORIES),
        limits=limits,
        challenge=ChallengeOut(
            challenge=found.challenge, difficulty=found.difficulty, expires_at=found.expires_at
        ),
    )


@dataclass(frozen=True, slots=True)
class _Upload:
    """The photo as it came (read up to one byte past the limit)."""

    data: bytes
    filename: str


def _photo_of(guard: PublicGuard, photo: _Upload | None) -> StoredFile | None:
    """The photo re-encoded (`maintenance.photos`: no metadata, nothing but the pixels) and
    written to the folder; 413/422 naming `photo` when too large or not a photo."""
    if photo is None:
        return None
    most = guard.settings.max_photo_bytes
    if len(photo.data) > most:
        raise TooLargeError(Message("error.request.photo_large", {"max": most}), param="photo")
    try:
        clean = reencode(photo.data)
    except PhotoTooLarge as err:
        raise TooLargeError(said(err), param="photo") from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param="photo") from err
    return guard.photos.save(clean.data, photo.filename)


def _take(
    request: Request,
    engine: Engine,
    *,
    code: str,
    sent: Sent,
    entry: pr.Submission,
    photo: _Upload | None,
) -> Submitted:
    """Check and store one request (blocking: runs in the thread pool)."""
    guard = _guard(request)
    sessions = session_factory(engine)
    with sessions() as session:
        _point(session, code)  # unknown or retired: 404/410 before anything is counted
    client = _client(request)
    guard.admit(sent, address=client, code=code)
    stored = _photo_of(guard, photo)
    taken = False
    try:
        with sessions() as session:
            point = _point(session, code)
            now = cast(Clock, request.app.state.clock).now()
            guard.spend(sent, address=client, code=code)  # every check passed
            row, token = pr.submit(session, point, replace(entry, photo=stored), at=now)
            number = pr.request_number(row)
            session.commit()
            taken = True
    finally:
        if stored is not None and not taken:  # no request row: no orphan file
            guard.photos.discard(stored)
    guard.taken(code)  # only stored requests count against the point's limit
    logger.info("public request %s taken at %s (point %s)", number, point.site, point.id)
    return Submitted(number=number, status_token=token, status_path=f"/s/{token}")


@router.post(
    "/points/{code}/requests",
    response_model=Submitted,
    status_code=201,
    responses=problem_docs(404, 410, 413, 422, 429),
    summary="Send a repair request",
)
async def send_request(
    *,
    request: Request,
    engine: DbEngine,
    code: Code,
    category: Annotated[Category, Form()],
    description: Annotated[str, Form(min_length=1, max_length=20000)],
    location: Annotated[str, Form(max_length=1000)] = "",
    phone: Annotated[str | None, Form(max_length=40)] = None,
    website: Annotated[str | None, Form(max_length=1000, description="Leave empty.")] = None,
    challenge: Annotated[str | None, Form(max_length=200, pattern=CHALLENGE)] = None,
    solution: Annotated[str | None, Form(max_length=40)] = None,
    photo: Annotated[UploadFile | None, File(description="JPEG, PNG or WebP.")] = None,
) -> Submitted:
    """A repair request from the point's QR page: the desk sees it before anyone is sent."""
    upload = None
    if photo is not None and photo.filename:
        most = _guard(request).settings.max_photo_bytes
        upload = _Upload(await photo.read(most + 1), photo.filename)
    number = (phone or "").strip() or None
    sent = Sent(website, challenge, solution, description, location, number)
    entry = pr.Submission(category, location, description, locale_of(request), number)
    return await run_in_threadpool(
        _take, request, engine, code=code, sent=sent, entry=entry, photo=upload
    )


def _request(session: Session, token: str) -> PublicRequestRow:
    row = pr.by_token(session, token)
    if row is None:
        raise NotFoundError(Message("error.request.no_status"))
    return row


def _reason(state: str, reason: str | None, lang: str) -> str | None:
    """The desk's decline reason as written for the requester; a cancelled order's a fixed
    text (the order's cancellation note is the staff's own, never published)."""
    if state == "cancelled":
        return i18n.render("request.cancelled", None, lang)
    return reason


def _status(session: Session, row: PublicRequestRow, lang: str) -> RequestStatusOut:
    site = _site(session, row.site)
    zone = site_zone(site.timezone)
    found = progress(session, row)
    steps = [
        ProgressStep(
            name=s.name,
            at=s.at,
            at_local=None if s.at is None else i18n.format_time(s.at, zone, lang),
        )
        for s in found.steps
    ]
    return RequestStatusOut(
        number=pr.request_number(row),
        site_name=site.name or site.id,
        location=row.location,
        category=row.category,
        state=found.state,
        steps=steps,
        reason=_reason(found.state, found.reason, lang),
        timezone=site.timezone,
        can_rate=found.can_rate,
        merged_into=_primary_number(session, row),
        rating=row.rating,
        rating_comment=row.rating_comment,
    )


def _primary_number(session: Session, row: PublicRequestRow) -> str | None:
    primary = (
        None if row.merged_into_id is None else session.get(PublicRequestRow, row.merged_into_id)
    )
    return None if primary is None else pr.request_number(primary)


@router.get(
    "/requests/{token}",
    response_model=RequestStatusOut,
    responses=problem_docs(404, 422),
    summary="A request's progress",
)
def request_status(*, request: Request, session: DbSession, token: Token) -> RequestStatusOut:
    """Where the request stands, in plain steps with local times (the site's zone)."""
    return _status(session, _request(session, token), locale_of(request))


@router.post(
    "/requests/{token}/rating",
    response_model=RequestStatusOut,
    responses=problem_docs(404, 409, 422),
    summary="Rate the repair",
)
def rate_request(
    *,
    request: Request,
    session: DbSession,
    engine: DbEngine,
    clock: AppClock,
    token: Token,
    body: RatingIn,
) -> RequestStatusOut:
    """The one rating after the repair is done, kept as the work order's follow-up (回访)."""
    row = _request(session, token)
    sessions = session_factory(engine)
    desk = RequestDesk(sessions, WorkDesk.from_store(sessions))
    try:
        desk.rate(row.id, body.rating, body.comment, at=clock.now())
    except NotRateable as err:
        raise ConflictError(said(err)) from err
    session.rollback()  # end this request's read transaction: read the change
    return _status(session, _request(session, token), locale_of(request))
