"""Channel secrets: encrypted at rest, or referenced from outside the database; never logged.

The alerts key is a Fernet key (AES-128-CBC with HMAC-SHA256, `cryptography`) from the
`BLDGWATCH_ALERTS_KEY` environment variable or a key file readable by its owner only
(mode 0600). A channel's secrets are one encrypted JSON document in its row. A secret may
instead be a reference resolved by the service when it sends: `env:BLDGWATCH_ALERTS_…`
(only variables with that prefix, so a channel cannot be made to carry the console's signing
secret to a URL of someone's choosing) or `file:NAME` (a file in the configured
`secrets_dir`, no path separators).

The same key, through HMAC-SHA256 with a fixed label, gives the key that signs acknowledge
links, so the service (which issues links) and the console (which checks them) share one
secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

from bldgwatch.alerts.config import KEY_ENV
from bldgwatch.alerts.errors import KeyMissingError, SecretError

ENV_PREFIX = "BLDGWATCH_ALERTS_"
_ENV_REF = re.compile(r"^env:(BLDGWATCH_ALERTS_[A-Z0-9_]+)$")
_FILE_REF = re.compile(r"^file:([A-Za-z0-9][A-Za-z0-9_.-]*)$")
_LINK_LABEL = b"bldgwatch alerts acknowledge-link v1"


def _valid_key(key: bytes, source: str) -> bytes:
    try:
        Fernet(key)
    except ValueError as err:
        raise KeyMissingError(
            f"{source}: not a Fernet key (32 url-safe base64-encoded bytes; "
            "`bldgwatch alerts-key FILE` makes one)"
        ) from err
    return key


def load_key(key_file: Path | None, environ: Mapping[str, str]) -> bytes | None:
    """The alerts key from the environment or the key file, or None when neither is set.

    Raises KeyMissingError when the file is unreadable, readable by others, or not a key.
    """
    if environ.get(KEY_ENV):
        return _valid_key(environ[KEY_ENV].strip().encode(), KEY_ENV)
    if key_file is None:
        return None
    try:
        mode = key_file.stat().st_mode
        data = key_file.read_bytes().strip()
    except OSError as err:
        raise KeyMissingError(f"key_file {key_file}: cannot read: {err.strerror}") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyMissingError(
            f"key_file {key_file}: readable by others (mode {stat.S_IMODE(mode):o}); chmod 600"
        )
    return _valid_key(data, f"key_file {key_file}")


def write_key_file(path: Path) -> None:
    """Create a new key file (mode 0600); refuses to overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key() + b"\n")


class SecretBox:
    """Seals and opens channel secrets with the alerts key; derives the link-signing key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self.link_key = hmac.new(key, _LINK_LABEL, hashlib.sha256).digest()

    def seal(self, values: Mapping[str, str]) -> str:
        """The encrypted document of a channel's secrets."""
        return self._fernet.encrypt(orjson.dumps(dict(values))).decode()

    def open(self, sealed: str) -> dict[str, str]:
        """The secrets of an encrypted document; SecretError when the key does not fit."""
        if not sealed:
            return {}
        try:
            data = orjson.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as err:
            raise SecretError("channel secrets do not open with this key") from err
        return {str(k): str(v) for k, v in data.items()}


def check_reference(value: str) -> None:
    """Refuse references other than `env:BLDGWATCH_ALERTS_*` and `file:NAME` (ValueError)."""
    if value.startswith("env:") and not _ENV_REF.match(value):
        raise ValueError(f"an env: reference must name a variable starting with {ENV_PREFIX}")
    if value.startswith("file:") and not _FILE_REF.match(value):
        raise ValueError("a file: reference names a file of secrets_dir, without a path")


def resolve(value: str, *, environ: Mapping[str, str], secrets_dir: Path | None) -> str:
    """The secret a stored value stands for (itself unless a reference)."""
    env = _ENV_REF.match(value)
    if env:
        found = environ.get(env.group(1))
        if not found:
            raise SecretError(f"environment variable {env.group(1)} is not set")
        return found
    ref = _FILE_REF.match(value)
    if ref:
        if secrets_dir is None:
            raise SecretError("a file: secret needs secrets_dir in the alerts config")
        try:
            return (secrets_dir / ref.group(1)).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise SecretError(f"secret file {ref.group(1)}: {err.strerror}") from err
    if value.startswith(("env:", "file:")):
        raise SecretError("not an allowed secret reference")
    return value


_QUERY_SECRET = re.compile(
    r"((?:access_token|key|sign|Signature|AccessKeyId|token)=)[^&\s\"']+", re.IGNORECASE
)
_HOOK_PATH = re.compile(r"(/bot/v2/hook/)[^/?\s\"']+")


class Redactor(logging.Filter):
    """A log filter that masks secrets: every value registered with `add` and the secret
    parts of provider URLs (access_token=, key=, sign=, …, Feishu hook tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        """Mask this value wherever it appears (short values would mask too much: ≥ 6)."""
        if len(value) >= 6:
            self._values.add(value)

    def scrub(self, message: str) -> str:
        """The message with every known secret masked."""
        for value in sorted(self._values, key=len, reverse=True):
            message = message.replace(value, "***")
        message = _QUERY_SECRET.sub(r"\1***", message)
        return _HOOK_PATH.sub(r"\1***", message)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


REDACTOR = Redactor()
"""The process's redactor: channels register the secrets they resolve with it."""


def install_redactor(logger: logging.Logger | None = None) -> None:
    """Put the redactor on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
