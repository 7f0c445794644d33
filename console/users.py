"""Users and API tokens in SQL: create, look up, verify, bootstrap the first admin."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console.auth import ROLES
from bldgwatch.console.errors import BadParameterError
from bldgwatch.console.models import ApiTokenRow, UserRow
from bldgwatch.console.security import DUMMY_HASH, hash_password, new_api_token, verify_password
from bldgwatch.core.db import session_factory

logger = logging.getLogger(__name__)

MIN_PASSWORD = 8
DEV_ADMIN = "admin"


def check_roles(roles: Collection[str]) -> list[str]:
    """The roles sorted, or a 400 naming the unknown ones."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise BadParameterError(
            f"unknown roles {', '.join(unknown)}; known: {', '.join(ROLES)}", param="roles"
        )
    if not roles:
        raise BadParameterError("at least one role is required", param="roles")
    return sorted(set(roles))


def new_user(
    *,
    name: str,
    password: str,
    roles: Collection[str],
    sites: Collection[str] | None,
    at: datetime,
    display_name: str = "",
) -> UserRow:
    """A user row with a hashed password (not yet added to a session)."""
    if len(password) < MIN_PASSWORD:
        raise BadParameterError(
            f"password must have at least {MIN_PASSWORD} characters", param="password"
        )
    return UserRow(
        name=name,
        password_hash=hash_password(password),
        roles=check_roles(roles),
        sites=None if sites is None else sorted(set(sites)),
        display_name=display_name,
        disabled=False,
        created_at=at,
    )


def verify_login(session: Session, name: str, password: str) -> UserRow | None:
    """The user when the password matches and the user is enabled, else None."""
    row = session.get(UserRow, name)
    if row is None:
        verify_password(DUMMY_HASH, password)  # same work whether or not the name exists
        return None
    if not verify_password(row.password_hash, password) or row.disabled:
        return None
    return row


def new_token(
    *,
    name: str,
    roles: Collection[str],
    sites: Collection[str] | None,
    created_by: str,
    at: datetime,
    expires_at: datetime | None,
) -> tuple[ApiTokenRow, str]:
    """An API token row and the token text (shown once, never stored)."""
    token, digest = new_api_token()
    row = ApiTokenRow(
        name=name,
        token_hash=digest,
        roles=check_roles(roles),
        sites=None if sites is None else sorted(set(sites)),
        created_by=created_by,
        created_at=at,
        expires_at=expires_at,
        revoked=False,
    )
    return row, token


def upsert_user(
    engine: Engine,
    *,
    name: str,
    password: str,
    roles: Collection[str],
    sites: Collection[str] | None,
    at: datetime,
) -> bool:
    """Create the user, or reset its password, roles and sites; True when created."""
    fresh = new_user(name=name, password=password, roles=roles, sites=sites, at=at)
    with session_factory(engine).begin() as session:
        row = session.get(UserRow, name)
        if row is None:
            session.add(fresh)
            return True
        row.password_hash = fresh.password_hash
        row.roles = fresh.roles
        row.sites = fresh.sites
        row.disabled = False
        return False


def ensure_dev_admin(engine: Engine, password: str, at: datetime) -> None:
    """Dev mode: an `admin` user with every role and site exists (created if absent)."""
    with session_factory(engine)() as session:
        if session.get(UserRow, DEV_ADMIN) is not None:
            return
    upsert_user(engine, name=DEV_ADMIN, password=password, roles=ROLES, sites=None, at=at)
    logger.warning("dev mode: created user %r with the dev password", DEV_ADMIN)
