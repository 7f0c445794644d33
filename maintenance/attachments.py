"""Photos and documents of work orders: files in the attachment folder, metadata in SQL.

A file is accepted when it is no larger than `max_bytes` and its bytes (sniffed with
`filetype`, whatever the uploader declared or named it) are one of the accepted types. It is
stored under a random name with the sniffed type's extension, never under the uploader's
name, so no name can reach outside the folder; the uploader's name is kept, cleaned, for
display and download. Reading resolves the stored name inside the folder and refuses
anything else.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePath

import filetype

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.config import AttachmentSettings
from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.recordmodels import AttachmentRow

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)
STORED = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{1,5}$")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file written to the folder, before its row is committed."""

    stored_as: str
    filename: str
    content_type: str
    size: int
    sha256: str


def clean_filename(name: str, extension: str) -> str:
    """The uploader's name without folders, control or odd characters; ends in `extension`."""
    base = PurePath(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip(" ._") or "attachment"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[:120]}.{extension}"


def sniff(data: bytes, accepted: list[str]) -> tuple[str, str]:
    """The content type and extension the bytes are (InvalidRecord when not accepted)."""
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in accepted:
        found = kind.mime if kind is not None else "unknown"
        raise InvalidRecord(
            "file",
            Message("error.record.file_type", {"found": found, "known": ", ".join(accepted)}),
        )
    return str(kind.mime), str(kind.extension)


class AttachmentStore:
    """The attachment folder."""

    def __init__(self, settings: AttachmentSettings) -> None:
        self.settings = settings
        self.folder = settings.folder

    def save(self, data: bytes, filename: str) -> StoredFile:
        """Check and write the file; the caller stores the row (or `discard`s on failure)."""
        if not data:
            raise InvalidRecord("file", Message("error.record.file_empty"))
        if len(data) > self.settings.max_bytes:
            raise InvalidRecord(
                "file", Message("error.record.file_large", {"bytes": str(self.settings.max_bytes)})
            )
        content_type, extension = sniff(data, self.settings.types)
        self.folder.mkdir(parents=True, exist_ok=True)
        stored_as = f"{uuid.uuid4().hex}.{extension}"
        target = self.folder / stored_as
        with target.open("xb") as out:
            out.write(data)
        return StoredFile(
            stored_as=stored_as,
            filename=clean_filename(filename or "attachment", extension),
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def path(self, row: AttachmentRow) -> Path:
        """Where a stored attachment lies (FileNotFoundError when it is not in the folder)."""
        return self.path_of(row.stored_as)

    def path_of(self, stored_as: str) -> Path:
        """Where the file this store saved as `stored_as` lies (FileNotFoundError when it is
        not in the folder)."""
        if not STORED.match(stored_as):
            raise FileNotFoundError(stored_as)
        folder = self.folder.resolve()
        target = (folder / stored_as).resolve()
        if target.parent != folder or not target.is_file():
            raise FileNotFoundError(stored_as)
        return target

    def discard(self, stored: StoredFile) -> None:
        """Remove a file whose row was not committed."""
        self.discard_named(stored.stored_as)

    def discard_named(self, stored_as: str) -> None:
        """Remove the file stored as `stored_as` (a name this store gave) from the folder."""
        try:
            (self.folder / stored_as).unlink()
        except FileNotFoundError:
            logger.debug("attachment %s already gone", stored_as)
