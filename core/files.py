"""Files only their owner may read: the SQLite store, config files that may hold credentials."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
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


FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkRefusedError(OSError):
    """A file (or its folder) that should be written or read is a symbolic link: not followed."""


class NotAFileError(LinkRefusedError):
    """Something that is not a file (a folder, a FIFO, a socket, a device) stands where a file
    should be written or read: not written through, not read; the message names the path and
    what to do."""


def _kind(mode: int) -> str:
    """What an entry that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _not_a_file(path: Path, mode: int) -> NotAFileError:
    return NotAFileError(
        f"{path} is {_kind(mode)}, not a file: nothing was read or written through it; remove "
        "it (someone made it where the file belongs: check who could), then run again"
    )


def _folder_fd(folder: Path) -> int:
    try:
        return os.open(folder, FOLDER_FLAGS)
    except OSError as err:
        if folder.is_symlink():
            raise LinkRefusedError(
                f"{folder} is a symbolic link (to {folder.readlink()}): not followed"
            ) from err
        raise


def replace_private(path: Path, data: str | bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path` as a new 0600 file, never through a link: it is made under a
    temporary name in `path`'s folder, which is opened without following a link there (the
    file is created O_EXCL|O_NOFOLLOW relative to that folder's descriptor), then renamed
    over `path`, so a link standing at `path` is replaced, not written through (review 21e
    H3: root wrote the broker's credentials wherever a link planted there pointed).
    `exclusive`: FileExistsError when `path` exists (a link there too), nothing replaced."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    dir_fd = _folder_fd(path.parent)
    try:  # a folder there: rename(2) would fail with a bare EISDIR naming the temporary file
        seen = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        pass
    except BaseException:
        os.close(dir_fd)
        raise
    else:
        if stat.S_ISDIR(seen.st_mode):
            os.close(dir_fd)
            raise _not_a_file(path, seen.st_mode)
    tmp = f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            PRIVATE,
            dir_fd=dir_fd,
        )
        try:
            os.fchmod(fd, PRIVATE)
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:  # link(2) never replaces what is there, a dangling link included
            os.link(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            os.unlink(tmp, dir_fd=dir_fd)
        else:
            os.rename(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    finally:
        os.close(dir_fd)


def read_unlinked(path: Path) -> str | None:
    """The text of `path` (UTF-8), opened without following a link there; None when absent.
    LinkRefusedError naming the link when one stands there."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        if path.is_symlink():
            raise LinkRefusedError(
                f"{path} is a symbolic link (to {path.readlink()}): not followed"
            ) from err
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # before fdopen, which refuses a folder with a bare errno
        os.close(fd)
        raise _not_a_file(path, mode)
    with os.fdopen(fd, "rb") as opened:
        return opened.read().decode("utf-8")


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
