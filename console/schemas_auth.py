"""Request and response models of login, users and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bldgwatch.console.paging import When
from bldgwatch.console.policy import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

RoleName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=16,
        json_schema_extra={
            "enum": ["viewer", "engineer", "technician", "supervisor", "admin", "contractor"]
        },
    ),
]
"""A role; an unknown one is refused with 400 naming it (the document lists the known ones)."""
SiteName = Annotated[str, Field(min_length=1, max_length=64)]
Roles = Annotated[list[RoleName], Field(min_length=1, max_length=5)]
Sites = Annotated[list[SiteName], Field(max_length=500)]

PASSWORD_RULES = (
    f"{MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters, not only whitespace, and not easy "
    "to guess (common passwords, names and simple patterns are refused)."
)


class TokenPair(BaseModel):
    """The answer to a login or refresh (OAuth2 token response)."""

    access_token: str = Field(
        description="Short-lived JWT naming the session; send as `Authorization: Bearer`."
    )
    token_type: str = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(
        description="Opaque, single use: trade it at /api/auth/refresh for the next pair "
        "(a spent one, presented again, ends the session)."
    )
    refresh_expires_in: int = Field(
        description="Seconds the refresh token (and the session, unless refreshed) is valid."
    )
    session_id: str = Field(description="The session these tokens belong to.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs…",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "bwr_Q2hhbmdlIG1lIGV2ZXJ5IHRpbWU…",
                    "refresh_expires_in": 604800,
                    "session_id": "3q2-7wEXAMPLEid9Vg",
                }
            ]
        }
    )


class RefreshRequest(BaseModel):
    """A refresh token to trade for a new token pair."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "bwr_Q2hhbmdlIG1lIGV2ZXJ5IHRpbWU…"}]},
    )

    refresh_token: str = Field(
        min_length=10, max_length=2000, description="The newest refresh token of the session."
    )


class LoggedOut(BaseModel):
    """The session a logout ended."""

    session_id: str
    ended_at: datetime


class PasswordChange(BaseModel):
    """The caller's current password and the new one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "my old passphrase", "new_password": "a new long passphrase"}
            ]
        },
    )

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)
    new_password: str = Field(
        min_length=MIN_PASSWORD_CHARS,
        max_length=MAX_PASSWORD_CHARS,
        description=PASSWORD_RULES,
    )


class Me(BaseModel):
    """The signed-in principal."""

    name: str
    roles: list[str]
    sites: list[str] | None = Field(description="Sites visible; null for every site.")
    kind: str = Field(description="user or token.")
    contractor: str | None = Field(
        None, description="The contractor (维保单位) a user of role contractor acts for."
    )


class UserOut(BaseModel):
    """A user account (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    display_name: str
    roles: list[str]
    sites: list[str] | None
    disabled: bool
    created_at: datetime
    contractor: str | None = Field(
        None, description="The contractor a user of role contractor acts for."
    )


class UserCreate(BaseModel):
    """A new user account."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "li.wei",
                    "password": "a long passphrase",
                    "roles": ["technician"],
                    "sites": ["demo"],
                    "display_name": "李伟",
                }
            ]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._@-]+$",
        description="Unique without regard to case.",
    )
    password: str = Field(
        min_length=MIN_PASSWORD_CHARS, max_length=MAX_PASSWORD_CHARS, description=PASSWORD_RULES
    )
    roles: Roles = Field(description="viewer, engineer, technician, …")
    sites: Sites | None = Field(None, description="Visible sites; null for every site.")
    display_name: str = Field("", max_length=200)
    contractor: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Required with the role contractor (then the only role), refused otherwise: "
        "the contractor (维保单位) the user acts for.",
    )


class UserUpdate(BaseModel):
    """Changes to a user; absent fields stay."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"roles": ["supervisor"]}]}
    )

    password: str | None = Field(
        None,
        min_length=MIN_PASSWORD_CHARS,
        max_length=MAX_PASSWORD_CHARS,
        description=f"{PASSWORD_RULES} Ends every session and API token of the user.",
    )
    roles: Roles | None = Field(
        None, description="A change ends every session and API token of the user."
    )
    sites: Sites | None = None
    all_sites: bool = Field(False, description="true: clear the site restriction.")
    display_name: str | None = Field(None, max_length=200)
    contractor: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The contractor a user of role contractor acts for (see UserCreate).",
    )
    disabled: bool | None = Field(
        None,
        description="true ends every session and API token of the user; enabling again "
        "revives none of them.",
    )


class ApiTokenCreate(BaseModel):
    """A new machine credential."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "bms-bridge", "roles": ["viewer"], "sites": ["demo"]}]
        },
    )

    name: str = Field(min_length=1, max_length=64)
    roles: Roles
    sites: Sites | None = None
    expires_at: When | None = Field(None, description="No expiry when absent; before 2200-01-01.")


class ApiTokenOut(BaseModel):
    """An API token's record (the secret is shown only when created)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    roles: list[str]
    sites: list[str] | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


class ApiTokenCreated(ApiTokenOut):
    """A freshly made token, with its secret."""

    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown only once.")


class SessionOut(BaseModel):
    """A login session (its tokens are never shown)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_name: str
    created_at: datetime
    refreshed_at: datetime = Field(description="Last refresh (rotation) of its refresh token.")
    expires_at: datetime = Field(description="When it ends unless refreshed.")
    address: str = Field(description="Client address at login.")
    revoked_at: datetime | None
    revoked_reason: str | None = Field(
        description="logout, refresh token reuse, password changed, roles changed, user "
        "disabled, revoked by an admin."
    )


class Revoked(BaseModel):
    """What a revocation ended."""

    sessions: int = Field(description="Sessions ended.")
    tokens: int = Field(description="API tokens (made by the user) revoked.")


class AuditEntryOut(BaseModel):
    """One audited event."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str = Field(description="User name, `token:<name>`, or the name a login tried.")
    address: str = Field(description="Client address (X-Forwarded-For of trusted proxies).")
    action: str = Field(
        description="login, login.failed, login.throttled, logout, session.revoke, "
        "user.create, user.update, user.password, user.revoke, token.create, token.revoke, "
        "alarm.acknowledge, alarm.shelve, alarm.unshelve, alarm.comment, work_order.request, "
        "work_order.assign, work_order.transition, work_order.labour."
    )
    target: str = Field(description="What it acted on, e.g. `alarm:…`, `work_order:12`.")
    site: str | None = Field(description="The target's site, when it has one.")
    result: str = Field(
        description="ok, or why not: unauthorized, denied, not_found, conflict, invalid, "
        "throttled, unavailable, error."
    )
    status: int | None = Field(description="HTTP status of the answer.")
    detail: dict[str, Any] = Field(description="What was asked, e.g. the new status or roles.")
