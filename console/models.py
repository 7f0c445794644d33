"""SQL tables the console owns: users and API tokens (migration 0004_console).

Alarm comments are alarm history and belong to `rules` (`alarm_comments`, migration 0006).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class UserRow(Base):
    """A person who logs in with a password."""

    __tablename__ = "console_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
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
    0010_console). Kept apart from the account: changing them is the user's, not an admin's."""

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
