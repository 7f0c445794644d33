"""Figures older than the raw readings' retention (issue 20 review F1) against a real
InfluxDB 1.x: a window starting more than 30 days ago is read from the hourly counters
(`counters_1h`) as well, so its days show what the meter counted, not 0.0, and the hourly
samples are not gaps; where raw readings exist they win."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb.v1 import InfluxV1
from bldgwatch.maintenance import energydownsample
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow
from tests.console.conftest import ClientFactory
from tests.console.seed import add

pytestmark = pytest.mark.services

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 10, tzinfo=SHANGHAI).astimezone(UTC)
OLD = date(2026, 10, 10)  # 58 days before NOW: only the hourly counters keep it


def _counter(at: datetime) -> float:
    """10 kW from OLD's local midnight on."""
    start = datetime(OLD.year, OLD.month, OLD.day, tzinfo=SHANGHAI).astimezone(UTC)
    return 5_000.0 + 10.0 * (at - start).total_seconds() / 3600


def test_old_days_come_from_the_hourly_counters(
    sqlite_db: Engine, influx_settings: InfluxSettings, make_client: ClientFactory
) -> None:
    raw = InfluxV1(influx_settings)
    raw.ensure_database()
    energydownsample.ensure(raw, influx_settings.database)
    hourly = InfluxV1(influx_settings.model_copy(update={"retention_policy": "counters_1h"}))
    tags = {"site": "demo", "building": "B1", "equipment": "EM-01", "gateway": "g"}
    start = datetime(OLD.year, OLD.month, OLD.day, tzinfo=SHANGHAI).astimezone(UTC)
    hours = [start + timedelta(hours=h) for h in range(20 * 24 + 1)]  # 10 … 30 October
    hourly.write(
        join(
            line("electricity_meter", tags, {"energy_kwh": _counter(at)}, to_epoch_ms(at))
            for at in hours
        ),
        precision="ms",
    )
    # The raw readings of the last day of it are still there (a minute each, same counter).
    last = start + timedelta(days=19)
    minutes = [last + timedelta(minutes=m) for m in range(24 * 60 + 1)]
    raw.write(
        join(
            line("electricity_meter", tags, {"energy_kwh": _counter(at)}, to_epoch_ms(at))
            for at in minutes
        ),
        precision="ms",
    )
    add(
        sqlite_db,
        SiteRow(id="demo", name="Demo", timezone="Asia/Shanghai"),
        BuildingRow(site="demo", id="B1", name="Block 1"),
        EquipmentRow(
            site="demo", id="EM-01", building="B1", type="electricity_meter", rated={}, params={}
        ),
    )
    client = make_client(sqlite_db, raw, ManualClock(NOW))
    resp = client.get(
        "/api/energy/consumption?site=demo&kind=electricity&every=day&by=meter"
        "&start=2026-10-10&end=2026-10-30"
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["series"][0]["values"] == pytest.approx([240.0] * 20)
    assert body["flags"] == []
    hourly.close()
    raw.close()


def test_a_shorter_raw_retention_reads_the_days_between_from_the_hourly_counters(
    sqlite_db: Engine, influx_settings: InfluxSettings, make_client: ClientFactory
) -> None:
    """Review of issue 20, N13: with `influx.raw_retention` 7d a window starting 11 days ago
    (less than the default 30) reads the days the raw readings no longer hold from the
    hourly counters, not "no data"."""
    settings = influx_settings.model_copy(update={"raw_retention": "7d"})
    raw = InfluxV1(settings)
    raw.ensure_database()
    energydownsample.ensure(raw, influx_settings.database)
    hourly = InfluxV1(settings.model_copy(update={"retention_policy": "counters_1h"}))
    tags = {"site": "demo", "building": "B1", "equipment": "EM-01", "gateway": "g"}
    first = datetime(2026, 11, 20, tzinfo=SHANGHAI).astimezone(UTC)
    hourly.write(
        join(
            line("electricity_meter", tags, {"energy_kwh": _counter(at)}, to_epoch_ms(at))
            for at in (first + timedelta(hours=h) for h in range(10 * 24 + 1))
        ),
        precision="ms",
    )
    kept = datetime(2026, 11, 28, tzinfo=SHANGHAI).astimezone(UTC)  # the raw readings left
    raw.write(
        join(
            line("electricity_meter", tags, {"energy_kwh": _counter(at)}, to_epoch_ms(at))
            for at in (kept + timedelta(minutes=5 * m) for m in range(2 * 24 * 12 + 1))
        ),
        precision="ms",
    )
    add(
        sqlite_db,
        SiteRow(id="demo", name="Demo", timezone="Asia/Shanghai"),
        BuildingRow(site="demo", id="B1", name="Block 1"),
        EquipmentRow(
            site="demo", id="EM-01", building="B1", type="electricity_meter", rated={}, params={}
        ),
    )
    client = make_client(sqlite_db, raw, ManualClock(NOW))
    resp = client.get(
        "/api/energy/consumption?site=demo&kind=electricity&every=day&by=meter"
        "&start=2026-11-26&end=2026-11-30"
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["series"][0]["values"] == pytest.approx([240.0] * 4)
    hourly.close()
    raw.close()
