"""GET /api/energy/... against a real InfluxDB 1.x: consumption per meter, building and system
by hour, day and month of the site's calendar (Shanghai month ends, Berlin's DST day), a
rollover, a replaced meter, a gap and a stuck counter, the sub-metering balance, CSV exports,
the clock's default window, and bad input as 4xx problems."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow
from tests.console.conftest import ClientFactory
from tests.console.seed import add
from tests.console.support import assert_problem

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
WRAP = 1_000_000.0
START = datetime(2026, 2, 27, tzinfo=SHANGHAI).astimezone(UTC)
"""Shanghai's midnight starting 27 February: three days of readings, over the month's end."""
STEP = timedelta(minutes=15)
GAP = (START + timedelta(days=1, hours=8), START + timedelta(days=1, hours=13))
"""EM-01 is silent from 08:00 to 13:00 on 28 February (local)."""
REPLACED = START + timedelta(days=2, hours=12)
"""EM-03 is replaced at noon on 1 March: the new meter starts at 0."""
BERLIN_DAY = datetime(2026, 3, 29, tzinfo=BERLIN).astimezone(UTC)
"""Berlin's midnight of the day its clocks go forward (a 23-hour day)."""


def meter_rows() -> list[Any]:
    def em(site: str, mid: str, building: str, meter: dict[str, Any] | None) -> EquipmentRow:
        return EquipmentRow(
            site=site,
            id=mid,
            building=building,
            type="electricity_meter",
            name=f"meter {mid}",
            rated={},
            params={},
            meter=meter,
        )

    return [
        SiteRow(id="demo", name="Demo Plaza", timezone="Asia/Shanghai"),
        SiteRow(id="berlin", name="Berlin Haus", timezone="Europe/Berlin"),
        BuildingRow(site="demo", id="B1", name="Block 1"),
        BuildingRow(site="demo", id="B2", name="Block 2"),
        BuildingRow(site="berlin", id="H1", name="Haus 1"),
        em("demo", "EM-01", "B1", None),
        em("demo", "EM-02", "B1", {"system": "pumps", "parent": "EM-01"}),
        em("demo", "EM-03", "B1", {"system": "elevators", "parent": "EM-01"}),
        EquipmentRow(
            site="demo", id="WM-01", building="B1", type="water_meter", rated={}, params={}
        ),
        em("demo", "EM-20", "B2", {"counter_max": 99_999.99}),
        em("berlin", "EM-B", "H1", None),
    ]


def _line(where: tuple[str, str, str], at: datetime, field: str, value: float) -> str:
    site, building, meter = where
    measurement = "water_meter" if field == "volume_m3" else "electricity_meter"
    tags = {"site": site, "building": building, "equipment": meter, "gateway": "gw-1"}
    return line(measurement, tags, {field: value}, to_epoch_ms(at))


def meter_readings(start: datetime = START) -> list[str]:
    """Three days from `start` (a Shanghai midnight) of the demo site's meters (the gap and
    the replacement at the same hours of those days), and Berlin's DST day."""
    gap = (GAP[0] - START + start, GAP[1] - START + start)
    replaced = REPLACED - START + start
    out = []
    n = int(timedelta(days=3) / STEP)
    for i in range(n + 1):
        at = start + i * STEP
        hours = i * STEP / timedelta(hours=1)
        if not gap[0] < at < gap[1]:
            out.append(_line(("demo", "B1", "EM-01"), at, "energy_kwh", 50_000.0 + 100.0 * hours))
        # 30 kW from 500 kWh below the wrap: it wraps after 16 h 40 min.
        out.append(
            _line(("demo", "B1", "EM-02"), at, "energy_kwh", (WRAP - 500 + 30.0 * hours) % WRAP)
        )
        since = (at - replaced) / timedelta(hours=1)
        em3 = 20.0 * since if at > replaced else 7_000.0 + 20.0 * hours
        out.append(_line(("demo", "B1", "EM-03"), at, "energy_kwh", em3))
        # Water: 1 m³/h, but the counter stands still from 06:00 to 09:00 on 27 February.
        wm = 300.0 + min(hours, 6.0) + max(hours - 9.0, 0.0)
        out.append(_line(("demo", "B1", "WM-01"), at, "volume_m3", wm))
    for i in range(int(timedelta(hours=23) / STEP) + 1):
        at = BERLIN_DAY + i * STEP
        out.append(
            _line(("berlin", "H1", "EM-B"), at, "energy_kwh", 10.0 * i * STEP.seconds / 3600)
        )
    return out


@pytest.fixture
def store(influx_settings: InfluxSettings) -> Iterator[TimeSeriesStore]:
    s = open_store(influx_settings)
    s.ensure_database()
    s.write(join(meter_readings()), precision="ms")
    yield s
    s.close()


NOW = datetime(2026, 3, 1, 10, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def client(sqlite_db: Engine, store: TimeSeriesStore, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *meter_rows())
    return make_client(sqlite_db, store, ManualClock(NOW))


def _get(client: TestClient, path: str) -> dict[str, Any]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


DAYS = "start=2026-02-27&end=2026-03-02"


def test_per_meter_by_day_over_a_gap_a_rollover_and_a_replaced_meter(client: TestClient) -> None:
    body = _get(client, f"/api/energy/consumption?site=demo&every=day&by=meter&{DAYS}&lang=en")
    assert (body["unit"], body["timezone"]) == ("kWh", "Asia/Shanghai")
    assert [b["label"] for b in body["buckets"]] == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert body["buckets"][0]["start"] == "2026-02-26T16:00:00Z"  # Shanghai's midnight
    series = {s["key"]: s for s in body["series"]}
    assert series["EM-01"]["values"] == pytest.approx([2400.0] * 3)  # the gap's 500 kept
    assert series["EM-02"]["values"] == pytest.approx([720.0] * 3)  # over the wrap
    assert series["EM-03"]["values"] == pytest.approx([480.0] * 3)  # over the new meter
    assert series["EM-20"]["values"] == [None, None, None]  # no readings: no data, not 0
    assert series["EM-01"]["name"] == "meter EM-01"
    flags = {(f["meter"], f["kind"]): f for f in body["flags"]}
    assert set(flags) == {("EM-01", "gap"), ("EM-02", "rollover"), ("EM-03", "reset")}
    assert flags[("EM-01", "gap")]["start"] == "2026-02-28T00:00:00Z"  # 08:00 local
    assert flags[("EM-03", "reset")]["amount"] == pytest.approx(5.0)
    assert "replaced" in flags[("EM-03", "reset")]["text"]


def test_buildings_and_systems_by_month_over_shanghai_month_end(client: TestClient) -> None:
    query = "site=demo&every=month&start=2026-02-01&end=2026-04-01"
    body = _get(client, f"/api/energy/consumption?{query}&by=building&lang=zh-CN")
    assert [b["label"] for b in body["buckets"]] == ["2026-02", "2026-03"]
    assert body["buckets"][1]["start"] == "2026-02-28T16:00:00Z"
    buildings = {s["key"]: s for s in body["series"]}
    # B1 is its main meter only: two February days and one March day at 100 kW.
    assert buildings["B1"]["values"] == pytest.approx([4800.0, 2400.0])
    assert (buildings["B1"]["meters"], buildings["B1"]["name"]) == (["EM-01"], "Block 1")
    assert (buildings["B2"]["values"], buildings["B2"]["total"]) == ([None, None], None)
    systems = _get(client, f"/api/energy/consumption?{query}&by=system&lang=zh-CN")["series"]
    by_key = {s["key"]: s for s in systems}
    assert by_key["pumps"]["values"] == pytest.approx([1440.0, 720.0])
    assert (by_key["elevators"]["name"], by_key["mains"]["meters"]) == ("电梯", ["EM-01", "EM-20"])
    # The mains are what the sub-meters do not measure, so the stacked systems are the site's
    # use once (review of issue 20, F13): 4800 − 1440 − 960 in February.
    assert by_key["mains"]["values"] == pytest.approx([2400.0, 1200.0])
    assert by_key["mains"]["name"] == "总表（未分项部分）"
    stacked = [sum(s["values"][k] for s in systems) for k in range(2)]
    assert stacked == pytest.approx(buildings["B1"]["values"])


def test_a_day_no_reading_covers_is_no_data_not_zero(client: TestClient) -> None:
    """Review of issue 20, F1: days before a meter's first reading and after its last (and a
    meter with no reading at all) are null in JSON and empty in CSV, never a confident 0."""
    window = "start=2026-02-25&end=2026-03-04"
    body = _get(client, f"/api/energy/consumption?site=demo&every=day&by=meter&{window}")
    series = {s["key"]: s for s in body["series"]}
    em1 = series["EM-01"]
    assert em1["values"][:2] == [None, None]  # 25 and 26 February: no reading yet
    assert em1["values"][2:5] == pytest.approx([2400.0, 2400.0, 2400.0])
    assert em1["values"][5:] == [None, None]  # 2 and 3 March: no reading since midnight
    assert em1["total"] == pytest.approx(7200.0)
    assert (series["EM-20"]["values"], series["EM-20"]["total"]) == ([None] * 7, None)
    resp = client.get(f"/api/energy/consumption.csv?site=demo&every=day&by=meter&{window}")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8").lstrip("\ufeff"))))
    cells = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert (cells[("2026-02-25", "EM-01")], cells[("2026-02-27", "EM-01")]) == ("", "2400.000")
    assert cells[("2026-03-03", "EM-20")] == ""


def test_estimated_figures_are_marked_in_the_json_and_the_csv(client: TestClient) -> None:
    """Third review of issue 20, M4 (and L3): the CSV gave an estimated bucket as a plain
    figure. A bucket is estimated where a counter restart falls in it (EM-03 replaced on 1
    March: the interval is estimated at the meter's mean rate) or where a gap crosses its edge
    (EM-01's five silent hours, by hour: the rise is shared out evenly); a gap inside the
    bucket leaves its figure measured (EM-01 on 28 February by day). The JSON series says
    which and why; the CSV has a column estimated/measured and one with the reason."""
    body = _get(client, f"/api/energy/consumption?site=demo&every=day&by=meter&{DAYS}")
    series = {s["key"]: s for s in body["series"]}
    assert series["EM-03"]["estimated"] == [None, None, "reset"]
    assert series["EM-01"]["estimated"] == [None, None, None]
    assert series["EM-02"]["estimated"] == [None, None, None]  # a rollover is counted exactly
    hourly = _get(
        client,
        "/api/energy/consumption?site=demo&every=hour&by=meter&start=2026-02-28&end=2026-03-01",
    )
    em1 = {s["key"]: s for s in hourly["series"]}["EM-01"]["estimated"]
    assert em1[:8] == [None] * 8 and em1[8:13] == ["gap"] * 5 and em1[13:] == [None] * 11
    building = _get(client, f"/api/energy/consumption?site=demo&every=day&by=building&{DAYS}")
    assert building["series"][0]["estimated"] == [None] * 3  # B1 is its main meter EM-01
    systems = _get(client, f"/api/energy/consumption?site=demo&every=day&by=system&{DAYS}")
    system = {s["key"]: s["estimated"] for s in systems["series"]}
    # The lifts are EM-03; "mains" is EM-01 less its sub-meters, EM-03's estimate among them.
    assert system == {"elevators": [None, None, "reset"], "mains": [None, None, "reset"],
                      "pumps": [None] * 3}  # fmt: skip
    resp = client.get(f"/api/energy/consumption.csv?site=demo&every=day&by=meter&{DAYS}&lang=en")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[0][-2:] == ["figure", "why estimated"]
    cells = {(r[0], r[1]): r[-2:] for r in rows[1:]}
    assert cells[("2026-03-01", "EM-03")][0] == "estimated"
    assert "replaced meter" in cells[("2026-03-01", "EM-03")][1]
    assert cells[("2026-02-28", "EM-01")] == ["measured", ""]
    resp = client.get(f"/api/energy/consumption.csv?site=demo&every=day&by=meter&{DAYS}&lang=zh-CN")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[0][-2:] == ["数据", "估算原因"]
    assert {r[-2] for r in rows[1:]} == {"估算", "实测", "无数据"}
    assert all((r[3] == "") == (r[-2] == "无数据") for r in rows[1:])  # review 20e L1


def test_hour_buckets_in_a_dst_zone(client: TestClient) -> None:
    body = _get(
        client,
        "/api/energy/consumption?site=berlin&every=hour&by=meter&start=2026-03-29&end=2026-03-30",
    )
    labels = [b["label"] for b in body["buckets"]]
    assert len(labels) == 23
    assert labels[1:3] == ["2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00"]
    (meter,) = body["series"]
    assert meter["values"] == pytest.approx([10.0] * 23)
    day = _get(
        client, "/api/energy/consumption?site=berlin&every=day&start=2026-03-29&end=2026-03-30"
    )
    assert day["series"][0]["total"] == pytest.approx(230.0)


def test_a_stuck_water_counter_is_flagged_in_its_hours(client: TestClient) -> None:
    path = "/api/energy/consumption?site=demo&kind=water&every=hour&by=meter"
    # Two days: the 28th (and the 14 days before the window, here none) teach the hours the
    # meter moves; with only the 27th there is nothing to judge by (review of issue 20, N9).
    body = _get(client, f"{path}&start=2026-02-27&end=2026-03-01&lang=en")
    assert body["unit"] == "m³"
    (wm,) = body["series"]
    assert wm["stuck"][5:10] == [False, True, True, True, False]
    assert wm["values"][6:9] == [0.0, 0.0, 0.0]
    (flag,) = body["flags"]
    assert (flag["kind"], flag["start"], flag["end"]) == (
        "stuck",
        "2026-02-26T22:00:00Z",
        "2026-02-27T01:00:00Z",
    )
    shorter = _get(client, f"{path}&start=2026-02-27&end=2026-03-01&stuck_h=4")
    assert shorter["flags"] == [] and not any(shorter["series"][0]["stuck"])


def test_balance_flags_the_unaccounted_share(client: TestClient) -> None:
    body = _get(client, f"/api/energy/balance?site=demo&every=day&{DAYS}")
    (main,) = body["balances"]
    assert (main["meter"], main["submeters"]) == ("EM-01", ["EM-02", "EM-03"])
    first = main["rows"][0]
    assert (first["parent"], first["submeters"], first["unaccounted"]) == pytest.approx(
        (2400.0, 1200.0, 1200.0)
    )
    assert (first["share"], first["flagged"], main["flagged"]) == (pytest.approx(0.5), True, 3)
    loose = _get(client, f"/api/energy/balance?site=demo&every=day&{DAYS}&threshold=0.6")
    assert loose["balances"][0]["flagged"] == 0
    hourly = _get(client, "/api/energy/balance?site=demo&start=2026-02-27&end=2026-02-28")
    assert (hourly["every"], len(hourly["balances"][0]["rows"])) == ("hour", 24)


def test_csv_exports_in_the_readers_language(client: TestClient) -> None:
    resp = client.get(
        f"/api/energy/consumption.csv?site=demo&every=day&by=system&{DAYS}&lang=zh-CN"
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    text = resp.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["时段", "编号", "名称", "用量", "单位", "卡表", "数据", "估算原因"]
    assert ["2026-02-28", "pumps", "水泵", "720.000", "kWh", "否", "实测", ""] in rows
    resp = client.get(f"/api/energy/balance.csv?site=demo&every=day&{DAYS}&lang=en")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[0][:4] == ["period", "meter", "sub-meters", "parent meter"]
    assert rows[1][:8] == [
        "2026-02-27",
        "EM-01",
        "EM-02 EM-03",
        "2400.000",
        "1200.000",
        "1200.000",
        "0.5000",
        "yes",
    ]


def test_a_csv_bucket_without_readings_says_no_data_not_measured(client: TestClient) -> None:
    """Fifth review of issue 20, L1: a bucket no reading covers (an empty consumption cell,
    the day before the meters' first readings) said "figure = measured"."""
    for lang, word in (("zh-CN", "无数据"), ("en", "no data")):
        resp = client.get(
            "/api/energy/consumption.csv?site=demo&every=day&by=system"
            f"&start=2026-02-26&end=2026-02-28&lang={lang}"
        )
        assert resp.status_code == 200, resp.text
        rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8").lstrip("\ufeff"))))
        empty = [r for r in rows[1:] if r[0] == "2026-02-26"]
        assert empty and all(r[3] == "" and r[6] == word for r in empty), empty
        read = [r for r in rows[1:] if r[0] == "2026-02-27" and r[3]]
        assert read and all(r[6] != word for r in read)


def test_the_default_window_follows_the_clock_in_site_time(client: TestClient) -> None:
    body = _get(client, "/api/energy/consumption?site=demo&every=hour")
    assert (body["start"], body["end"]) == ("2026-02-28T16:00:00Z", "2026-03-01T16:00:00Z")
    days = _get(client, "/api/energy/consumption?site=demo")
    assert (days["every"], len(days["buckets"]), days["buckets"][-1]["label"]) == (
        "day",
        30,
        "2026-03-01",
    )


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("start=2026-02-30", 400, "start"),
        ("start=2026-03-02&end=2026-03-01", 400, "start"),
        ("every=hour&start=2026-01-01&end=2026-03-01", 400, "31"),
        ("start=1969-12-31", 422, "'start'"),
        ("kind=gas", 422, "'kind'"),
        ("every=week", 422, "'every'"),
        ("by=floor", 422, "'by'"),
        ("stuck_h=0", 422, "'stuck_h'"),
        ("building=B9", 404, "B9"),
    ],
)
def test_bad_parameters_are_problems_naming_them(
    client: TestClient, query: str, status: int, needle: str
) -> None:
    assert_problem(client.get(f"/api/energy/consumption?site=demo&{query}"), status, needle)


@pytest.mark.parametrize(
    ("query", "lang", "words"),
    [
        ("end=2026-12-4", "zh-CN", "应为 YYYY-MM-DD 格式的日期（1970 至 2199 年）"),
        ("start=9999-12-30", "en", "a date YYYY-MM-DD between 1970 and 2199"),
    ],
)
def test_a_malformed_date_is_refused_in_words_not_the_pattern(
    client: TestClient, query: str, lang: str, words: str
) -> None:
    """Third review of issue 20, L6: the refusal quoted the raw regex."""
    resp = client.get(
        f"/api/energy/consumption?site=demo&{query}", headers={"Accept-Language": lang}
    )
    assert_problem(resp, 422, words)
    assert "^(19" not in resp.text


def test_bad_balance_threshold_and_unknown_site(client: TestClient) -> None:
    assert_problem(client.get("/api/energy/balance?site=demo&threshold=2"), 422, "'threshold'")
    assert_problem(client.get("/api/energy/balance.csv?site=nowhere"), 404, "nowhere")


def test_a_balance_bucket_without_readings_is_no_data(client: TestClient) -> None:
    """Second review of issue 20, N5: a day with no reading of the parent or a sub-meter was
    booked as 0 and (for a silent sub-meter) flagged 100 % unaccounted; it is null, unflagged,
    and blank in the CSV."""
    query = "site=demo&every=day&start=2026-02-27&end=2026-03-03"
    (main,) = _get(client, f"/api/energy/balance?{query}")["balances"]
    last = main["rows"][-1]
    assert last["label"] == "2026-03-02"
    assert (last["parent"], last["submeters"], last["unaccounted"]) == (None, None, None)
    assert (last["share"], last["flagged"], main["flagged"]) == (None, False, 3)
    resp = client.get(f"/api/energy/balance.csv?{query}&lang=en")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8").lstrip("\ufeff"))))
    assert rows[-1][:8] == ["2026-03-02", "EM-01", "EM-02 EM-03", "", "", "", "", "no"]


def test_a_meter_jammed_since_before_the_history_is_stuck_in_a_days_query(
    client: TestClient, store: TimeSeriesStore
) -> None:
    """Fourth review of issue 20, H2: EM-20 counts 100 kWh a day from 1 January, its counter
    frozen from the 11th; a day asked on its own 30 days into the jam read 0 used, not stuck
    (the 14 days read before it were all frozen: "not its usual hours"), and the savings
    section and report took that 0 as a 100 % saving. The history of a meter that did not
    move in those 14 days is read further back, hourly, to the hours it moved."""
    start = datetime(2026, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    jam = start + timedelta(days=10)
    rows = []
    for i in range(int(timedelta(days=45) / STEP)):
        at = start + i * STEP
        counted = 100.0 * (min(at, jam) - start) / timedelta(days=1)
        rows.append(_line(("demo", "B2", "EM-20"), at, "energy_kwh", 1_000.0 + counted))
    store.write(join(rows), precision="ms")
    path = "/api/energy/consumption?site=demo&kind=electricity&every=day&by=meter"
    body = _get(client, f"{path}&start=2026-02-10&end=2026-02-11")
    (em20,) = [s for s in body["series"] if s["key"] == "EM-20"]
    assert (em20["values"], em20["stuck"]) == ([0.0], [True])
    assert [f["kind"] for f in body["flags"] if f["meter"] == "EM-20"] == ["stuck"]


def test_a_meter_replaced_during_an_outage_has_one_explanation() -> None:
    """Fourth review of issue 20, L5: an interval that is both a gap and a reset (a meter
    replaced while its gateway was off line) was explained twice — "shared out evenly over
    the gap" and "the counter restarted; an estimate" — while the estimate decided the figure.
    The notes now give the reset's alone (the accounts keep both: the savings leave the day
    out as estimated)."""
    from bldgwatch.console.routers.energy import _flags
    from bldgwatch.maintenance.energy import Sample, read_steps

    t0 = datetime(2026, 12, 7, 15, tzinfo=UTC)
    before = [Sample(t0 + timedelta(minutes=5 * i), 1000.0 + 2.0 * i) for i in range(12)]
    back = t0 + timedelta(hours=4)  # three hours silent, then a new meter from 0
    after = [Sample(back + timedelta(minutes=5 * i), 2.0 * i) for i in range(12)]
    _, flags = read_steps("EM-01", [*before, *after], 1e9, gap_after=timedelta(minutes=30))
    assert sorted(f.kind for f in flags) == ["gap", "reset"]  # both kept in the accounts
    for lang, words in (("en", "the counter restarted"), ("zh-CN", "计数器")):
        notes = _flags(flags, lang)
        assert [n.kind for n in notes] == ["reset"], lang  # was ["reset", "gap"]
        assert words in notes[0].text
    gap_only = [f for f in flags if f.kind == "gap"]
    assert [n.kind for n in _flags(gap_only, "en")] == ["gap"]  # a plain gap keeps its note


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_meter_still_in_all_that_is_kept_says_stuck_or_out_of_use(
    client: TestClient, store: TimeSeriesStore, lang: str
) -> None:
    """Fifth review of issue 20, M2: EM-20's counter has stood at 1000 kWh since 1 November
    and it gives no power reading; past the 60-day look-back a day asked read 0 used, no flag
    (idle), and the savings took it as a 100 % saving. It is "no movement in N days: stuck or
    out of use?" now, its days marked (left out of the savings) on the page and in the CSV."""
    start = datetime(2025, 11, 1, tzinfo=SHANGHAI).astimezone(UTC)
    rows = [
        _line(("demo", "B2", "EM-20"), start + i * STEP, "energy_kwh", 1_000.0)
        for i in range(int(timedelta(days=102) / STEP) + 1)
    ]
    store.write(join(rows), precision="ms")
    query = "site=demo&kind=electricity&every=day&by=meter&start=2026-02-10&end=2026-02-11"
    resp = client.get(f"/api/energy/consumption?{query}", headers={"Accept-Language": lang})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    (em20,) = [s for s in body["series"] if s["key"] == "EM-20"]
    assert (em20["values"], em20["stuck"]) == ([0.0], [True])
    [flag] = [f for f in body["flags"] if f["meter"] == "EM-20"]
    words = "no movement in 102 days: stuck or out of use?" if lang == "en" else "102 天未走字"
    assert (flag["kind"], flag["amount"]) == ("still", 102.0)
    assert words in flag["text"]
    csv_resp = client.get(f"/api/energy/consumption.csv?{query}&lang={lang}")
    table = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8").lstrip("\ufeff"))))
    [row] = [r for r in table if r[1] == "EM-20"]
    assert row[5] == ("yes" if lang == "en" else "是")  # the stuck column
