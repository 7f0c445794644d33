"""Request limits in front of every route: the body's size (declared or streamed), the
nesting depth of a JSON body and NUL characters anywhere in the request, all answered with a
problem document before any route runs; and query parameters that take one value given once.

Why not FastAPI's own `max_body_size`: on some paths its 413 is plain text, and the depth
check needs the same body anyway. The body is read here up to the limit (chunked bodies
included) and handed on whole, which is what the routes would do with it.

Uploads (`Upload`: a method and path pattern, such as a work order's photos) may be larger
than `max_body_bytes`: they get their own limit, the file's allowance plus room for the
form around it; the route checks the file itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

import orjson
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bldgwatch.console.errors import BadParameterError, PayloadTooLargeError, ProblemError
from bldgwatch.console.problems import error_problem
from bldgwatch.core import i18n

FORM_ROOM = 64 * 1024
"""Room for a multipart form's boundaries, headers and small fields around an uploaded file."""

_ORJSON_TOO_DEEP = "depth limit exceeded"


@dataclass(frozen=True)
class Upload:
    """Requests carrying a file: `method` on paths matching `path`, up to `max_bytes`."""

    method: str
    path: re.Pattern[str]
    max_bytes: int

    @classmethod
    def of_file(cls, method: str, path: str, file_bytes: int) -> Upload:
        """An upload route whose file may be `file_bytes` long (plus the form's room)."""
        return cls(method, re.compile(path), file_bytes + FORM_ROOM)

    def covers(self, scope: Scope) -> bool:
        """Whether the request is one of these uploads."""
        return scope.get("method") == self.method and bool(self.path.match(scope["path"]))


def json_depth(value: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def too_deep(body: bytes, limit: int) -> bool:
    """Whether a JSON body nests deeper than `limit` (invalid JSON is left to the route)."""
    try:
        return json_depth(orjson.loads(body)) > limit
    except orjson.JSONDecodeError as err:
        return _ORJSON_TOO_DEEP in str(err)


def holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value has a NUL character in any string (keys included)."""
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def nul_in_request(scope: Scope, body: bytes) -> str | None:
    """Which part of an HTTP request carries a NUL character, or None.

    PostgreSQL text cannot hold NUL; refused here, a NUL is a 400 naming where it was
    instead of a database error on whichever query first met it.
    """
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query string"
    return "body" if _body_holds_nul(_content_type(scope), body) else None


def _body_holds_nul(kind: bytes, body: bytes) -> bool:
    if kind.startswith(b"multipart/"):
        return False  # uploaded files may be binary
    if b"\x00" in body or (kind == b"application/x-www-form-urlencoded" and b"%00" in body):
        return True
    if not (_is_json(kind) and b"\\u0000" in body):
        return False
    try:
        return holds_nul(orjson.loads(body))
    except orjson.JSONDecodeError:
        return False  # invalid JSON is left to the route


def _content_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind: bytes = value.split(b";", 1)[0].strip().lower()
            return kind
    return b""


def _is_json(kind: bytes) -> bool:
    return kind == b"application/json" or kind.endswith(b"+json")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError as err:
                shown = {"value": repr(value.decode("latin-1")[:40])}
                raise BadParameterError(i18n.Message("limits.bad_length", shown)) from err
    return None


class RequestLimits:
    """ASGI middleware enforcing `max_body_bytes` and `max_json_depth` on HTTP requests."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_json_depth: int,
        uploads: Sequence[Upload] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.uploads = tuple(uploads)

    def _limit(self, scope: Scope) -> tuple[int, i18n.Message]:
        for upload in self.uploads:
            if upload.covers(scope):
                limit = max(upload.max_bytes, self.max_body_bytes)
                return limit, i18n.Message("limits.upload_too_large", {"limit": str(limit)})
        limit = self.max_body_bytes
        return limit, i18n.Message("limits.too_large", {"limit": str(limit)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except ProblemError as refused:
            await self._refuse(scope, send, refused)
            return
        if body is None:  # the client went away
            return
        if body and _is_json(_content_type(scope)) and too_deep(body, self.max_json_depth):
            err = BadParameterError(
                i18n.Message("limits.too_deep", {"limit": str(self.max_json_depth)})
            )
            await self._refuse(scope, send, err)
            return
        where = nul_in_request(scope, body)
        if where is not None:
            nul = i18n.Message("limits.nul_text", {"where": where})
            await self._refuse(scope, send, BadParameterError(nul))
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        limit, too_large = self._limit(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            raise PayloadTooLargeError(too_large)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, err: ProblemError) -> None:
        header = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
        locale = i18n.negotiate(header) or i18n.DEFAULT_LOCALE
        problem = error_problem(err, scope.get("path"), locale)
        body = orjson.dumps(problem.model_dump(by_alias=True, exclude_none=True))
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the rest of an oversized body is not read
        ]
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _takes_many(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_takes_many(arg) for arg in get_args(annotation) if origin is not None)


def _query_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


def single_valued_query(request: HTTPConnection) -> None:
    """A dependency of every route: a query parameter that takes one value given several
    times is refused (400) instead of silently using the last (WebSocket routes: nothing)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    for param in _query_params(route.dependant):
        if _takes_many(param.field_info.annotation):
            continue
        n = len(request.query_params.getlist(param.alias))
        if n > 1:
            repeated = i18n.Message("limits.repeated", {"name": repr(param.alias), "n": str(n)})
            raise BadParameterError(repeated, param=param.alias)
