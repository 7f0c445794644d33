"""Errors of the console; each maps to one RFC 9457 problem-details response."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError, ConfigError
from bldgwatch.core.i18n import Message


class MessageError(Exception):
    """An error whose text is a catalogue message: `str()` is its English (for logs and the
    audit log), `message` renders in the reader's language (for problem details)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.render("en"))
        self.message = message


class ProblemError(BldgwatchError):
    """An error the API reports as problem details; subclasses fix status, title and type.

    `detail` is a catalogue message (rendered in the reader's language) or, where no
    catalogue text exists yet, English text shown as written.
    """

    status: int = 500
    title: str = "Internal Server Error"
    type: str = "about:blank"

    retry_after_s: int | None = None
    """Seconds to wait before retrying (sent as `Retry-After`), when it helps."""

    def __init__(self, detail: str | Message, *, param: str | None = None) -> None:
        self.message = detail if isinstance(detail, Message) else None
        english = detail.render("en") if isinstance(detail, Message) else detail
        super().__init__(english)
        self.detail = english
        self.param = param

    def detail_in(self, locale: str) -> str:
        """The detail in `locale` (English text without a catalogue key stays English)."""
        return self.detail if self.message is None else self.message.render(locale)


class NotFoundError(ProblemError):
    """The addressed resource (work order, alarm, equipment) does not exist."""

    status = 404
    title = "Not Found"
    type = "tag:bldgwatch,2026:problem/not-found"


class BadParameterError(ProblemError):
    """A request parameter is syntactically valid but not acceptable (400); `param` names it."""

    status = 400
    title = "Bad Request"
    type = "tag:bldgwatch,2026:problem/bad-parameter"


class UnavailableError(ProblemError):
    """A dependency (database, schema, InfluxDB) is down or not ready (503)."""

    status = 503
    title = "Service Unavailable"
    type = "tag:bldgwatch,2026:problem/unavailable"


class UpstreamError(ProblemError):
    """InfluxDB answered with an error the console cannot turn into a client error (502)."""

    status = 502
    title = "Bad Gateway"
    type = "tag:bldgwatch,2026:problem/upstream"


class ConsoleStartError(BldgwatchError):
    """The HTTP server could not start (e.g. the port is taken)."""


class UnauthorizedError(ProblemError):
    """No valid credentials (401); the response carries `WWW-Authenticate: Bearer`."""

    status = 401
    title = "Unauthorized"
    type = "tag:bldgwatch,2026:problem/unauthorized"


class ForbiddenError(ProblemError):
    """Authenticated, but the role does not allow this (403)."""

    status = 403
    title = "Forbidden"
    type = "tag:bldgwatch,2026:problem/forbidden"


class ConflictError(ProblemError):
    """The resource's state does not allow the change (409), e.g. acknowledging twice."""

    status = 409
    title = "Conflict"
    type = "tag:bldgwatch,2026:problem/conflict"


class GoneError(ProblemError):
    """The resource existed but is no longer usable (410), e.g. an expired link."""

    status = 410
    title = "Gone"
    type = "tag:bldgwatch,2026:problem/gone"


class TooManyAttemptsError(ProblemError):
    """Too many failed logins for this user or from this address (429)."""

    status = 429
    title = "Too Many Requests"
    type = "tag:bldgwatch,2026:problem/rate-limited"

    def __init__(self, detail: str | Message, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class BusyError(ProblemError):
    """Too much of a bounded kind of work at once, e.g. password hashing (503)."""

    status = 503
    title = "Service Unavailable"
    type = "tag:bldgwatch,2026:problem/busy"

    def __init__(self, detail: str | Message, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class PayloadTooLargeError(ProblemError):
    """The request body is larger than the console accepts (413)."""

    status = 413
    title = "Content Too Large"
    type = "tag:bldgwatch,2026:problem/too-large"


class InsecureSecretError(ConfigError):
    """The signing secret is missing, the default or too short outside dev mode."""


class UnprocessableError(ProblemError):
    """A well-formed request the domain refuses: an unknown part, a budget period, a file
    type (422); `param` names the field."""

    status = 422
    title = "Unprocessable Content"
    type = "tag:bldgwatch,2026:problem/unprocessable"


class TooLargeError(ProblemError):
    """An upload larger than allowed (413)."""

    status = 413
    title = "Content Too Large"
    type = "tag:bldgwatch,2026:problem/too-large"


def said(err: BaseException) -> str | Message:
    """What a domain error says, for a problem detail: its catalogue message when it has one
    (maintenance errors, `MessageError`), else its text."""
    message = getattr(err, "message", None)
    return message if isinstance(message, Message) else str(err)
