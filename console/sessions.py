"""Sessions: one per login, its family of refresh tokens, and the revocations that end them.

A login opens a session and hands out its first refresh token. Each refresh trades the
current refresh token for a new one (rotation); presenting a token that was already traded in
means two parties hold the family, so the whole session is revoked (reuse detection). Access
tokens carry the session id, and every request checks that the session is live. Only hashes of
refresh tokens are stored. Everything here works on the caller's SQL session; the caller
commits (a refused refresh commits too: the revocation must stick).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from bldgwatch.console.errors import MessageError
from bldgwatch.console.models import ApiTokenRow, RefreshTokenRow, SessionRow, UserRow
from bldgwatch.console.security import api_token_hash, new_refresh_token, new_session_id
from bldgwatch.core.i18n import Message

# Why a session ended (`revoked_reason`); also the audit log's words.
LOGOUT = "logout"
REUSE = "refresh token reuse"
PASSWORD_CHANGED = "password changed"
ROLES_CHANGED = "roles changed"
DISABLED = "user disabled"
ADMIN_REVOKED = "revoked by an admin"

UNKNOWN_SESSION = "unknown session"
DELETED = "deleted"
_REASONS = {
    LOGOUT: "logout",
    REUSE: "reuse",
    PASSWORD_CHANGED: "password_changed",
    ROLES_CHANGED: "roles_changed",
    DISABLED: "disabled",
    ADMIN_REVOKED: "admin_revoked",
    UNKNOWN_SESSION: "unknown",
    DELETED: "deleted",
}
"""Each reason's key in the catalogue (`session.reason.<key>`); the stored words stay English."""


def reason_text(reason: str | None) -> Message | str:
    """Why a session ended, as the reader reads it (an unknown stored reason as written)."""
    key = _REASONS.get(reason or "")
    return Message(f"session.reason.{key}") if key else str(reason)


def ended(sid: str, reason: str | None) -> Message:
    """`session … has ended (why): log in again`."""
    return Message("session.ended", {"sid": sid, "why": reason_text(reason)})


@dataclass(frozen=True, slots=True)
class Issued:
    """What a login or a refresh hands out besides the access token."""

    session_id: str
    user_name: str
    refresh_token: str
    expires_at: datetime


class RefreshRefused(MessageError):  # noqa: N818 - a refusal, reported as 401
    """The refresh token does not open a new pair; `revoked` names a session it ended."""

    def __init__(
        self,
        message: Message,
        *,
        session_id: str | None = None,
        revoked: bool = False,
        user: str = "",
    ) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.revoked = revoked
        self.user = user


def _hand_out(
    db: Session, session_id: str, *, at: datetime, ttl: timedelta
) -> tuple[str, datetime]:
    token, digest = new_refresh_token()
    expires = at + ttl
    db.add(
        RefreshTokenRow(token_hash=digest, session_id=session_id, issued_at=at, expires_at=expires)
    )
    return token, expires


def open_session(
    db: Session, user_name: str, *, at: datetime, ttl: timedelta, address: str = ""
) -> Issued:
    """A new session of `user_name` with its first refresh token (valid for `ttl`)."""
    sid = new_session_id()
    db.add(
        SessionRow(
            id=sid,
            user_name=user_name,
            created_at=at,
            refreshed_at=at,
            expires_at=at + ttl,
            address=address[:64],
        )
    )
    db.flush()
    token, expires = _hand_out(db, sid, at=at, ttl=ttl)
    return Issued(sid, user_name, token, expires)


def rotate(db: Session, token: str, *, at: datetime, ttl: timedelta) -> Issued:
    """Trade a refresh token for the next one of its session; RefreshRefused otherwise.

    A token already traded in revokes its session (the caller must commit that)."""
    row = db.get(RefreshTokenRow, api_token_hash(token))
    if row is None:
        raise RefreshRefused(Message("session.refresh_unknown"))
    if row.expires_at <= at:
        raise RefreshRefused(Message("session.refresh_expired"), session_id=row.session_id)
    live = db.get(SessionRow, row.session_id)
    if live is None or live.revoked_at is not None:
        why = live.revoked_reason if live is not None else DELETED
        user_name = live.user_name if live is not None else ""
        raise RefreshRefused(
            ended(row.session_id, why),
            session_id=row.session_id,
            user=user_name,
        )
    user = db.get(UserRow, live.user_name)
    if user is None or user.disabled:
        raise RefreshRefused(
            Message("session.user_gone", {"user": live.user_name}),
            session_id=live.id,
            user=live.user_name,
        )
    claimed = db.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.token_hash == row.token_hash, RefreshTokenRow.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        end_session(db, live.id, at=at, reason=REUSE)
        raise RefreshRefused(
            Message("session.refresh_reused", {"sid": live.id}),
            session_id=live.id,
            revoked=True,
            user=live.user_name,
        )
    new_token, expires = _hand_out(db, live.id, at=at, ttl=ttl)
    live.refreshed_at = at
    live.expires_at = expires
    return Issued(live.id, live.user_name, new_token, expires)


def end_session(db: Session, session_id: str, *, at: datetime, reason: str) -> bool:
    """Revoke one session; False when it was not live."""
    done = db.execute(
        update(SessionRow)
        .where(SessionRow.id == session_id, SessionRow.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.expire_all()
    return bool(done.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Ended:
    """How many sessions and API tokens a revocation ended."""

    sessions: int
    tokens: int


def end_everything(db: Session, user_name: str, *, at: datetime, reason: str) -> Ended:
    """Revoke every live session of the user and every API token the user made."""
    sessions = db.execute(
        update(SessionRow)
        .where(SessionRow.user_name == user_name, SessionRow.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    tokens = db.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.created_by == user_name, ApiTokenRow.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    db.expire_all()
    return Ended(sessions.rowcount, tokens.rowcount)  # type: ignore[attr-defined]


class SessionEnded(MessageError):  # noqa: N818 - reported as 401
    """The session of an access token is not live; the message says why."""


def live_user(db: Session, session_id: str, user_name: str, now: datetime) -> UserRow:
    """The enabled user of a live session (not revoked, not expired); SessionEnded if not."""
    live = db.get(SessionRow, session_id)
    if live is None or live.user_name != user_name:
        raise SessionEnded(ended(session_id, UNKNOWN_SESSION))
    if live.revoked_at is not None:
        raise SessionEnded(ended(session_id, live.revoked_reason))
    if live.expires_at <= now:
        raise SessionEnded(Message("session.expired", {"sid": session_id}))
    user = db.get(UserRow, user_name)
    if user is None or user.disabled:
        raise SessionEnded(Message("session.user_gone", {"user": user_name}))
    return user
