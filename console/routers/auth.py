"""Login (OAuth2 password flow), token refresh and who-am-I."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from bldgwatch.console.auth import CurrentUser, SecurityContext, public, user_of_row
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import TooManyAttemptsError, UnauthorizedError
from bldgwatch.console.models import UserRow
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_auth import Me, RefreshRequest, TokenPair
from bldgwatch.console.security import ACCESS, REFRESH, TokenError, issue_token, read_token
from bldgwatch.console.users import verify_login
from bldgwatch.core.clock import Clock

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _security(request: Request) -> SecurityContext:
    return cast(SecurityContext, request.app.state.security)


def _pair(security: SecurityContext, name: str, clock: Clock) -> TokenPair:
    now = clock.now()
    return TokenPair(
        access_token=issue_token(security.secret, name, ACCESS, now=now, ttl=security.access_ttl),
        expires_in=int(security.access_ttl.total_seconds()),
        refresh_token=issue_token(
            security.secret, name, REFRESH, now=now, ttl=security.refresh_ttl
        ),
    )


@router.post(
    "/token",
    response_model=TokenPair,
    dependencies=[Depends(public)],
    responses=problem_docs(401, 422, 429),
    summary="Log in (OAuth2 password flow)",
)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
    clock: AppClock,
) -> TokenPair:
    """Trade user name and password for an access token and a refresh token.

    Failed attempts are limited per user name and client address (429 with Retry-After).
    """
    security = _security(request)
    address = request.client.host if request.client else "?"
    wait = security.limiter.retry_after(form.username, address)
    if wait is not None:
        raise TooManyAttemptsError(
            f"too many failed logins for {form.username}; retry in {wait} s", retry_after_s=wait
        )
    row = verify_login(session, form.username, form.password)
    if row is None:
        security.limiter.failed(form.username, address)
        raise UnauthorizedError("wrong user name or password")
    security.limiter.succeeded(form.username, address)
    return _pair(security, row.name, clock)


@router.post(
    "/refresh",
    response_model=TokenPair,
    dependencies=[Depends(public)],
    responses=problem_docs(401, 422),
    summary="New tokens for a refresh token",
)
def refresh(
    request: Request, body: RefreshRequest, session: DbSession, clock: AppClock
) -> TokenPair:
    """A fresh token pair, while the refresh token is valid and the user still enabled."""
    security = _security(request)
    try:
        claims = read_token(security.secret, body.refresh_token, REFRESH, now=clock.now())
    except TokenError as err:
        raise UnauthorizedError(str(err)) from err
    row = session.get(UserRow, claims.subject)
    if row is None or row.disabled:
        raise UnauthorizedError(f"user {claims.subject} no longer exists or is disabled")
    return _pair(security, user_of_row(row).name, clock)


@router.get("/me", response_model=Me, responses=problem_docs(401), summary="Who am I")
def me(user: CurrentUser) -> Me:
    """The signed-in user's name, roles and visible sites."""
    return Me(
        name=user.name,
        roles=sorted(user.roles),
        sites=None if user.sites is None else sorted(user.sites),
        kind=user.kind,
    )
