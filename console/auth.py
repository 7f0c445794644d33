"""Who is asking, and may they: bearer tokens (JWT access tokens or API tokens), roles and
site scoping.

Every route declares its access rule: `Depends(require(...))` (or `public`). A test walks
the route table, so a route without a rule fails the build.

Roles: viewer (read), engineer (alarms), technician (own work orders), supervisor (plans,
assignment, reports), admin (users, config; allowed everything), contractor (a user of one
contractor, 维保单位: only the orders dispatched to it and its own account; a rule lets it in
only when it names the role or says `contractors=True`, so a rule for "any user" keeps it out).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import ColumnElement, SQLColumnExpression, select, true
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.console.errors import ForbiddenError, UnauthorizedError
from bldgwatch.console.hashgate import HashGate
from bldgwatch.console.models import ApiTokenRow, UserRow
from bldgwatch.console.ratelimit import LoginLimiter
from bldgwatch.console.revocation import RevocationSignal
from bldgwatch.console.security import (
    ACCESS,
    API_TOKEN_PREFIX,
    TokenError,
    api_token_hash,
    read_token,
)
from bldgwatch.console.sessions import SessionEnded, live_user
from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import LOCALES, Message, catalogue
from bldgwatch.maintenance.contractormodels import ContractorAccountRow

NO_CREDENTIALS = Message("auth.no_credentials")
API_TOKEN_REVOKED = Message("auth.api_token_revoked")
API_TOKEN_EXPIRED = Message("auth.api_token_expired")
NO_SESSION = Message("auth.no_session")

VIEWER, ENGINEER, TECHNICIAN, SUPERVISOR, ADMIN, CONTRACTOR = (
    "viewer",
    "engineer",
    "technician",
    "supervisor",
    "admin",
    "contractor",
)
ROLES = (VIEWER, ENGINEER, TECHNICIAN, SUPERVISOR, ADMIN, CONTRACTOR)
STAFF = frozenset({VIEWER, ENGINEER, TECHNICIAN, SUPERVISOR, ADMIN})
"""The property team's roles: everyone but a contractor's users."""


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated principal (a person or an API token); `sites` None means every site."""

    name: str
    roles: frozenset[str]
    sites: frozenset[str] | None = None
    kind: str = "user"
    session: str | None = None
    """The session of a person's access token (None for API tokens)."""
    expires: datetime | None = None
    """When the credential stops working by itself (access-token or API-token expiry)."""
    owner: str | None = None
    """The person an API token acts for (who made it); None for a person."""
    contractor: str | None = None
    """The contractor a user of role contractor acts for (None: none bound, sees no order)."""

    @property
    def is_contractor(self) -> bool:
        """A contractor's user (holds the role and none of the property team's)."""
        return CONTRACTOR in self.roles and not self.roles & STAFF

    def may_see_order(self, site: str, contractor: str | None) -> bool:
        """Whether the user may see an order of `site` dispatched to `contractor`: a
        contractor's user only its own contractor's."""
        if not self.may_see(site):
            return False
        return not self.is_contractor or (contractor is not None and contractor == self.contractor)

    @property
    def person(self) -> str:
        """The person accountable: the user, or the maker of an API token."""
        return self.owner if self.owner is not None else self.name

    def site_filter(self, column: SQLColumnExpression[str]) -> ColumnElement[bool]:
        """A WHERE clause limiting `column` (a site column) to the user's sites."""
        if self.sites is None:
            return true()
        return column.in_(sorted(self.sites))

    def may_see(self, site: str) -> bool:
        """Whether the user may see anything of `site`."""
        return self.sites is None or site in self.sites

    def has_any(self, roles: frozenset[str]) -> bool:
        """Whether the user holds one of `roles` (admins hold every role)."""
        return ADMIN in self.roles or bool(self.roles & roles)


@dataclass
class SecurityContext:
    """Per-app security state: the signing secret, token lifetimes, the login limiter, the
    bounded password hashing, and the signal that tells open streams of a revocation."""

    secret: bytes
    access_ttl: timedelta
    refresh_ttl: timedelta
    limiter: LoginLimiter
    hashing: HashGate
    revocations: RevocationSignal


oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    auto_error=False,
    description="Log in at /api/auth/token (OAuth2 password flow) or send an API token.",
)


def user_of_row(
    row: UserRow,
    *,
    session: str | None = None,
    expires: datetime | None = None,
    contractor: str | None = None,
) -> User:
    """The principal of a stored user (signed in with `session`)."""
    sites = None if row.sites is None else frozenset(row.sites)
    return User(
        name=row.name,
        roles=frozenset(row.roles),
        sites=sites,
        session=session,
        expires=expires,
        contractor=contractor,
    )


def contractor_of(session: Session, name: str) -> str | None:
    """The contractor the user `name` acts for, if any."""
    return session.scalar(
        select(ContractorAccountRow.contractor).where(ContractorAccountRow.user == name)
    )


def _api_token_user(session: Session, token: str, now: datetime) -> User:
    api = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.token_hash == api_token_hash(token))
    ).one_or_none()
    if api is None or api.revoked:
        raise UnauthorizedError(API_TOKEN_REVOKED)
    if api.expires_at is not None and api.expires_at <= now:
        raise UnauthorizedError(API_TOKEN_EXPIRED)
    sites = None if api.sites is None else frozenset(api.sites)
    return User(
        name=f"token:{api.name}",
        roles=frozenset(api.roles),
        sites=sites,
        kind="token",
        expires=api.expires_at,
        owner=api.created_by,
    )


def authenticate(
    session: Session, security: SecurityContext, token: str | None, now: datetime
) -> User:
    """The principal a bearer token stands for; UnauthorizedError naming why not.

    An access token works while it has not expired and its session is live (not logged out,
    revoked or expired, and its user enabled): one primary-key look-up per request, so a
    revocation takes effect on the next request in every console process.
    """
    if not token:
        raise UnauthorizedError(NO_CREDENTIALS)
    if token.startswith(API_TOKEN_PREFIX):
        return _api_token_user(session, token, now)
    try:
        claims = read_token(security.secret, token, ACCESS, now=now)
    except TokenError as err:
        raise UnauthorizedError(err.message) from err
    if claims.session is None:
        raise UnauthorizedError(NO_SESSION)
    try:
        row = live_user(session, claims.session, claims.subject, now)
    except SessionEnded as err:
        raise UnauthorizedError(err.message) from err
    contractor = contractor_of(session, row.name) if CONTRACTOR in row.roles else None
    return user_of_row(row, session=claims.session, expires=claims.expires, contractor=contractor)


def _state_of(request: Request) -> tuple[sessionmaker[Session], SecurityContext, Clock]:
    state = request.app.state
    return (
        cast(sessionmaker[Session], state.sessions),
        cast(SecurityContext, state.security),
        cast(Clock, state.clock),
    )


class AccessRule:
    """A dependency that authenticates the request and checks the user's roles.

    `roles` empty: any authenticated user of the property team, and a contractor's user too
    when `contractors`. The route table test finds these by type.
    """

    def __init__(self, roles: frozenset[str], what: str, *, contractors: bool = False) -> None:
        self.roles = roles
        self.what = Message(f"auth.what.{what}")
        self.contractors = contractors or CONTRACTOR in roles

    def _refuse(self, user: User) -> None:
        have = role_names(user.roles) or Message("auth.no_roles")
        params = {"what": self.what, "roles": role_names(self.roles or STAFF)}
        raise ForbiddenError(Message("auth.forbidden", {**params, "user": user.name, "have": have}))

    def __call__(
        self, request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
    ) -> User:
        sessions, security, clock = _state_of(request)
        with sessions() as session:
            user = authenticate(session, security, token, clock.now())
        request.state.user = user  # before the role check: a refusal is audited with its name
        if user.is_contractor and not self.contractors:
            self._refuse(user)
        if self.roles and not user.has_any(self.roles):
            self._refuse(user)
        return user

    def __repr__(self) -> str:
        return f"AccessRule({sorted(self.roles)}, {self.what.key!r})"


def require(*roles: str, what: str, contractors: bool = False) -> AccessRule:
    """The access rule allowing users with any of `roles` (none given: any signed-in user of
    the property team, and contractors' users too when `contractors`); `what` names what it
    guards, the catalogue's `auth.what.<what>`, in a refusal."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    missing = [loc for loc in LOCALES if f"auth.what.{what}" not in catalogue(loc)]
    if missing:
        raise ValueError(f"no catalogue text auth.what.{what} in {missing}")
    return AccessRule(frozenset(roles), what, contractors=contractors)


def role_names(roles: Collection[str]) -> list[dict[str, Any]]:
    """The roles as the catalogue names them (`role.<role>`), in the order of ROLES; a role
    the catalogue does not know shows as written."""
    order = {role: i for i, role in enumerate(ROLES)}
    ranked = sorted(roles, key=lambda r: (order.get(r, len(ROLES)), r))
    return [Message(f"role.{r}").to_json(default=r) for r in ranked]


class PublicAccess:
    """The explicit rule of routes anyone may call (login, health, the dashboard page)."""

    def __call__(self) -> None:
        return None


public = PublicAccess()

ANY_USER = require(what="reading")
SIGNED_IN = require(what="own_account", contractors=True)
ORDER_READERS = require(what="reading_orders", contractors=True)
ALARM_WRITERS = require(ENGINEER, SUPERVISOR, what="changing_alarms")
WORK_ORDER_WORKERS = require(TECHNICIAN, SUPERVISOR, CONTRACTOR, what="working_orders")
REQUESTERS = require(ENGINEER, TECHNICIAN, SUPERVISOR, what="repair_requests")
COMMENTERS = require(ENGINEER, TECHNICIAN, SUPERVISOR, CONTRACTOR, what="commenting")
SUPERVISORS = require(SUPERVISOR, what="supervising")
SPOT_APPROVERS = require(SUPERVISOR, what="approving_spot")
"""Who approves or rejects spot purchases: a supervisor within their approval limit, a
manager above it (review 19f L3: the refusal spoke of planning and reports)."""
COMPLAINT_READERS = require(VIEWER, ENGINEER, SUPERVISOR, what="reading_complaints")
COMPLAINT_HANDLERS = require(ENGINEER, SUPERVISOR, what="handling_complaints")
DRILL_TIMERS = require(ENGINEER, TECHNICIAN, SUPERVISOR, what="timing_drills")
RESCUERS = require(ENGINEER, TECHNICIAN, SUPERVISOR, CONTRACTOR, what="releasing_passengers")
"""Who records trapped passengers released: the team, and the lift company's user on an
entrapment order dispatched to its contractor (review 19c-d M6)."""
ADMINS = require(ADMIN, what="administering")
ROUND_WORKERS = require(TECHNICIAN, SUPERVISOR, what="doing_rounds")
PART_BOOKERS = require(TECHNICIAN, SUPERVISOR, what="booking_parts")
"""Who reverses a hand booking of parts (a contractor's user books none; review 19e M5)."""
LINE_REVERSERS = require(TECHNICIAN, SUPERVISOR, what="reversing_lines")
"""Who reverses a labour line or a contractor's charge (review 19f H2)."""

CurrentUser = Annotated[User, Depends(ANY_USER)]
AnyAccount = Annotated[User, Depends(SIGNED_IN)]
OrderReader = Annotated[User, Depends(ORDER_READERS)]
AlarmWriter = Annotated[User, Depends(ALARM_WRITERS)]
WorkOrderWorker = Annotated[User, Depends(WORK_ORDER_WORKERS)]
Requester = Annotated[User, Depends(REQUESTERS)]
Supervisor = Annotated[User, Depends(SUPERVISORS)]
SpotApprover = Annotated[User, Depends(SPOT_APPROVERS)]
Commenter = Annotated[User, Depends(COMMENTERS)]
ComplaintReader = Annotated[User, Depends(COMPLAINT_READERS)]
ComplaintHandler = Annotated[User, Depends(COMPLAINT_HANDLERS)]
DrillTimer = Annotated[User, Depends(DRILL_TIMERS)]
Rescuer = Annotated[User, Depends(RESCUERS)]
Admin = Annotated[User, Depends(ADMINS)]
RoundWorker = Annotated[User, Depends(ROUND_WORKERS)]
PartBooker = Annotated[User, Depends(PART_BOOKERS)]
LineReverser = Annotated[User, Depends(LINE_REVERSERS)]
