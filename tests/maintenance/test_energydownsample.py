"""maintenance.energydownsample against a real InfluxDB 1.x: the retention policy and the
continuous queries are created (twice, idempotent), the backfill writes each hour's first
counter reading with its tags, and the accounting over those hourly counters gives the
minute path's figures for whole hours, a rollover included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb.v1 import InfluxV1
from bldgwatch.maintenance import energydownsample
from bldgwatch.maintenance.energy import Meter, account, buckets
from bldgwatch.maintenance.energystore import read_samples
from tests.clirun import bldgwatch

pytestmark = pytest.mark.services

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)
START = datetime(2026, 11, 2, tzinfo=ZONE).astimezone(UTC)
WRAP = 1_000_000.0


def _readings() -> list[str]:
    out = []
    for m in range(
        2 * 1440
    ):  # two days, each minute; 6 kW from 50 kWh below the wrap: it wraps at 08:20
        at = START + timedelta(minutes=m)
        tags = {"site": "s1", "building": "B1", "equipment": "EM-1", "gateway": "g"}
        value = (WRAP - 50 + 0.1 * m) % WRAP
        out.append(line("electricity_meter", tags, {"energy_kwh": value}, to_epoch_ms(at)))
        wtags = {"site": "s1", "building": "B1", "equipment": "WM-1", "gateway": "g"}
        out.append(line("water_meter", wtags, {"volume_m3": 10 + 0.01 * m}, to_epoch_ms(at)))
    return out


def test_hourly_counters_account_like_the_minute_ones(influx_settings: InfluxSettings) -> None:
    store = InfluxV1(influx_settings)
    store.ensure_database()
    db = influx_settings.database
    energydownsample.ensure(store, db)
    energydownsample.ensure(store, db)  # a restart creates them again: no error
    queries = store.query("SHOW CONTINUOUS QUERIES")
    names = {r.get("name") for r in queries}
    assert {"electricity_meter_1h", "water_meter_1h"} <= names
    store.write(join(_readings()), precision="ms")
    energydownsample.backfill(store, db, START, START + timedelta(days=2))

    rp = energydownsample.RETENTION
    source = f'"{rp}"."electricity_meter"'
    hourly = store.query(f'SELECT "energy_kwh", "equipment", "building" FROM {source}')  # noqa: S608
    assert len(hourly) == 48
    assert hourly[1]["energy_kwh"] == pytest.approx(WRAP - 50 + 6.0)  # 01:00's first reading
    assert (hourly[0]["equipment"], hourly[0]["building"]) == ("EM-1", "B1")
    water = store.query(f'SELECT count("volume_m3") FROM "{rp}"."water_meter"')  # noqa: S608
    assert water[0]["count"] == 48

    meter = Meter("EM-1", "electricity_meter", "B1", "mains", None, WRAP)
    edges = buckets(DAY, DAY + timedelta(days=1), "hour", ZONE)
    lo, hi = edges[0].start, edges[-1].end
    minute = read_samples(store, site="s1", kind="electricity", start=lo, end=hi)
    thin = read_samples(
        store, site="s1", kind="electricity", start=lo, end=hi, resolution="1h", retention=rp
    )
    assert len(thin["EM-1"]) == 25  # the day's 24 hours and the next day's first
    a = account([meter], minute, edges, unit="kWh")
    b = account([meter], thin, edges, unit="kWh", gap_after=energydownsample.GAP_AFTER)
    assert b.meters["EM-1"].values == pytest.approx([6.0] * 24)
    assert b.meters["EM-1"].values == pytest.approx(a.meters["EM-1"].values, abs=0.11)
    assert [f.kind for f in b.flags] == ["rollover"]
    store.close()


def test_the_backfill_command(influx_settings: InfluxSettings, tmp_path: Path) -> None:
    store = InfluxV1(influx_settings)
    store.ensure_database()
    store.write(join(_readings()), precision="ms")
    args = ["--url", influx_settings.url, "--database", influx_settings.database]
    done = bldgwatch(
        "energy-backfill", *args, "--start", "2026-11-01", "--end", "2026-11-04", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-1500:]
    rp = energydownsample.RETENTION
    counted = store.query(f'SELECT count("energy_kwh") FROM "{rp}"."electricity_meter"')  # noqa: S608
    assert counted[0]["count"] == 48
    bad = bldgwatch("energy-backfill", *args, "--start", "1.11.2026", "--end", "x", cwd=tmp_path)
    assert bad.returncode == 2 and "--start: '1.11.2026' is not a day" in bad.stderr
    assert "Traceback" not in bad.stderr
    backwards = ["--start", "2026-11-04", "--end", "2026-11-01"]
    assert bldgwatch("energy-backfill", *args, *backwards, cwd=tmp_path).returncode == 2
    gone = bldgwatch(
        "energy-backfill",
        "--url",
        "http://127.0.0.1:9",
        "--start",
        "2026-11-01",
        "--end",
        "2026-11-02",
        cwd=tmp_path,
    )
    assert gone.returncode == 1 and "InfluxDB at http://127.0.0.1:9" in gone.stderr
    store.close()
