"""The relational schema's migrations: one Alembic chain for every package's tables.

Each step says which package owns it (`OWNER` in its module, the package's name in its file
name); `tests/core/test_db.py` checks that a step touches only its owner's tables. The chain
lives here, in the composition root, because only the root knows every package: services do
not migrate, the `bldgwatch` command does before it starts one (and `bldgwatch db-upgrade`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, text

from bldgwatch.core.errors import ConfigError, StartError

logger = logging.getLogger(__name__)

__all__ = ["migrate", "script_location"]

PG_LOCK_KEY = 7317001
LOCK_MODE = 0o660


def script_location() -> str:
    """Where the Alembic environment and versions live (inside the installed package)."""
    return str(resources.files(__name__))


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise concurrent `migrate` calls from several processes."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text(f"SELECT pg_advisory_lock({PG_LOCK_KEY})"))
            try:
                yield
            finally:
                conn.execute(text(f"SELECT pg_advisory_unlock({PG_LOCK_KEY})"))
                conn.commit()
        return
    db_path = engine.url.database
    if not db_path or db_path == ":memory:":
        yield
        return
    fd = _open_lock(Path(db_path + ".migrate-lock"))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock(path: Path) -> int:
    """The lock file beside the SQLite file, shared by every service of the installation.

    Made group-writable (0660, in the setgid state folder: the services' shared group), since
    whoever migrates first (`bldgwatch install`, as root) is not who migrates next (each
    service, as its own user). A lock file that exists but cannot be written (an older
    install's) is still locked through a read-only handle: flock needs no write permission.
    """
    never = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY  # a link planted there is not followed
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | never, LOCK_MODE)
    except PermissionError:
        try:
            return _checked_lock(path, os.open(path, os.O_RDONLY | never))
        except OSError as err:
            raise StartError(
                f"cannot open the migration lock {path}: {err.strerror} (it must be "
                "readable by the services' group: run `bldgwatch install` again)"
            ) from err
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise StartError(
                f"the migration lock {path} is a symbolic link (to {path.readlink()}): not "
                "followed. Someone made it where the lock belongs; remove it, check who could"
            ) from err
        raise StartError(f"cannot open the migration lock {path}: {err.strerror}") from err
    _checked_lock(path, fd)
    if os.fstat(fd).st_uid == os.geteuid():
        os.fchmod(fd, LOCK_MODE)  # the umask (root's 022) must not take the group's write
    return fd


def _checked_lock(path: Path, fd: int) -> int:
    """`fd` if it is a regular file of one name (a hard link to another file is not a lock
    of ours: its mode must not be changed); else closed, and StartError."""
    seen = os.fstat(fd)
    if stat.S_ISREG(seen.st_mode) and seen.st_nlink == 1:
        return fd
    os.close(fd)
    raise StartError(
        f"the migration lock {path} is not a plain file of one name: not used (remove it)"
    )


def require_current(engine: Engine) -> None:
    """Raise ConfigError unless the database's schema is this version's newest (for commands
    that read the store without migrating it)."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import OperationalError

    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except OperationalError as err:
        raise StartError(f"cannot reach the database at {where}: {err.orig}") from err
    if current != set(ScriptDirectory.from_config(cfg).get_heads()):
        state = ", ".join(sorted(current)) or "no bldgwatch schema"
        raise ConfigError(
            f"the database at {where} is not at this version's schema ({state}): "
            f"run `bldgwatch db-upgrade --url ...` first"
        )


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision` with Alembic; safe to call from several processes.

    Raises StartError when the database cannot be reached (a later try may succeed) and
    ConfigError when it holds a schema this version does not know (a newer release's).
    """
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError
    from sqlalchemy.exc import OperationalError

    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    where = engine.url.render_as_string(hide_password=True)
    try:
        with _migration_lock(engine), engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as err:
        raise StartError(f"cannot reach the database at {where}: {err.orig}") from err
    except CommandError as err:
        raise ConfigError(
            f"the database at {where} cannot be brought to this version's schema: {err} "
            "(was it created by a newer release of bldgwatch?)"
        ) from err
    logger.debug("schema at %s", revision)
