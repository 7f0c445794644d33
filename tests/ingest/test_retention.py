"""Retention policy and 1-minute rollups on InfluxDB 1.x: planned (pure) and applied on
start against the real influxd."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

from bldgwatch.core.clock import SystemClock, to_epoch_ms
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.ingest.config import IngestConfig, RetentionConfig, duration_s
from bldgwatch.ingest.retention import Existing, apply_retention, cq_name, plan
from bldgwatch.ingest.service import IngestService
from tests.waiting import wait_for

NONE = Existing(frozenset(), frozenset())


@pytest.mark.parametrize(
    ("have", "cfg", "expected"),
    [
        (
            Existing(frozenset({"autogen"}), frozenset()),
            RetentionConfig(downsample=False),
            ['ALTER RETENTION POLICY "autogen" ON "db" DURATION 30d'],
        ),
        (
            NONE,
            RetentionConfig(duration="7d", rollup_duration="INF"),
            [
                'CREATE RETENTION POLICY "autogen" ON "db" DURATION 7d REPLICATION 1',
                'CREATE RETENTION POLICY "rollup_1y" ON "db" DURATION INF REPLICATION 1',
                'CREATE CONTINUOUS QUERY "bw_rollup_1m" ON "db" BEGIN SELECT mean(*), min(*), '
                'max(*) INTO "db"."rollup_1y".:MEASUREMENT FROM "db"."autogen"./.*/ '
                "GROUP BY time(1m), * END",
            ],
        ),
        (
            Existing(frozenset({"autogen", "rollup_1y"}), frozenset({"bw_rollup_1m"})),
            RetentionConfig(),
            [
                'ALTER RETENTION POLICY "autogen" ON "db" DURATION 30d',
                'ALTER RETENTION POLICY "rollup_1y" ON "db" DURATION 52w',
                'DROP CONTINUOUS QUERY "bw_rollup_1m" ON "db"',
                'CREATE CONTINUOUS QUERY "bw_rollup_1m" ON "db" BEGIN SELECT mean(*), min(*), '
                'max(*) INTO "db"."rollup_1y".:MEASUREMENT FROM "db"."autogen"./.*/ '
                "GROUP BY time(1m), * END",
            ],
        ),
    ],
)
def test_plan(have: Existing, cfg: RetentionConfig, expected: list[str]) -> None:
    assert plan("db", "autogen", cfg, have) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2_592_000), ("52w", 31_449_600), ("1m", 60), ("12h", 43_200), ("INF", float("inf"))],
)
def test_duration_s(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


def _show(settings: InfluxSettings, q: str) -> list[dict[str, Any]]:
    resp = httpx.post(f"{settings.url}/query", params={"q": q}, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["results"][0].get("series", []))


def _cqs(settings: InfluxSettings) -> list[list[str]]:
    """(name, query) of the database's continuous queries."""
    series = _show(settings, "SHOW CONTINUOUS QUERIES")
    return [v for s in series if s["name"] == settings.database for v in s.get("values", [])]


@pytest.mark.services
def test_policies_and_continuous_query_exist_after_start(
    mqtt_settings: MqttSettings, influx_settings: InfluxSettings
) -> None:
    cfg = IngestConfig(
        instance=f"rp-{uuid.uuid4().hex[:6]}",
        group=f"rp{uuid.uuid4().hex[:6]}",
        mqtt=mqtt_settings,
        influx=influx_settings,
        status_interval_s=0.2,
        register_required=False,
        retention=RetentionConfig(duration="14d", rollup_duration="52w"),
        max_age_s=14 * 86_400,
    )
    service = IngestService(cfg)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,))
    thread.start()
    try:
        db = influx_settings.database
        wait_for(
            lambda: _cqs(influx_settings),
            timeout=30,
            what="ingest's setup on start",
        )
        policies = _show(influx_settings, f'SHOW RETENTION POLICIES ON "{db}"')[0]
        rows = {v[0]: dict(zip(policies["columns"], v, strict=True)) for v in policies["values"]}
        assert rows["autogen"]["duration"] == "336h0m0s"
        assert rows["autogen"]["default"] is True
        assert rows["rollup_1y"]["duration"] == "8736h0m0s"
        (name, query) = _cqs(influx_settings)[0]
        assert name == cq_name(cfg.retention)
        assert "mean(*), min(*), max(*)" in query and "time(1m)" in query
        assert "rollup_1y.:MEASUREMENT" in query
    finally:
        stop.set()
        thread.join(60)
    # Starting again (as every restart does) is idempotent and takes a changed duration.
    again = RetentionConfig(duration="21d")
    apply_retention(influx_settings, again)
    policies = _show(influx_settings, f'SHOW RETENTION POLICIES ON "{db}"')[0]
    assert {v[0]: v[1] for v in policies["values"]}["autogen"] == "504h0m0s"
    assert len(_cqs(influx_settings)) == 1


@pytest.mark.services
def test_rollup_query_runs_on_real_data(influx_settings: InfluxSettings) -> None:
    """The continuous query's SELECT is valid for our schema (numbers and booleans)."""
    store = open_store(influx_settings)
    store.ensure_database()
    apply_retention(influx_settings, RetentionConfig())
    minute = (to_epoch_ms(SystemClock().now()) - 600_000) // 60_000 * 60_000
    store.write(
        b"pump,equipment=P-01 temp=40.0,running=true " + str(minute).encode() + b"\n"
        b"pump,equipment=P-01 temp=44.0,running=false " + str(minute + 1000).encode(),
        precision="ms",
    )
    db = influx_settings.database
    window = f"time >= {minute}ms AND time < {minute + 60_000}ms"
    store.query(
        "SELECT mean(*), min(*), max(*) INTO " + f'"{db}"."rollup_1y".:MEASUREMENT '
        f'FROM "{db}"."autogen"./.*/ WHERE {window} GROUP BY time(1m), *'
    )
    rows = store.query("SELECT * FROM " + f'"{db}"."rollup_1y"."pump"')  # noqa: S608
    assert len(rows) == 1
    assert (rows[0]["mean_temp"], rows[0]["min_temp"], rows[0]["max_temp"]) == (42.0, 40.0, 44.0)
    store.close()
