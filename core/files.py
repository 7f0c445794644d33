"""Files only their owner may read: the SQLite store, config files that may hold credentials."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE = 0o600


def write_private(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, readable and writable by the owner only (0600).

    An existing file is truncated and its mode set to 0600 first, so the content is never
    readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def ensure_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if absent; take read and write away from others
    (group permissions are left as they are) on an existing file, with a warning."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            path.chmod(mode & ~0o007)
            logger.warning(
                "%s was readable by every user (mode %o); it is now %o",
                path,
                mode,
                mode & ~0o007,
            )
        return
    os.close(fd)
