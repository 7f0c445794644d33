"""The relational schema's migrations: one Alembic chain for every package's tables.

Each step says which package owns it (`OWNER` in its module, the package's name in its file
name); `tests/core/test_db.py` checks that a step touches only its owner's tables. The chain
lives here, in the composition root, because only the root knows every package: services do
not migrate, the `bldgwatch` command does before it starts one (and `bldgwatch db-upgrade`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, text

logger = logging.getLogger(__name__)

__all__ = ["migrate", "script_location"]

PG_LOCK_KEY = 7317001


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
    with Path(db_path + ".migrate-lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision` with Alembic; safe to call from several processes."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    with _migration_lock(engine), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    logger.debug("schema at %s", revision)
