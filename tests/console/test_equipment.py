"""Sites and equipment endpoints."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.conftest import ClientFactory
from tests.console.seed import add, assets
from tests.console.support import assert_problem


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    return make_client(sqlite_db)


def test_sites_list_buildings_and_equipment_counts(client: TestClient) -> None:
    body = client.get("/api/sites").json()
    assert body["total"] == 2
    # a site file without `calendar:` works Monday to Friday (the calendar's own tests:
    # tests/console/test_site_calendar.py)
    calendars = [site.pop("calendar") for site in body["items"]]
    assert [(c["official"], c["covered"], c["days"], c["special"]) for c in calendars] == [
        (None, True, 60, []),
        (None, True, 60, []),
    ]
    assert body["items"] == [
        {
            "id": "demo",
            "name": "Demo Plaza",
            "timezone": "Asia/Shanghai",
            "language": "zh-CN",
            "equipment_count": 3,
            "buildings": [{"id": "B1", "name": "Block 1"}, {"id": "B2", "name": "Block 2"}],
        },
        {
            "id": "north",
            "name": "North Tower",
            "timezone": "Asia/Shanghai",
            "language": "zh-CN",
            "equipment_count": 1,
            "buildings": [{"id": "N1", "name": "Tower"}],
        },
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [("demo", "E-01"), ("demo", "P-01"), ("demo", "SP-01"), ("north", "P-01")]),
        ("?site=demo", [("demo", "E-01"), ("demo", "P-01"), ("demo", "SP-01")]),
        ("?type=pump", [("demo", "P-01"), ("north", "P-01")]),
        ("?building=B2", [("demo", "SP-01")]),
        ("?site=north&type=elevator", []),
        ("?limit=2&offset=1", [("demo", "P-01"), ("demo", "SP-01")]),
    ],
)
def test_equipment_filters(client: TestClient, query: str, expected: list[tuple[str, str]]) -> None:
    body = client.get(f"/api/equipment{query}").json()
    assert [(e["site"], e["id"]) for e in body["items"]] == expected
    if "limit" in query:
        assert body["total"] == 4


def test_one_equipment(client: TestClient) -> None:
    body = client.get("/api/equipment/demo/P-01").json()
    assert (body["type"], body["building"], body["machine_class"]) == ("pump", "B1", "I")
    assert body["rated"] == {"current_a": 12.0}


def test_missing_equipment_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/equipment/demo/P-99"), 404, "P-99", "demo")
    assert_problem(client.get("/api/equipment/north/E-01"), 404, "E-01")
