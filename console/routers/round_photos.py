"""The photos of a round's runs (巡检拍照): a phone uploads each photo under the id it gave it
before the entry that names it (a retry stores it once), and whoever may see the run sees it.

The upload is a multipart form with one `file`; it is re-encoded (no EXIF, the pixels alone)
and kept in the attachment folder, no larger than `attachments.max_bytes` (413), a JPEG, PNG
or WebP (422 otherwise). Who may send a run's entries may upload its photos; another site's
run is 404.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import Audited, AuditEntry
from bldgwatch.console.auth import CurrentUser, RoundWorker, User
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    NotFoundError,
    TooLargeError,
    UnprocessableError,
    said,
)
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.round_runs import RunId, visible_run
from bldgwatch.console.schemas_rounds import PhotoOut
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import roundphotos
from bldgwatch.maintenance.attachments import AttachmentStore, StoredFile
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.photos import PhotoTooLarge
from bldgwatch.maintenance.roundmodels import RoundRunRow

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["rounds"])

PHOTO_UPLOAD = r"^/api/round-runs/\d+/photos/[^/]+$"
"""The upload path: its body may be as large as `attachments.max_bytes` (console.limits)."""
PhotoId = Annotated[UUID, Path(description="The id the phone gave the photo (a UUID).")]
PhotoNoted = Annotated[AuditEntry, Depends(Audited(audit.ROUND_PHOTO, "round_run:{run_id}"))]


@dataclass(frozen=True, slots=True)
class _Upload:
    """The photo as it came (read up to one byte past the limit), when and by whom."""

    data: bytes
    at: datetime
    by: str


def _store(request: Request) -> AttachmentStore:
    return cast(AttachmentStore, request.app.state.attachments)


def _checked(session: Session, user: User, run_id: int, photo_id: str) -> RoundRunRow:
    """The run (404 unless visible) when the id is free or this run's (409 otherwise)."""
    run = visible_run(session, user, run_id)
    try:
        roundphotos.known(session, run, photo_id)
    except roundphotos.PhotoIdTaken as err:
        raise ConflictError(said(err)) from err
    return run


def _prepared(store: AttachmentStore, data: bytes) -> StoredFile:
    try:
        return roundphotos.prepare(store, data)
    except PhotoTooLarge as err:
        raise TooLargeError(said(err), param="file") from err
    except InvalidRecord as err:
        raise UnprocessableError(said(err), param="file") from err


def _kept(
    session: Session, store: AttachmentStore, run: RoundRunRow, photo_id: str, upload: _Upload
) -> PhotoOut:
    """The photo stored before under this id, else stored now (a concurrent retry that lost
    the race discards its file and answers the winner's row)."""
    found = roundphotos.known(session, run, photo_id)
    if found is not None:
        return PhotoOut.model_validate(found)
    stored = _prepared(store, upload.data)
    try:
        row = roundphotos.keep(session, run, photo_id, stored, at=upload.at, by=upload.by)
        session.commit()
    except IntegrityError:
        session.rollback()
        store.discard(stored)
        found = roundphotos.known(session, run, photo_id)
        if found is None:
            raise
        return PhotoOut.model_validate(found)
    except BaseException:
        store.discard(stored)
        raise
    return PhotoOut.model_validate(row)


@router.put(
    "/round-runs/{run_id}/photos/{photo_id}",
    response_model=PhotoOut,
    responses=problem_docs(401, 403, 404, 409, 413, 422, 503),
    summary="Upload a photo of a run",
)
async def put_photo(
    *,
    noted: PhotoNoted,
    request: Request,
    session: DbSession,
    clock: AppClock,
    user: RoundWorker,
    run_id: RunId,
    photo_id: PhotoId,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, as the phone took it.")],
) -> PhotoOut:
    """Kept once under the phone's id: sent again, the stored photo is answered and nothing
    changes (409 when the id is another run's)."""
    key = str(photo_id)
    run = await run_in_threadpool(_checked, session, user, run_id, key)
    noted.site, noted.detail = run.site, {"photo": key}
    store = _store(request)
    data = await file.read(store.settings.max_bytes + 1)
    upload = _Upload(data=data, at=clock.now(), by=user.name)
    return await run_in_threadpool(_kept, session, store, run, key, upload)


@router.get(
    "/round-runs/{run_id}/photos/{photo_id}",
    response_class=FileResponse,
    responses={**problem_docs(401, 404, 422, 503), 200: {"content": {"image/jpeg": {}}}},
    summary="A photo of a run",
)
def get_photo(
    *,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    run_id: RunId,
    photo_id: PhotoId,
) -> FileResponse:
    """The photo, to whoever may see the run's site."""
    run = visible_run(session, user, run_id)
    row = roundphotos.stored_photo(session, run.id, str(photo_id))
    missing = NotFoundError(Message("error.round.no_photo", {"id": str(photo_id)}))
    if row is None:
        raise missing
    try:
        path = _store(request).path_of(row.stored_as)
    except FileNotFoundError as err:
        raise missing from err
    return FileResponse(
        path,
        media_type=row.content_type,
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
    )
