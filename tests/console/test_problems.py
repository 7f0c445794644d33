"""Problem details for every error: validation, routing, unexpected failures."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bldgwatch.console.errors import BadParameterError
from bldgwatch.console.problems import error_problem, validation_problem
from tests.console.conftest import ClientFactory
from tests.console.support import assert_problem


@pytest.mark.parametrize(
    ("errors", "names", "detail"),
    [
        (
            [{"loc": ("query", "limit"), "msg": "too small"}],
            [("query", "limit")],
            "query parameter 'limit': too small",
        ),
        (
            [{"loc": ("query", "state", 0), "msg": "bad enum"}],
            [("query", "state")],
            "query parameter 'state': bad enum",
        ),
        (
            [
                {"loc": ("path", "order_id"), "msg": "not int"},
                {"loc": ("query", "offset"), "msg": "negative"},
            ],
            [("path", "order_id"), ("query", "offset")],
            "path parameter 'order_id': not int; query parameter 'offset': negative",
        ),
        (
            [{"loc": ("body",), "msg": "missing"}],
            [("body", "body")],
            "body parameter 'body': missing",
        ),
    ],
)
def test_validation_problem(
    errors: list[dict[str, object]], names: list[tuple[str, str]], detail: str
) -> None:
    problem = validation_problem(errors, "/x")
    assert (problem.status, problem.detail, problem.instance) == (422, detail, "/x")
    assert [(e.location, e.name) for e in problem.errors or []] == names


def test_error_problem_names_the_parameter() -> None:
    problem = error_problem(BadParameterError("point 'x\"' is bad", param="point"))
    body = problem.model_dump(by_alias=True, exclude_none=True)
    assert body["status"] == 400
    assert body["errors"] == [{"in": "query", "name": "point", "detail": "point 'x\"' is bad"}]


def test_unknown_path_and_wrong_method_are_problems(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    client = make_client(sqlite_db)
    assert_problem(client.get("/api/nothing-here"), 404, "/api/nothing-here")
    body = assert_problem(client.post("/api/alarms"), 405, "POST")
    assert body["title"] == "Method Not Allowed"


def test_unexpected_errors_are_500_problems(sqlite_db: Engine, make_client: ClientFactory) -> None:
    client = make_client(sqlite_db, raise_server_exceptions=False)

    def boom() -> None:
        raise RuntimeError("secret internals")

    # under /api/: the web application's fallback answers other paths added after it
    client.app.add_api_route("/api/boom", boom)  # type: ignore[attr-defined]
    body = assert_problem(client.get("/api/boom"), 500, "RuntimeError")
    assert "secret internals" not in body["detail"]


def test_openapi_documents_parameters_and_problems(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    spec = make_client(sqlite_db).get("/openapi.json").json()
    listing = spec["paths"]["/api/work-orders"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"site", "equipment", "status", "kind", "open", "limit", "offset"} <= set(params)
    assert all(p.get("description") for p in params.values())
    assert "application/problem+json" in listing["responses"]["422"]["content"]
    assert spec["paths"]["/api/readings"]["get"]["description"]
