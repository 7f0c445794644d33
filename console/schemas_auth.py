"""Request and response models of login, users and API tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenPair(BaseModel):
    """The answer to a login or refresh (OAuth2 token response)."""

    access_token: str = Field(description="Short-lived JWT; send as `Authorization: Bearer`.")
    token_type: str = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(description="Longer-lived JWT for /api/auth/refresh.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs…",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "eyJhbGciOiJIUzI1NiIs…",
                }
            ]
        }
    )


class RefreshRequest(BaseModel):
    """A refresh token to trade for a new token pair."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refresh_token": "eyJhbGciOiJIUzI1NiIs…"}]}
    )

    refresh_token: str = Field(min_length=10, max_length=2000)


class Me(BaseModel):
    """The signed-in principal."""

    name: str
    roles: list[str]
    sites: list[str] | None = Field(description="Sites visible; null for every site.")
    kind: str = Field(description="user or token.")


class UserOut(BaseModel):
    """A user account (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    display_name: str
    roles: list[str]
    sites: list[str] | None
    disabled: bool
    created_at: datetime


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

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=8, max_length=200)
    roles: list[str] = Field(min_length=1, description="viewer, engineer, technician, …")
    sites: list[str] | None = Field(None, description="Visible sites; null for every site.")
    display_name: str = Field("", max_length=200)


class UserUpdate(BaseModel):
    """Changes to a user; absent fields stay."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"roles": ["supervisor"]}]}
    )

    password: str | None = Field(None, min_length=8, max_length=200)
    roles: list[str] | None = None
    sites: list[str] | None = None
    all_sites: bool = Field(False, description="true: clear the site restriction.")
    display_name: str | None = Field(None, max_length=200)
    disabled: bool | None = None


class ApiTokenCreate(BaseModel):
    """A new machine credential."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "bms-bridge", "roles": ["viewer"], "sites": ["demo"]}]
        },
    )

    name: str = Field(min_length=1, max_length=64)
    roles: list[str] = Field(min_length=1)
    sites: list[str] | None = None
    expires_at: datetime | None = Field(None, description="No expiry when absent.")


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
