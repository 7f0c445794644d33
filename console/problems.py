"""RFC 9457 problem details: the body of every 4xx/5xx answer, and the handlers that make them."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bldgwatch.console.errors import (
    ProblemError,
    UnauthorizedError,
    UnavailableError,
    UpstreamError,
)
from bldgwatch.console.locale import locale_of
from bldgwatch.console.paging import PATTERN_WORDS
from bldgwatch.core import i18n
from bldgwatch.core.i18n import Message
from bldgwatch.core.tsdb import TsdbError

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
VALIDATION_TYPE = "tag:bldgwatch,2026:problem/validation"
SCHEMA_HINT = "run `bldgwatch db-upgrade` or start rules/maintenance, which migrate it"
UNPARSABLE_BODY = "There was an error parsing the body"


class InvalidParam(BaseModel):
    """One rejected request parameter."""

    model_config = ConfigDict(populate_by_name=True)

    location: str = Field(alias="in", description="query, path, header or body.")
    name: str = Field(description="Parameter name.")
    detail: str = Field(description="What is wrong with it.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field("about:blank", description="URI naming the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What was wrong with this request, naming the culprit.")
    instance: str | None = Field(None, description="Path of the request that failed.")
    errors: list[InvalidParam] | None = Field(
        None, description="Each rejected parameter (validation problems only)."
    )


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON response with the problem media type and the problem's status."""
    body = problem.model_dump(by_alias=True, exclude_none=True)
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _param_of(loc: Sequence[int | str]) -> tuple[str, str]:
    where = str(loc[0]) if loc else "request"
    name = ".".join(str(p) for p in loc[1:] if not isinstance(p, int)) or where
    return where, name


def check_detail(err: Mapping[str, Any], locale: str) -> str:
    """What pydantic says about one value, in the reader's language where the catalogue
    knows the check (its `type`), else pydantic's English; inside a list whose items the
    catalogue names (`validation.item.<list>`, e.g. a plan's steps), the item by its number
    from 1 and the field by its catalogue name (`validation.field.<name>`): "step 3: …"."""
    english = str(err.get("msg", ""))
    kind = str(err.get("type", ""))
    ctx = {
        k: v if isinstance(v, int | float) else _value_name(k, str(v), locale)
        for k, v in (err.get("ctx") or {}).items()
    }
    if kind in ("literal_error", "enum") and isinstance(ctx.get("expected"), str):
        ctx["expected"] = _choices_in_words(str((err.get("ctx") or {})["expected"]), locale)
    detail = i18n.render(f"validation.{kind}", ctx, locale, default=english)
    if kind == "string_pattern_mismatch":  # say what is allowed in words, not the regex
        detail = _pattern_in_words(err, ctx, locale) or detail
    return _in_item(tuple(err.get("loc", ())), detail, locale)


def _choices_in_words(expected: str, locale: str) -> str:
    """Pydantic's "'electricity' or 'water'" in the reader's words: each code by its name
    where the catalogue has one (`validation.value.choice.<code>`), joined with the
    language's "or" (fourth review of issue 20, L3: zh-CN read "应为 'electricity' or 'water'")."""
    codes = re.findall(r"'([^']*)'", expected)
    if not codes:
        return expected
    names = [_value_name("choice", code, locale) for code in codes]
    if len(names) == 1:
        return names[0]
    sep = i18n.render("validation.choices_sep", {}, locale)
    return i18n.render(
        "validation.choices", {"head": sep.join(names[:-1]), "last": names[-1]}, locale
    )


def _value_name(key: str, value: str, locale: str) -> str:
    """A code in a refusal by its name in the reader's language where the catalogue has one
    (`validation.value.<key>.<code>`: a plan step's milestone `notified` is 接报, review
    19c-d L5); else as written."""
    if not value or len(value) > 40:
        return value
    return i18n.render(f"validation.value.{key}.{value}", {}, locale, default=value)


def _pattern_in_words(err: Mapping[str, Any], ctx: Mapping[str, Any], locale: str) -> str | None:
    """What a field's pattern allows, in the reader's words (`validation.pattern.<field>`,
    e.g. a store code: "letters, digits, - and _ only"; review 19c-s M9), or "must not be
    blank" for the visible-text pattern; None when the catalogue does not say."""
    if ctx.get("pattern") == r"\S":
        return i18n.render("validation.not_blank", {}, locale)
    if (shared := PATTERN_WORDS.get(str(ctx.get("pattern")))) is not None:
        return i18n.render(shared, {}, locale)
    field = next((str(p) for p in reversed(tuple(err.get("loc", ()))) if isinstance(p, str)), "")
    words = i18n.template(f"validation.pattern.{field}", locale)
    return None if words is None else i18n.format_template(words, {}, locale)


def _in_item(loc: Sequence[int | str], detail: str, locale: str) -> str:
    """`detail` prefixed with the numbered list item and field it is about, when the
    catalogue names that list's items; else as is."""
    for at in range(len(loc) - 2, -1, -1):
        name, index = loc[at], loc[at + 1]
        if not (isinstance(name, str) and isinstance(index, int)):
            continue
        item = i18n.template(f"validation.item.{name}", locale)
        if item is None:
            return detail
        number = i18n.format_template(item, {"n": index + 1}, locale)
        field = next((str(p) for p in loc[at + 2 :] if isinstance(p, str)), None)
        if field is None:
            return i18n.render("validation.in_item", {"item": number, "detail": detail}, locale)
        label = i18n.template(f"validation.field.{name}.{field}", locale)
        if label is None:
            label = i18n.render(f"validation.field.{field}", {}, locale, default=field)
        params = {"item": number, "field": label, "detail": detail}
        return i18n.render("validation.in_field", params, locale)
    return detail


def validation_problem(
    errors: Sequence[Any], instance: str | None = None, locale: str = "en"
) -> Problem:
    """A 422 problem naming every rejected parameter (from pydantic/FastAPI error dicts)."""
    params: list[InvalidParam] = []
    lines: list[str] = []
    for err in errors:
        where, name = _param_of(tuple(err.get("loc", ())))
        detail = check_detail(err, locale)
        params.append(InvalidParam(location=where, name=name, detail=detail))
        place = i18n.Message(f"validation.location.{where}").to_json(default=where)
        lines.append(
            i18n.render(
                "validation.param", {"location": place, "name": name, "detail": detail}, locale
            )
        )
    return Problem(
        type=VALIDATION_TYPE,
        title=i18n.render("problem.title.422", {}, locale),
        status=422,
        detail="; ".join(lines) or i18n.render("validation.invalid", {}, locale),
        instance=instance,
        errors=params or None,
    )


def error_problem(
    err: ProblemError, instance: str | None = None, locale: str = "en", *, where: str = "query"
) -> Problem:
    """The problem for one of the console's own errors, in the reader's language; `where`
    the named parameter came from (query or body)."""
    detail = err.detail_in(locale)
    errors = None
    if err.param is not None:
        errors = [InvalidParam(location=where, name=err.param, detail=detail)]
    return Problem(
        type=err.type,
        title=i18n.render(f"problem.title.{err.status}", {}, locale, default=err.title),
        status=err.status,
        detail=detail,
        instance=instance,
        errors=errors,
    )


def database_detail(err: DBAPIError) -> Message:
    """Say whether the schema is missing or the database is unreachable."""
    orig = str(err.orig).strip()
    first = orig.splitlines()[0] if orig else type(err).__name__
    low = orig.lower()
    if "no such table" in low or ("relation" in low and "does not exist" in low):
        return Message("error.database.schema_missing", {"detail": first})
    return Message("error.database.unavailable", {"detail": first})


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    headers: dict[str, str] = {}
    if isinstance(exc, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    problem = error_problem(exc, request.url.path, locale_of(request), where=_where(request, exc))
    return problem_response(problem, headers=headers or None)


def _where(request: Request, exc: ProblemError) -> str:
    """Where a refused parameter came from: the query, unless the request has a body and the
    query does not name it."""
    if request.method in ("GET", "HEAD", "DELETE") or exc.param in request.query_params:
        return "query"
    return "body"


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_problem(exc.errors(), request.url.path, locale_of(request)))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    locale = locale_of(request)
    phrase = HTTPStatus(exc.status_code).phrase
    title = i18n.render(f"problem.title.{exc.status_code}", {}, locale, default=phrase)
    detail = str(exc.detail)
    if detail == UNPARSABLE_BODY:
        detail = i18n.render("error.unparsable_body", {}, locale)
    elif detail == phrase:
        what = phrase.lower() if locale == "en" else title
        params = {"what": what, "method": request.method, "path": request.url.path}
        detail = i18n.render("error.http", params, locale)
    problem = Problem(title=title, status=exc.status_code, detail=detail, instance=request.url.path)
    return problem_response(problem, headers=exc.headers)


async def _on_database(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    detail = database_detail(exc)
    logger.warning("%s %s: %s", request.method, request.url.path, detail.render("en"))
    problem = error_problem(UnavailableError(detail), request.url.path, locale_of(request))
    return problem_response(problem)


async def _on_tsdb(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TsdbError)
    logger.warning("%s %s: %s", request.method, request.url.path, exc)
    err: ProblemError = (
        UnavailableError(Message("error.influx.unavailable", {"detail": str(exc)}))
        if exc.retryable
        else UpstreamError(Message("error.influx.refused", {"detail": str(exc)}))
    )
    return problem_response(error_problem(err, request.url.path, locale_of(request)))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    locale = locale_of(request)
    problem = Problem(
        title=i18n.render("problem.title.500", {}, locale),
        status=500,
        detail=i18n.render("error.unexpected", {"name": type(exc).__name__}, locale),
        instance=request.url.path,
    )
    return problem_response(problem)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves the app as application/problem+json."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DBAPIError, _on_database)
    app.add_exception_handler(TsdbError, _on_tsdb)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": text}
    for status, text in (
        (400, "A parameter or the body is not acceptable (malformed, too deep, or refused)."),
        (401, "No valid credentials: log in or send an API token."),
        (403, "Your roles do not allow this."),
        (404, "No such resource (or not at one of your sites)."),
        (409, "The resource's current state does not allow this change."),
        (410, "The link has expired."),
        (413, "The request body is larger than the console accepts."),
        (429, "Too many failed logins; retry after `Retry-After` seconds."),
        (422, "A parameter failed validation."),
        (503, "The database or InfluxDB is unavailable, or the schema is missing."),
    )
}
"""OpenAPI `responses=` entries documenting the problem bodies."""


ALWAYS = (400, 413)
"""Answers any operation may give: a malformed or too deep body or Content-Length (400) and a
body over the size limit (413), both from the request limits in front of every route."""


def problem_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem responses for the given statuses (and those in ALWAYS)."""
    return {s: PROBLEM_RESPONSES[s] for s in sorted({*statuses, *ALWAYS})}
