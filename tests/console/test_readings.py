"""GET /api/readings against a real InfluxDB 1.x: raw, averaged, latest, and bad parameters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.models import EquipmentRow
from tests.console.conftest import ClientFactory
from tests.console.seed import T0, add, assets
from tests.console.support import assert_problem

STEP = timedelta(seconds=10)


def _lines() -> list[str]:
    out = []
    for i in range(18):  # three minutes at 10 s
        ts = to_epoch_ms(T0 + i * STEP)
        fields: dict[str, float | bool] = {"bearing_temp_c": 40.0 + i, "running": i % 2 == 0}
        if i == 0:
            fields["vibration_mm_s"] = 2.5
        tags = {"site": "demo", "building": "B1", "equipment": "P-01", "gateway": "gw-1"}
        out.append(line("pump", tags, fields, ts))
        # Same equipment id at another site, and another pump type row: must not mix in.
        out.append(
            line("pump", {**tags, "site": "north", "building": "N1"}, {"bearing_temp_c": 99.0}, ts)
        )
        out.append(line("elevator", {**tags, "equipment": "E-01"}, {"floor": 3.0}, ts))
    return out


@pytest.fixture
def store(influx_settings: InfluxSettings) -> Iterator[TimeSeriesStore]:
    s = open_store(influx_settings)
    s.ensure_database()
    s.write(join(_lines()), precision="ms")
    yield s
    s.close()


@pytest.fixture
def client(sqlite_db: Engine, store: TimeSeriesStore, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    return make_client(sqlite_db, store, ManualClock(T0 + timedelta(minutes=3)))


def _iso(delta: timedelta) -> str:
    return (T0 + delta).isoformat().replace("+00:00", "Z")


WINDOW = f"start={_iso(timedelta(0))}&end={_iso(timedelta(minutes=2, seconds=59))}"


def test_raw_readings_of_one_equipment_oldest_first(client: TestClient) -> None:
    resp = client.get(
        f"/api/readings?site=demo&equipment=P-01&point=bearing_temp_c&point=running&{WINDOW}"
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["measurement"], body["every"], body["points"]) == (
        "pump",
        None,
        ["bearing_temp_c", "running"],
    )
    rows = body["rows"]
    assert [r["bearing_temp_c"] for r in rows] == [40.0 + i for i in range(18)]
    assert [r["running"] for r in rows[:3]] == [True, False, True]
    assert rows[0]["time"] == "2026-03-01T08:00:00Z"
    assert rows[-1]["time"] == "2026-03-01T08:02:50Z"


def test_limit_keeps_the_newest_rows(client: TestClient) -> None:
    body = client.get(
        f"/api/readings?site=demo&equipment=P-01&point=bearing_temp_c&{WINDOW}&limit=5"
    ).json()
    assert [r["bearing_temp_c"] for r in body["rows"]] == [53.0, 54.0, 55.0, 56.0, 57.0]


def test_mean_per_interval(client: TestClient) -> None:
    resp = client.get(
        f"/api/readings?site=demo&equipment=P-01&point=bearing_temp_c&{WINDOW}&every=1m"
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["every"] == "1m"
    assert [(r["time"], r["bearing_temp_c"]) for r in body["rows"]] == [
        ("2026-03-01T08:00:00Z", 42.5),
        ("2026-03-01T08:01:00Z", 48.5),
        ("2026-03-01T08:02:00Z", 54.5),
    ]


def test_default_window_is_the_last_hour_by_the_clock(client: TestClient) -> None:
    body = client.get("/api/readings?site=north&equipment=P-01&point=bearing_temp_c").json()
    assert body["end"] == "2026-03-01T08:03:00Z"
    assert body["start"] == "2026-03-01T07:03:00Z"
    assert [r["bearing_temp_c"] for r in body["rows"]] == [99.0] * 18


def test_latest_value_of_each_point(client: TestClient) -> None:
    resp = client.get("/api/readings/latest?site=demo&equipment=P-01")
    assert resp.status_code == 200, resp.text
    values = resp.json()["values"]
    assert values == {
        "bearing_temp_c": {"time": "2026-03-01T08:02:50Z", "value": 57.0},
        "running": {"time": "2026-03-01T08:02:50Z", "value": False},
        "vibration_mm_s": {"time": "2026-03-01T08:00:00Z", "value": 2.5},
    }


def test_latest_of_equipment_without_readings_is_empty(client: TestClient) -> None:
    body = client.get("/api/readings/latest?site=demo&equipment=SP-01").json()
    assert (body["measurement"], body["values"]) == ("shaft_panel", {})


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("point=temp%22%20OR%201%3D1", 400, "point"),
        ("point=bearing_temp_c'", 400, "point"),
        ("point=bearing_temp_c&every=1x", 400, "every"),
        (
            "point=bearing_temp_c&every=1s&start=2026-01-01T00:00:00Z&end=2026-03-01T00:00:00Z",
            400,
            "every",
        ),
        ("point=bearing_temp_c&start=2026-03-01T09:00:00Z&end=2026-03-01T08:00:00Z", 400, "start"),
        ("point=bearing_temp_c&start=2026-03-01T08:00:00", 422, "'start'"),
        ("point=bearing_temp_c&limit=0", 422, "'limit'"),
        ("", 422, "'point'"),
    ],
)
def test_bad_parameters_are_problems_naming_them(
    client: TestClient, query: str, status: int, needle: str
) -> None:
    assert_problem(client.get(f"/api/readings?site=demo&equipment=P-01&{query}"), status, needle)


def test_unknown_equipment_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/api/readings?site=demo&equipment=X-9&point=a"), 404, "X-9")
    assert_problem(
        client.get("/api/readings/latest?site=demo' OR ''='&equipment=P-01"), 404, "P-01"
    )


def test_no_database_yet_means_no_readings(
    sqlite_db: Engine, influx_settings: InfluxSettings, make_client: ClientFactory
) -> None:
    add(sqlite_db, *assets())
    fresh = open_store(influx_settings.model_copy(update={"database": "never_created"}))
    try:
        client = make_client(sqlite_db, fresh)
        resp = client.get(f"/api/readings?site=demo&equipment=P-01&point=x&{WINDOW}")
        assert resp.status_code == 200, resp.text
        assert resp.json()["rows"] == []
    finally:
        fresh.close()


def test_influx_down_is_a_503_problem(sqlite_db: Engine, make_client: ClientFactory) -> None:
    add(sqlite_db, *assets())
    client = make_client(sqlite_db)  # store on a closed port
    assert_problem(
        client.get(f"/api/readings?site=demo&equipment=P-01&point=x&{WINDOW}"), 503, "InfluxDB"
    )


def test_a_ct_meters_readings_are_on_the_primary_side(
    sqlite_db: Engine, store: TimeSeriesStore, make_client: ClientFactory
) -> None:
    """Review of issue 20, N10: InfluxDB keeps what a CT/PT-connected meter gives (the
    secondary side); the readings the console shows are the building's — power and energy ×
    ratio, currents × the CT's (ratio / pt_ratio), voltages × pt_ratio; the power factor as
    it is."""
    tags = {"site": "demo", "building": "B1", "equipment": "EM-09", "gateway": "gw-1"}
    fields = {
        "power_kw": 1.2,
        "energy_kwh": 10.0,
        "current_l1_a": 2.5,
        "voltage_l1_v": 100.0,
        "power_factor": 0.9,
    }
    store.write(line("electricity_meter", tags, fields, to_epoch_ms(T0)).encode(), precision="ms")
    add(
        sqlite_db,
        *assets(),
        EquipmentRow(
            site="demo",
            id="EM-09",
            building="B1",
            type="electricity_meter",
            rated={},
            params={},
            meter={"ratio": 2000, "pt_ratio": 100},  # 100/5 A CTs, 10 kV/100 V PTs
        ),
    )
    client = make_client(sqlite_db, store, ManualClock(T0 + timedelta(minutes=3)))
    latest = client.get("/api/readings/latest?site=demo&equipment=EM-09").json()["values"]
    assert {k: v["value"] for k, v in latest.items()} == pytest.approx(
        {
            "power_kw": 2400.0,
            "energy_kwh": 20_000.0,
            "current_l1_a": 50.0,
            "voltage_l1_v": 10_000.0,
            "power_factor": 0.9,
        }
    )
    resp = client.get(
        f"/api/readings?site=demo&equipment=EM-09&point=power_kw&point=current_l1_a&{WINDOW}"
    )
    assert resp.status_code == 200, resp.text
    (row,) = resp.json()["rows"]
    assert (row["power_kw"], row["current_l1_a"]) == pytest.approx((2400.0, 50.0))
