"""The OpenAPI document is complete: summaries, problem responses, examples, security."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from bldgwatch import cli
from tests.console.conftest import ClientFactory

PUBLIC = {
    ("post", "/api/auth/token"),
    ("post", "/api/auth/refresh"),
    ("get", "/healthz"),
    ("post", "/api/ack-links/{token}"),  # the link's token is the credential
    ("get", "/api/public/points/{code}"),  # repair requests without an account
    ("post", "/api/public/points/{code}/requests"),
    ("get", "/api/public/requests/{token}"),  # the status token is the credential
    ("post", "/api/public/requests/{token}/rating"),
}


def _schema(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    node: dict[str, Any] = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_operation_is_documented(sqlite_db: Engine, make_client: ClientFactory) -> None:
    client: TestClient = make_client(sqlite_db, user=None)
    doc = client.get("/openapi.json").json()
    assert "OAuth2PasswordBearer" in doc["components"]["securitySchemes"]
    seen = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            seen += 1
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            assert op.get("tags"), where
            statuses = set(op["responses"])
            if (method, path) not in PUBLIC:
                assert "401" in statuses, where
                assert op.get("security"), where
            for status in statuses - {"200", "201", "422"}:
                content = op["responses"][status].get("content", {})
                if status != "501" and path != "/healthz":
                    assert "application/problem+json" in content, (where, status)
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = body["schema"]
                if "$ref" not in schema:
                    schema = next(s for s in schema.get("anyOf", []) if "$ref" in s)
                model = _schema(doc, schema["$ref"])
                assert model.get("examples") or all(
                    f.get("examples") or f.get("default") is not None
                    for f in model["properties"].values()
                ), f"{where}: request body without examples"
    assert seen >= 30


def test_openapi_command_writes_the_apps_document(
    sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path
) -> None:
    # The web build generates its typed client from this file: it must be the served document.
    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(cli.app, ["openapi", "--output", str(out)])
    assert result.exit_code == 0, result.output
    served = make_client(sqlite_db, user=None).get("/openapi.json").json()
    assert json.loads(out.read_text(encoding="utf-8")) == served
    printed = CliRunner().invoke(cli.app, ["openapi"])
    assert json.loads(printed.stdout) == served
