"""Saving you can show (issue 20, point 5) against a real InfluxDB 1.x: a supervisor chooses a
building's baseline period and the site's yearly target; GET /api/energy/savings regresses the
baseline's daily use on the temperature sensor's heating degree-days, and shows the saving of a
colder, leaner month in kWh, %, money and per m², the year-to-date progress, the CSV and the
monthly report's section; a building without a sensor or baseline says why; bad input is 4xx."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.routers.energy import fixed
from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.htmldoc import num
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow
from bldgwatch.maintenance.recordmodels import EnergyBaselineRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add
from tests.console.support import assert_problem

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 1, 1)
DAYS = 38  # 1 January … 7 February (local days)
REPORT = date(2026, 2, 1)
"""From here the building runs 10 % leaner than its weather says, on colder days."""
NOW = datetime(2026, 2, 8, 10, tzinfo=SHANGHAI).astimezone(UTC)


def temp_of(day: date) -> float:
    return 0.0 if day >= REPORT else 2.0 + (day - FIRST).days % 9


def use_of(day: date) -> float:
    """kWh of a day: 400 + 12 per heating degree-day (base 18 °C), 10 % less from REPORT."""
    weather = 400.0 + 12.0 * max(0.0, 18.0 - temp_of(day))
    return 0.9 * weather if day >= REPORT else weather


def readings(first: date = FIRST) -> list[str]:
    """Hourly counters of EM-01 (B1) and EM-20 (B2, half of it) and TS-01's temperature from
    `first` for 39 days: the pattern of 1 January 2026 on, shifted to start on `first`."""
    shift = first - FIRST
    out = []
    counter = {"B1": 10_000.0, "B2": 5_000.0}
    for d in range(DAYS + 1):
        day = FIRST + timedelta(days=d)
        real = day + shift
        midnight = datetime(real.year, real.month, real.day, tzinfo=SHANGHAI).astimezone(UTC)
        for h in range(24):
            at = midnight + timedelta(hours=h)
            for building, meter in (("B1", "EM-01"), ("B2", "EM-20")):
                tags = {"site": "demo", "building": building, "equipment": meter, "gateway": "g"}
                out.append(
                    line(
                        "electricity_meter",
                        tags,
                        {"energy_kwh": counter[building]},
                        to_epoch_ms(at),
                    )
                )
                counter[building] += use_of(day) / 24 * (1 if building == "B1" else 0.5)
            tags = {"site": "demo", "building": "B1", "equipment": "TS-01", "gateway": "g"}
            out.append(line("temp_sensor", tags, {"temperature_c": temp_of(day)}, to_epoch_ms(at)))
    return out


def _local_ms(day: date, hour: int = 0) -> int:
    return to_epoch_ms(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


def faulty(lines: list[str]) -> list[str]:
    """EM-01's counter stuck all of 3 February (use goes on; it resumes at its frozen value),
    and off line 5 February 01:00–23:00, back as a new meter reading 10 kWh."""
    out = []
    stuck_lo, stuck_hi = _local_ms(date(2026, 2, 3)), _local_ms(date(2026, 2, 4))
    off_lo, off_hi = _local_ms(date(2026, 2, 5), 1), _local_ms(date(2026, 2, 5), 23)
    frozen = lost = 0.0
    new_from: float | None = None
    for text in lines:
        if "equipment=EM-01" not in text:
            out.append(text)
            continue
        head, field, stamp = text.split(" ")
        at, value = int(stamp), float(field.split("=")[1])
        if at == stuck_lo:
            frozen = value
        if stuck_lo <= at < stuck_hi:
            value = frozen
        elif at >= stuck_hi:
            if not lost:
                lost = value - frozen
            value -= lost
        if off_lo < at < off_hi:
            continue
        if at >= off_hi:
            new_from = value if new_from is None else new_from
            value = value - new_from + 10.0
        out.append(f"{head} energy_kwh={value} {stamp}")
    return out


@pytest.fixture
def store(
    influx_settings: InfluxSettings, request: pytest.FixtureRequest
) -> Iterator[TimeSeriesStore]:
    s = open_store(influx_settings)
    s.ensure_database()
    lines = readings()
    s.write(
        join(faulty(lines) if request.node.get_closest_marker("faulty") else lines), precision="ms"
    )
    yield s
    s.close()


def _meter(mid: str, building: str) -> EquipmentRow:
    return EquipmentRow(
        site="demo",
        id=mid,
        building=building,
        type="electricity_meter",
        name=mid,
        rated={},
        params={},
    )


@pytest.fixture
def client(sqlite_db: Engine, store: TimeSeriesStore, make_client: ClientFactory) -> TestClient:
    add(
        sqlite_db,
        SiteRow(
            id="demo",
            name="Demo Plaza",
            timezone="Asia/Shanghai",
            energy={"tariff_electricity": 0.8, "currency": "CNY"},
            registered_at=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        BuildingRow(site="demo", id="B1", name="Block 1", area_m2=10_000.0),
        BuildingRow(site="demo", id="B2", name="Block 2"),
        _meter("EM-01", "B1"),
        _meter("EM-20", "B2"),
        EquipmentRow(
            site="demo", id="TS-01", building="B1", type="temp_sensor", rated={}, params={}
        ),
    )
    return make_client(sqlite_db, store, ManualClock(NOW), user="supervisor")


def _put(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> Any:
    resp = client.put(path, json=body)
    assert resp.status_code == status, resp.text
    return resp.json()


def _savings(client: TestClient, query: str = "start=2026-02-01&end=2026-02-08") -> Any:
    resp = client.get(f"/api/energy/savings?site=demo&{query}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _expected(day: date) -> float:
    return 400.0 + 12.0 * max(0.0, 18.0 - temp_of(day))


def test_a_weather_normalised_saving_with_money_area_and_the_targets_progress(
    client: TestClient,
) -> None:
    base = {"building": "B1", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    chosen = _put(client, "/api/energy/baselines/demo", base)
    assert chosen["baselines"][0]["actor"] == "supervisor"
    _put(
        client, "/api/energy/targets/demo", {"kind": "electricity", "year": 2026, "reduction": 0.03}
    )
    got = _put(
        client, "/api/energy/targets/demo", {"kind": "electricity", "year": 2026, "reduction": 0.05}
    )
    assert [t["reduction"] for t in got["targets"]] == [0.05, 0.03]  # newest first

    body = _savings(client)
    b1, b2 = body["buildings"]
    assert b1["baseline"]["method"] == "degree_days"
    assert b1["baseline"]["days"] == 28
    assert b1["baseline"]["per_hdd"] == pytest.approx(12.0, abs=0.01)
    assert b1["baseline"]["intercept"] == pytest.approx(400.0, abs=0.5)
    assert b1["baseline"]["r2"] == pytest.approx(1.0, abs=1e-3)
    week = [REPORT + timedelta(days=i) for i in range(7)]
    expected = sum(_expected(d) for d in week)
    assert b1["expected"] == pytest.approx(expected, rel=1e-3)
    assert b1["used"] == pytest.approx(0.9 * expected, rel=1e-3)
    assert b1["share"] == pytest.approx(0.1, abs=1e-3)
    assert b1["money"] == pytest.approx(0.1 * expected * 0.8, rel=1e-2)
    assert b1["per_m2"] == pytest.approx(0.9 * expected / 10_000, rel=1e-3)
    assert b1["per_day"] == pytest.approx(0.9 * expected / 7, rel=1e-3)
    assert [d["mean_c"] for d in b1["days"]] == [0.0] * 7
    # Block 2 has no baseline: it says so, and is not in the site's totals.
    assert (b2["missing"], b2["saved"], b2["days"]) == ("no_baseline", None, [])
    assert b2["missing_text"] == "no baseline period chosen"
    assert body["saved"] == pytest.approx(b1["saved"])
    assert (body["currency"], body["tariff"], body["heating_base_c"]) == ("CNY", 0.8, 18.0)
    # The year so far counts the days after the baseline: 29–31 January as expected, the
    # first week of February 10 % leaner (the baseline's own 28 days, saving 0, do not).
    after = sum(_expected(date(2026, 1, d)) for d in (29, 30, 31))
    progress = body["progress"]
    assert progress["year"] == 2026 and progress["target"] == 0.05
    assert progress["achieved"] == pytest.approx(0.1 * expected / (after + expected), abs=2e-3)
    assert progress["achieved"] > 0.07
    assert progress["on_track"] is True  # about 7.5 % since the baseline, 5 % asked


@pytest.mark.faulty
def test_stuck_and_outage_estimated_days_are_no_saving(client: TestClient) -> None:
    """Second review of issue 20, N1 and N8: a day the counter stood still read 0 kWh and was
    booked as a 100 % saving (a building "on track" on one jammed register), and a day inside
    an outage with a new meter counted its estimate as measured. Both are left out of used,
    expected, saved and the target's progress, and named."""
    base = {"building": "B1", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    _put(client, "/api/energy/baselines/demo", base)
    _put(
        client, "/api/energy/targets/demo", {"kind": "electricity", "year": 2026, "reduction": 0.05}
    )
    body = _savings(client)
    b1 = body["buildings"][0]
    counted = [date(2026, 2, d) for d in (1, 2, 4, 6, 7)]
    assert [d["day"] for d in b1["days"]] == [d.isoformat() for d in counted]
    assert b1["left_out"] == [
        {"day": "2026-02-03", "reason": "stuck"},
        {"day": "2026-02-05", "reason": "estimated"},
    ]
    expected = sum(_expected(d) for d in counted)
    assert b1["expected"] == pytest.approx(expected, rel=1e-3)
    assert b1["used"] == pytest.approx(0.9 * expected, rel=1e-3)
    assert b1["share"] == pytest.approx(0.1, abs=1e-3)  # was 0.28: the stuck day "saved" all
    after = sum(_expected(date(2026, 1, d)) for d in (29, 30, 31))
    assert body["progress"]["achieved"] == pytest.approx(
        0.1 * expected / (after + expected), abs=2e-3
    )
    # The monthly report says how many days it left out, and why (review 20b, N1 and N8).
    page = client.get("/api/reports/demo/2026-02.html")
    assert page.status_code == 200, page.text
    left_out = "saving: 2 (stuck counter 1, estimated while the meter was off line 1)"
    assert left_out in page.text
    zh = client.get("/api/reports/demo/2026-02.html", headers={"Accept-Language": "zh-CN"})
    # A meter's outage, not a shutdown of the equipment (third review of issue 20, L4): the
    # page's words (表计离线期间，仅为估算), not 停机 ("the equipment stopped").
    assert "未计入节能的天数 2（计数器停走 1 天，表计离线期间估算 1 天）" in zh.text
    assert "停机期间估算" not in zh.text


def test_the_csv_in_the_readers_language_and_the_monthly_report_section(
    client: TestClient,
) -> None:
    base = {"building": "B1", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    _put(client, "/api/energy/baselines/demo", base)
    resp = client.get(
        "/api/energy/savings.csv?site=demo&start=2026-02-01&end=2026-02-08",
        headers={"Accept-Language": "zh-CN"},
    )
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["日期", "楼栋", "实际用量", "基准用量", "节约量"]
    assert len(rows) == 1 + 7
    assert rows[1][0] == "2026-02-01" and rows[1][1] == "B1"
    assert float(rows[1][4]) == pytest.approx(0.1 * _expected(REPORT), rel=1e-3)
    assert float(rows[1][6]) == pytest.approx(0.1 * _expected(REPORT) * 0.8, rel=1e-2)

    page = client.get("/api/reports/demo/2026-02.html")
    assert page.status_code == 200, page.text
    assert "Energy and saving" in page.text
    assert "Block 1: electricity used" in page.text
    assert "no reduction target for 2026" in page.text
    zh = client.get("/api/reports/demo/2026-02.html", headers={"Accept-Language": "zh-CN"})
    assert "能耗与节能" in zh.text and "Block 1：用电 实际" in zh.text


def test_without_a_sensor_the_baseline_is_the_periods_mean(client: TestClient) -> None:
    base = {"building": "B2", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    _put(client, "/api/energy/baselines/demo", base)
    b2 = _savings(client)["buildings"][1]
    # B2 has no sensor of its own: the site's sensor (in B1) gives the day's temperature.
    assert b2["baseline"]["method"] == "degree_days"
    early = {"building": "B1", "kind": "electricity", "start": "2025-11-01", "end": "2025-12-01"}
    _put(client, "/api/energy/baselines/demo", early)
    b1 = _savings(client)["buildings"][0]
    assert (b1["missing"], b1["baseline"]) == ("too_few_days", None)


def test_without_temperatures_a_plain_mean_baseline(
    sqlite_db: Engine, influx_settings: InfluxSettings, make_client: ClientFactory
) -> None:
    s = open_store(influx_settings)
    s.ensure_database()
    s.write(join([r for r in readings() if not r.startswith("temp_sensor")]), precision="ms")
    add(
        sqlite_db,
        SiteRow(id="demo", name="Demo", timezone="Asia/Shanghai"),
        BuildingRow(site="demo", id="B1", name="Block 1"),
        _meter("EM-01", "B1"),
    )
    client = make_client(sqlite_db, s, ManualClock(NOW), user="supervisor")
    base = {"building": "B1", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    _put(client, "/api/energy/baselines/demo", base)
    b1 = _savings(client)["buildings"][0]
    mean = sum(_expected(FIRST + timedelta(days=i)) for i in range(28)) / 28
    assert b1["baseline"]["method"] == "average"
    assert b1["baseline"]["intercept"] == pytest.approx(mean, rel=1e-3)
    assert b1["expected"] == pytest.approx(7 * mean, rel=1e-3)
    assert b1["money"] is None and b1["per_m2"] is None  # no tariff, no area
    s.close()


def test_only_a_supervisor_sets_and_bad_input_is_a_problem(
    client: TestClient, sqlite_db: Engine
) -> None:
    viewer = dict(auth_headers(client, "viewer"))
    target = {"kind": "electricity", "year": 2026, "reduction": 0.05}
    resp = client.put("/api/energy/targets/demo", json=target, headers=viewer)
    assert resp.status_code == 403
    assert client.get("/api/energy/targets/demo", headers=viewer).status_code == 200
    bad = {"building": "B9", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    resp = client.put("/api/energy/baselines/demo", json=bad)
    assert_problem(resp, 422)
    assert "B9" in resp.text
    backwards = {**bad, "building": "B1", "start": "2026-01-29", "end": "2026-01-01"}
    assert_problem(client.put("/api/energy/baselines/demo", json=backwards), 422)
    long = {**bad, "building": "B1", "start": "2024-01-01", "end": "2026-01-01"}
    resp = client.put("/api/energy/baselines/demo", json=long)
    assert_problem(resp, 422)
    assert "366" in resp.text
    resp = client.put("/api/energy/targets/demo", json={**target, "reduction": 1.5})
    assert_problem(resp, 422)
    resp = client.get("/api/energy/savings?site=demo&start=2026-02-08&end=2026-02-01")
    assert_problem(resp, 400)
    resp = client.get("/api/energy/savings?site=demo&start=2024-01-01&end=2026-02-01")
    assert_problem(resp, 400)
    assert_problem(client.get("/api/energy/savings?site=demo&start=2026-02-01"), 422)
    assert_problem(
        client.get("/api/energy/savings?site=nowhere&start=2026-02-01&end=2026-02-08"), 404
    )


def test_a_nonsense_baseline_period_is_refused_and_a_stored_one_breaks_nothing(
    client: TestClient, sqlite_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = {"building": "B1", "kind": "electricity"}
    for start, end, field in (
        ("0001-01-01", "0001-02-01", "start"),
        ("1999-12-01", "2000-01-15", "start"),
        ("9999-12-01", "9999-12-31", "end"),
        ("2030-01-01", "2030-02-01", "end"),
        ("2026-01-20", "2026-02-10", "end"),  # today is 8 February: its last day is tomorrow
    ):
        resp = client.put("/api/energy/baselines/demo", json={**base, "start": start, "end": end})
        assert_problem(resp, 422)
        assert field in resp.text, (start, resp.text)
    resp = client.put(
        "/api/energy/baselines/demo",
        json={**base, "start": "9999-12-01", "end": "9999-12-31"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert "基准期不能在未来" in resp.text
    # Today may be the last day.
    _put(client, "/api/energy/baselines/demo", {**base, "start": "2026-01-10", "end": "2026-02-09"})
    # Periods stored before the bounds were checked: the buildings have no baseline, the rest
    # of the savings, the CSV and the monthly report still answer.
    at = datetime(2026, 2, 8, 3, tzinfo=UTC)
    add(
        sqlite_db,
        EnergyBaselineRow(
            site="demo",
            building="B1",
            kind="electricity",
            start=date(1, 1, 1),
            end=date(1, 2, 1),
            at=at,
            actor="old",
        ),
        EnergyBaselineRow(
            site="demo",
            building="B2",
            kind="electricity",
            start=date(9999, 12, 1),
            end=date(9999, 12, 31),
            at=at,
            actor="old",
        ),
    )
    found = _savings(client)
    assert [b["missing"] for b in found["buildings"]] == ["too_few_days", "too_few_days"]
    csv_resp = client.get("/api/energy/savings.csv?site=demo&start=2026-02-01&end=2026-02-08")
    assert csv_resp.status_code == 200, csv_resp.text
    page = client.get("/api/reports/demo/2026-02.html")
    assert page.status_code == 200, page.text
    assert "Energy and saving" in page.text

    # Whatever else fails in the energy section, the report goes out without it (logged).
    def broken(*args: object, **kwargs: object) -> None:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("bldgwatch.maintenance.report.site_saving", broken)
    page = client.get("/api/reports/demo/2026-02.html")
    assert page.status_code == 200, page.text
    assert "Energy and saving" in page.text


def test_the_report_shows_the_months_use_and_the_target_without_a_baseline(
    client: TestClient,
) -> None:
    _put(
        client, "/api/energy/targets/demo", {"kind": "electricity", "year": 2026, "reduction": 0.05}
    )
    week = sum(0.9 * _expected(REPORT + timedelta(days=i)) for i in range(7))
    page = client.get("/api/reports/demo/2026-02.html")
    assert page.status_code == 200, page.text
    assert "No meter figures" not in page.text
    assert (
        f"Block 1: electricity used {num(week, 1)} kWh; no saving: no baseline period chosen; "
        f"{num(week / 10_000, 3)} kWh/m²"
    ) in page.text
    assert f"Block 2: electricity used {num(week / 2, 1)} kWh; no saving" in page.text
    assert "electricity reduction target 2026: 5.0 %" in page.text
    assert "not known yet" in page.text
    zh = client.get("/api/reports/demo/2026-02.html", headers={"Accept-Language": "zh-CN"})
    assert f"Block 1：用电 实际 {num(week, 1)} kWh；无节约量：未选定基准期" in zh.text
    assert "用电 2026 年降耗目标" in zh.text


def test_target_and_baseline_forms_say_what_is_wrong_in_words(client: TestClient) -> None:
    """Fourth review of issue 20, L3: a 99 % target (a typo for 9 %) was taken without a word;
    NaN answered "should be below 1"; a bad kind answered in zh-CN "应为 'electricity' or
    'water'"; a one-day baseline was stored and only later showed "too few usable days".
    Now: 50 % or more needs `confirm: true`, above 90 % is refused; NaN is "not a number";
    the kinds are named in the reader's words; a period under 14 days is refused at PUT."""
    zh, en = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}
    target = {"kind": "electricity", "year": 2026, "reduction": 0.99}
    resp = client.put("/api/energy/targets/demo", json=target, headers=zh)
    assert_problem(resp, 422, "应小于或等于 0.9")
    large = {**target, "reduction": 0.6}
    resp = client.put("/api/energy/targets/demo", json=large, headers=en)
    assert_problem(resp, 422, "60 % is unusually large for a year's reduction")
    assert '"confirm": true' in resp.json()["detail"]
    resp = client.put("/api/energy/targets/demo", json=large, headers=zh)
    assert_problem(resp, 422, "60 % 作为年度降耗目标异常偏大")
    assert client.get("/api/energy/targets/demo").json()["targets"] == []  # nothing stored
    meant = client.put("/api/energy/targets/demo", json={**large, "confirm": True})
    assert meant.status_code == 200, meant.text
    assert meant.json()["targets"][0]["reduction"] == 0.6
    ordinary = client.put("/api/energy/targets/demo", json={**target, "reduction": 0.05})
    assert ordinary.status_code == 200, ordinary.text  # under 50 %: no question asked
    body = '{"kind": "electricity", "year": 2026, "reduction": NaN}'
    resp = client.put(
        "/api/energy/targets/demo",
        content=body,
        headers={**zh, "Content-Type": "application/json"},
    )
    assert_problem(resp, 422, "应为有限的数字")
    assert "应小于" not in resp.json()["detail"]
    resp = client.put("/api/energy/targets/demo", json={**target, "kind": "gas"}, headers=zh)
    assert_problem(resp, 422, "“电”（electricity）或“水”（water）")
    assert " or " not in resp.json()["detail"] and "'" not in resp.json()["detail"]
    resp = client.put("/api/energy/targets/demo", json={**target, "kind": "gas"}, headers=en)
    assert_problem(resp, 422, '"electricity" or "water"')
    short = {"building": "B1", "kind": "electricity", "start": "2026-01-10", "end": "2026-01-11"}
    resp = client.put("/api/energy/baselines/demo", json=short, headers=zh)
    assert_problem(resp, 422, "基准期过短：只有 1 天；基准至少需要 14 个可用天")
    resp = client.put("/api/energy/baselines/demo", json=short, headers=en)
    assert_problem(resp, 422, "at least 14 usable days")
    assert client.get("/api/energy/targets/demo").json()["baselines"] == []
    enough = {**short, "end": "2026-01-24"}
    assert client.put("/api/energy/baselines/demo", json=enough).status_code == 200


def test_a_window_over_the_baseline_counts_only_the_days_after_it(client: TestClient) -> None:
    """Review 20f, M2: a window that overlaps the baseline period took the baseline's own days
    (saving 0 by construction) as measured days, diluting the window's share (the year so far
    left them out); the CSV printed their saving as "-0.000". Now the window counts the days
    after the baseline, as the year so far does, in the page and the CSV."""
    base = {"building": "B1", "kind": "electricity", "start": "2026-01-01", "end": "2026-01-29"}
    _put(client, "/api/energy/baselines/demo", base)
    body = _savings(client, "start=2026-01-20&end=2026-02-08")
    b1 = body["buildings"][0]
    after = [date(2026, 1, d) for d in (29, 30, 31)]
    week = [REPORT + timedelta(days=i) for i in range(7)]
    assert [d["day"] for d in b1["days"]] == [d.isoformat() for d in after + week]
    expected = sum(_expected(d) for d in after + week)
    assert b1["expected"] == pytest.approx(expected, rel=1e-3)
    share = 0.1 * sum(_expected(d) for d in week) / expected
    assert b1["share"] == pytest.approx(share, abs=2e-3)
    assert body["share"] == pytest.approx(body["progress"]["achieved"], abs=1e-9)
    resp = client.get("/api/energy/savings.csv?site=demo&start=2026-01-20&end=2026-02-08")
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [d.isoformat() for d in after + week]
    assert not [cell for r in rows for cell in r if cell.startswith("-0.0") and float(cell) == 0]


def test_the_csv_numbers_have_no_negative_zero() -> None:
    assert [fixed(v, 3) for v in (-0.0, -1e-9, -0.0004, 0.0, -0.0006, 1.5)] == [
        "0.000",
        "0.000",
        "0.000",
        "0.000",
        "-0.001",
        "1.500",
    ]


def test_the_forms_name_their_fields_in_the_readers_language_and_refuse_a_zero_target(
    client: TestClient,
) -> None:
    """Review 20f, L4: zh-CN refusals named the field in English ("end：基准期不能在未来"), an
    impossible date answered in pydantic's English, and a 0 % target (or 1e-300) was taken
    and shown as the year's target."""
    zh, en = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}
    future = {"building": "B1", "kind": "electricity", "start": "2026-01-10", "end": "2026-03-01"}
    resp = client.put("/api/energy/baselines/demo", json=future, headers=zh)
    assert_problem(resp, 422, "结束日期：")
    early = {**future, "start": "1999-01-01", "end": "1999-02-01"}
    resp = client.put("/api/energy/baselines/demo", json=early, headers=zh)
    assert_problem(resp, 422, "开始日期：")
    bad_day = {**future, "start": "2026-02-30"}
    resp = client.put("/api/energy/baselines/demo", json=bad_day, headers=zh)
    assert_problem(resp, 422, "应为有效的日期（YYYY-MM-DD）")
    assert "Input should" not in resp.json()["detail"]
    resp = client.put("/api/energy/baselines/demo", json=bad_day, headers=en)
    assert_problem(resp, 422, "must be a valid date (YYYY-MM-DD)")
    for nothing in (0, 1e-300):
        target = {"kind": "electricity", "year": 2026, "reduction": nothing}
        resp = client.put("/api/energy/targets/demo", json=target, headers=zh)
        assert_problem(resp, 422, "0 即没有目标")
        resp = client.put("/api/energy/targets/demo", json=target, headers=en)
        assert_problem(resp, 422, "from 0.1 % to 90 %")
    assert client.get("/api/energy/targets/demo").json()["targets"] == []
    smallest = {"kind": "electricity", "year": 2026, "reduction": 0.001}
    assert client.put("/api/energy/targets/demo", json=smallest).status_code == 200
