"""The movement ledger a page at a time (review 19 stock L9: it stopped at 500 rows): keyset
pages by (time, number), the filters kept from page to page, movements made while one pages
neither shift nor repeat a later page, a position the listing did not give is a 400; and the
whole filtered ledger as CSV, streamed a batch at a time. On SQLite and PostgreSQL (the
keyset compares stored times: ties on the same instant included)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.maintenance import stock
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import LEDGER_KINDS, add, assets, ledger_movements, store
from tests.console.support import assert_problem

pytestmark = pytest.mark.services

KINDS = LEDGER_KINDS
COUNT = 230


@pytest.fixture
def client(db: Engine, make_client: ClientFactory) -> TestClient:
    add(db, *assets(), *store(), *ledger_movements(COUNT))
    return make_client(db, user=None)


def _pages(
    client: TestClient, headers: dict[str, str], query: str, limit: int, start: str = ""
) -> list[list[dict[str, object]]]:
    pages, after = [], start and f"&after={start}"
    while True:
        resp = client.get(f"/api/stores/1/movements?limit={limit}{query}{after}", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages.append(body["items"])
        if body["next"] is None:
            return pages
        after = f"&after={body['next']}"


def test_the_ledger_pages_newest_first_to_its_end_with_the_filters_kept(
    client: TestClient,
) -> None:
    sup = auth_headers(client, "supervisor")
    pages = _pages(client, sup, "", 100)
    assert [len(p) for p in pages] == [100, 100, 30]
    actors = [m["actor"] for p in pages for m in p]
    # newest first: the later minute, and within a minute the higher number
    assert actors == [f"tech{n}" for n in reversed(range(COUNT))]
    issues = _pages(client, sup, "&kind=issue", 20)
    assert [len(p) for p in issues] == [20, 20, 18]
    seen = [m for p in issues for m in p]
    assert {m["kind"] for m in seen} == {"issue"}
    expected = [f"tech{n}" for n in reversed(range(COUNT)) if KINDS[n % 4] == "issue"]
    assert [m["actor"] for m in seen] == expected
    exact = client.get("/api/stores/1/movements?limit=230", headers=sup).json()
    assert (len(exact["items"]), exact["next"]) == (230, None)  # no empty page after a full one


def test_movements_made_while_paging_do_not_shift_or_repeat_a_later_page(
    client: TestClient,
) -> None:
    sup = auth_headers(client, "supervisor")
    first = client.get("/api/stores/1/movements?limit=50", headers=sup).json()
    for _ in range(3):  # three receipts now: newer than everything listed
        got = client.post(
            "/api/stores/1/receipts",
            json={"part_no": "6205-2RS", "quantity": 1, "reason": "到货"},
            headers=sup,
        )
        assert got.status_code == 200, got.text
    rest = _pages(client, sup, "", 50, start=first["next"])
    actors = [m["actor"] for m in first["items"]] + [m["actor"] for p in rest for m in p]
    assert actors == [f"tech{n}" for n in reversed(range(COUNT))]
    fresh = client.get("/api/stores/1/movements?limit=3", headers=sup).json()["items"]
    assert [m["actor"] for m in fresh] == ["supervisor"] * 3


@pytest.mark.parametrize("after", ["garbage", "MjAyNi0wMy0wMVQwODowMDowMCswMDowMHx4", "AA"])
def test_a_position_the_listing_did_not_give_is_a_400_naming_it(
    client: TestClient, after: str
) -> None:
    sup = auth_headers(client, "supervisor")
    resp = client.get(f"/api/stores/1/movements?after={after}", headers=sup)
    body = assert_problem(resp, 400, "after is not a position this listing gave")
    assert [e["name"] for e in body["errors"]] == ["after"]
    zh = client.get(
        f"/api/stores/1/movements?after={after}", headers={**sup, "Accept-Language": "zh-CN"}
    )
    assert_problem(zh, 400, "after 不是本列表给出的位置")


def test_the_whole_filtered_ledger_as_csv_in_the_readers_language(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stock, "LEDGER_BATCH", 7)  # many batches, ties across their edges
    sup = auth_headers(client, "supervisor")
    resp = client.get("/api/stores/1/movements.csv", headers=sup)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert 'filename="demo-main-ledger.csv"' in resp.headers["content-disposition"]
    text = resp.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == [
        "Time",
        "Kind",
        "Part number",
        "Part",
        "On hand ±",
        "Reserved ±",
        "Unit",
        "Work order",
        "Who",
        "Reason",
    ]
    assert [r[8] for r in rows[1:]] == [f"tech{n}" for n in reversed(range(COUNT))]
    newest = rows[1]  # movement 229: minute 76 after T0 (08:00 UTC), on the site's clock
    assert newest[0] == "2026-03-01T17:16:00.000007+08:00"
    assert newest[1:8] == ["issued", "6205-2RS", "deep-groove ball bearing", "-1", "0", "pc", ""]
    assert rows[-1 - 5][9] == "'=HYPERLINK(1)"  # a formula stays text
    zh = client.get(
        "/api/stores/1/movements.csv?kind=issue", headers={**sup, "Accept-Language": "zh-CN"}
    )
    zh_rows = list(csv.reader(io.StringIO(zh.content.decode("utf-8")[1:])))
    assert zh_rows[0][:3] == ["时间", "类型", "备件编号"]
    assert len(zh_rows) == 1 + 58
    assert {r[1] for r in zh_rows[1:]} == {"领用"}
    assert {r[4] for r in zh_rows[1:]} == {"-1"}


def test_the_csv_of_a_store_one_does_not_see_is_a_404(client: TestClient) -> None:
    resp = client.get("/api/stores/1/movements.csv", headers=auth_headers(client, "outsider"))
    assert_problem(resp, 404)
