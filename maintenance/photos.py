"""Photos sent by anyone (the public repair form): decoded and re-encoded with Pillow before
they are kept.

Re-encoding keeps only the pixels: EXIF (a phone's GPS position of the owner's home), other
metadata and any bytes after the image (a file that is also HTML or a script, a "polyglot")
are gone, and what Pillow cannot decode is refused. The pixel count is checked from the
header before anything is decoded (a small file can claim a huge image: a decompression
bomb). The orientation EXIF gave is applied to the pixels first, so the photo stays upright.
JPEG, PNG and WebP stay what they are; HEIC (iPhones' default) is refused with a request for
JPEG: Pillow does not decode it without a plugin.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.errors import InvalidRecord

KEPT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
"""The types a photo may be, and Pillow's format each is re-encoded as."""
HEIC = ("image/heic", "image/heif", "image/avif")
MAX_PIXELS = 50_000_000
"""The most pixels a photo may have (a 50-megapixel phone camera; ≈150 MB decoded)."""


class PhotoTooLarge(InvalidRecord):
    """More pixels than `MAX_PIXELS` (HTTP 413)."""


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo re-encoded: its bytes and type."""

    data: bytes
    content_type: str


def _refused(found: str) -> InvalidRecord:
    if found in HEIC:
        return InvalidRecord("photo", Message("error.request.photo_heic"))
    known = ", ".join(KEPT)
    return InvalidRecord("photo", Message("error.request.photo_type", {"known": known}))


def _opened(data: bytes, most: int) -> tuple[Image.Image, str]:
    kind = filetype.guess(data[:8192])
    found = kind.mime if kind is not None else "unknown"
    if found not in KEPT:
        raise _refused(found)
    try:  # reads the header only; Pillow's own bomb check (> 2 × 89 MP) raises here
        image = Image.open(io.BytesIO(data), formats=[KEPT[found]])
    except Image.DecompressionBombError as err:
        raise PhotoTooLarge("photo", Message("error.request.photo_pixels", {"max": most})) from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise _refused(found) from err
    width, height = image.size
    if width * height > most:
        raise PhotoTooLarge("photo", Message("error.request.photo_pixels", {"max": most}))
    return image, found


def reencode(data: bytes, *, most: int = MAX_PIXELS) -> Photo:
    """The photo's pixels alone, in its own type (InvalidRecord naming `photo`: not a JPEG,
    PNG or WebP Pillow decodes; PhotoTooLarge: more than `most` pixels)."""
    image, found = _opened(data, most)
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise _refused(found) from err
    fmt = KEPT[found]
    if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    elif upright.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        upright = upright.convert("RGBA")
    out = io.BytesIO()
    upright.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return Photo(out.getvalue(), found)
