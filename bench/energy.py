"""Energy accounting at fleet scale (issue 20, point 6): counters of 10,000 meters at
1-minute resolution, aggregated for a month into hour, day and month buckets of the site's
calendar, through the project's path: InfluxDB 1.6 (its own influxd, bldgwatch.servers), the
hourly counters a continuous query keeps (`maintenance.energydownsample`), read by
`maintenance.energystore.read_samples` and accounted by `maintenance.energy` (rollovers,
resets, gaps, stuck counters decided in Python).

Two phases, both timed against a reference measured in the same run:

1. **Minute counters, scaled** (`--meters` × `--days` at 1 min, default 1,000 × 1): the load
   over HTTP line protocol (points/s), the continuous query's work (the same SELECT … INTO
   over the window, points/s), and the minute path of the console (`last()` per minute, the
   per-site path) against the raw InfluxDB query of the same data (HTTP + JSON, no Python
   processing): ratio = ours / raw.
2. **The month at full scale** (10,000 meters × 30 days of the hourly counters the continuous
   query keeps, 7.2 M samples, written straight into its retention policy): the aggregation
   into hour, day and month buckets, against the raw InfluxDB query of the same samples.

A full month of minute readings (432 M points) is not loaded on this machine: the load rate
of phase 1 gives its time; the continuous query's cost per hour of 10,000 meters (600,000
points) must stay far below an hour, and phase 1 measures it.

Last line: key=value figures (month_s, month_raw_s, month_ratio, …).
"""

# ruff: noqa: E402 - the path fix below must run before the project imports
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import gc
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb.v1 import InfluxV1
from bldgwatch.maintenance import energydownsample
from bldgwatch.maintenance.energy import Meter, account, buckets, by_building
from bldgwatch.maintenance.energystore import counter_queries, read_samples
from bldgwatch.servers import Server, start_influxd

logger = logging.getLogger("bench.energy")
ZONE = ZoneInfo("Asia/Shanghai")
SITE, FLEET_SITE, DB = "bench", "fleet", "bldgwatch"
FLEET, MONTH_DAYS = 10_000, 30
CHUNK = 50_000
FIRST = date(2026, 11, 1)
EVERY = ("hour", "day", "month")
T = TypeVar("T")


def _meters(n: int) -> list[Meter]:
    return [
        Meter(f"EM-{i:05d}", "electricity_meter", f"B{i // 100:03d}", "mains", None, 1_000_000.0)
        for i in range(n)
    ]


def _lines(
    meters: list[Meter], start: datetime, count: int, step_s: int, site: str
) -> Iterator[bytes]:
    """Counter lines in time order, `count` instants `step_s` apart; each meter its own rate
    (a few kW), one in 50 wrapping past 1,000,000 kWh during the window."""
    t0 = to_epoch_ms(start)
    rates = [(1.0 + (i % 17) / 4) / 3600 for i in range(len(meters))]  # kWh per second
    bases = [999_990.0 if i % 50 == 0 else 1_000.0 * (i % 997) for i in range(len(meters))]
    tags = [f"electricity_meter,building={m.building},equipment={m.id},site={site}" for m in meters]
    chunk: list[str] = []
    for k in range(count):
        at = t0 + k * step_s * 1000
        for i, tag in enumerate(tags):
            value = (bases[i] + rates[i] * k * step_s) % 1_000_000.0
            chunk.append(f"{tag} energy_kwh={value:.2f} {at}")
            if len(chunk) >= CHUNK:
                yield "\n".join(chunk).encode()
                chunk = []
    if chunk:
        yield "\n".join(chunk).encode()


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _load(http: httpx.Client, body: Iterator[bytes], rp: str | None = None) -> int:
    params = {"db": DB, "precision": "ms", **({"rp": rp} if rp else {})}
    points = 0
    for chunk in body:
        resp = http.post("/write", params=params, content=chunk)
        resp.raise_for_status()
        points += chunk.count(b"\n") + 1
    return points


def _raw(http: httpx.Client, query: str) -> int:
    """The reference: InfluxDB answers the same query, parsed as JSON, nothing more."""
    resp = http.get("/query", params={"db": DB, "q": query, "epoch": "ms"})
    resp.raise_for_status()
    doc: dict[str, Any] = resp.json()
    return sum(len(s.get("values", [])) for r in doc["results"] for s in r.get("series", []))


RP = energydownsample.RETENTION


def _ours(store: InfluxV1, meters: list[Meter], w: Window) -> tuple[int, float, float, float]:
    """Read once, account by hour, day and month, sum by building: samples, three totals."""
    edges = {e: buckets(w.first, w.first + timedelta(days=w.days), e, ZONE) for e in EVERY}
    lo, hi = edges["hour"][0].start, edges["hour"][-1].end
    samples = read_samples(
        store,
        site=w.site,
        kind="electricity",
        start=lo,
        end=hi,
        resolution=w.resolution,
        retention=w.rp,
    )
    totals = []
    for every in EVERY:
        acc = account(meters, samples, edges[every], unit="kWh", gap_after=w.gap_after)
        totals.append(sum(sum(s.values) for s in by_building(meters, acc)))
    return sum(len(v) for v in samples.values()), totals[0], totals[1], totals[2]


@dataclass(frozen=True)
class Window:
    site: str
    first: date
    days: int
    rp: str | None
    resolution: str

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=ZONE).astimezone(
            UTC
        )

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def gap_after(self) -> timedelta:
        """Samples further apart are a gap: 15 minutes for minute counters, 2 hours for
        hourly ones (one missing hour)."""
        return timedelta(minutes=15) if self.rp is None else energydownsample.GAP_AFTER

    def query(self) -> str:
        return counter_queries(
            self.site, "electricity", self.start, self.end, self.resolution, retention=self.rp
        )


def _expected(meters: list[Meter], seconds: float) -> float:
    return sum((1.0 + (i % 17) / 4) / 3600 * seconds for i in range(len(meters)))


def _agree(hour: float, day: float, month: float) -> str:
    return str(abs(hour - day) < 1e-6 * day and abs(day - month) < 1e-6 * day)


def phase1(store: InfluxV1, http: httpx.Client, meters: int, days: int) -> dict[str, str]:
    """Minute counters, scaled: load, the continuous query's work, the minute path."""
    small = _meters(meters)
    w = Window(SITE, FIRST, days, None, "1m")
    points, load_s = _timed(lambda: _load(http, _lines(small, w.start, days * 1440, 60, SITE)))
    logger.info("phase 1 loaded %d points in %.1f s", points, load_s)
    _, cq_s = _timed(lambda: energydownsample.backfill(store, DB, w.start, w.end))
    rows, raw_s = _timed(lambda: _raw(http, w.query()))
    (n, hour, day, month), ours_s = _timed(lambda: _ours(store, small, w))
    want = _expected(small, days * 86_400 - 60)
    hourly = Window(SITE, FIRST, days, RP, "1h")
    *_, hmonth = _ours(store, small, hourly)
    # The hourly counters end at the last hour's first reading: its last minutes are not read.
    hwant = _expected(small, (days * 24 - 1) * 3600)
    return {
        "p1_meters": str(meters),
        "p1_points": str(points),
        "p1_load_s": f"{load_s:.1f}",
        "p1_load_per_s": f"{points / load_s:.0f}",
        "p1_cq_s": f"{cq_s:.2f}",
        "p1_cq_per_s": f"{points / cq_s:.0f}",
        "p1_samples": str(n),
        "p1_raw_rows": str(rows),
        "p1_raw_s": f"{raw_s:.2f}",
        "p1_ours_s": f"{ours_s:.2f}",
        "p1_ratio": f"{ours_s / raw_s:.2f}",
        "p1_sum_error": f"{abs(month - want) / want:.2e}",
        "p1_buckets_agree": _agree(hour, day, month),
        "p1_hourly_sum_error": f"{abs(hmonth - hwant) / hwant:.2e}",
    }


def phase2(store: InfluxV1, http: httpx.Client, fleet_n: int, days: int) -> dict[str, str]:
    """The month at full scale, as the continuous query keeps it."""
    fleet = _meters(fleet_n)
    w = Window(FLEET_SITE, FIRST, days, RP, "1h")
    hours = days * 24
    body = _lines(fleet, w.start, hours, 3600, FLEET_SITE)
    points, load_s = _timed(lambda: _load(http, body, RP))
    logger.info("phase 2 loaded %d hourly points in %.1f s", points, load_s)
    rows, raw_s = _timed(lambda: _raw(http, w.query()))
    logger.info("phase 2 raw query: %d rows in %.1f s", rows, raw_s)
    (n, hour, day, month), ours_s = _timed(lambda: _ours(store, fleet, w))
    want = _expected(fleet, (hours - 1) * 3600)
    return {
        "month_meters": str(fleet_n),
        "month_days": str(days),
        "month_samples": str(n),
        "month_raw_rows": str(rows),
        "month_raw_s": f"{raw_s:.1f}",
        "month_s": f"{ours_s:.1f}",
        "month_ratio": f"{ours_s / raw_s:.2f}",
        "month_sum_error": f"{abs(month - want) / want:.2e}",
        "month_buckets_agree": _agree(hour, day, month),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=1_000, help="phase 1 meters (1-min)")
    parser.add_argument("--days", type=int, default=1, help="phase 1 days (1-min)")
    parser.add_argument("--fleet", type=int, default=FLEET, help="phase 2 meters (hourly)")
    parser.add_argument("--month-days", type=int, default=MONTH_DAYS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    figures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-energy-") as tmp:
        server: Server = start_influxd(Path(tmp) / "influxd")
        try:
            url = server.extra["url"]
            store = InfluxV1(InfluxSettings(url=url, database=DB, timeout_s=3600))
            store.ensure_database()
            energydownsample.ensure(store, DB)
            with httpx.Client(base_url=url, timeout=3600) as http:
                figures |= phase1(store, http, args.meters, args.days)
                logger.info("phase 1: %s", figures)
                figures |= phase2(store, http, args.fleet, args.month_days)
            store.close()
        finally:
            server.stop()
    per_point = float(figures["p1_load_s"]) / int(figures["p1_points"])
    figures["full_month_load_est_s"] = f"{per_point * FLEET * 1440 * 30:.0f}"
    figures["cq_hour_est_s"] = f"{FLEET * 60 / float(figures['p1_cq_per_s']):.1f}"
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
