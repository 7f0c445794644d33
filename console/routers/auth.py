"""Login (OAuth2 password flow), refresh with rotation, logout, password change, who-am-I."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bldgwatch.console import audit
from bldgwatch.console.audit import AuditEntry, client_address
from bldgwatch.console.auth import AnyAccount, SecurityContext, User, public
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import (
    BadParameterError,
    BusyError,
    ForbiddenError,
    TooManyAttemptsError,
    UnauthorizedError,
)
from bldgwatch.console.models import SessionRow, UserRow
from bldgwatch.console.policy import MAX_PASSWORD_CHARS
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.ratelimit import KNOWN_FOR
from bldgwatch.console.schemas_auth import (
    LoggedOut,
    Me,
    PasswordChange,
    RefreshRequest,
    TokenPair,
)
from bldgwatch.console.security import ACCESS, dummy_hash, issue_token
from bldgwatch.console.sessions import (
    LOGOUT,
    PASSWORD_CHANGED,
    Issued,
    RefreshRefused,
    end_everything,
    end_session,
    open_session,
    rotate,
)
from bldgwatch.console.users import set_password
from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message

router = APIRouter(prefix="/api/auth", tags=["auth"])

WRONG_CREDENTIALS = Message("auth.wrong_credentials")
WRONG_CURRENT_PASSWORD = Message("auth.wrong_current_password")
ACCESS_AS_REFRESH = Message("auth.access_as_refresh")


def _security(request: Request) -> SecurityContext:
    return cast(SecurityContext, request.app.state.security)


def _sessions(request: Request) -> sessionmaker[Session]:
    return cast(sessionmaker[Session], request.app.state.sessions)


def _pair(security: SecurityContext, issued: Issued, clock: Clock) -> TokenPair:
    now = clock.now()
    access = issue_token(
        security.secret,
        issued.user_name,
        ACCESS,
        now=now,
        ttl=security.access_ttl,
        session=issued.session_id,
    )
    return TokenPair(
        access_token=access,
        expires_in=int(security.access_ttl.total_seconds()),
        refresh_token=issued.refresh_token,
        refresh_expires_in=int((issued.expires_at - now).total_seconds()),
        session_id=issued.session_id,
    )


class LoginForm:
    """The OAuth2 password-flow form, with bounded fields."""

    def __init__(
        self,
        username: Annotated[str, Form(min_length=1, max_length=64, description="User name.")],
        password: Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_CHARS)],
        grant_type: Annotated[
            str | None, Form(pattern="^password$", description="`password` when given.")
        ] = None,
        scope: Annotated[str, Form(max_length=200, description="Ignored.")] = "",
    ) -> None:
        self.username = username
        self.password = password
        self.grant_type = grant_type
        self.scope = scope


@dataclass(frozen=True, slots=True)
class _Account:
    name: str
    password_hash: str
    disabled: bool


def _find_account(sessions: sessionmaker[Session], name: str) -> _Account | None:
    with sessions() as db:
        row = db.scalars(select(UserRow).where(UserRow.name_key == name.lower())).one_or_none()
        return None if row is None else _Account(row.name, row.password_hash, row.disabled)


def _open(
    sessions: sessionmaker[Session], security: SecurityContext, entry: AuditEntry, clock: Clock
) -> Issued:
    now = clock.now()
    with sessions.begin() as db:
        issued = open_session(
            db, entry.actor, at=now, ttl=security.refresh_ttl, address=entry.address
        )
        entry.detail["session"] = issued.session_id
        audit.record(db, entry, now)
    return issued


def _recall_known(
    sessions: sessionmaker[Session], security: SecurityContext, now: datetime
) -> None:
    """Remember the addresses of recent sessions in the login limiter (once per process), so
    the real user's usual address stays exempt from the per-name delay after a restart."""
    since = now - KNOWN_FOR
    stmt = (
        select(SessionRow.user_name, SessionRow.address, func.max(SessionRow.created_at))
        .where(SessionRow.created_at > since, SessionRow.address != "")
        .group_by(SessionRow.user_name, SessionRow.address)
    )
    with sessions() as db:
        for name, address, at in db.execute(stmt):
            security.limiter.remember(name, address, at)
    security.limiter.recalled = True


@router.post(
    "/token",
    response_model=TokenPair,
    dependencies=[Depends(public)],
    responses=problem_docs(401, 413, 422, 429, 503),
    summary="Log in (OAuth2 password flow)",
)
async def login(request: Request, form: Annotated[LoginForm, Depends()]) -> TokenPair:
    """Trade user name and password for an access token and the first refresh token of a new
    session. User names are compared without regard to case.

    Failed logins slow down further tries (429 with Retry-After): per user name and address
    progressively, per address after many, and per user name from addresses it has not
    logged in from. Passwords are checked a few at a time: when too many logins wait,
    503 with Retry-After.
    """
    security, sessions = _security(request), _sessions(request)
    clock = cast(Clock, request.app.state.clock)
    entry = AuditEntry(
        audit.LOGIN, actor=form.username, address=client_address(request), target="session"
    )
    if not security.limiter.recalled:
        await run_in_threadpool(_recall_known, sessions, security, clock.now())
    refusal = security.limiter.begin(form.username, entry.address)
    if refusal is not None:
        if refusal.first:
            noted = replace(entry, action=audit.LOGIN_THROTTLED, detail={"scope": refusal.scope})
            await run_in_threadpool(
                audit.append, sessions, noted, clock.now(), result="throttled", status=429
            )
        raise TooManyAttemptsError(refusal.message, retry_after_s=refusal.retry_after_s)
    try:
        known = security.limiter.is_known(form.username, entry.address)
        with security.hashing.admitted(known=known):  # excess: 503 before any thread or query
            account = await run_in_threadpool(_find_account, sessions, form.username)
            stored = account.password_hash if account is not None else dummy_hash()
            matches = await security.hashing.verify_admitted(stored, form.password)
    except BusyError:
        security.limiter.abandon(form.username, entry.address)
        raise
    if account is None or not matches or account.disabled:
        why = "unknown user" if account is None else "disabled" if matches else "wrong password"
        failed = replace(entry, action=audit.LOGIN_FAILED, detail={"reason": why})
        await run_in_threadpool(
            audit.append, sessions, failed, clock.now(), result="unauthorized", status=401
        )
        raise UnauthorizedError(WRONG_CREDENTIALS)
    security.limiter.succeeded(form.username, entry.address)
    entry.actor = account.name
    issued = await run_in_threadpool(_open, sessions, security, entry, clock)
    return _pair(security, issued, clock)


@router.post(
    "/refresh",
    response_model=TokenPair,
    dependencies=[Depends(public)],
    responses=problem_docs(401, 413, 422),
    summary="Rotate the refresh token: a new token pair",
)
def refresh(
    request: Request, body: RefreshRequest, session: DbSession, clock: AppClock
) -> TokenPair:
    """Trade the session's current refresh token for a new access token and a new refresh
    token; the old refresh token is spent. Presenting a spent refresh token again revokes the
    whole session (someone else holds a copy): 401, and the user must log in again. Clients
    that refresh from several tabs must serialise their refreshes."""
    security = _security(request)
    if body.refresh_token.count(".") == 2:
        raise UnauthorizedError(ACCESS_AS_REFRESH)
    now = clock.now()
    address = client_address(request)
    try:
        issued = rotate(session, body.refresh_token, at=now, ttl=security.refresh_ttl)
    except RefreshRefused as err:
        _note_refused(session, err, address, now)
        if err.revoked:
            security.revocations.notify()
        raise UnauthorizedError(err.message) from err
    entry = AuditEntry(
        audit.SESSION_REFRESH,
        actor=issued.user_name,
        address=address,
        target=f"session:{issued.session_id}",
    )
    audit.record(session, entry, now)
    session.commit()
    return _pair(security, issued, clock)


def _note_refused(session: Session, err: RefreshRefused, address: str, now: datetime) -> None:
    """Record a refused refresh (and the session it ended on reuse) and commit."""
    target = f"session:{err.session_id}" if err.session_id else "session"
    if err.revoked:
        revoked = AuditEntry(
            audit.SESSION_REVOKE,
            actor=err.user,
            address=address,
            target=target,
            detail={"reason": "refresh token reuse"},
        )
        audit.record(session, revoked, now)
    refused = AuditEntry(audit.SESSION_REFUSED, actor=err.user, address=address, target=target)
    refused.detail = {"reason": str(err)}
    audit.record(session, refused, now, result="unauthorized", status=401)
    session.commit()


@router.post(
    "/logout",
    response_model=LoggedOut,
    responses=problem_docs(400, 401),
    summary="Log out: end this session",
)
def logout(request: Request, user: AnyAccount, session: DbSession, clock: AppClock) -> LoggedOut:
    """End the session of the access token sent: its refresh token stops working at once and
    its access tokens are refused from the next request on, and an open live stream of it
    closes. Other sessions of the user stay."""
    if user.session is None:
        raise BadParameterError(Message("auth.no_session_to_end", {"name": user.name}))
    now = clock.now()
    end_session(session, user.session, at=now, reason=LOGOUT)
    entry = AuditEntry(
        audit.LOGOUT,
        actor=user.name,
        address=client_address(request),
        target=f"session:{user.session}",
    )
    audit.record(session, entry, now)
    session.commit()
    _security(request).revocations.notify()
    return LoggedOut(session_id=user.session, ended_at=now)


@router.post(
    "/password",
    response_model=TokenPair,
    responses=problem_docs(400, 401, 403, 413, 422, 429, 503),
    summary="Change your password",
)
def change_password(
    request: Request, user: AnyAccount, body: PasswordChange, session: DbSession, clock: AppClock
) -> TokenPair:
    """Check the current password (403 when wrong), set the new one (it must pass the
    password policy: 400 naming why not), end every session and API token of the user, and
    open a new session for this caller (its tokens are the answer)."""
    if user.session is None:
        raise BadParameterError(Message("auth.no_session_to_end", {"name": user.name}))
    security = _security(request)
    address = client_address(request)
    refusal = security.limiter.begin(user.name, address)
    if refusal is not None:
        raise TooManyAttemptsError(refusal.message, retry_after_s=refusal.retry_after_s)
    row = session.get(UserRow, user.name)
    if row is None or not security.hashing.verify_blocking(
        row.password_hash, body.current_password
    ):
        wrong = AuditEntry(
            audit.PASSWORD_CHANGE, actor=user.name, address=address, target=f"user:{user.name}"
        )
        wrong.detail = {"reason": "wrong current password"}
        audit.append(_sessions(request), wrong, clock.now(), result="denied", status=403)
        raise ForbiddenError(WRONG_CURRENT_PASSWORD)
    security.limiter.succeeded(user.name, address)
    set_password(row, body.new_password, security.hashing)
    now = clock.now()
    ended = end_everything(session, user.name, at=now, reason=PASSWORD_CHANGED)
    issued = open_session(session, user.name, at=now, ttl=security.refresh_ttl, address=address)
    entry = AuditEntry(
        audit.PASSWORD_CHANGE,
        actor=user.name,
        address=address,
        target=f"user:{user.name}",
        detail={"sessions_ended": ended.sessions, "tokens_revoked": ended.tokens},
    )
    audit.record(session, entry, now)
    session.commit()
    security.revocations.notify()
    return _pair(security, issued, clock)


def _me(user: User) -> Me:
    return Me(
        name=user.name,
        roles=sorted(user.roles),
        sites=None if user.sites is None else sorted(user.sites),
        kind=user.kind,
        contractor=user.contractor,
    )


@router.get("/me", response_model=Me, responses=problem_docs(401), summary="Who am I")
def me(user: AnyAccount) -> Me:
    """The signed-in user's name, roles and visible sites."""
    return _me(user)
