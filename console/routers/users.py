"""Administration of users, their sessions and API tokens (admin role). Every change is in
the audit log, in the change's own transaction."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.console import audit
from bldgwatch.console.audit import AuditEntry, client_address
from bldgwatch.console.auth import Admin, SecurityContext, User
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import ConflictError, ForbiddenError, NotFoundError
from bldgwatch.console.live import LiveHub
from bldgwatch.console.models import ApiTokenRow, SessionRow, UserRow
from bldgwatch.console.paging import DIGITS_ONLY, MAX_ID, Page, Paging, page_of
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_auth import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    Revoked,
    SessionOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from bldgwatch.console.sessions import (
    ADMIN_REVOKED,
    DISABLED,
    PASSWORD_CHANGED,
    ROLES_CHANGED,
    end_everything,
    end_session,
)
from bldgwatch.console.users import (
    bind_contractor,
    check_roles,
    name_taken,
    new_token,
    new_user,
    set_password,
    sync_technician,
    user_named,
)
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import contractors
from bldgwatch.maintenance.contractormodels import ContractorRow

router = APIRouter(prefix="/api", tags=["users"])

UserName = Annotated[str, Path(max_length=64, description="User name.")]
SessionId = Annotated[str, Path(max_length=32, description="Session id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="Token id."), DIGITS_ONLY]
TOKEN_NOT_STORED = Message("users.token_not_stored")


def _security(request: Request) -> SecurityContext:
    return cast(SecurityContext, request.app.state.security)


def _entry(request: Request, user: User, action: str, target: str) -> AuditEntry:
    return AuditEntry(action, actor=user.name, address=client_address(request), target=target)


@router.get(
    "/users",
    response_model=Page[UserOut],
    responses=problem_docs(401, 403, 422),
    summary="List users",
)
def list_users(*, session: DbSession, user: Admin, paging: Paging) -> Page[UserOut]:
    """Every user account, by name."""
    page = page_of(session, select(UserRow), (UserRow.name,), paging, UserOut)
    bound = contractors.accounts(session, [u.name for u in page.items])
    for item in page.items:
        item.contractor = bound.get(item.name)
    return page


def _out(session: Session, row: UserRow) -> UserOut:
    """The user as answered, with the contractor it acts for."""
    out = UserOut.model_validate(row)
    out.contractor = contractors.accounts(session, [row.name]).get(row.name)
    return out


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses=problem_docs(400, 401, 403, 404, 409, 413, 422, 503),
    summary="Create a user",
)
def create_user(
    *, request: Request, session: DbSession, user: Admin, clock: AppClock, body: UserCreate
) -> UserOut:
    """A new account with a password hashed by argon2id. The password must pass the policy
    (400 naming why not); a name that differs only in case from an existing one is 409. A
    user of role contractor names the contractor it acts for (422 without, 404 for an
    unknown one)."""
    _check_scope(user, body.sites, "users.user_sites")
    existing = user_named(session, body.name)
    if existing is not None:
        raise ConflictError(name_taken(body.name, existing))
    if session.get(ContractorRow, body.name.lower()) is not None:
        # Orders dispatched to a contractor are assigned to its id: a user of that name would
        # hold them all.
        raise ConflictError(Message("error.user.name_is_contractor", {"name": body.name}))
    now = clock.now()
    row = new_user(
        name=body.name,
        password=body.password,
        roles=body.roles,
        sites=body.sites,
        at=now,
        display_name=body.display_name,
        hasher=_security(request).hashing.hash_blocking,
    )
    session.add(row)
    bind_contractor(session, row, body.contractor, given=True)
    entry = _entry(request, user, audit.USER_CREATE, f"user:{row.name}")
    entry.detail = {"roles": row.roles, "sites": row.sites, "contractor": body.contractor}
    audit.record(session, entry, now)
    sync_technician(session, row, now)
    try:
        session.commit()
    except IntegrityError as err:  # created at the same moment by another request
        raise ConflictError(name_taken(body.name, row)) from err
    return _out(session, row)


def _apply(
    row: UserRow, body: UserUpdate, request: Request
) -> tuple[dict[str, object], str | None]:
    """Change the row; the changes for the audit log, and why sessions must end (or None)."""
    changes: dict[str, object] = {}
    reason = None
    if body.password is not None:
        set_password(row, body.password, _security(request).hashing)
        changes["password"] = "changed"
        reason = PASSWORD_CHANGED
    if body.roles is not None and check_roles(body.roles) != sorted(row.roles):
        changes["roles"] = {"from": sorted(row.roles), "to": check_roles(body.roles)}
        row.roles = check_roles(body.roles)
        reason = reason or ROLES_CHANGED
    sites = None if body.all_sites else body.sites
    if (body.all_sites or body.sites is not None) and row.sites != sites:
        new_sites = None if sites is None else sorted(set(sites))
        changes["sites"] = {"from": row.sites, "to": new_sites}
        row.sites = new_sites
    if body.display_name is not None and body.display_name != row.display_name:
        changes["display_name"] = body.display_name
        row.display_name = body.display_name
    if body.disabled is not None and body.disabled != row.disabled:
        changes["disabled"] = body.disabled
        row.disabled = body.disabled
        if body.disabled:
            reason = DISABLED
    return changes, reason


@router.patch(
    "/users/{name}",
    response_model=UserOut,
    responses=problem_docs(400, 401, 403, 404, 413, 422, 503),
    summary="Change a user",
)
def update_user(
    *,
    request: Request,
    session: DbSession,
    user: Admin,
    clock: AppClock,
    name: UserName,
    body: UserUpdate,
) -> UserOut:
    """Reset the password, change roles, sites or name, or disable the account. A new
    password, new roles or disabling end every session and API token of the user at once;
    enabling the account again revives none of them."""
    row = session.get(UserRow, name)
    if row is None:
        raise NotFoundError(Message("users.no_user", {"name": name}))
    _check_target(user, row.name, row.sites)
    if body.all_sites or body.sites is not None:
        _check_scope(user, None if body.all_sites else body.sites, "users.user_sites")
    changes, reason = _apply(row, body, request)
    given = "contractor" in body.model_fields_set
    bind_contractor(session, row, body.contractor, given=given)
    if given:
        changes["contractor"] = body.contractor  # read on every request: no session ends
    now = clock.now()
    if reason is not None:
        ended = end_everything(session, row.name, at=now, reason=reason)
        changes["ended"] = {"reason": reason, "sessions": ended.sessions, "tokens": ended.tokens}
    entry = _entry(request, user, audit.USER_UPDATE, f"user:{row.name}")
    entry.detail = changes
    audit.record(session, entry, now)
    sync_technician(session, row, now)
    session.commit()
    if reason is not None:
        _security(request).revocations.notify()
    elif "sites" in changes:  # open live streams of the user see only the new sites
        cast(LiveHub, request.app.state.hub).rescope_threadsafe(row.name, row.sites)
    return _out(session, row)


@router.post(
    "/users/{name}/revoke",
    response_model=Revoked,
    responses=problem_docs(401, 403, 404, 422),
    summary="End every session and API token of a user",
)
def revoke_user(
    *, request: Request, session: DbSession, user: Admin, clock: AppClock, name: UserName
) -> Revoked:
    """Every live session of the user ends and every API token the user made is revoked, at
    once (open live streams close). The account stays enabled: the user can log in again."""
    target = session.get(UserRow, name)
    if target is None:
        raise NotFoundError(Message("users.no_user", {"name": name}))
    _check_target(user, target.name, target.sites)
    now = clock.now()
    ended = end_everything(session, name, at=now, reason=ADMIN_REVOKED)
    entry = _entry(request, user, audit.USER_REVOKE, f"user:{name}")
    entry.detail = {"sessions": ended.sessions, "tokens": ended.tokens}
    audit.record(session, entry, now)
    session.commit()
    _security(request).revocations.notify()
    return Revoked(sessions=ended.sessions, tokens=ended.tokens)


@router.get(
    "/sessions",
    response_model=Page[SessionOut],
    responses=problem_docs(401, 403, 422),
    summary="List login sessions",
)
def list_sessions(
    *,
    session: DbSession,
    user: Admin,
    clock: AppClock,
    paging: Paging,
    user_name: Annotated[
        str | None, Query(alias="user", max_length=64, description="Only this user's.")
    ] = None,
    live: Annotated[
        bool | None, Query(description="true: only sessions not ended; false: only ended.")
    ] = None,
) -> Page[SessionOut]:
    """Sessions, newest first (their refresh tokens are never shown)."""
    stmt = select(SessionRow)
    if user_name is not None:
        stmt = stmt.where(SessionRow.user_name == user_name)
    now = clock.now()
    if live is True:
        stmt = stmt.where(SessionRow.revoked_at.is_(None), SessionRow.expires_at > now)
    elif live is False:
        stmt = stmt.where((SessionRow.revoked_at.is_not(None)) | (SessionRow.expires_at <= now))
    order = (SessionRow.created_at.desc(), SessionRow.id)
    return page_of(session, stmt, order, paging, SessionOut)


@router.delete(
    "/sessions/{session_id}",
    response_model=SessionOut,
    responses=problem_docs(401, 403, 404, 422),
    summary="End a session",
)
def revoke_session(
    *, request: Request, session: DbSession, user: Admin, clock: AppClock, session_id: SessionId
) -> SessionOut:
    """The session's refresh token and access tokens stop working at once."""
    row = session.get(SessionRow, session_id)
    if row is None:
        raise NotFoundError(Message("users.no_session", {"sid": session_id}))
    owner = session.get(UserRow, row.user_name)
    _check_target(user, row.user_name, None if owner is None else owner.sites)
    now = clock.now()
    ended = end_session(session, session_id, at=now, reason=ADMIN_REVOKED)
    entry = _entry(request, user, audit.SESSION_REVOKE, f"session:{session_id}")
    entry.detail = {"user": row.user_name, "was_live": ended}
    audit.record(session, entry, now)
    session.commit()
    _security(request).revocations.notify()
    return SessionOut.model_validate(session.get(SessionRow, session_id))


def _check_scope(user: User, sites: list[str] | None, key: str = "users.token_sites") -> None:
    """A caller limited to some sites makes tokens (and users) only for (some of) those
    sites: 403 naming the sites it may not give (`key` the message)."""
    if user.sites is None:
        return
    wider: Message | str = Message("users.every_site")
    if sites is not None:
        wider = ", ".join(sorted(set(sites) - user.sites))
    if sites is None or not set(sites) <= user.sites:
        mine = ", ".join(sorted(user.sites))
        params = {"user": user.name, "sites": mine, "wider": wider}
        raise ForbiddenError(Message(key, params))


def _check_target(user: User, target: str, sites: list[str] | None) -> None:
    """A caller limited to some sites changes only users and tokens that see no other site
    (not, say, an all-sites admin's password): 403 naming what the target sees."""
    if user.sites is None or (sites is not None and set(sites) <= user.sites):
        return
    theirs: Message | str = Message("users.every_site")
    if sites is not None:
        theirs = ", ".join(sorted(sites))
    mine = ", ".join(sorted(user.sites))
    params = {"user": user.name, "sites": mine, "target": target, "theirs": theirs}
    raise ForbiddenError(Message("users.target_sites", params))


@router.get(
    "/tokens",
    response_model=Page[ApiTokenOut],
    responses=problem_docs(401, 403, 422),
    summary="List API tokens",
)
def list_tokens(*, session: DbSession, user: Admin, paging: Paging) -> Page[ApiTokenOut]:
    """Every API token's record (never the secret), newest first."""
    return page_of(session, select(ApiTokenRow), (ApiTokenRow.id.desc(),), paging, ApiTokenOut)


@router.post(
    "/tokens",
    response_model=ApiTokenCreated,
    status_code=201,
    responses=problem_docs(400, 401, 403, 409, 413, 422),
    summary="Create an API token",
)
def create_token(
    *, request: Request, session: DbSession, user: Admin, clock: AppClock, body: ApiTokenCreate
) -> ApiTokenCreated:
    """A machine credential with roles and sites; the secret is in this answer only. It ends
    with its maker's sessions (password or role change, disabling, revocation); a token made
    by a token belongs to the person behind that one and sees no site it does not (403)."""
    _check_scope(user, body.sites)
    now = clock.now()
    row, token = new_token(
        name=body.name,
        roles=body.roles,
        sites=body.sites,
        created_by=user.person,
        at=now,
        expires_at=body.expires_at,
    )
    session.add(row)
    session.flush()
    entry = _entry(request, user, audit.TOKEN_CREATE, f"token:{row.id}")
    entry.detail = {"name": row.name, "roles": row.roles, "sites": row.sites}
    audit.record(session, entry, now)
    try:
        session.commit()
    except IntegrityError as err:  # a token hash collision is astronomically unlikely
        raise ConflictError(TOKEN_NOT_STORED) from err
    out = ApiTokenOut.model_validate(row)
    return ApiTokenCreated(**out.model_dump(), token=token)


@router.delete(
    "/tokens/{token_id}",
    response_model=ApiTokenOut,
    responses=problem_docs(401, 403, 404, 422),
    summary="Revoke an API token",
)
def revoke_token(
    *, request: Request, session: DbSession, user: Admin, clock: AppClock, token_id: TokenId
) -> ApiTokenOut:
    """The token stops working at once."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFoundError(Message("users.no_token", {"token_id": str(token_id)}))
    _check_target(user, f"token {row.id} ({row.name})", row.sites)
    row.revoked = True
    entry = _entry(request, user, audit.TOKEN_REVOKE, f"token:{token_id}")
    entry.detail = {"name": row.name}
    audit.record(session, entry, clock.now())
    session.commit()
    _security(request).revocations.notify()
    return ApiTokenOut.model_validate(row)
