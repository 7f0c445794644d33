"""A store's purchase requests a page at a time and by status (review 19 stock L7: only the
newest 50 were listed): keyset pages newest first by (raised, number), the status kept from
page to page, requests raised while one pages never on a later page; on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets, purchase_requests, store
from tests.console.support import assert_problem

pytestmark = pytest.mark.services

SEQUENCE = "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
"""Moves a table's id sequence past the rows inserted with their ids (PostgreSQL)."""
COUNT = 130
"""Requests 2..131 (request 1 is the seeded pending one, raised at T0)."""


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    add(db, *assets(), *store(), *purchase_requests(2, COUNT))
    if db.dialect.name == "postgresql":  # rows inserted with their ids leave the sequence at 1
        with db.begin() as conn:
            conn.execute(text(SEQUENCE.format(table="purchase_requests")))
            conn.execute(text(SEQUENCE.format(table="purchase_lines")))
    return make_client(db, user=None)


def _all(client: TestClient, query: str, limit: int) -> tuple[list[int], list[int]]:
    """The ids over every page, and the size of each page."""
    headers = auth_headers(client, "supervisor")
    ids, sizes, after = [], [], ""
    while True:
        resp = client.get(
            f"/api/stores/1/purchase-requests?limit={limit}{query}{after}", headers=headers
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        ids += [r["id"] for r in body["items"]]
        sizes.append(len(body["items"]))
        if body["next"] is None:
            return ids, sizes
        after = f"&after={body['next']}"


def test_every_request_pages_newest_first(client: TestClient) -> None:
    ids, sizes = _all(client, "", 50)
    assert sizes == [50, 50, 31]
    assert ids == list(reversed(range(1, 2 + COUNT)))
    first = client.get(
        "/api/stores/1/purchase-requests", headers=auth_headers(client, "supervisor")
    ).json()
    assert len(first["items"]) == 50 and first["next"] is not None  # the default page
    assert first["items"][0]["lines"] == []  # each with its lines (none seeded for these)


def test_a_status_is_kept_from_page_to_page(client: TestClient) -> None:
    ids, sizes = _all(client, "&status=pending", 10)
    expected = [n for n in reversed(range(1, 2 + COUNT)) if n == 1 or n % 5 == 0]
    assert ids == expected and sizes == [10, 10, 7]
    sup = auth_headers(client, "supervisor")
    wrong = client.get("/api/stores/1/purchase-requests?status=lost", headers=sup)
    body = assert_problem(wrong, 422)
    assert [e["name"] for e in body["errors"]] == ["status"]


def test_a_request_raised_while_paging_is_not_on_a_later_page(client: TestClient) -> None:
    sup = auth_headers(client, "supervisor")
    first = client.get("/api/stores/1/purchase-requests?limit=40", headers=sup).json()
    raised = client.post(
        "/api/stores/1/purchase-requests",
        json={"lines": [{"part_no": "6205-2RS", "quantity": 1}]},
        headers=sup,
    )
    assert raised.status_code == 201, raised.text
    second = client.get(
        f"/api/stores/1/purchase-requests?limit=40&after={first['next']}", headers=sup
    ).json()
    assert [r["id"] for r in first["items"] + second["items"]] == list(range(131, 51, -1))
    newest = client.get("/api/stores/1/purchase-requests?limit=1", headers=sup).json()
    assert [r["id"] for r in newest["items"]] == [raised.json()["id"]]
    bad = client.get("/api/stores/1/purchase-requests?after=bm90IGEgY3Vyc29y", headers=sup)
    assert_problem(bad, 400, "after is not a position this listing gave")
