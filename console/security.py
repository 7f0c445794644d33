"""Credentials: password hashing (argon2id), JWT access tokens, opaque refresh tokens, API
tokens, the signing secret.

Pure functions over plain data; the database and HTTP sides live in `console.users` and
`console.auth`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bldgwatch.console.errors import InsecureSecretError, MessageError
from bldgwatch.console.policy import PolicyError, check_secret
from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.i18n import Message

SECRET_ENV = "BLDGWATCH_SECRET"  # noqa: S105 - the variable name, not a secret
DEV_SECRET = "bldgwatch-dev-secret-do-not-use-in-production"  # noqa: S105 - dev mode only
ALGORITHM = "HS256"
API_TOKEN_PREFIX = "bwt_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "bwr_"  # noqa: S105 - a prefix, not a secret
ACCESS = "access"
REFRESH = "refresh"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (with its own salt and parameters) of `password`."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches `stored_hash`; False for a malformed hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not tell names apart.

    Made at the first unknown name, not at import: every process that imports this module
    (each CLI command, each worker) paid for a hash it mostly never used."""
    return hash_password(secrets.token_urlsafe(16))


def resolve_secret(environ: Mapping[str, str], *, dev: bool) -> bytes:
    """The signing secret from the environment; the dev default only in dev mode.

    Raises InsecureSecretError outside dev when the secret is missing, the default, or too
    predictable (its strength is judged by estimated entropy, see `console.policy`).
    """
    value = environ.get(SECRET_ENV, "")
    if not value:
        if dev:
            return DEV_SECRET.encode()
        raise InsecureSecretError(f"{SECRET_ENV} is not set; outside dev mode it is required")
    if dev:
        return value.encode()
    if value == DEV_SECRET:
        raise InsecureSecretError(f"{SECRET_ENV} is the development default")
    try:
        check_secret(value, env=SECRET_ENV)
    except PolicyError as err:
        raise InsecureSecretError(str(err)) from err
    return value.encode()


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says."""

    subject: str
    kind: str
    expires: datetime
    session: str | None = None


class TokenError(MessageError, ValueError):
    """A token that is malformed, forged, expired or of the wrong kind (`token.*`)."""


def issue_token(
    secret: bytes,
    subject: str,
    kind: str,
    *,
    now: datetime,
    ttl: timedelta,
    session: str | None = None,
) -> str:
    """A signed JWT for `subject` of `kind`, valid from `now` for `ttl`, naming its `session`
    (the `sid` claim; every access token of a login carries its session's id)."""
    claims: dict[str, Any] = {
        "sub": subject,
        "typ": kind,
        "iat": to_epoch_ms(now) // 1000,
        "exp": to_epoch_ms(now + ttl) // 1000,
        "jti": secrets.token_hex(8),
    }
    if session is not None:
        claims["sid"] = session
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: bytes, token: str, kind: str, *, now: datetime) -> Claims:
    """Verify signature, kind and expiry against `now`; raises TokenError."""
    try:
        data = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,  # checked against the injected clock below
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["sub", "typ", "exp"],
            },
        )
    except jwt.PyJWTError as err:
        raise TokenError(Message("token.invalid", {"detail": str(err)})) from err
    if data["typ"] != kind:
        raise TokenError(Message("token.wrong_kind", {"typ": str(data["typ"]), "kind": kind}))
    expires = _expiry(data["exp"], now)
    if expires <= now:
        raise TokenError(Message("token.expired"))
    sid = data.get("sid")
    return Claims(
        subject=str(data["sub"]),
        kind=kind,
        expires=expires,
        session=None if sid is None else str(sid),
    )


_LAST_EXPIRY = 7_258_118_400
"""2200-01-01T00:00:00Z: no token of this console expires later."""


def _expiry(exp: object, now: datetime) -> datetime:
    """The `exp` claim as a time; TokenError unless a whole number of seconds since 1970
    before 2200 (a forged claim must not reach the clock arithmetic)."""
    if isinstance(exp, bool) or not isinstance(exp, int) or not 0 <= exp < _LAST_EXPIRY:
        raise TokenError(Message("token.bad_expiry", {"exp": repr(exp)}))
    return datetime.fromtimestamp(exp, tz=now.tzinfo)


def new_api_token() -> tuple[str, str]:
    """A fresh API token and the hash to store (the token itself is shown once)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, api_token_hash(token)


def api_token_hash(token: str) -> str:
    """SHA-256 hex of an API token (high-entropy secrets need no slow KDF)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the hash to store (the token goes to the client)."""
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, api_token_hash(token)


def new_session_id() -> str:
    """A random session id (22 characters, 128 bits)."""
    return secrets.token_urlsafe(16)
