"""Errors of the console; each maps to one RFC 9457 problem-details response."""

from __future__ import annotations

from core.errors import BldgwatchError


class ProblemError(BldgwatchError):
    """An error the API reports as problem details; subclasses fix status, title and type."""

    status: int = 500
    title: str = "Internal Server Error"
    type: str = "about:blank"

    def __init__(self, detail: str, *, param: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param


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
