"""Walking, as root, a folder a service user can write (the attachments), never through a link.

The services' users own the attachments folder and everything in it: any of them can swap a
sub-folder for a link to /etc between the moment root lists a folder and the moment it acts on
what it listed (review 21d H1, H4, M5). So nothing here goes by path: each folder is opened
relative to its parent's descriptor with O_NOFOLLOW|O_DIRECTORY, each entry is acted on
relative to the descriptor of the folder that holds it (`dir_fd`), and a folder swapped for a
link after it was listed fails to open (ELOOP, ENOTDIR) and is skipped.

The walk is iterative and holds one descriptor at a time (it goes back up through `..`, checked
to be the folder it came from), so a tree 5,000 levels deep, or longer than PATH_MAX, is
walked like any other (review 21d M3). What cannot be listed or opened is named in the walk's
problems and skipped; it never stops the walk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import NamedTuple

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
"""A folder, never through a link (the last component; the others are the walk's own fds)."""
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
"""A file to read or to give its mode: no link, no blocking on a FIFO put there."""

OnFolder = Callable[[int, tuple[str, ...]], bool]
"""Called with each folder's own descriptor and its path parts (the top: ()); False: do not
list it (nothing under it is visited)."""
OnEntry = Callable[[int, str, tuple[str, ...], os.stat_result], None]
"""Called for each entry that is neither a folder nor a link: the descriptor of the folder
holding it, its name, its path parts and what `lstat` saw. The callee opens it relative to
that descriptor (FILE_FLAGS) and checks it is still what was seen."""


class Problem(NamedTuple):
    """What the walk could not list or open: its path relative to the top, and why."""

    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}: {self.why}"


class TreeChangedError(Exception):
    """A folder the walk was in was moved out from under it: the rest is not walked."""


def open_folder(path: os.PathLike[str] | str) -> int:
    """The folder at `path`, opened without following a link there (OSError: ELOOP for a link,
    ENOTDIR for anything but a folder, ENOENT when absent)."""
    return os.open(path, DIR_FLAGS)


def _key(seen: os.stat_result) -> tuple[int, int]:
    return seen.st_dev, seen.st_ino


def walk(top: int, on_folder: OnFolder, on_entry: OnEntry) -> list[Problem]:
    """Walk the folder open at `top` (not closed here); what could not be listed or opened,
    one line each (path relative to the top, and why)."""
    return _Walk(top, on_folder, on_entry).run()


class _Walk:
    def __init__(self, top: int, on_folder: OnFolder, on_entry: OnEntry) -> None:
        self.top, self.on_folder, self.on_entry = top, on_folder, on_entry
        self.problems: list[Problem] = []
        self.cur = -1
        self.parts: list[str] = []
        self.keys: list[tuple[int, int]] = []  # the folders on the way down, to come back up
        self.pending: list[list[str]] = []  # per level: the sub-folders still to walk

    def where(self, *more: str) -> str:
        return "/".join([*self.parts, *more]) or "."

    def run(self) -> list[Problem]:
        self.cur = os.dup(self.top)
        try:
            self.enter()
            while self.pending:
                if self.pending[-1]:
                    self.down(self.pending[-1].pop())
                else:
                    self.up()
        finally:
            os.close(self.cur)
        return self.problems

    def down(self, name: str) -> None:
        try:
            child = os.open(name, DIR_FLAGS, dir_fd=self.cur)
        except OSError as err:  # swapped for a link (ELOOP, ENOTDIR), gone, too many fds
            self.problems.append(Problem(self.where(name), f"not walked: {err.strerror}"))
            return
        os.close(self.cur)
        self.cur = child
        self.parts.append(name)
        self.enter()

    def up(self) -> None:
        self.pending.pop()
        self.keys.pop()
        if not self.pending:
            return
        parent = os.open("..", DIR_FLAGS, dir_fd=self.cur)
        os.close(self.cur)
        self.cur = parent
        self.parts.pop()
        if _key(os.fstat(self.cur)) != self.keys[-1]:
            raise TreeChangedError(f"{self.where()} was moved while it was walked")

    def enter(self) -> None:
        """List the folder at `cur`: the other entries acted on, its folders to walk."""
        self.keys.append(_key(os.fstat(self.cur)))
        folders: list[str] = []
        if self.on_folder(self.cur, tuple(self.parts)):
            try:
                with os.scandir(self.cur) as listing:
                    names = sorted(entry.name for entry in listing)
            except OSError as err:
                self.problems.append(Problem(self.where(), f"cannot list it: {err.strerror}"))
                names = []
            others: list[tuple[str, os.stat_result]] = []
            for name in names:
                try:
                    seen = os.stat(name, dir_fd=self.cur, follow_symlinks=False)
                except OSError as err:
                    self.problems.append(Problem(self.where(name), err.strerror or "cannot read"))
                    continue
                if stat.S_ISDIR(seen.st_mode):
                    folders.append(name)
                elif not stat.S_ISLNK(seen.st_mode):  # a link is never followed
                    others.append((name, seen))
            for name, seen in others:  # what was seen may have changed since: callee checks
                self.on_entry(self.cur, name, (*self.parts, name), seen)
        self.pending.append(folders[::-1])


def is_single_file(seen: os.stat_result) -> bool:
    """A regular file with one name (a hard link would give root's act to another name)."""
    return stat.S_ISREG(seen.st_mode) and seen.st_nlink == 1


def open_entry(dir_fd: int, name: str, seen: os.stat_result) -> int | None:
    """The entry `name` of the folder at `dir_fd` opened (FILE_FLAGS) if it is still the file
    `seen` was; None when it is gone, a link now, or another file."""
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    opened = os.fstat(fd)
    if _key(opened) != _key(seen) or not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        return None
    return fd
