"""`bldgwatch console-user`: create the first admin (or any user) before anyone can log in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from console.config import ConsoleConfig
from console.users import upsert_user
from core.clock import SystemClock
from core.config import load_config
from core.db import make_engine, migrate


def create_user(
    config_path: Path,
    *,
    name: str,
    password: str,
    roles: Sequence[str],
    sites: Sequence[str] | None,
) -> bool:
    """Create (True) or reset (False) a user in the console's database; migrates first.

    Raises ConfigError for a bad config file and BadParameterError for bad roles/password.
    """
    cfg = load_config(config_path, ConsoleConfig)
    engine = make_engine(cfg.database)
    try:
        migrate(engine)
        return upsert_user(
            engine,
            name=name,
            password=password,
            roles=roles,
            sites=sites or None,
            at=SystemClock().now(),
        )
    finally:
        engine.dispose()
