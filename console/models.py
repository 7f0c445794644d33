"""SQL tables the console owns: users, API tokens, sessions with their refresh tokens, and
the audit log (migrations 0004_console and 0010_console_security), and each user's
preferences (0014_console_preferences), and the versions of the gateways' configurations
pushed from the console (0040_console_gateway_configs).

Alarm comments are alarm history and belong to `rules` (`alarm_comments`, migration 0006).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Unicode, false
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


def _folded_name(context: Any) -> str:
    """The default of `name_key`: the user name in lower case."""
    return str(context.get_current_parameters()["name"]).lower()


class UserRow(Base):
    """A person who logs in with a password."""

    __tablename__ = "console_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_key: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        default=_folded_name,
        doc="The name in lower case: user names are unique without regard to case.",
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    sites: Mapped[list[str] | None] = mapped_column(
        JSON, nullable=True, doc="Sites the user may see; null for every site."
    )
    display_name: Mapped[str] = mapped_column(String(200), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiTokenRow(Base):
    """A machine credential: only the SHA-256 of the secret is stored."""

    __tablename__ = "console_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    sites: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PreferenceRow(Base):
    """A user's own settings of the console: language and the audible alarm cue (migration
    0014_console_preferences). Kept apart from the account: changing them is the user's, not
    an admin's."""

    __tablename__ = "console_preferences"

    user: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(
        String(8), nullable=True, doc="zh-CN or en; null: the browser's, then the site's."
    )
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    cue: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, doc="Audible cue per priority: {'1': {'sound': bool, 'every_s': n}}."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SessionRow(Base):
    """One login: the family of refresh tokens it hands out, and the access tokens naming it."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_name: Mapped[str] = mapped_column(
        String(64), ForeignKey("console_users.name", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(
        UtcDateTime, doc="The newest refresh token's expiry: the session ends then."
    )
    address: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RefreshTokenRow(Base):
    """A refresh token of a session (SHA-256 only); `used_at` set once it was traded in."""

    __tablename__ = "console_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("console_sessions.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AuditRow(Base):
    """One audited event; the table is append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(
        String(100), index=True, doc="User name, `token:<name>`, or the name a login tried."
    )
    address: Mapped[str] = mapped_column(String(64), default="", doc="Client address.")
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    site: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    result: Mapped[str] = mapped_column(String(16), doc="ok, or why not: denied, conflict, …")
    status: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="HTTP status.")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GatewayConfigRow(Base):
    """One version of a gateway's configuration pushed from the console (0037)."""

    __tablename__ = "console_gateway_configs"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Unicode(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
