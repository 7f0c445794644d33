"""Users and API tokens in SQL: create, look up, set passwords, bootstrap the first admin.

Every password set here passes the policy (`console.policy`); user names are unique without
regard to case (the `name_key` column).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.auth import CONTRACTOR, ROLES, STAFF, TECHNICIAN
from bldgwatch.console.errors import BadParameterError, NotFoundError, UnprocessableError
from bldgwatch.console.hashgate import HashGate
from bldgwatch.console.models import ApiTokenRow, UserRow
from bldgwatch.console.policy import PolicyError, check_password, check_user_name
from bldgwatch.console.security import hash_password, new_api_token
from bldgwatch.console.sessions import ADMIN_REVOKED, end_everything
from bldgwatch.core.db import session_factory
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import contractors, technicians
from bldgwatch.maintenance.config import Technician

logger = logging.getLogger(__name__)

DEV_ADMIN = "admin"
ROLES_TEXT = ", ".join(ROLES)


def check_roles(roles: Collection[str]) -> list[str]:
    """The roles sorted, or a 400 naming the unknown ones."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise BadParameterError(
            Message("users.unknown_roles", {"unknown": ", ".join(unknown), "known": ROLES_TEXT}),
            param="roles",
        )
    if not roles:
        raise BadParameterError(Message("users.no_role"), param="roles")
    return sorted(set(roles))


def checked_password(password: str, *, name: str, display_name: str = "") -> str:
    """The password when the policy accepts it, else a 400 naming the reason."""
    try:
        check_password(password, user_inputs=(name, display_name, *name.split(".")))
    except PolicyError as err:
        raise BadParameterError(err.message, param="password") from err
    return password


def user_named(session: Session, name: str) -> UserRow | None:
    """The user whose name equals `name` without regard to case."""
    return session.scalars(select(UserRow).where(UserRow.name_key == name.lower())).one_or_none()


def name_taken(name: str, existing: UserRow) -> Message:
    """The 409 message for a name that clashes with `existing`."""
    if existing.name == name:
        return Message("users.name_taken", {"name": name})
    return Message("users.name_taken_as", {"name": name, "existing": existing.name})


def new_user(
    *,
    name: str,
    password: str,
    roles: Collection[str],
    sites: Collection[str] | None,
    at: datetime,
    display_name: str = "",
    hasher: Callable[[str], str] = hash_password,
) -> UserRow:
    """A user row with a hashed password (not yet added to a session); 400 on a bad name,
    role or password."""
    try:
        check_user_name(name)
    except PolicyError as err:
        raise BadParameterError(err.message, param="name") from err
    checked = check_roles(roles)
    checked_password(password, name=name, display_name=display_name)
    return UserRow(
        name=name,
        name_key=name.lower(),
        password_hash=hasher(password),
        roles=checked,
        sites=None if sites is None else sorted(set(sites)),
        display_name=display_name,
        disabled=False,
        created_at=at,
    )


def set_password(row: UserRow, password: str, hashing: HashGate) -> None:
    """Give the user a new password that passes the policy (hashed under the gate's bound)."""
    checked_password(password, name=row.name, display_name=row.display_name)
    row.password_hash = hashing.hash_blocking(password)


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
    actor: str,
    contractor: str | None = None,
) -> bool:
    """Create the user, or reset its password, roles, sites and contractor (a user of role
    contractor acts for one, see `bind_contractor`); True when created.

    A name that differs only in case from an existing user's names that user. Resetting
    ends every session and API token of the user (see `console.sessions`). The change is in
    the audit log as done by `actor` (e.g. `cli:root`), in the same transaction."""
    fresh = new_user(name=name, password=password, roles=roles, sites=sites, at=at)
    with session_factory(engine).begin() as session:
        row = user_named(session, name)
        if row is None:
            session.add(fresh)
            entry = audit.AuditEntry(audit.USER_CREATE, actor=actor, address="", target="")
            entry.detail = {"roles": fresh.roles, "sites": fresh.sites}
        else:
            entry = audit.AuditEntry(audit.USER_UPDATE, actor=actor, address="", target="")
            entry.detail = _reset(session, row, fresh, at)
        entry.target = f"user:{(row or fresh).name}"
        bind_contractor(session, row or fresh, contractor, given=True)
        if contractor is not None:
            entry.detail["contractor"] = contractor
        audit.record(session, entry, at)
        sync_technician(session, row or fresh, at)
        return row is None


def _reset(session: Session, row: UserRow, fresh: UserRow, at: datetime) -> dict[str, object]:
    """Give `row` the password, roles and sites of `fresh`, enabled; what changed."""
    changes: dict[str, object] = {"password": "changed"}
    if sorted(row.roles) != fresh.roles:
        changes["roles"] = {"from": sorted(row.roles), "to": fresh.roles}
    if row.sites != fresh.sites:
        changes["sites"] = {"from": row.sites, "to": fresh.sites}
    if row.disabled:
        changes["disabled"] = False
    row.password_hash = fresh.password_hash
    row.roles = fresh.roles
    row.sites = fresh.sites
    row.disabled = False
    ended = end_everything(session, row.name, at=at, reason=ADMIN_REVOKED)
    changes["ended"] = {"reason": ADMIN_REVOKED, "sessions": ended.sessions, "tokens": ended.tokens}
    return changes


def sync_technician(session: Session, row: UserRow, at: datetime) -> None:
    """Tell maintenance's directory of technicians (through its functions, in the caller's
    transaction) whether the user may be assigned work orders, and where: an enabled user
    with the technician role may, at its sites; anyone else may not."""
    if TECHNICIAN in row.roles:
        technicians.enroll(
            session,
            row.name,
            name=row.display_name,
            sites=row.sites,
            active=not row.disabled,
            at=at,
        )
    else:
        technicians.retire(session, row.name, at=at)


def sync_all_technicians(engine: Engine, at: datetime) -> int:
    """At the console's start: every user's entry in maintenance's directory as the user is
    now (users made before the directory existed, or by an older console). Returns how many
    users have the technician role."""
    with session_factory(engine).begin() as session:
        rows = session.scalars(select(UserRow)).all()
        for row in rows:
            sync_technician(session, row, at)
    return sum(TECHNICIAN in row.roles for row in rows)


def ensure_dev_admin(engine: Engine, password: str, at: datetime) -> None:
    """Dev mode: an `admin` user with every role and site exists (created if absent)."""
    with session_factory(engine)() as session:
        if user_named(session, DEV_ADMIN) is not None:
            return
    upsert_user(
        engine,
        name=DEV_ADMIN,
        password=password,
        roles=sorted(STAFF),  # every role of the property team (a contractor's is exclusive)
        sites=None,
        at=at,
        actor="dev-mode",
    )
    logger.warning("dev mode: created user %r with the dev password", DEV_ADMIN)


class ConsoleTechnicians:
    """The console's users with the technician role, as the work-order desk's directory: an
    order is assigned only to an enabled one of the order's site (see `maintenance.desk`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def technician(self, tech_id: str) -> Technician | None:
        """The user `tech_id` as a technician, or None when no such technician user exists."""
        row = self._session.get(UserRow, tech_id)
        if row is None or TECHNICIAN not in row.roles:
            return None
        return Technician(
            id=row.name,
            name=row.display_name,
            sites=["*"] if row.sites is None else list(row.sites),
            skills=[],
            active=not row.disabled,
        )


def bind_contractor(session: Session, row: UserRow, contractor: str | None, *, given: bool) -> None:
    """Keep the user's contractor (维保单位) with its roles: a user of role contractor holds
    no other role and acts for exactly one contractor; any other user for none (422 naming
    `contractor`; 404 for an unknown contractor). `given`: the request named one (or null)."""
    current = contractors.accounts(session, [row.name]).get(row.name)
    wanted = contractor if given else current
    is_contractor = CONTRACTOR in row.roles
    if is_contractor != (wanted is not None) or (is_contractor and len(row.roles) > 1):
        raise UnprocessableError(Message("error.contractor.account"), param="contractor")
    try:
        contractors.bind_account(session, row.name, wanted)
    except contractors.ContractorNotFound as err:
        raise NotFoundError(err.message or str(err)) from err
