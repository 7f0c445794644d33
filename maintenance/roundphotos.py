"""The photos of a round's runs (巡检拍照): what a photo item is answered with.

The phone uploads each photo under the id it gave it (a UUID) before the entry that names it,
so a retry after a lost answer stores it once (`keep` answers the stored one again); an id
used on another run is refused. The bytes are re-encoded first (`maintenance.photos`: the
pixels alone, no EXIF position, nothing but JPEG, PNG or WebP) and written to the attachment
folder (`maintenance.attachments`), no larger than its `max_bytes`. A photo item's entry is
accepted only when its value is the id of a photo of the same run (`check_entry`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.maintenance.attachments import AttachmentStore, StoredFile
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError
from bldgwatch.maintenance.photos import PhotoTooLarge, reencode
from bldgwatch.maintenance.roundmodels import RoundPhotoRow, RoundRunRow

logger = logging.getLogger(__name__)


class PhotoIdTaken(MaintenanceError):  # noqa: N818 - the domain's name for it
    """The phone's photo id names a photo of another run (HTTP 409)."""

    def __init__(self, photo_id: str) -> None:
        super().__init__(i18n.Message("error.round.photo_id_taken", {"id": photo_id}))


def stored_photo(session: Session, run_id: int, photo_id: str) -> RoundPhotoRow | None:
    """The run's photo under the phone's id (None: not uploaded, or another run's)."""
    row = session.get(RoundPhotoRow, photo_id)
    return row if row is not None and row.run_id == run_id else None


def check_entry(session: Session, run: RoundRunRow, value: object) -> None:
    """Refuse a photo item's answer unless it is the id of a photo of this run (InvalidRecord
    naming `value`)."""
    if not isinstance(value, str) or stored_photo(session, run.id, value) is None:
        raise InvalidRecord("value", i18n.Message("error.round.no_photo", {"id": str(value)[:64]}))


def known(session: Session, run: RoundRunRow, photo_id: str) -> RoundPhotoRow | None:
    """The photo stored before under this id (PhotoIdTaken when another run's)."""
    row = session.get(RoundPhotoRow, photo_id)
    if row is not None and row.run_id != run.id:
        raise PhotoIdTaken(photo_id)
    return row


def prepare(store: AttachmentStore, data: bytes) -> StoredFile:
    """The photo re-encoded and written to the folder (PhotoTooLarge: more bytes than the
    attachment limit or too many pixels; InvalidRecord naming `photo`: not a photo)."""
    most = store.settings.max_bytes
    if len(data) > most:
        raise PhotoTooLarge("photo", i18n.Message("error.record.file_large", {"bytes": str(most)}))
    clean = reencode(data)
    return store.save(clean.data, "round-photo")


def keep(
    session: Session, run: RoundRunRow, photo_id: str, stored: StoredFile, *, at: datetime, by: str
) -> RoundPhotoRow:
    """Add the photo's row (flushes; the caller commits, or discards the file on failure)."""
    row = RoundPhotoRow(
        id=photo_id,
        run_id=run.id,
        stored_as=stored.stored_as,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        received_at=at,
        by=by,
    )
    session.add(row)
    session.flush()
    logger.info("round run %s: photo %s stored (%d bytes)", run.id, photo_id, stored.size)
    return row
