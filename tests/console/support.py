"""Assertions shared by the console tests."""

from __future__ import annotations

from typing import Any

from httpx import Response


def assert_problem(resp: Response, status: int, *needles: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status` whose detail mentions each needle."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    for needle in needles:
        assert needle in str(body["detail"]), body
    return body
